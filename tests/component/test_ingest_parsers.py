"""Parser options, run in this process on small generated files: pdf_ocr policy, frame
sampling (scene vs interval), extract_frames = 0, frames_as_same_doc."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_corpus import SPEECH_WORD, make_pdf, write_video

from h2otui.config import Settings


def _parse(path: Path, kind: str, **ingest):
    from h2otui.ingest.parsers import parse_file

    return parse_file(path, kind, Settings(ingest=ingest).ingest)


@pytest.fixture(scope="module")
def scanned_pdf(tmp_path_factory) -> Path:
    return make_pdf(
        tmp_path_factory.mktemp("pdf") / "mixed.pdf",
        ["A text page about the heron."],
        scanned=["Scanned page pelican"],
    )


def test_pdf_ocr_off_reads_only_the_text_layer(scanned_pdf):
    result = _parse(scanned_pdf, "pdf", pdf_ocr="off")
    (doc,) = result.docs
    assert [p.page for p in doc.parts] == [1] and doc.parser == "pymupdf"
    assert result.pages == 2


def test_pdf_ocr_auto_reads_only_pages_without_text(scanned_pdf):
    (doc,) = _parse(scanned_pdf, "pdf", pdf_ocr="auto").docs
    assert [p.page for p in doc.parts] == [1, 2]
    assert "heron" in doc.parts[0].text and "pelican" in doc.parts[1].text.lower()
    assert doc.parser == "pymupdf+rapidocr"


def test_pdf_with_only_scans_and_ocr_off_fails_with_a_hint(tmp_path):
    from h2otui.ingest.base import ParseError

    pdf = make_pdf(tmp_path / "scan.pdf", [], scanned=["only an image"])
    with pytest.raises(ParseError, match="pdf_ocr = off"):
        _parse(pdf, "pdf", pdf_ocr="off")


@pytest.fixture(scope="module")
def slides(tmp_path_factory) -> Path:
    return write_video(
        tmp_path_factory.mktemp("video") / "slides.mp4",
        ["First slide heron", "First slide heron", "Third slide egret"],
        codec="mpeg4",
        with_audio=False,
    )


def test_scene_selection_skips_unchanged_frames(slides):
    from h2otui.ingest.video import sample_frames

    opts = Settings(ingest={"frame_interval_s": 1.0, "extract_frames": 10}).ingest
    scene = [t for t, _ in sample_frames(slides, opts)]
    interval = [
        t for t, _ in sample_frames(slides, opts.model_copy(update={"frame_selection": "interval"}))
    ]
    assert interval == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert scene == [0.0, 4.0]  # the slide only changes at 4 s


def test_frames_as_same_doc_and_extract_frames_zero(slides, tmp_path):
    from h2otui.ingest.base import ParseError

    talk = write_video(tmp_path / "talk.mp4", ["Slide about the ibis"], seconds_per_scene=4)
    (doc,) = _parse(talk, "video", frames_as_same_doc=True).docs
    kinds = [p.kind for p in doc.parts]
    assert "segment" in kinds and "frame" in kinds and doc.suffix == ""
    text = " ".join(p.text for p in doc.parts).lower()
    assert SPEECH_WORD in text and "ibis" in text

    (only_speech,) = _parse(talk, "video", extract_frames=0).docs
    assert {p.kind for p in only_speech.parts} == {"segment"}
    with pytest.raises(ParseError, match="extract_frames = 0"):
        _parse(slides, "video", extract_frames=0)  # no audio and frames off: nothing
