"""``ingest --ray`` (issue 18): a local Ray (``num_cpus=2``, one per test session: it takes
5-12 s to start) ingests a small mixed corpus -- text, a PDF with a scanned page (OCR),
HTML, a broken PDF, an unsupported file -- into the collection a local ingest makes: the
same documents, chunk ids, texts and metadata, vectors within float tolerance, the same
per-file events and failure reasons. Without Ray, ``--ray`` names the extra to install.

On object storage (a moto S3 server on loopback, one per module): a Ray ingest into an S3
collection equals a local ingest into the data dir, without a credential in any output;
and the same folder ingested by two hosts at the same moment (a Ray run, and another
host's plain ingest landing between the Ray run's reading of the collection and its
commit) is stored once: no duplicate chunk ids, each document counted once."""

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


def _assert_same_vector(a, b, precision: str) -> None:
    """fp32 vectors do not depend on which chunks share a batch, so Ray's equal the local
    ones to float tolerance. int8 quantizes activations per batch (dynamic int8), and Ray
    batches chunks differently, so there the bound is the one int8 keeps against fp32."""
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if precision == "fp32":
        np.testing.assert_allclose(a, b, atol=1e-4)
    else:
        assert float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))) >= 0.98


def test_ray_ingest_equals_local_ingest(local_ray, tmp_path, settings):

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
        _assert_same_vector(row["vector"], other["vector"], local.embedding_precision)
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


@pytest.fixture(scope="module")
def s3():
    pytest.importorskip("moto", reason="the shared-storage tests need the [scale] extra")
    from servers.s3 import moto_s3

    with moto_s3() as endpoint:
        yield endpoint


def _s3_settings(s3, uri: str, monkeypatch: pytest.MonkeyPatch):
    from h2otui.config import load_settings

    for k, v in s3.env(uri).items():
        monkeypatch.setenv(k, v)
    return load_settings()


def _notes(root: Path, n: int) -> Path:
    root.mkdir()
    for i in range(n):
        (root / f"note{i}.txt").write_text(
            " ".join(f"Note {i}.{j}: the kestrel {i} circled tower {j} twice." for j in range(30))
        )
    return root


def _no_secret(*texts: str) -> None:
    from servers.s3 import ACCESS_KEY, SECRET_KEY

    for text in texts:
        assert SECRET_KEY not in text and ACCESS_KEY not in text


def test_ray_ingest_into_s3_equals_local_ingest(local_ray, s3, tmp_path, monkeypatch, settings,
                                                capfd):  # fmt: skip

    from h2otui.ingest import ingest
    from h2otui.store.collections import CollectionStore

    docs = _notes(tmp_path / "docs", 3)
    (docs / "page.html").write_text(
        "<html><body><h1>Harbor</h1><p>The purple submarine surfaced at noon.</p></body></html>"
    )
    (docs / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    local_events = list(ingest([docs], "Local", settings, workers=1))
    s3_settings = _s3_settings(s3, s3.uri(), monkeypatch)
    ray_events = list(ingest([docs], "Team", s3_settings, ray="local"))

    assert _events(ray_events) == _events(local_events)
    assert _events(ray_events)["corrupt.pdf"][0] == "failed"
    # the tables are on the bucket, not in the data dir (which holds the local run's)
    assert not list((s3_settings.data_path / "lancedb").glob("Team__*"))
    on_s3 = CollectionStore.for_settings(s3_settings).open("Team")
    local = CollectionStore(settings.data_path).open("Local")
    keys = ("path", "sha256", "status", "error", "parser", "chunk_count", "part_count")
    assert [{k: r[k] for k in keys} for r in on_s3.document_rows()] == [
        {k: r[k] for k in keys} for r in local.document_rows()
    ]
    a, b = _table(local), _table(on_s3)
    assert a.keys() == b.keys() and len(a) > 3
    for cid, row in a.items():
        assert {k: v for k, v in row.items() if k != "vector"} == {
            k: v for k, v in b[cid].items() if k != "vector"
        }
        _assert_same_vector(row["vector"], b[cid]["vector"], local.embedding_precision)
    assert on_s3.read_parts() == local.read_parts()
    assert on_s3.text_search("submarine", 3)
    out = capfd.readouterr()
    _no_secret(out.out, out.err, repr(ray_events))


def test_same_folder_from_two_hosts_at_once_is_stored_once(local_ray, s3, tmp_path, monkeypatch):
    """Host A (Ray) reads the collection, parses and embeds; host B (its own data dir, so
    no shared lock file) ingests the same folder and commits before A does. A's commit
    then finds B's chunks under the commit lease and adds none of its own copies."""
    from h2otui.ingest import ingest
    from h2otui.store.collections import Collection, CollectionStore

    docs = _notes(tmp_path / "docs", 4)
    uri = s3.uri()
    settings = _s3_settings(s3, uri, monkeypatch)
    original = Collection.append_chunks_from_ray
    seen: dict[str, object] = {}

    def host_b_commits_first(self, dataset, doc_ids):
        env = {**os.environ, **s3.env(uri), "PYTHONPATH": PYTHONPATH,
               "H2OTUI_HOME": str(tmp_path / "host-b")}  # fmt: skip
        (tmp_path / "host-b").mkdir(mode=0o700)
        proc = subprocess.run(
            [sys.executable, "-m", "h2otui", "ingest", str(docs), "--collection", "Team"],
            capture_output=True, text=True, timeout=180, env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        _no_secret(proc.stdout, proc.stderr)
        self.documents.checkout_latest()
        seen["b_docs"] = self.count_documents()
        seen["added"] = original(self, dataset, doc_ids)
        return seen["added"]

    monkeypatch.setattr(Collection, "append_chunks_from_ray", host_b_commits_first)
    events = _events(list(ingest([docs], "Team", settings, ray="local")))
    assert seen == {"b_docs": 4, "added": 0}, seen
    assert {v[0] for v in events.values()} == {"added"}

    col = CollectionStore.for_settings(settings).open("Team")
    rows = col.document_rows()
    assert sorted(Path(r["path"]).name for r in rows) == [f"note{i}.txt" for i in range(4)]
    ids = col.chunks.search().select(["chunk_id"]).limit(None).to_arrow().column(0).to_pylist()
    assert len(ids) == len(set(ids)) == sum(r["chunk_count"] for r in rows) > 4
    parts = [r["part_id"] for r in col.read_parts()]
    assert len(parts) == len(set(parts))
