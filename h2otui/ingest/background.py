"""Ingest in the background of a long-lived process (the TUI), with a queue that
survives a quit or a crash.

:class:`IngestQueue` runs queued jobs one after another, each in a child process
(:mod:`h2otui.ingest.child`) that runs the same
:class:`~h2otui.ingest.pipeline.IngestPipeline` as ``h2otui ingest`` (same parser
processes, same writer lock, same errors): embedding and LanceDB writes never compete
with the app for its interpreter. A thread of the app reads the
child's events and keeps what a view needs to show: each file's phase (waiting,
parsing, OCR, ASR, embedding) and outcome with its reason, overall progress with rate
and ETA, the run's summary. Cancelling sends the child SIGTERM: the files already
written stay, the others are left for a rerun.

The queue is persisted as ``<data_dir>/ingest-queue.json`` (0600): a job is written
when it is queued and removed when it finishes or is cancelled. A job still in the
file when a process starts -- the app quit or crashed mid-ingest -- is run again by
:meth:`IngestQueue.resume_saved`; the store skips the files already written (same
sha256), so only the rest is parsed and embedded.

Views poll :meth:`IngestQueue.snapshot` (a copy, taken under the queue's lock) instead
of being called from the ingest thread. Nothing here imports Textual.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.ingest.events import (
    FILE_PHASES,
    FileDone,
    FilePhase,
    IngestFinished,
    IngestPhase,
    IngestProgress,
    IngestStarted,
    IngestSummary,
    event_from_json,
)
from h2otui.privacy import open_private

if TYPE_CHECKING:
    import subprocess

    from h2otui.config import Settings
    from h2otui.locking import FileLock

QUEUE_FILE = "ingest-queue.json"
#: held (flock) by the one process that runs the queue, for as long as it lives
OWNER_LOCK = "ingest-queue.lock"
#: held for each read-modify-write of the queue file, by whichever process edits it
EDIT_LOCK = "ingest-queue.edit.lock"

#: a file's first state (then FILE_PHASES' others, then a FileDone outcome)
WAITING = "waiting"
#: a job's states
PENDING, RUNNING, DONE, FAILED, CANCELLED = "pending", "running", "done", "failed", "cancelled"
#: a job queued in the data dir's file that another h2otui (the queue's owner) runs
ELSEWHERE = "in another h2otui"


@dataclass(slots=True)
class QueuedFile:
    path: str
    state: str = WAITING  # waiting | parsing | ocr | asr | embedding | a FileDone outcome
    reason: str = ""
    chunks: int = 0


@dataclass(slots=True)
class IngestJob:
    collection: str
    paths: list[str]
    exclude: list[str] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = PENDING
    message: str = ""  # the phase ("loading embedding model"), a wait, or the error
    files: dict[str, QueuedFile] = field(default_factory=dict)
    progress: IngestProgress | None = None
    summary: IngestSummary | None = None
    started_at: float | None = None

    @property
    def active(self) -> bool:
        return self.state in (PENDING, RUNNING)

    def to_saved(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "collection": self.collection,
            "paths": self.paths,
            "exclude": self.exclude,
            "state": self.state,  # what another h2otui shows while this one runs it
        }

    @classmethod
    def from_saved(cls, item: dict[str, Any]) -> IngestJob | None:
        """A job from the queue file; None for a damaged entry."""
        try:
            paths, exclude = item["paths"], item.get("exclude", [])
            if not isinstance(paths, list) or not isinstance(exclude, list) or not paths:
                return None
            return cls(
                str(item["collection"]),
                [str(p) for p in paths],
                [str(p) for p in exclude],
                id=str(item["id"]),
            )
        except (KeyError, TypeError):
            return None

    def copy(self) -> IngestJob:
        return replace(self, files={p: replace(f) for p, f in self.files.items()})


class IngestQueue:
    """Queued ingest jobs of one data dir, run one at a time in a background thread.

    ``settings`` is called when a job starts (the app's settings may have changed);
    ``workers`` is passed to the pipeline (None: the configured number)."""

    def __init__(
        self,
        data_dir: Path,
        settings: Callable[[], Settings],
        *,
        workers: int | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / QUEUE_FILE
        self.settings = settings
        self.workers = workers
        self.jobs: list[IngestJob] = []
        self._lock = threading.RLock()
        self._cancel = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None  # the running job's child
        self.changes = 0  # bumped on every change: a view redraws when it moved
        #: one process per data dir runs the queue: True here once this one owns it,
        #: False while another does (see :meth:`sync`)
        self.owner = False
        #: the other h2otui that owns the queue (when known)
        self.owner_pid: int | None = None
        #: the jobs the owner runs, as read from the queue file (shown, not run, here)
        self.elsewhere: list[IngestJob] = []
        self._owner_lock: FileLock | None = None
        self._file_seen: tuple[int, int] | None = None

    # --- what a view uses -----------------------------------------------------------

    def add(self, collection: str, paths: list[str], exclude: list[str] | None = None) -> IngestJob:
        """Queue ``paths`` for ``collection`` (validated now: a bad name raises
        :class:`~h2otui.store.collections.StoreError`) and start the thread."""
        from h2otui.store.collections import validate_name

        validate_name(collection)
        if not paths:
            raise ValueError("nothing to ingest: give at least one file or folder")
        job = IngestJob(collection, [str(p) for p in paths], list(exclude or []))
        if not self._claim():
            # another h2otui runs the queue: the job joins its file (and its run)
            with self._editing():
                saved = self._read()
                saved.append(job.to_saved())
                self._write(saved)
            with self._lock:
                self._refresh_elsewhere(force=True)
            return job
        with self._lock:
            self.jobs.append(job)
            self._save()
            self.changes += 1
        self._start()
        return job

    def resume_saved(self) -> list[IngestJob]:
        """Queue the jobs left in the data dir by a process that quit or crashed
        mid-ingest, and start them. Returns them (empty when there were none, or when
        another h2otui runs the queue: then they are shown as running there)."""
        return self.sync(force=True)

    def sync(self, *, force: bool = False) -> list[IngestJob]:
        """Meet the other h2otui processes on this data dir (a view calls it now and
        then; cheap when nothing changed). The owner takes the jobs others added to the
        queue file and runs them; another process shows the owner's jobs read-only and
        becomes the owner when the owner quits. Returns the jobs taken on."""
        with self._lock:
            if not self._claim():
                self._refresh_elsewhere(force=force)
                return []
            if not (force or self.elsewhere or self._file_changed()):
                return []
            self.elsewhere = []
            known = {j.id for j in self.jobs}
            taken = []
            for item in self._read():
                job = IngestJob.from_saved(item)
                if job is not None and job.id not in known:
                    taken.append(job)
                    known.add(job.id)
            if taken:
                self.jobs.extend(taken)
            self.changes += 1
        if taken:
            self._start()
        return taken

    def cancel(self) -> IngestJob | None:
        """Cancel the running job (and the queued ones): the files already written stay.
        The child process is sent SIGTERM: its parsers are killed at once, mid-file; an
        index being built is finished first. Jobs another h2otui runs are not touched."""
        with self._lock:
            running = self.running_job()
            for job in self.jobs:
                if job.state == PENDING:
                    job.state = CANCELLED
                    job.message = "cancelled before it started"
            if running is not None:
                self._cancel.set()
                self._signal_child()
                running.message = "cancelling..."
            self._save()
            self.changes += 1
        return running

    def retry(self, job_id: str) -> IngestJob | None:
        """Queue a cancelled or failed job again (its done files are skipped)."""
        with self._lock:
            old = next((j for j in self.jobs if j.id == job_id), None)
            if old is None or old.active:
                return None
        return self.add(old.collection, old.paths, old.exclude)

    def clear_finished(self) -> None:
        with self._lock:
            self.jobs = [j for j in self.jobs if j.active]
            self.changes += 1

    def running_job(self) -> IngestJob | None:
        with self._lock:
            return next((j for j in self.jobs if j.state == RUNNING), None)

    @property
    def busy(self) -> bool:
        with self._lock:
            return any(j.active for j in self.jobs)

    def snapshot(self) -> list[IngestJob]:
        """This process's jobs, then those another h2otui runs (state ELSEWHERE)."""
        with self._lock:
            return [j.copy() for j in [*self.jobs, *self.elsewhere]]

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running (tests, the benchmark)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.busy:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop (the app is quitting): the running job stops at its next event and stays
        in the queue file, so the next start resumes it."""
        with self._lock:
            self._stopping.set()
            self._cancel.set()
            self._signal_child()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            if self._owner_lock is not None and self.owner and not self.busy:
                self._owner_lock.release()  # the next h2otui to look takes it over
                self._owner_lock = None
                self.owner = False

    # --- the thread -------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            # a daemon: a parse that ignores a cancel never keeps the app from exiting
            # (the parser processes exit with it, and the job stays queued for next time)
            self._thread = threading.Thread(target=self._loop, name="ingest-queue", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                job = next((j for j in self.jobs if j.state == PENDING), None)
                if job is None:
                    self._thread = None
                    return
                job.state = RUNNING
                job.started_at = time.monotonic()
                self._cancel.clear()
                self._save()  # (others show it as running)
                self.changes += 1
            self._run(job)

    def _run(self, job: IngestJob) -> None:
        """Run ``job`` in a child process (:mod:`h2otui.ingest.child`) and take its
        events as they come. The app keeps only this thread, mostly asleep on a pipe."""
        import pickle
        import subprocess
        import tempfile

        from h2otui.ingest.child import EXIT_CANCELLED, ChildRequest, child_command, child_env

        request = ChildRequest(
            collection=job.collection,
            paths=job.paths,
            settings=self.settings(),
            exclude=job.exclude,
            workers=self.workers,
            data_dir=self.data_dir,
            parent_pid=os.getpid(),
        )
        error = ""
        with tempfile.TemporaryFile() as stderr:
            try:
                proc = subprocess.Popen(
                    child_command(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    env=child_env(),
                    close_fds=True,
                )
            except OSError as exc:
                self._finish(job, FAILED, f"cannot start the ingest process: {exc}")
                return
            assert proc.stdin is not None and proc.stdout is not None
            with self._lock:
                self._proc = proc
                if self._cancel.is_set():  # cancelled while it started
                    self._signal_child()
            try:
                proc.stdin.write(pickle.dumps(request))
                proc.stdin.flush()
            except OSError:
                pass  # it died at once: its stderr says why
            for line in proc.stdout:
                try:
                    data = json.loads(line)
                except ValueError:
                    continue
                kind = data.get("type") if isinstance(data, dict) else None
                if kind == "error":
                    error = str(data.get("message", ""))
                elif kind != "cancelled":
                    try:
                        event = event_from_json(data)
                    except (TypeError, ValueError):
                        continue
                    self._take(job, event)
            code = proc.wait()
            with self._lock:
                self._proc = None
            with contextlib.suppress(OSError):
                proc.stdin.close()
            proc.stdout.close()
            if error:  # a job-level error: the message the CLI would print
                self._finish(job, FAILED, error)
                return
            if job.summary is None and (self._cancel.is_set() or code == EXIT_CANCELLED):
                if self._stopping.is_set():
                    with self._lock:  # quitting: stays in the queue file for the next start
                        job.state = PENDING
                        job.message = "stopped with the app: resumes next start"
                        self.changes += 1
                    return
                self._finish(job, CANCELLED, "cancelled: the files already written are kept")
                return
            if job.summary is None:
                stderr.seek(0)
                tail = stderr.read()[-2000:].decode("utf-8", "replace").strip()
                last = tail.splitlines()[-1] if tail else ""
                self._finish(
                    job,
                    FAILED,
                    f"the ingest process ended unexpectedly (exit status {code})"
                    + (f": {last}" if last else ""),
                )
                return
        failed = not job.summary.ok
        self._finish(job, FAILED if failed else DONE, "")

    def _signal_child(self) -> None:
        """SIGTERM the running child: it kills its parsers and stops; written files stay."""
        import signal

        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.send_signal(signal.SIGTERM)

    def _take(self, job: IngestJob, event: object) -> None:
        with self._lock:
            self.changes += 1
            if isinstance(event, IngestStarted):
                for path in event.paths:
                    job.files.setdefault(path, QueuedFile(path))
                job.message = f"{event.files_total} files, {event.workers} parser processes"
            elif isinstance(event, IngestPhase):  # a step, or IngestWaiting for the lock
                job.message = event.name
            elif isinstance(event, FilePhase):
                f = job.files.setdefault(event.path, QueuedFile(event.path))
                if f.state in FILE_PHASES:  # a late report never undoes a FileDone
                    f.state = event.phase
            elif isinstance(event, FileDone):
                f = job.files.setdefault(event.path, QueuedFile(event.path))
                f.state = event.outcome
                f.reason = event.error or "; ".join(event.warnings)
                f.chunks = event.chunks
            elif isinstance(event, IngestProgress):
                job.progress = event
                if job.message.startswith(("loading", "waiting")):
                    job.message = ""
            elif isinstance(event, IngestFinished):
                job.summary = event.summary

    def _finish(self, job: IngestJob, state: str, message: str) -> None:
        with self._lock:
            job.state = state
            if message or state == DONE:
                job.message = message
            self._save()
            self.changes += 1

    # --- the file ---------------------------------------------------------------------

    def _claim(self) -> bool:
        """Own the queue if nobody else does (kept until :meth:`shutdown`)."""
        if self.owner:
            return True
        from h2otui.locking import FileLock

        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self._owner_lock is None:
            self._owner_lock = FileLock(self.data_dir / OWNER_LOCK)
        if self._owner_lock.acquire(blocking=False):
            self.owner, self.owner_pid = True, None
            return True
        self.owner_pid = self._owner_lock.holder_pid()
        return False

    def _editing(self) -> FileLock:
        from h2otui.locking import FileLock

        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return FileLock(self.data_dir / EDIT_LOCK, record_pid=False)

    def _file_changed(self) -> bool:
        try:
            st = self.path.stat()
            seen: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            seen = None
        changed, self._file_seen = seen != self._file_seen, seen
        return changed

    def _refresh_elsewhere(self, *, force: bool = False) -> None:
        """Show the owner's jobs (from the queue file) as running in another h2otui."""
        if not (self._file_changed() or force):
            return
        pid = f" (pid {self.owner_pid})" if self.owner_pid else ""
        shown = []
        for item in self._read():
            job = IngestJob.from_saved(item)
            if job is not None:
                job.state = ELSEWHERE
                what = "running" if item.get("state") == RUNNING else "queued"
                job.message = f"{what} in another h2otui{pid}: its progress shows there"
                shown.append(job)
        self.elsewhere = shown
        self.changes += 1

    def _read(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return []  # unreadable: treated as empty, rewritten on the next change
        jobs = data.get("jobs") if isinstance(data, dict) else None
        return [j for j in jobs if isinstance(j, dict)] if isinstance(jobs, list) else []

    def _save(self) -> None:
        """Write the active jobs (0600, atomically), merged under the edit lock with the
        jobs another h2otui added since this one last looked (they are kept, and taken on
        at the next :meth:`sync`); remove the file when none is left."""
        with self._editing():
            known = {j.id for j in self.jobs}
            added_elsewhere = [item for item in self._read() if str(item.get("id")) not in known]
            self._write([j.to_saved() for j in self.jobs if j.active] + added_elsewhere)

    def _write(self, keep: list[dict[str, Any]]) -> None:
        if not keep:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{QUEUE_FILE}.{os.getpid()}.tmp")
        fd = open_private(tmp, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"version": 1, "jobs": keep}, out, indent=1)
        os.replace(tmp, self.path)
