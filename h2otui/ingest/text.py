"""Plain text, markup and source code: the whole file is one part, or, for a file above
:data:`STREAM_BYTES`, parts of at most :data:`PART_CHARS` characters read in blocks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from h2otui.ingest.base import ParsedDoc, ParseError, ParseResult, Part
from h2otui.ingest.limits import text_budget, too_much_text

if TYPE_CHECKING:
    from h2otui.config import IngestSettings

#: files above this are read in blocks into several parts instead of whole
STREAM_BYTES = 8 << 20
BLOCK_BYTES = 1 << 20
#: the most characters of one part of a streamed file
PART_CHARS = 1_000_000


def decode_text(data: bytes, path: Path) -> str:
    """Decode bytes that should be text; binary content raises :class:`ParseError`."""
    head = data[:65536]
    if b"\x00" in head and not (head.startswith((b"\xff\xfe", b"\xfe\xff"))):
        raise ParseError(f"binary content in a {path.suffix or 'text'} file (NUL bytes); not text")
    for enc in (
        ("utf-8-sig", "utf-16") if head.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8-sig",)
    ):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            pass
    # not UTF-8: accept a legacy 8-bit encoding only if it looks like prose
    text = data.decode("cp1252", errors="replace")
    controls = sum(1 for c in text[:65536] if ord(c) < 32 and c not in "\t\n\r\f")
    bad = text[:65536].count("\ufffd")
    if (controls + bad) > 0.01 * max(1, min(len(text), 65536)):
        raise ParseError(f"binary content in a {path.suffix or 'text'} file; not text")
    return text


def parse(path: Path, opts: IngestSettings) -> ParseResult:
    budget = text_budget(opts)
    if path.stat().st_size > STREAM_BYTES and path.suffix.lower() != ".ipynb":
        parts = _read_streamed(path, budget, opts)
    else:
        text = decode_text(path.read_bytes(), path)
        if path.suffix.lower() == ".ipynb":
            text = _notebook_text(text) or text
        if len(text) > budget:
            raise too_much_text(len(text), opts)
        parts = [Part(text=text.replace("\r\n", "\n").replace("\r", "\n"), kind="text")]
    if not any(p.text.strip() for p in parts):
        raise ParseError("no text (only whitespace)")
    return ParseResult(docs=[ParsedDoc(parser="text", parts=parts)])


def _read_streamed(path: Path, budget: int, opts: IngestSettings) -> list[Part]:
    """A big text file, read in blocks into parts of at most :data:`PART_CHARS`
    characters (cut after a line break when there is one): memory stays within the text
    budget whatever the file holds (one 200 MB line, say), and a file past the budget
    fails after reading just past it, not all of it."""
    with path.open("rb") as fh:
        head = fh.read(65536)
    decode_text(head[: len(head) - 4] or head, path)  # binary content fails here
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "cp1252"):
        try:
            return _decode_parts(path, encoding, budget, opts)
        except UnicodeDecodeError:
            continue  # not UTF-8 after all: the legacy 8-bit reading (never fails)
    raise ParseError("cannot decode the file as text")  # pragma: no cover - cp1252 decodes all


def _decode_parts(path: Path, encoding: str, budget: int, opts: IngestSettings) -> list[Part]:
    import codecs

    errors = "replace" if encoding == "cp1252" else "strict"
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    parts: list[Part] = []
    chars = 0
    pending = ""

    def take(upto: int) -> None:
        nonlocal pending
        parts.append(Part(text=pending[:upto], kind="text"))
        pending = pending[upto:]

    with path.open("rb") as fh:
        while block := fh.read(BLOCK_BYTES):
            piece = decoder.decode(block)
            chars += len(piece)
            if chars > budget:
                raise too_much_text(chars, opts, stopped=True)
            pending += piece
            while len(pending) >= PART_CHARS:
                cut = pending.rfind("\n", PART_CHARS // 2, PART_CHARS)
                take(cut + 1 if cut >= 0 else PART_CHARS)
        pending += decoder.decode(b"", final=True)
    if pending:
        take(len(pending))
    return parts


def _notebook_text(raw: str) -> str | None:
    import json

    try:
        nb = json.loads(raw)
        cells = nb.get("cells", [])
        return "\n\n".join("".join(c.get("source", [])) for c in cells if c.get("source"))
    except (ValueError, AttributeError, TypeError):
        return None
