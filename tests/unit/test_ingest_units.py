"""Pure units of ingestion: chunking, discovery, text decoding, settings, import cost."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from paths import DATA

from h2otui.ingest.chunking import chunk_spans


def test_chunks_prefer_paragraph_and_sentence_boundaries():
    para = "Alpha beta gamma delta. " * 12  # ~290 chars
    text = para.strip() + "\n\n" + para.strip() + "\n\n" + para.strip()
    spans = chunk_spans(text, 400, 50)
    chunks = [text[s:e] for s, e in spans]
    assert all(len(c) <= 400 for c in chunks)
    assert all(c.endswith(".") for c in chunks), chunks  # never cut mid-sentence
    assert all(c[0].isupper() for c in chunks)  # and start at a sentence
    covered = set()
    for s, e in spans:
        covered.update(range(s, e))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_chunks_overlap_and_offsets_are_exact():
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    spans = chunk_spans(text, 200, 60)
    assert len(spans) > 10
    for (s1, e1), (s2, _e2) in itertools.pairwise(spans):
        assert s2 < e1  # overlap
        assert s2 > s1  # progress
    for s, e in spans:
        assert text[s:e] == text[s:e].strip()


def test_a_long_token_is_hard_cut():
    spans = chunk_spans("x" * 1300, 512, 64)
    assert [e - s for s, e in spans][:2] == [512, 512]
    assert spans[-1][1] == 1300


def test_short_and_blank_text():
    assert chunk_spans("  hello  ", 512, 64) == [(2, 7)]
    assert chunk_spans(" \n\n ", 512, 64) == []


def test_discovery_globs_excludes_hidden_and_unsupported(tmp_path):
    from h2otui.ingest.discovery import discover

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.pdf").write_bytes(b"%PDF")
    (tmp_path / "a" / "two.txt").write_text("x")
    (tmp_path / "a" / "skip.log").write_text("x")
    (tmp_path / "a" / "odd.xyz").write_text("x")
    (tmp_path / "a" / ".hidden.txt").write_text("x")
    (tmp_path / "a" / ".git").mkdir()
    (tmp_path / "a" / ".git" / "config.txt").write_text("x")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "three.md").write_text("x")
    (tmp_path / "b" / "loop").symlink_to(tmp_path / "b", target_is_directory=True)
    found = discover([tmp_path / "a", str(tmp_path / "b" / "*.md"), tmp_path / "missing.txt"],
                     exclude=["*.log"])  # fmt: skip
    names = sorted(c.path.name for c in found.files)
    assert names == ["one.pdf", "three.md", "two.txt"]
    kinds = {c.path.name: c.kind for c in found.files}
    assert kinds == {"one.pdf": "pdf", "three.md": "text", "two.txt": "text"}
    problems = {Path(p.path).name: (p.status, p.reason) for p in found.problems}
    assert problems["odd.xyz"] == ("skipped", "unsupported file type '.xyz'")
    assert problems["missing.txt"] == ("failed", "no such file or directory")
    assert found.in_scope(str(tmp_path / "a" / "gone.txt"))
    assert found.in_scope(str(tmp_path / "b" / "gone.md"))
    assert not found.in_scope(str(tmp_path / "b" / "gone.txt"))


def test_discovery_reports_folder_symlink_loops(tmp_path):
    from h2otui.ingest.discovery import discover

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("x")
    (tmp_path / "d" / "again").symlink_to(tmp_path / "d", target_is_directory=True)
    found = discover([tmp_path / "d"])
    assert [c.path.name for c in found.files] == ["f.txt"]
    assert any("symlink loop" in p.reason for p in found.problems)


def test_no_extension_files_are_sniffed(tmp_path):
    from h2otui.config import Settings
    from h2otui.ingest.discovery import discover
    from h2otui.ingest.worker import FileTask, process_file

    (tmp_path / "NOTES").write_text("plain words about a marmot")
    (tmp_path / "blob").write_bytes(b"\x7fELF\x00\x00binary")
    found = discover([tmp_path])
    results = {
        c.path.name: process_file(
            FileTask(str(c.path), c.kind, None, False, 1 << 20), Settings().ingest
        )
        for c in found.files
    }
    assert results["NOTES"].status == "parsed"
    assert results["blob"].status == "skipped" and "binary" in results["blob"].error


def test_text_decoding_accepts_legacy_encodings_and_refuses_binary(tmp_path):
    from h2otui.ingest.base import ParseError
    from h2otui.ingest.text import decode_text

    assert decode_text("café naïve".encode("cp1252"), tmp_path / "x.txt") == "café naïve"
    assert decode_text("\ufeffbom text".encode(), tmp_path / "x.txt") == "bom text"
    assert decode_text("utf16 text".encode("utf-16"), tmp_path / "x.txt") == "utf16 text"
    with pytest.raises(ParseError, match="binary"):
        decode_text(os.urandom(4000).replace(b"\x00", b"\x01"), tmp_path / "x.txt")


def test_settings_validate_ingest_options():
    from h2otui.config import ConfigError, load_settings

    s = load_settings(overrides={"ingest": {"pdf_ocr": "off", "extract_frames": 0}})
    assert s.ingest.pdf_ocr == "off" and s.ingest.extract_frames == 0
    with pytest.raises(ConfigError, match=r"ingest\.pdf_ocr"):
        load_settings(overrides={"ingest": {"pdf_ocr": "sometimes"}})
    with pytest.raises(ConfigError, match=r"ingest\.ocr_engine"):
        load_settings(environ={"H2OTUI_INGEST__OCR_ENGINE": "tesseract"})


def test_doctr_without_the_package_is_a_clear_error(tmp_path):
    from ingest_corpus import text_image

    from h2otui.config import Settings
    from h2otui.ingest.worker import FileTask, process_file

    img = tmp_path / "sign.png"
    text_image("hello", (300, 100), 40).save(img)
    opts = Settings(ingest={"ocr_engine": "doctr"}).ingest
    result = process_file(FileTask(str(img), "image", None, False, 1 << 24), opts)
    assert result.status == "failed"
    assert "doctr" in result.error and (
        "pip install" in result.error or "local weights" in result.error
    )


def test_bad_asr_model_path_is_a_clear_error(tmp_path):
    from h2otui.config import Settings
    from h2otui.ingest.worker import FileTask, process_file

    wav = DATA / "speech.wav"
    opts = Settings(ingest={"asr_model": str(tmp_path / "nowhere")}).ingest
    result = process_file(FileTask(str(wav), "audio", None, False, 1 << 24), opts)
    assert result.status == "failed" and "asr_model" in result.error and "model.bin" in result.error


def test_importing_ingest_and_store_is_cheap():
    code = (
        "import sys, h2otui.ingest, h2otui.store.collections, h2otui.commands.ingest;"
        "heavy = [m for m in ('lancedb', 'torch', 'sentence_transformers', 'pymupdf', 'fitz',"
        " 'faster_whisper', 'rapidocr_onnxruntime', 'av', 'textual', 'pyarrow') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
