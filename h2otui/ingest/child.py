"""An ingest run in a child process of the app: ``python -m h2otui.ingest.child``.

Why a process: embedding (ONNX Runtime) and LanceDB writes in a thread of the app held
the GIL and the cores the UI needs -- keys took seconds to answer while ingesting. The
child runs the same :class:`~h2otui.ingest.pipeline.IngestPipeline` as ``h2otui
ingest`` (same parser processes, same collection writer lock, same errors), and the
app only reads its events.

The protocol, private to :class:`~h2otui.ingest.background.IngestQueue`:

* stdin: one pickled :class:`ChildRequest` (from the parent process itself: trusted),
  then nothing; end of file means the parent is gone and the run stops.
* stdout: one JSON object per line: every pipeline event
  (:func:`~h2otui.ingest.events.event_to_json`), then ``{"type": "error", "message":
  ...}`` for a run that could not start (the message the CLI prints), or ``{"type":
  "cancelled"}``. Anything a library prints goes to stderr instead.
* SIGTERM cancels: the parser processes are killed, the files already written stay
  written (each is committed whole), the rest is left for a rerun. An index being
  built is finished first. The exit status is then :data:`EXIT_CANCELLED`.
* The child dies with its parent, whatever kills it (see
  :func:`h2otui.ingest.worker.exit_with_parent`), and so do its parser processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from h2otui.config import Settings

EXIT_ERROR = 2
EXIT_CANCELLED = 130
#: how much the child lowers its priority. 0: the process boundary is what keeps keys
#: fast (the app's thread sleeps until a key comes, and the scheduler serves a waking
#: thread first); a niced child only lost CPU to everything else on a shared machine
#: (bench_collections_ingest.py --nice 0,5: throughput 0.67 vs 0.51 of the CLI's)
NICENESS = 0
#: overrides NICENESS (benchmarks/bench_collections_ingest.py compares values)
NICE_ENV = "_H2OTUI_INGEST_NICE"


@dataclass(slots=True)
class ChildRequest:
    collection: str
    paths: list[str]
    settings: Settings
    exclude: list[str] = field(default_factory=list)
    workers: int | None = None
    data_dir: Path | None = None
    parent_pid: int = 0


class Cancelled(KeyboardInterrupt):
    """SIGTERM outside the file loop (waiting for the lock, loading the model)."""


def child_command() -> list[str]:
    return [sys.executable, "-m", "h2otui.ingest.child"]


def child_env() -> dict[str, str]:
    """The app's environment, with this very h2otui first on the path: the child runs
    the code the app runs (a checkout, not whichever h2otui the interpreter has)."""
    import h2otui

    root = str(Path(h2otui.__file__).resolve().parent.parent)
    env = dict(os.environ)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = root + (os.pathsep + path if path else "")
    return env


def main() -> int:
    # the event channel is the real stdout; fd 1 becomes stderr so that nothing a
    # library prints can garble it
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    try:
        request: ChildRequest = pickle.load(sys.stdin.buffer)
    except Exception as exc:
        _send(channel, {"type": "error", "message": f"bad ingest request: {exc}"})
        return EXIT_ERROR
    from h2otui.ingest.worker import exit_with_parent

    if request.parent_pid:
        exit_with_parent(request.parent_pid)
    niceness = int(os.environ.get(NICE_ENV, "") or NICENESS)
    if niceness:
        with contextlib.suppress(AttributeError, OSError):
            os.nice(niceness)
    code = run(request, channel)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return code


def run(request: ChildRequest, channel: IO[str]) -> int:
    from h2otui.ingest.events import IngestPhase, event_to_json
    from h2otui.ingest.pipeline import IngestPipeline
    from h2otui.ingest.pool import IngestTerminated

    state = {"indexing": False, "cancelled": False}

    def on_sigterm(signum: int, frame: Any) -> None:
        state["cancelled"] = True
        if not state["indexing"]:  # an index being built is finished: it is quick
            raise Cancelled("ingest cancelled")

    signal.signal(signal.SIGTERM, on_sigterm)
    # the parent closing our stdin (or dying) is a cancel too
    threading.Thread(target=_watch_stdin, name="h2otui-stdin-watch", daemon=True).start()
    events = None
    try:
        pipeline = IngestPipeline(
            request.paths,
            request.collection,
            request.settings,
            exclude=request.exclude,
            workers=request.workers,
            data_dir=request.data_dir,
        )
        events = pipeline.run()
        for event in events:
            if isinstance(event, IngestPhase):
                state["indexing"] = event.name == "indexing"
            _send(channel, event_to_json(event))
            if state["cancelled"]:
                raise Cancelled("ingest cancelled")
    except (Cancelled, IngestTerminated):
        if events is not None:
            events.close()
        _send(channel, {"type": "cancelled"})
        return EXIT_CANCELLED
    except Exception as exc:  # a run-level error: the message the CLI prints
        if events is not None:
            events.close()
        _send(channel, {"type": "error", "message": str(exc) or type(exc).__name__})
        return EXIT_ERROR
    return 0


def _send(channel: IO[str], data: dict[str, Any]) -> None:
    try:
        channel.write(json.dumps(data) + "\n")
        channel.flush()
    except (BrokenPipeError, ValueError):  # the parent is gone: nobody to tell
        pass


def _watch_stdin() -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(main())
