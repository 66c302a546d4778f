"""The parser worker processes of an ingest run.

Workers are spawned, not forked (no fork of a process that holds torch threads). They
exit on their own when the ingesting process dies (see
:func:`h2otui.ingest.worker.exit_with_parent`), and a SIGTERM to the ingesting process
kills them at once (:meth:`WorkerPool.terminate_on_sigterm`) instead of letting each
finish its file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from h2otui.ingest.worker import FileResult, FileTask, init_worker, process_file, reason_file

#: phase queues of pools whose workers had not all exited at close (see WorkerPool.close)
_OUTLIVED: list[Any] = []

if TYPE_CHECKING:
    from h2otui.config import Settings


class IngestTerminated(KeyboardInterrupt):
    """The ingesting process got SIGTERM: the workers were killed, the files already
    written are kept (a rerun finishes the job).

    A :class:`KeyboardInterrupt` so that it takes the same path as Ctrl-C (the CLI says
    what was kept and exits with 130) and no ``except Exception`` on the way swallows it.
    """


class WorkerPool:
    """Worker processes, or in-process parsing when ``workers == 0`` is forced
    (debugging)."""

    def __init__(self, workers: int, settings: Settings):
        self.workers = workers
        self.opts = settings.ingest
        self.executor: Any = None
        self.threads = max(1, (os.cpu_count() or 1) // max(1, workers))
        #: where a worker stopped at a file's deadline says why (see take_reason)
        self.reasons_dir: str | None = None
        #: ``(path, phase)`` from the workers (see :meth:`take_phases`)
        self.phases: Any = None

    def start(self) -> None:
        if self.workers <= 0:
            if self.phases is None:
                import queue

                self.phases = queue.SimpleQueue()
            return
        import multiprocessing
        import tempfile
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        if self.reasons_dir is None:
            self.reasons_dir = tempfile.mkdtemp(prefix="h2otui-ingest-")
        if self.phases is None:
            # simple: a put writes in the calling thread, no feeder thread that a worker
            # stopped mid-file (its deadline, a crash) would leave holding the lock
            self.phases = context.SimpleQueue()
        self.executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=init_worker,
            initargs=(self.opts, self.threads, os.getpid(), self.reasons_dir, self.phases),
        )

    def take_phases(self) -> list[tuple[str, str]]:
        """The ``(path, phase)`` the workers reported since the last call."""
        out: list[tuple[str, str]] = []
        phases = self.phases
        try:
            while phases is not None and not phases.empty():  # (the only reader)
                out.append(phases.get())
        except (OSError, ValueError, EOFError):  # closed at shutdown
            pass
        return out

    def take_reason(self, path: str) -> str | None:
        """Why a worker stopped itself on ``path`` (its deadline), if it did; once."""
        if self.reasons_dir is None:
            return None
        file = reason_file(self.reasons_dir, path)
        try:
            reason = file.read_text()
        except OSError:
            return None
        file.unlink(missing_ok=True)
        return reason or None

    def close(self) -> None:
        """:meth:`shutdown`, and remove the reasons folder."""
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        self.shutdown()
        phases, self.phases = self.phases, None
        # a worker spawned just before the shutdown unpickles the phase queue (its lock
        # and pipe) as it starts: freeing the queue under it would make it die with a
        # traceback on stderr. So wait briefly for the workers to leave; a queue that
        # one of them may still be reading is kept for the life of the process.
        deadline = time.monotonic() + 5.0
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        if any(process.is_alive() for process in processes):
            _OUTLIVED.append(phases)
        elif phases is not None and hasattr(phases, "close"):
            phases.close()
        if self.reasons_dir is not None:
            import shutil

            shutil.rmtree(self.reasons_dir, ignore_errors=True)
            self.reasons_dir = None

    def submit(self, task: FileTask) -> Future[FileResult]:
        if self.executor is None:
            from h2otui.ingest.worker import use_phase_queue

            fut: Future[FileResult] = Future()
            use_phase_queue(self.phases)
            try:
                fut.set_result(process_file(task, self.opts))
            except Exception as exc:
                fut.set_exception(exc)
            finally:
                use_phase_queue(None)
            return fut
        result: Future[FileResult] = self.executor.submit(process_file, task)
        return result

    def restart(self) -> None:
        self.shutdown()
        self.start()

    def shutdown(self) -> None:
        """Stop taking work; a worker busy on a file finishes it (Ctrl-C: workers ignore
        SIGINT and end quietly)."""
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None

    def kill_workers(self) -> None:
        """SIGKILL every worker now. Takes no lock, so it is safe in a signal handler."""
        executor = self.executor
        processes = dict(getattr(executor, "_processes", None) or {})
        for pid in processes:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    @contextlib.contextmanager
    def terminate_on_sigterm(self) -> Iterator[None]:
        """While active (in the main thread only: Python delivers signals there), SIGTERM
        kills the workers and raises :class:`IngestTerminated`; the previous handler is
        restored afterwards."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        active = True
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: Any) -> None:
            if not active:  # left installed by a close from another thread: pass it on
                signal.signal(signal.SIGTERM, previous or signal.SIG_DFL)
                os.kill(os.getpid(), signum)
                return
            self.kill_workers()
            raise IngestTerminated("ingest terminated by SIGTERM")

        signal.signal(signal.SIGTERM, on_sigterm)
        try:
            yield
        finally:
            active = False
            with contextlib.suppress(ValueError):  # closed from another thread
                signal.signal(signal.SIGTERM, previous or signal.SIG_DFL)
