"""Hostile and huge inputs through the real pipeline (worker processes, MiniLM, LanceDB):
each fails alone with a reason naming its limit, the good files of the run are indexed
(issue 12, items 7 and 8, and control characters in chunk text)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hostile_files import bomb_docx, controls_past_64k, lying_zip_docx, one_line_text
from paths import PYTHONPATH

from h2otui.config import Settings


def _opts(**ingest):
    return Settings(ingest=ingest).ingest


def test_one_run_of_hostile_files(tmp_path: Path, isolated_env: Path, monkeypatch) -> None:
    from h2otui.ingest import run_ingest
    from h2otui.ingest.worker import HANG_TEST_ENV
    from h2otui.store.collections import CollectionStore

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text("The walrus budget was approved in March.")
    bomb_docx(folder / "bomb.docx", unpacked_mb=6)  # ~20 KB that unpacks to 6 MB
    lying_zip_docx(folder / "lying.docx", declared=2000, real=b"<x>" + b" " * 3_000_000)
    one_line_text(folder / "huge.log", mb=9)  # streamed, and past max_text_mb
    controls_past_64k(folder / "controls.txt")
    (folder / "hang-me.txt").write_text("a parser stuck on this file")
    monkeypatch.setenv(HANG_TEST_ENV, "hang-me")

    settings = Settings(ingest={"max_text_mb": 2, "max_seconds_per_file": 2})
    summary = run_ingest([folder], "Limits", settings, workers=2)

    failed = {Path(p).name: reason for p, reason in summary.failed}
    assert set(failed) == {"bomb.docx", "lying.docx", "huge.log", "hang-me.txt"}, failed
    assert "ingest.max_unpack_ratio" in failed["bomb.docx"]
    assert "decompression bomb" in failed["bomb.docx"]
    # a declared size that lies is caught while reading (zip's CRC), not trusted
    assert "not a valid .docx" in failed["lying.docx"]
    assert "ingest.max_text_mb" in failed["huge.log"]
    assert "ingest.max_seconds_per_file = 2" in failed["hang-me.txt"]
    assert sorted(Path(p).name for p in summary.added) == ["controls.txt", "good.txt"]

    col = CollectionStore(isolated_env).open("Limits")
    texts = col.chunks.to_arrow().column("text").to_pylist()
    needle = [t for t in texts if "needle" in t]
    assert needle, texts
    assert not any(
        (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in "".join(texts)
    )
    assert "the needle line [2J with  bell and  del31m end" in needle[0]


def test_zip_checks_read_declared_sizes() -> None:
    import tempfile

    from h2otui.ingest.base import ParseError
    from h2otui.ingest.limits import check_zip

    with tempfile.TemporaryDirectory() as tmp:
        big = bomb_docx(Path(tmp) / "big.docx", unpacked_mb=3)
        check_zip(big, _opts(max_unpack_ratio=1000))  # within both limits
        with pytest.raises(ParseError, match=r"more than 2 MB \(ingest.max_unpacked_mb"):
            check_zip(big, _opts(max_unpacked_mb=2, max_unpack_ratio=1e9))
        with pytest.raises(ParseError, match=r"expands \d+x .*ingest.max_unpack_ratio = 50"):
            check_zip(big, _opts(max_unpack_ratio=50))
        not_zip = Path(tmp) / "fake.docx"
        not_zip.write_bytes(b"PK\x03\x04 truncated")
        with pytest.raises(ParseError, match="bad zip archive"):
            check_zip(not_zip, _opts())


def test_big_text_is_read_in_parts_losslessly(tmp_path: Path) -> None:
    from h2otui.ingest import text
    from h2otui.ingest.base import ParseError
    from h2otui.ingest.limits import clean_text

    one_line = one_line_text(tmp_path / "line.txt", mb=9)
    parts = text.parse(one_line, _opts(max_text_mb=20)).docs[0].parts
    assert len(parts) == 10
    assert all(len(p.text) <= text.PART_CHARS for p in parts)
    assert "".join(p.text for p in parts) == one_line.read_text()

    lines = tmp_path / "lines.txt"
    lines.write_bytes("ünïcode line\n".encode() * 800_000)  # 10.4 MB, multi-byte chars
    parts = text.parse(lines, _opts()).docs[0].parts
    assert all(p.text.endswith("\n") for p in parts[:-1])  # parts end at line breaks
    assert "".join(p.text for p in parts) == lines.read_text()

    cp1252 = tmp_path / "legacy.txt"  # not UTF-8 past the first block: re-read as cp1252
    cp1252.write_bytes(b"plain words here\n" * 600_000 + "caf\xe9\n".encode("cp1252"))
    assert "".join(p.text for p in text.parse(cp1252, _opts()).docs[0].parts).endswith("café\n")

    with pytest.raises(ParseError, match=r"ingest\.max_text_mb"):
        text.parse(one_line, _opts(max_text_mb=4))
    small = tmp_path / "small.txt"
    small.write_text("x" * 3000)
    with pytest.raises(ParseError, match=r"ingest\.max_text_mb"):
        text.parse(small, _opts(max_text_mb=0.002))

    assert clean_text("a\x00b\x1b[1mc\r\nd\re\x0cf\tg\x85h") == "ab[1mc\nd\ne\nf\tgh"


def test_worker_memory_cap_turns_a_balloon_into_a_memory_error() -> None:
    code = textwrap.dedent(
        """
        from h2otui.ingest.worker import limit_memory
        limit_memory(300)
        try:
            blob = bytearray(600 * 1024 * 1024)
        except MemoryError:
            print("capped")
        else:
            print("not capped")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout.strip() == "capped", proc.stderr


def test_ocr_page_cap(tmp_path: Path) -> None:
    from ingest_corpus import make_pdf

    from h2otui.ingest.parsers import parse_file

    pdf = make_pdf(tmp_path / "scan.pdf", [], scanned=["pelican", "heron", "osprey"])
    result = parse_file(pdf, "pdf", _opts(ocr_max_pages=1))
    pages = [p.page for p in result.docs[0].parts]
    assert pages == [1]
    assert result.warnings == ["2 page(s) past ingest.ocr_max_pages = 1 were not OCRed"]
