"""End to end: every supported file type and every bad input through the real pipeline
(worker processes, RapidOCR, faster-whisper tiny.en, all-MiniLM-L6-v2, LanceDB).

One collection is built once for the module (the models are small, but OCR and ASR on
a 2-core machine still take a while); the tests then read it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from ingest_corpus import (
    SPEECH_WORD,
    make_pdf,
    text_image,
    write_audio,
    write_docx,
    write_video,
)
from paths import DATA

pytestmark = pytest.mark.slow

LONG_PAGE = " ".join(
    f"Sentence {i} of the second page describes the wombat migration in some detail."
    for i in range(30)
)
TEXT_FILES = {
    "notes.txt": "Meeting notes: the walrus budget was approved.",
    "readme.md": "# Readme\n\nThe **heron** module is documented here.",
    "guide.rst": "Guide\n=====\n\nConfigure the tapir option first.",
    "table.csv": "animal,count\nlemur,3\n",
    "data.json": '{"animal": "ocelot", "count": 4}',
    "app.log": "2024-01-01 INFO started the badger service\n",
    "script.py": "def pangolin():\n    return 'scales'\n",
}
IMAGES = {
    "sign.png": "zebra crossing",
    "photo.jpg": "giraffe",
    "scan.tiff": "lantern",
    "chart.bmp": "compass",
    "logo.webp": "anchor",
    "anim.gif": "harvest",
}
AUDIO = {"speech.wav": None, "speech.mp3": "libmp3lame", "speech.m4a": "aac",
         "speech.flac": "flac", "speech.ogg": "libopus"}  # fmt: skip


def _unreadable(bad: Path) -> Path:
    """A regular file this process cannot read. As root, chmod does not stop reads, so
    use a write-only sysfs attribute (a real EACCES on open) through a symlink."""
    path = bad / "unreadable.txt"
    if os.geteuid() == 0:
        target = Path("/sys/bus/pci/rescan")
        if not target.exists():
            pytest.skip("running as root without a write-only sysfs file to read")
        path.symlink_to(target)
    else:
        path.write_text("secret")
        path.chmod(0)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("corpus")
    docs = root / "docs"
    docs.mkdir()
    make_pdf(
        docs / "report.pdf",
        ["The first page introduces the kangaroo survey.", LONG_PAGE, "Page three: platypus."],
        scanned=["Scanned invoice pelican"],
    )
    for name, text in TEXT_FILES.items():
        (docs / name).write_text(text)
    (docs / "page.html").write_text(
        "<html><head><title>Birds</title><style>.x{color:red} stylesecret</style></head>"
        "<body><nav>menu</nav><main><p>The flamingo colony grew.</p></main>"
        "<script>var scriptsecret = 1;</script></body></html>"
    )
    write_docx(docs / "letter.docx", ["Dear reader, the meerkat arrived."])
    for name, word in IMAGES.items():
        text_image(word, (600, 160), 56).save(docs / name)
    media = docs / "media"
    media.mkdir()
    for name, codec in AUDIO.items():
        if codec is None:
            shutil.copy(DATA / "speech.wav", media / name)
        else:
            write_audio(media / name, codec)
    write_video(media / "talk.mp4", ["Slide one octopus", "Second slide narwhal"], codec="libx264")
    write_video(media / "silent.mkv", ["Mkv slide axolotl"], with_audio=False)
    write_video(media / "clip.webm", ["Webm slide beacon"], codec="libvpx", audio_codec="libopus")
    write_video(media / "movie.mov", ["Mov slide tundra"], with_audio=False)
    write_video(media / "old.avi", ["Avi slide glacier"], with_audio=False)
    (docs / "thing.xyz").write_text("not a supported type")

    bad = root / "bad"
    bad.mkdir()
    (bad / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    import pymupdf

    locked = pymupdf.open()
    locked.new_page().insert_text((72, 72), "locked secret")
    locked.save(str(bad / "locked.pdf"), encryption=pymupdf.PDF_ENCRYPT_AES_256,
                user_pw="pw", owner_pw="owner")  # fmt: skip
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 20)
    png = bad / "whole.png"
    text_image("truncated", (600, 160)).save(png)
    (bad / "truncated.png").write_bytes(png.read_bytes()[:400])
    png.unlink()
    write_audio(bad / "silence.wav", "pcm_s16le", np.zeros(16000 * 2, dtype=np.int16))
    write_video(bad / "noaudio.avi", [""], with_audio=False)
    _unreadable(bad)
    (bad / "loop.txt").symlink_to(bad / "loop.txt")
    (bad / "huge.txt").write_text("big " * 1_100_000)  # 4.4 MB > max_file_mb below
    (bad / "vanishing.txt").write_text("this file is deleted while the run starts")
    return {"root": root, "docs": docs, "bad": bad}


def _settings(**ingest):
    from h2otui.config import Settings

    base = {"max_file_mb": 4.0, "extract_frames": 4, "frame_interval_s": 1.0}
    base.update(ingest)
    return Settings(ingest=base)


@pytest.fixture(scope="module")
def ingested(corpus, tmp_path_factory):
    """Ingest docs/ and bad/ once; delete bad/vanishing.txt as the run starts."""
    from h2otui.ingest import FileDone, IngestFinished, IngestStarted, ingest

    data_dir = tmp_path_factory.mktemp("data")
    events = []
    for event in ingest(
        [corpus["docs"], corpus["bad"]], "Corpus", _settings(), data_dir=data_dir, workers=2
    ):
        events.append(event)
        if isinstance(event, IngestStarted):
            (corpus["bad"] / "vanishing.txt").unlink()  # discovered, then gone
    summary = next(e for e in events if isinstance(e, IngestFinished)).summary
    from h2otui.store.collections import CollectionStore

    col = CollectionStore(data_dir).open("Corpus")
    chunks = col.chunks.to_arrow().to_pylist()
    return {
        "summary": summary,
        "events": events,
        "col": col,
        "data_dir": data_dir,
        "chunks": chunks,
        "file_events": [e for e in events if isinstance(e, FileDone)],
    }


def _chunks_of(ingested, name: str) -> list[dict]:
    return [c for c in ingested["chunks"] if Path(c["source"]).name == name]


def _text_of(ingested, name: str) -> str:
    return " ".join(c["text"] for c in _chunks_of(ingested, name)).lower()


def test_every_supported_type_is_added(ingested, corpus):
    summary = ingested["summary"]
    added = {Path(p).name for p in summary.added}
    expected = {"report.pdf", "page.html", "letter.docx", *TEXT_FILES, *IMAGES, *AUDIO,
                "talk.mp4", "silent.mkv", "clip.webm", "movie.mov", "old.avi"}  # fmt: skip
    assert expected <= added, (expected - added, summary.failed)
    assert [Path(p).name for p, _ in summary.skipped] == ["thing.xyz"]
    assert "unsupported" in summary.skipped[0][1]


@pytest.mark.parametrize(
    "name,word",
    [("notes.txt", "walrus"), ("readme.md", "heron"), ("guide.rst", "tapir"),
     ("table.csv", "lemur"), ("data.json", "ocelot"), ("app.log", "badger"),
     ("script.py", "pangolin"), ("page.html", "flamingo"), ("letter.docx", "meerkat"),
     ("letter.docx", "quokka")],
)  # fmt: skip
def test_text_like_files_are_searchable(ingested, name, word):
    assert word in _text_of(ingested, name)


def test_html_drops_scripts_and_styles(ingested):
    text = _text_of(ingested, "page.html")
    assert "scriptsecret" not in text and "stylesecret" not in text and "menu" not in text


def test_pdf_pages_are_numbered_and_scans_are_ocred(ingested):
    chunks = _chunks_of(ingested, "report.pdf")
    by_page: dict[int, str] = {}
    for c in chunks:
        assert c["kind"] == "page"
        by_page[c["page"]] = by_page.get(c["page"], "") + " " + c["text"].lower()
    assert sorted(by_page) == [1, 2, 3, 4]
    assert "kangaroo" in by_page[1] and "wombat" in by_page[2] and "platypus" in by_page[3]
    assert "pelican" in by_page[4]  # the image-only page, read by OCR
    # the long page was cut into several overlapping chunks with exact offsets into the part
    page2 = sorted((c for c in chunks if c["page"] == 2), key=lambda c: c["chunk_index"])
    assert len(page2) >= 3
    parts = ingested["col"].parts.to_arrow().to_pylist()
    part2 = next(p for p in parts if p["page"] == 2 and Path(p["source"]).name == "report.pdf")
    for c in page2:
        assert part2["text"][c["char_start"] : c["char_end"]] == c["text"]
        assert len(c["text"]) <= 512
    assert page2[1]["char_start"] < page2[0]["char_end"]  # overlap
    doc = next(d for d in ingested["col"].document_rows() if d["path"].endswith("report.pdf"))
    assert doc["parser"] == "pymupdf+rapidocr" and doc["pages"] == 4 and doc["status"] == "ok"
    assert doc["chunk_count"] == len(chunks)


@pytest.mark.parametrize("name,word", list(IMAGES.items()))
def test_images_are_ocred(ingested, name, word):
    assert word in _text_of(ingested, name)


@pytest.mark.parametrize("name", list(AUDIO))
def test_audio_is_transcribed_with_time_spans(ingested, name):
    chunks = _chunks_of(ingested, name)
    assert SPEECH_WORD in " ".join(c["text"] for c in chunks).lower()
    for c in chunks:
        assert c["kind"] == "segment" and c["page"] is None
        assert 0.0 <= c["start_time"] < c["end_time"] <= 5.0


def test_video_transcript_and_frames(ingested):
    chunks = _chunks_of(ingested, "talk.mp4")
    speech = [c for c in chunks if c["kind"] == "segment"]
    frames = [c for c in chunks if c["kind"] == "frame"]
    assert SPEECH_WORD in " ".join(c["text"] for c in speech).lower()
    assert all(c["end_time"] > c["start_time"] for c in speech)
    by_time = {c["frame_time"]: c["text"].lower() for c in frames}
    assert any("octopus" in t and ft < 2.0 for ft, t in by_time.items()), by_time
    assert any("narwhal" in t and ft >= 2.0 for ft, t in by_time.items()), by_time
    # frames are a separate "#frames" document (h2oGPT's default), of the same source
    docs = {d["path"]: d for d in ingested["col"].document_rows()}
    video = str(next(c["source"] for c in chunks))
    assert docs[video + "#frames"]["chunk_count"] == len(frames)
    assert {c["doc_id"] for c in frames} == {docs[video + "#frames"]["doc_id"]}
    assert {c["doc_id"] for c in speech} == {docs[video]["doc_id"]}


@pytest.mark.parametrize("name,word", [("silent.mkv", "axolotl"), ("clip.webm", "beacon"),
                                       ("movie.mov", "tundra"), ("old.avi", "glacier")])  # fmt: skip
def test_other_video_containers(ingested, name, word):
    assert word in _text_of(ingested, name)


def test_video_without_audio_track_is_reported(ingested):
    warnings = {Path(p).name: w for p, w in ingested["summary"].warnings}
    assert warnings.get("silent.mkv") == "no audio track"


BAD = {
    "corrupt.pdf": "not a valid pdf",
    "locked.pdf": "password-protected",
    "empty.txt": "empty file",
    "binary.txt": "binary content",
    "truncated.png": "image",
    "silence.wav": "no speech",
    "noaudio.avi": "no audio track",
    "unreadable.txt": "permission denied",
    "loop.txt": "symlink loop",
    "huge.txt": "max_file_mb",
    "vanishing.txt": "vanished",
}


@pytest.mark.parametrize("name,reason", list(BAD.items()))
def test_bad_input_fails_with_a_reason(ingested, name, reason):
    failed = {Path(p).name: r for p, r in ingested["summary"].failed}
    assert name in failed, failed
    assert reason in failed[name].lower()
    assert not _chunks_of(ingested, name)


def test_failures_are_recorded_in_documents(ingested):
    rows = {Path(d["path"]).name: d for d in ingested["col"].document_rows()}
    assert rows["corrupt.pdf"]["status"] == "failed" and rows["corrupt.pdf"]["error"]
    assert rows["thing.xyz"]["status"] == "skipped"
    assert rows["report.pdf"]["status"] == "ok"


def test_progress_events_count_every_file(ingested):
    from h2otui.ingest import IngestProgress, IngestStarted

    started = next(e for e in ingested["events"] if isinstance(e, IngestStarted))
    last = [e for e in ingested["events"] if isinstance(e, IngestProgress)][-1]
    assert last.files_done == last.files_total == started.files_total
    assert last.chunks == ingested["summary"].chunks_written == len(ingested["chunks"])
    assert last.pages == 4 and last.media_seconds > 20


def test_vectors_are_normalised_and_searchable(ingested):
    from h2otui.ingest.embedding import DEFAULT_MODEL_ID, load_embedder

    col = ingested["col"]
    assert col.embedding_model == DEFAULT_MODEL_ID and col.dim == 384
    vecs = np.array([c["vector"] for c in ingested["chunks"]], dtype=np.float32)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    query = load_embedder(data_dir=col.store.data_dir, precision=col.embedding_precision).encode(
        ["which animal was found near the lighthouse?"]
    )[0]
    hits = col.chunks.search(query).limit(3).to_list()
    assert any(SPEECH_WORD in h["text"].lower() for h in hits)
    fts = col.chunks.search("pelican", query_type="fts").limit(5).to_list()
    assert fts and all("pelican" in h["text"].lower() for h in fts)


def test_reingest_reports_unchanged_without_loading_models(ingested, corpus):
    from h2otui.ingest import run_ingest

    summary = run_ingest([corpus["docs"]], "Corpus", _settings(), data_dir=ingested["data_dir"])
    assert not summary.added and not summary.updated
    assert {Path(p).name for p in summary.unchanged} >= {"report.pdf", "talk.mp4", "notes.txt"}
    assert ingested["col"].count_chunks() == len(ingested["chunks"])
