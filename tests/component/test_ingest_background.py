"""The app's background ingest queue (h2otui.ingest.background) on a real collection:
real parser processes, the real embedded MiniLM, LanceDB in the temp data dir.

Cancel midway and retry, quit midway and resume from the persisted queue file, and
the app and ``h2otui ingest`` writing one collection at once (two processes)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from h2otui.ingest import background
from h2otui.ingest.background import CANCELLED, DONE, FAILED, IngestQueue

N_FILES = 8


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(N_FILES):
        body = " ".join(
            f"Record {i}.{j}: the heron number {i} waited by mill {j}." for j in range(6)
        )
        (folder / f"note{i:02d}.txt").write_text(body)
    return folder


def _queue(settings, workers: int = 0) -> IngestQueue:  # type: ignore[no-untyped-def]
    return IngestQueue(settings.data_path, lambda: settings, workers=workers)


def _store(settings):  # type: ignore[no-untyped-def]
    from h2otui.store.collections import CollectionStore

    return CollectionStore(settings.data_path)


def _assert_whole(col) -> None:  # type: ignore[no-untyped-def]
    rows = col.document_rows()
    assert sorted(Path(r["path"]).name for r in rows) == [
        f"note{i:02d}.txt" for i in range(N_FILES)
    ]
    assert all(r["status"] == "ok" for r in rows)
    ids = col.chunks.search().select(["chunk_id"]).limit(None).to_arrow().column(0).to_pylist()
    assert len(ids) == len(set(ids)) == sum(r["chunk_count"] for r in rows)


def _stop_after_first_file(monkeypatch, queue: IngestQueue, *, quitting: bool) -> list[bool]:  # type: ignore[no-untyped-def]
    """Cancel (or quit) right after the first file is written: a deterministic midway.
    Files are embedded two chunks at a time and committed one by one (in the child
    process: the flush threshold travels in its environment), so the first written file
    comes well before the last."""
    monkeypatch.setenv("_H2OTUI_TEST_FLUSH_ROWS", "1")
    small = queue.settings().replace("embedding.batch_size", 1)
    queue.settings = lambda: small
    real_take = IngestQueue._take
    armed = [True]  # clear it to let the next runs finish

    def take(self, job, event):  # type: ignore[no-untyped-def]
        real_take(self, job, event)
        if armed[0] and getattr(event, "outcome", None) == "added":
            armed[0] = False
            if quitting:
                self._stopping.set()
            self.cancel()

    monkeypatch.setattr(IngestQueue, "_take", take)
    return armed


def test_cancel_midway_keeps_written_files_and_retry_finishes(settings, docs, monkeypatch):
    queue = _queue(settings)
    armed = _stop_after_first_file(monkeypatch, queue, quitting=False)
    job = queue.add("Notes", [str(docs)])
    assert queue.wait_idle(120)
    (snap,) = queue.snapshot()
    assert snap.state == CANCELLED, snap.message
    assert "cancelled" in snap.message
    added = [f for f in snap.files.values() if f.state == "added"]
    assert 1 <= len(added) < N_FILES
    assert not queue.path.exists()  # a cancelled job is not resumed next start
    partial = _store(settings).open("Notes").count_documents()
    assert 1 <= partial < N_FILES

    assert not armed[0]
    retried = queue.retry(job.id)
    assert retried is not None
    assert queue.wait_idle(120)
    final = next(j for j in queue.snapshot() if j.id == retried.id)
    assert final.state == DONE, final.message
    assert final.summary is not None
    # the files written before the cancel are skipped by hash, not parsed again
    assert len(final.summary.unchanged) == partial
    assert len(final.summary.added) == N_FILES - partial
    assert final.progress is not None and final.progress.files_done == N_FILES
    _assert_whole(_store(settings).open("Notes"))


def test_quit_midway_resumes_from_the_queue_file_next_start(settings, docs, monkeypatch):
    first = _queue(settings)
    armed = _stop_after_first_file(monkeypatch, first, quitting=True)
    first.add("Notes", [str(docs)], exclude=["*.md"])
    first._thread.join(120)  # type: ignore[union-attr]
    saved = json.loads(first.path.read_text())
    assert [j["collection"] for j in saved["jobs"]] == ["Notes"]
    assert saved["jobs"][0]["exclude"] == ["*.md"]
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    assert not armed[0]

    # the next start: a fresh queue on the same data dir
    second = _queue(settings)
    (job,) = second.resume_saved()
    assert job.collection == "Notes"
    assert second.wait_idle(120)
    (done,) = second.snapshot()
    assert done.state == DONE, done.message
    assert done.summary is not None and done.summary.unchanged  # resumed, not restarted
    assert not second.path.exists()
    _assert_whole(_store(settings).open("Notes"))


def test_errors_read_as_in_the_cli_and_lose_nothing(settings, docs, tmp_path):
    queue = _queue(settings)
    missing = tmp_path / "nowhere" / "gone.pdf"
    queue.add("Notes", [str(docs), str(missing)])
    assert queue.wait_idle(120)
    (job,) = queue.snapshot()
    assert job.state == FAILED  # one bad path: the others are ingested all the same
    reason = job.files[str(missing)].reason if str(missing) in job.files else ""
    assert "gone.pdf" in str(job.summary.failed) and reason
    _assert_whole(_store(settings).open("Notes"))

    # a collection embedded with another model: the job fails with the CLI's message
    _store(settings).open("Notes").set_meta("embedding_model", "other-model")
    queue.add("Notes", [str(docs)])
    assert queue.wait_idle(60)
    last = queue.snapshot()[-1]
    assert last.state == FAILED and "other-model" in last.message and "--reembed" in last.message
    with pytest.raises(Exception, match="invalid collection name"):
        queue.add("bad/name", [str(docs)])


def test_app_queue_and_cli_ingest_on_one_collection_take_turns(settings, docs):
    """Two processes: ``h2otui ingest`` holds the collection; the app's job says it is
    waiting, then finds the CLI's files unchanged. No document twice."""
    cli = subprocess.Popen(
        [sys.executable, "-m", "h2otui", "ingest", str(docs), "--collection", "Shared"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    lock = _store(settings).writer_lock("Shared")
    deadline = time.monotonic() + 60
    while lock.acquire(blocking=False):  # until the CLI holds the writer lock
        lock.release()
        assert cli.poll() is None, cli.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    queue = _queue(settings)
    queue.add("Shared", [str(docs)])
    seen: set[str] = set()
    while queue.busy:
        seen.update(j.message for j in queue.snapshot())
        time.sleep(0.02)
    _out, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, err
    assert any(m.startswith("waiting for another ingest into Shared") for m in seen), seen
    (job,) = queue.snapshot()
    assert job.state == DONE, job.message
    assert job.summary is not None and len(job.summary.unchanged) == N_FILES
    _assert_whole(_store(settings).open("Shared"))


def test_the_queue_file_is_private_and_a_damaged_one_is_ignored(settings):
    queue = _queue(settings)
    settings.data_path.mkdir(parents=True, exist_ok=True)
    queue.path.write_text("{not json")
    assert queue.resume_saved() == []
    queue.path.write_text(json.dumps({"jobs": [{"paths": []}, 3]}))
    assert queue.resume_saved() == []
    assert queue.path.name == background.QUEUE_FILE


OWNER_APP = """
import json, sys, time
from pathlib import Path
from h2otui.config import load_settings
from h2otui.ingest.background import IngestQueue

settings = load_settings()
queue = IngestQueue(settings.data_path, lambda: settings, workers=0)
queue.add("FromA", [sys.argv[1]])
assert queue.owner
print("owner", flush=True)
sys.stdin.readline()  # the other process has queued its job
while True:  # what the app does every second
    queue.sync()
    if not queue.busy and len(queue.snapshot()) == 2:
        break
    time.sleep(0.05)
print(json.dumps({j.collection: j.state for j in queue.snapshot()}), flush=True)
sys.stdin.readline()
"""


def test_two_apps_on_one_data_dir_one_runs_the_queue_and_no_job_is_lost(settings, tmp_path):
    """Two processes: the first to queue owns the queue and runs it; the other's job
    joins the queue file (merged under a lock while the owner rewrites it) and shows as
    running in the other h2otui; the owner takes it on; when the owner quits, the other
    takes over."""
    from paths import PYTHONPATH

    docs, other_docs = tmp_path / "mine", tmp_path / "other"
    docs.mkdir()
    other_docs.mkdir()
    (docs / "a.txt").write_text("The heron waited by the mill.")
    (other_docs / "b.txt").write_text("The badger keeps a ledger of acorns.")
    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER_APP, str(docs)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert owner.stdout is not None and owner.stdin is not None
        assert owner.stdout.readline().strip() == "owner"
        queue = _queue(settings)
        job = queue.add("FromB", [str(other_docs)])
        assert not queue.owner and queue.owner_pid == owner.pid
        assert not queue.busy  # not run here
        shown = {j.collection: j for j in queue.snapshot()}
        assert set(shown) == {"FromA", "FromB"}, shown
        assert shown["FromB"].state == background.ELSEWHERE
        assert f"in another h2otui (pid {owner.pid})" in shown["FromB"].message
        saved = {j["id"] for j in json.loads(queue.path.read_text())["jobs"]}
        assert job.id in saved
        owner.stdin.write("go\n")
        owner.stdin.flush()
        states = json.loads(owner.stdout.readline())
        assert states == {"FromA": DONE, "FromB": DONE}, states
        assert not queue.path.exists()  # every job done: nothing left queued
        owner.stdin.write("quit\n")
        owner.stdin.flush()
        assert owner.wait(30) == 0
    finally:
        if owner.poll() is None:
            owner.kill()
    assert _store(settings).open("FromA").document_paths() == [str(docs / "a.txt")]
    assert _store(settings).open("FromB").document_paths() == [str(other_docs / "b.txt")]
    queue.sync()  # the owner is gone: this one takes the queue over
    assert queue.owner and queue.snapshot() == []
