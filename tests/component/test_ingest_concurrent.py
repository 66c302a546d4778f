"""Two writers of one collection at once (two ``h2otui ingest`` of the same folder, as a
user with two terminals or a cron job and the TUI would run them): the second waits for
the first, then finds its files unchanged. No document twice, no commit-conflict
traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

N_FILES = 12


def _ingest(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "h2otui", "ingest", str(folder), "--collection", "Shared"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip


def test_two_concurrent_ingests_of_one_folder_store_each_file_once(tmp_path):
    from h2otui.config import Settings
    from h2otui.store.collections import CollectionStore

    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(N_FILES):
        body = " ".join(f"Note {i}.{j}: the heron number {i} waited by mill {j}." for j in range(i))
        (docs / f"note{i:02d}.txt").write_text(body or f"Note {i}: empty pond.")

    runs = [_ingest(docs), _ingest(docs)]
    results = [p.communicate(timeout=300) for p in runs]
    for p, (_out, err) in zip(runs, results, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err
    col = CollectionStore(Settings().data_path).open("Shared")
    rows = col.document_rows()
    assert sorted(Path(r["path"]).name for r in rows) == [
        f"note{i:02d}.txt" for i in range(N_FILES)
    ]
    assert col.count_chunks() == sum(r["chunk_count"] for r in rows)
    chunk_ids = col.chunks.search().select(["chunk_id"]).limit(None).to_arrow().column(0)
    assert len(set(chunk_ids.to_pylist())) == len(chunk_ids)
    # the two really overlapped: one waited for the other, and said so
    waited = [err for _, err in results if "waiting for another ingest into Shared" in err]
    assert len(waited) == 1, [err for _, err in results]
