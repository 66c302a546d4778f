"""The writer lock (h2otui.locking) and the UTF-8-safe stored form of file names."""

from __future__ import annotations

import os
import threading

from h2otui.locking import FileLock, exclusive, waiting_message
from h2otui.store.schema import real_path, stored_path


def test_a_held_lock_makes_another_thread_wait_and_names_the_holder(tmp_path):
    path = tmp_path / "C.lock"
    seen: list[object] = []
    with exclusive(path):
        inner = FileLock(path)  # say ingest's lock, then re-embed's in the same thread
        assert inner.acquire(blocking=False)
        inner.release()

        def other() -> None:
            lock = FileLock(path)
            seen.append(lock.acquire(blocking=False))
            seen.append(lock.holder_pid())

        t = threading.Thread(target=other)
        t.start()
        t.join(timeout=10)
    assert seen == [False, os.getpid()]
    with exclusive(path, on_wait=seen.append):  # free again: no waiting
        pass
    assert len(seen) == 2
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert waiting_message("another ingest into C", 42) == (
        "waiting for another ingest into C (pid 42)..."
    )


def test_stored_names_are_utf8_and_round_trip():
    bad = os.fsdecode(b"/d/caf\xe9 \xff.txt")
    assert stored_path(bad) == "/d/caf\\xe9 \\xff.txt"
    assert stored_path(bad).encode("utf-8")
    assert real_path(stored_path(bad)) == bad
    for good in ("/d/café.txt", "/d/plain.txt", "/d/a\\x41.txt"):
        assert stored_path(good) == good and real_path(good) == good
