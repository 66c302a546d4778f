"""Advisory file locks (``flock``) that keep two h2otui writers of the same thing apart:
two ingests into one collection, an ingest and a ``collections delete``, two
``batch`` runs appending to one ``--out`` file.

Why a lock rather than conflict-retrying commits alone: an ingest decides what to write
from what the collection held when it started (which files are new, which unchanged);
two runs deciding at once both add the same files, and no commit conflict tells them
so. The second writer therefore waits for the first and then reads a fresh state.

``flock`` locks belong to an open file and go away when the process dies (``kill -9``
included), so a crashed run never leaves a stale lock behind. Two opens of the same file
conflict even within one process, which keeps a TUI's background ingest and a delete
from the same app apart; the same thread taking a lock it holds is let through
(re-entrant), so a locked step may call another locked step.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from h2otui.privacy import open_private

_held: dict[tuple[str, int], int] = {}  # (lock path, thread) -> depth
_held_lock = threading.Lock()


class FileLock:
    """An exclusive ``flock`` on ``path`` (created 0600 if missing). With
    ``record_pid`` the holder writes its pid into the file, for the next waiter's
    message (so the file must be a dedicated lock file). Use :meth:`acquire` /
    :meth:`release`, or ``with``."""

    def __init__(self, path: Path, *, record_pid: bool = True) -> None:
        self.path = path
        self.record_pid = record_pid
        self._key = (str(path), threading.get_ident())
        self._fd: int | None = None
        self._reentered = False

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock; without ``blocking``, return False at once when it is held
        elsewhere (then :meth:`holder_pid` says by whom, and a blocking call waits)."""
        with _held_lock:
            if self._key in _held and self._fd is None:
                _held[self._key] += 1
                self._reentered = True
                return True
        if self._fd is None:
            self._fd = open_private(self.path, os.O_RDWR)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        except BaseException:
            self._close()
            raise
        if self.record_pid:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        with _held_lock:
            _held[self._key] = 1
        return True

    def release(self) -> None:
        with _held_lock:
            if self._reentered:
                _held[self._key] -= 1
                self._reentered = False
                return
            _held.pop(self._key, None)
        self._close()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the flock
            self._fd = None

    def holder_pid(self) -> int | None:
        """The pid the current holder wrote into the lock file, if known."""
        if self._fd is None or not self.record_pid:
            return None
        try:
            text = os.pread(self._fd, 32, 0).decode("ascii", "replace").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def exclusive(
    path: Path, on_wait: Callable[[int | None], None] | None = None, *, record_pid: bool = True
) -> Iterator[FileLock]:
    """Hold :class:`FileLock` ``path``; when it is held elsewhere, ``on_wait`` is called
    once with the holder's pid (when known) before waiting for it."""
    lock = FileLock(path, record_pid=record_pid)
    if not lock.acquire(blocking=False):
        if on_wait is not None:
            on_wait(lock.holder_pid())
        lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


def waiting_message(what: str, pid: int | None) -> str:
    """``waiting for another ingest into NAME (pid N)...``"""
    return f"waiting for {what}" + (f" (pid {pid})" if pid else "") + "..."
