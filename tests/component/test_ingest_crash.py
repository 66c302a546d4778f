"""SIGKILL an ingest at several moments, run it again: every file is in the collection
exactly once (no duplicate chunks, no half documents)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from paths import PYTHONPATH

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import sys
    import h2otui.ingest.writer as writer
    from h2otui.config import Settings
    from h2otui.ingest import FileDone, IngestPhase, ingest

    if __name__ == "__main__":
        writer.FLUSH_ROWS = 1  # one commit per file: many moments to be killed at
        for event in ingest([sys.argv[1]], "Crash", Settings(), workers=2):
            if isinstance(event, FileDone):
                print("DONE", event.path, flush=True)
            elif isinstance(event, IngestPhase):
                print("PHASE", event.name, flush=True)
        print("FINISHED", flush=True)
    """
)


def _corpus(root: Path, n: int) -> list[Path]:
    root.mkdir()
    paths = []
    for i in range(n):
        p = root / f"f{i:03}.md"
        p.write_text(f"# File {i}\n\n" + f"File {i} discusses topic {i} at length. " * (10 + i % 7))
        paths.append(p)
    return paths


def _run_until(
    script: Path, folder: Path, env: dict[str, str], kill_after: str, count: int
) -> bool:
    """Run the ingest script; SIGKILL it once ``count`` lines starting with ``kill_after``
    were printed. Returns False when it finished before that."""
    proc = subprocess.Popen(
        [sys.executable, str(script), str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    seen = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(kill_after):
            seen += 1
            if seen >= count:
                # the parser processes exit on their own when their parent is gone
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
    proc.wait()
    return False


def test_sigkill_mid_run_then_rerun_leaves_no_duplicates(tmp_path):
    from h2otui.config import Settings
    from h2otui.ingest import run_ingest
    from h2otui.store.collections import CollectionStore

    files = _corpus(tmp_path / "docs", 30)
    script = tmp_path / "ingest_script.py"
    script.write_text(SCRIPT)
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHONPATH

    killed = [
        _run_until(script, tmp_path / "docs", env, "DONE", 3),
        _run_until(script, tmp_path / "docs", env, "DONE", 9),
    ]
    assert any(killed), "the run finished before it could be killed"
    # change a file between crashes: the rerun must replace it, not add a second copy
    files[0].write_text("# File 0\n\nRewritten: now about the kestrel.")

    summary = run_ingest([str(tmp_path / "docs")], "Crash", Settings())
    assert summary.ok
    col = CollectionStore(Settings().data_path).open("Crash")
    rows = (
        col.chunks.search()
        .select(["chunk_id", "doc_id", "source", "text"])
        .limit(None)
        .to_arrow()
        .to_pylist()
    )
    ids = [r["chunk_id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert {r["source"] for r in rows} == {str(f) for f in files}
    docs = col.document_rows()
    assert len(docs) == len(files) and all(d["status"] == "ok" for d in docs)
    per_doc: dict[str, int] = {}
    for r in rows:
        per_doc[r["doc_id"]] = per_doc.get(r["doc_id"], 0) + 1
    assert per_doc == {d["doc_id"]: d["chunk_count"] for d in docs}
    texts = [r["text"] for r in rows if r["source"] == str(files[0])]
    assert len(texts) == 1 and "kestrel" in texts[0]
    parts = col.parts.search().select(["doc_id", "part_index"]).limit(None).to_arrow().to_pylist()
    assert len(parts) == len({(p["doc_id"], p["part_index"]) for p in parts}) == len(files)
    # and a further run finds nothing to do
    again = run_ingest([str(tmp_path / "docs")], "Crash", Settings())
    assert len(again.unchanged) == len(files)


def test_a_file_that_kills_its_worker_fails_alone(tmp_path, monkeypatch):
    """A parser process that dies (a segfault in a native library, the OOM killer) takes
    the pool down; the files in flight are retried one at a time, the culprit fails with
    a reason and every other file is ingested."""
    from h2otui.config import Settings
    from h2otui.ingest import run_ingest
    from h2otui.ingest.worker import CRASH_TEST_ENV

    files = _corpus(tmp_path / "docs", 8)
    boom = tmp_path / "docs" / "boom.md"
    boom.write_text("# never parsed")
    monkeypatch.setenv(CRASH_TEST_ENV, "boom")
    summary = run_ingest([str(tmp_path / "docs")], "Crash", Settings(), workers=2)
    assert [(Path(p).name, "crashed" in r) for p, r in summary.failed] == [("boom.md", True)]
    assert sorted(summary.added) == sorted(str(f) for f in files)
