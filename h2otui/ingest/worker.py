"""What runs in a worker process: hash a file, skip it if unchanged, else parse and chunk.

Results are plain data; embedding and writing happen in the main process.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.ingest.base import ModelUnavailableError, ParseError, Part
from h2otui.ingest.chunking import chunk_spans
from h2otui.ingest.limits import clean_text, text_budget, too_much_text

if TYPE_CHECKING:
    from h2otui.config import IngestSettings


@dataclass(slots=True)
class FileTask:
    path: str
    kind: str
    known_sha: str | None
    force: bool
    max_bytes: int


@dataclass(slots=True)
class DocOut:
    suffix: str
    parser: str
    parts: list[Part]
    #: (part_index, chunk_index, char_start, char_end)
    spans: list[tuple[int, int, int, int]]
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FileResult:
    path: str
    status: str  # "parsed" | "unchanged" | "failed" | "skipped"
    sha256: str = ""
    size: int = 0
    mtime: float = 0.0
    error: str = ""
    docs: list[DocOut] = field(default_factory=list)
    pages: int = 0
    media_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


_OPTS: IngestSettings | None = None
#: tests only: a worker process dies when parsing a file whose name contains this value
CRASH_TEST_ENV = "_H2OTUI_TEST_CRASH_ON"
#: tests only: a worker process hangs when parsing a file whose name contains this value
HANG_TEST_ENV = "_H2OTUI_TEST_HANG_ON"
#: how often a worker checks that its parent is still there (the portable fallback)
PARENT_WATCH_S = 0.5
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


#: the file this worker process is parsing, and when it must be done (monotonic time)
_CURRENT: tuple[str, float] | None = None
#: where a worker stopped by its deadline leaves the reason for the ingesting process
_REASONS_DIR: str | None = None
#: a worker's exit status when it stopped itself at a file's deadline
DEADLINE_EXIT = 75
#: where this process says what it does to which file: ``(path, phase)`` tuples read by
#: the ingesting process (a multiprocessing queue in a worker; see report_phase)
_PHASES: Any = None
#: the file this process is parsing, for its phase reports
_PATH: str | None = None


def init_worker(
    opts: IngestSettings,
    threads: int,
    parent_pid: int | None = None,
    reasons_dir: str | None = None,
    phases: Any = None,
) -> None:
    """Process-pool initializer: exit with the parent, remember the settings, share the
    cores fairly, cap this process's memory and the time it may spend on one file, and
    report each file's phases into ``phases`` (a queue)."""
    global _OPTS, _REASONS_DIR
    if parent_pid is not None:
        exit_with_parent(parent_pid)
    _OPTS = opts
    _REASONS_DIR = reasons_dir
    limit_memory(opts.max_worker_mb)
    if opts.max_seconds_per_file > 0 and reasons_dir is not None:
        threading.Thread(target=_watch_deadline, name="h2otui-deadline", daemon=True).start()
    from h2otui.ingest import base

    base.set_worker_threads(threads)
    if phases is not None:
        use_phase_queue(phases)
    # Ctrl-C goes to the whole process group: the main process handles it and shuts the
    # pool down; workers finish their file quietly instead of printing tracebacks.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))


def use_phase_queue(phases: Any) -> None:
    """Send this process's file phases (:func:`h2otui.ingest.base.report_phase`) to
    ``phases`` as ``(path, phase)``; None stops it."""
    global _PHASES
    from h2otui.ingest import base

    _PHASES = phases
    base.set_phase_hook(_put_phase if phases is not None else None)


_LAST_PHASE: tuple[str, str] | None = None


def _put_phase(phase: str) -> None:
    """Report ``phase`` of the file in hand, once (OCR is reported by every page)."""
    global _LAST_PHASE
    if _PHASES is not None and _PATH is not None and (_PATH, phase) != _LAST_PHASE:
        _LAST_PHASE = (_PATH, phase)
        _PHASES.put(_LAST_PHASE)


