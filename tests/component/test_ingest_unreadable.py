"""A folder that cannot be read is a failure, not an empty folder: ``--sync`` must not
take it as "every file in it was deleted". Runs the real CLI; as root, without the
capabilities that let root read everything whatever the permissions."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2
PR_CAPBSET_DROP = 24


def _without_root_file_powers() -> None:
    """In the child, before exec: drop the capabilities that let root ignore file
    permissions from the bounding set, so the exec-ed h2otui honours them."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _ingest(docs: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "h2otui", "ingest", str(docs), "-c", "Docs", "--json", *args],
        capture_output=True, text=True, timeout=300, env=dict(os.environ),
        preexec_fn=_without_root_file_powers if os.geteuid() == 0 else None,
    )  # fmt: skip


def test_sync_keeps_the_documents_of_an_unreadable_folder(tmp_path, request):
    docs = tmp_path / "docs"
    (docs / "private").mkdir(parents=True)
    (docs / "a.txt").write_text("The osprey nests by the river.")
    (docs / "private" / "b.txt").write_text("The heron waits by the mill.")
    (docs / "private" / "c.txt").write_text("The kingfisher dives.")

    first = _ingest(docs)
    assert first.returncode == 0, first.stderr
    assert len(json.loads(first.stdout)["added"]) == 3

    (docs / "private").chmod(0o000)
    request.addfinalizer(lambda: (docs / "private").chmod(0o755))
    synced = _ingest(docs, "--sync")
    summary = json.loads(synced.stdout)
    assert synced.returncode == 3, synced.stderr  # partial: a folder failed
    assert summary["removed"] == []
    assert summary["failed"] == [
        {"path": str(docs / "private"), "reason": "unreadable folder: permission denied"}
    ]
    assert summary["unchanged"] == [str(docs / "a.txt")]

    # once readable again, nothing had been lost
    (docs / "private").chmod(0o755)
    again = _ingest(docs, "--sync")
    assert again.returncode == 0, again.stderr
    assert len(json.loads(again.stdout)["unchanged"]) == 3
