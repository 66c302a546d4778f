"""Hostile and huge input files, generated small and fast: zip-bomb .docx files, text
files with one enormous line, control characters past the first 64 KB.

Used by the ingest-limit tests and by ``benchmarks/bench_hostile_inputs.py`` (which makes
them bigger).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_HEAD = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{_W}"><w:body>'
)
_TAIL = "</w:body></w:document>"


def _base_docx(path: Path) -> dict[str, bytes]:
    """The entries of a real, minimal .docx made by python-docx."""
    import docx

    d = docx.Document()
    d.add_paragraph("base")
    d.save(str(path))
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def bomb_docx(path: Path, unpacked_mb: float, paragraph: str = "junk junk junk") -> Path:
    """A valid .docx whose document.xml repeats ``paragraph`` until it unpacks to about
    ``unpacked_mb`` MB; it compresses several hundred times (a decompression bomb).

    The XML is streamed into the archive, so making a big one needs little memory."""
    entries = _base_docx(path)
    para = f"<w:p><w:r><w:t>{paragraph}</w:t></w:r></w:p>".encode()
    repeat = max(1, int(unpacked_mb * 1024 * 1024 / len(para)))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in entries.items():
            if name == "word/document.xml":
                with zf.open(name, "w", force_zip64=True) as out:
                    out.write(_HEAD.encode())
                    block = para * 4096
                    for _ in range(repeat // 4096):
                        out.write(block)
                    out.write(para * (repeat % 4096))
                    out.write(_TAIL.encode())
            else:
                zf.writestr(name, data)
    return path


def lying_zip_docx(path: Path, declared: int, real: bytes) -> Path:
    """A .docx whose document.xml declares ``declared`` bytes but holds ``real``: the
    declared size is what a bomb check reads, the real data is what a parser would get."""
    entries = _base_docx(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, real if name == "word/document.xml" else data)
    # patch the declared uncompressed size in the local header and the central directory
    raw = bytearray(path.read_bytes())
    crc_real = zlib.crc32(real)
    name = b"word/document.xml"
    for sig, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (i := raw.find(sig, start)) >= 0:
            start = i + 4
            if raw[i + name_at : i + name_at + len(name)] == name:
                assert int.from_bytes(raw[i + size_at - 8 : i + size_at - 4], "little") == crc_real
                raw[i + size_at : i + size_at + 4] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    return path


def one_line_text(path: Path, mb: float, word: str = "lorem ") -> Path:
    """A text file of about ``mb`` MB on a single line (no line break at all)."""
    block = (word * (65536 // len(word))).encode()
    with path.open("wb") as fh:
        for _ in range(int(mb * 1024 * 1024) // len(block)):
            fh.write(block)
    return path


def controls_past_64k(path: Path) -> Path:
    """Prose with a NUL, an escape sequence and other controls after the first 64 KB
    (where the binary check looks), in a line that says ``needle``."""
    prose = "Plain prose about quokkas and their habits.\n" * 2000  # ~88 KB
    path.write_text(prose + "the needle\x00 line \x1b[2J with \x07 bell and \x7f del\x9b31m end\n")
    return path