def exit_with_parent(parent_pid: int) -> None:
    """Make this worker process exit when ``parent_pid`` (the ingesting process) dies,
    whatever kills it: a SIGKILL or the OOM killer give the parent no chance to shut its
    pool down, and an orphaned parser would run on (and hold the parent's stderr open,
    so ``h2otui ingest ... | tee log`` would never end).

    On Linux the kernel sends SIGKILL at the parent's death (``PR_SET_PDEATHSIG``; it
    fires when the *thread* that started the worker exits, which is the thread that
    drives the ingest and shuts the pool down anyway). Everywhere, a daemon thread
    polls ``getppid()``: a re-parented worker has lost its parent. The parent may have
    died before either was in place, hence the check right after.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the watchdog still works
            pass
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="h2otui-parent-watch", daemon=True
    ).start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_WATCH_S)
        if os.getppid() != parent_pid:
            os._exit(1)


def limit_memory(max_mb: int) -> None:
    """Cap what this process may allocate (``RLIMIT_DATA``: heap and anonymous maps, not
    the shared libraries it maps), so a file that balloons a parser fails alone instead
    of taking the machine: Python raises MemoryError, a native parser dies, and the
    pipeline reports the file either way."""
    if max_mb <= 0:
        return
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        cap = max_mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    except (ImportError, ValueError, OSError):  # no such limit on this platform
        pass


def reason_file(reasons_dir: str, path: str) -> Path:
    """Where a worker leaves the reason it stopped on ``path`` (see :func:`_watch_deadline`)."""
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return Path(reasons_dir) / digest


def _watch_deadline() -> None:
    """Stop this worker when the file it parses passes ``ingest.max_seconds_per_file``.

    A parser busy in native code (PyMuPDF, OCR, a regex on a huge line) cannot be
    interrupted from Python, so the process ends itself, leaving the reason where the
    ingesting process finds it; the pool restarts and the run goes on."""
    assert _OPTS is not None and _REASONS_DIR is not None
    while True:
        time.sleep(0.2)
        current = _CURRENT
        if current is not None and time.monotonic() > current[1]:
            path = current[0]
            with contextlib.suppress(OSError):
                reason_file(_REASONS_DIR, path).write_text(
                    f"took longer than ingest.max_seconds_per_file = "
                    f"{_OPTS.max_seconds_per_file:g} s; stopped"
                )
            os._exit(DEADLINE_EXIT)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file vanished during the run"
    if isinstance(exc, PermissionError):
        return "unreadable: permission denied"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return f"unreadable: {exc.strerror or exc}"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def process_file(task: FileTask, opts: IngestSettings | None = None) -> FileResult:
    global _CURRENT, _PATH, _LAST_PHASE
    in_worker = opts is None
    opts = opts or _OPTS
    assert opts is not None, "init_worker was not called"
    if in_worker and opts.max_seconds_per_file > 0:
        _CURRENT = (task.path, time.monotonic() + opts.max_seconds_per_file)
    _PATH, _LAST_PHASE = task.path, None
    _put_phase("parsing")
    try:
        return _process_file(task, opts)
    finally:
        _CURRENT = _PATH = None


def _process_file(task: FileTask, opts: IngestSettings) -> FileResult:
    path = Path(task.path)
    crash_marker = os.environ.get(CRASH_TEST_ENV)
    if crash_marker and crash_marker in path.name and _OPTS is not None:
        os._exit(70)  # tests: stand-in for a segfault in a native parser library
    hang_marker = os.environ.get(HANG_TEST_ENV)
    if hang_marker and hang_marker in path.name and _OPTS is not None:
        print(f"worker {os.getpid()} hangs on {path.name}", file=sys.stderr, flush=True)
        time.sleep(3600)  # tests: stand-in for a parser busy on a huge file
    result = FileResult(path=task.path, status="failed")
    try:
        st = path.stat()
        result.size, result.mtime = st.st_size, st.st_mtime
        if not stat.S_ISREG(st.st_mode):
            result.error = "not a regular file"
            return result
        if st.st_size > task.max_bytes:
            result.error = (
                f"file is {st.st_size / 1048576:.1f} MB, above ingest.max_file_mb = "
                f"{task.max_bytes / 1048576:g}"
            )
            return result
        if st.st_size == 0:
            result.error = "empty file (0 bytes)"
            return result
        result.sha256 = sha256_file(path)
    except OSError as exc:
        result.error = _os_reason(exc)
        return result
    if task.known_sha == result.sha256 and not task.force:
        result.status = "unchanged"
        return result

    kind = task.kind
    if kind == "text?":
        try:
            with path.open("rb") as fh:
                head = fh.read(8192)
        except OSError as exc:
            result.error = _os_reason(exc)
            return result
        if b"\x00" in head:
            result.status = "skipped"
            result.error = "unsupported file type (no extension, binary content)"
            return result

    from h2otui.ingest.parsers import parse_file

    try:
        parsed = parse_file(path, kind, opts)
    except (ParseError, ModelUnavailableError) as exc:
        result.error = str(exc)
        return result
    except OSError as exc:
        result.error = _os_reason(exc)
        return result
    except MemoryError:
        result.error = "out of memory while parsing" + (
            f" (ingest.max_worker_mb = {opts.max_worker_mb})" if opts.max_worker_mb else ""
        )
        return result
    except Exception as exc:  # a parser bug or an exotic file: report it, keep going
        result.error = f"parser error ({type(exc).__name__}): {exc}"
        return result

    result.pages = parsed.pages
    result.media_seconds = parsed.media_seconds
    result.warnings = list(parsed.warnings)
    chars = 0
    for doc in parsed.docs:
        # NUL, ESC and other controls are noise in the index and a hazard when shown
        for part in doc.parts:
            part.text = clean_text(part.text)
            chars += len(part.text)
        doc.parts = [p for p in doc.parts if p.text.strip()]
    if chars > text_budget(opts):
        result.error = str(too_much_text(chars, opts))
        return result
    for doc in parsed.docs:
        spans: list[tuple[int, int, int, int]] = []
        for pi, part in enumerate(doc.parts):
            for ci, (s, e) in enumerate(
                chunk_spans(part.text, opts.chunk_size, opts.chunk_overlap)
            ):
                spans.append((pi, ci, s, e))
        if spans:
            result.docs.append(DocOut(doc.suffix, doc.parser, doc.parts, spans, list(doc.warnings)))
    if not result.docs:
        result.error = "no text to index"
        return result
    result.status = "parsed"
    return result
