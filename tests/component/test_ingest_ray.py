"""``ingest --ray`` (issue 18): a local Ray (``num_cpus=2``, one per test session: it takes
5-12 s to start) ingests a small mixed corpus -- text, a PDF with a scanned page (OCR),
HTML, a broken PDF, an unsupported file -- into the collection a local ingest makes: the
same documents, chunk ids, texts and metadata, vectors within float tolerance, the same
per-file events and failure reasons. Without Ray, ``--ray`` names the extra to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from paths import PYTHONPATH


# module scope: a running Ray keeps threads busy in this process, and Textual's Pilot
# waits for the whole process to be idle after each key, so later tests would crawl
@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="--ray needs the [scale] extra")
    pytest.importorskip("lance_ray", reason="--ray needs the [scale] extra")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _corpus(root: Path) -> Path:
    from ingest_corpus import make_pdf

    root.mkdir()
    for i in range(3):
        (root / f"note{i}.txt").write_text(
            " ".join(
                f"Note {i}.{j}: the heron {i} watched barge {j} pass the mill." for j in range(40)
            )
        )
    make_pdf(
        root / "report.pdf",
        ["Quarterly report. Churn fell to four percent in the northern region."],
        scanned=["SCANNED INVOICE 4711"],
    )
    (root / "page.html").write_text(
        "<html><body><h1>Harbor</h1><p>The purple submarine surfaced at noon.</p></body></html>"
    )
    (root / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    (root / "blob.bin").write_bytes(bytes(range(256)) * 8)
    return root


def _events(events) -> dict[str, tuple]:
    from h2otui.ingest.events import FileDone

    return {
        Path(e.path).name: (e.outcome, e.chunks, e.pages, e.parser, e.error)
        for e in events
        if isinstance(e, FileDone)
    }


def _table(col) -> dict[str, dict]:
    rows = col.chunks.search().limit(None).to_arrow().to_pylist()
    return {r["chunk_id"]: r for r in rows}


def test_ray_ingest_equals_local_ingest(local_ray, tmp_path, settings):
    import numpy as np

    from h2otui.ingest import ingest
    from h2otui.ingest.events import IngestFinished, IngestProgress, IngestStarted
    from h2otui.store.collections import CollectionStore

    docs = _corpus(tmp_path / "docs")
    local_events = list(ingest([docs], "Local", settings, workers=1))
    ray_events = list(ingest([docs], "OnRay", settings, ray="local"))

    # the same events: started, one FileDone per file with the same outcome and reason,
    # progress, finished
    assert _events(ray_events) == _events(local_events)
    statuses = {k: v[0] for k, v in _events(ray_events).items()}
    assert statuses == {
        "note0.txt": "added", "note1.txt": "added", "note2.txt": "added",
        "report.pdf": "added", "page.html": "added", "corrupt.pdf": "failed",
        "blob.bin": "skipped",
    }  # fmt: skip
    for kind in (IngestStarted, IngestProgress, IngestFinished):
        assert any(isinstance(e, kind) for e in ray_events), kind
    local_sum = local_events[-1].summary
    ray_sum = ray_events[-1].summary
    assert ray_sum.chunks_written == local_sum.chunks_written > 0
    assert sorted(ray_sum.failed) == sorted(local_sum.failed)

    store = CollectionStore(settings.data_path)
    local, on_ray = store.open("Local"), store.open("OnRay")
    keys = ("path", "sha256", "status", "error", "parser", "chunk_count", "part_count", "pages")
    assert [{k: r[k] for k in keys} for r in on_ray.document_rows()] == [
        {k: r[k] for k in keys} for r in local.document_rows()
    ]
    a, b = _table(local), _table(on_ray)
    assert a.keys() == b.keys()
    for cid, row in a.items():
        other = b[cid]
        assert {k: v for k, v in row.items() if k != "vector"} == {
            k: v for k, v in other.items() if k != "vector"
        }
        np.testing.assert_allclose(row["vector"], other["vector"], atol=1e-4)
    assert on_ray.read_parts() == local.read_parts()
    # OCR ran on the Ray worker: the scanned page's text is searchable
    assert any("4711" in r["text"] for r in b.values())
    # and retrieval works on it (full-text index built by the same indexing step)
    assert on_ray.text_search("submarine", 3)

    # a second Ray run: unchanged files are skipped, a changed one is replaced in place
    (docs / "note1.txt").write_text("Note 1 rewritten: the otter counted seven boats at dusk.")
    again = _events(list(ingest([docs], "OnRay", settings, ray="local")))
    assert again["note1.txt"][0] == "updated" and again["note0.txt"][0] == "unchanged"
    rows = {Path(r["path"]).name: r for r in on_ray.document_rows()}
    chunks = store.open("OnRay").chunks.search().select(["doc_id", "text"]).limit(None)
    texts = [
        r["text"]
        for r in chunks.to_arrow().to_pylist()
        if r["doc_id"] == rows["note1.txt"]["doc_id"]
    ]
    assert texts == ["Note 1 rewritten: the otter counted seven boats at dusk."]


def test_ray_flag_without_ray_names_the_extra(tmp_path):
    (tmp_path / "a.txt").write_text("hello there, a small note")
    code = (
        "import sys; sys.modules['ray'] = None; sys.modules['lance_ray'] = None\n"
        "from h2otui.cli import main\n"
        f"sys.argv = ['h2otui', 'ingest', {str(tmp_path)!r}, '--ray']\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": PYTHONPATH}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode != 0
    assert "h2otui[scale]" in proc.stderr and "--ray" in proc.stderr
    assert "Traceback" not in proc.stderr
