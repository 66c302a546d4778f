"""Types shared by the parsers, the worker processes and the pipeline.

Everything here is plain data (picklable), because parsed files travel from worker
processes back to the main process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

PartKind = Literal["text", "page", "segment", "frame"]

#: CPU threads each model (OCR, ASR) may use in this process; set by the worker pool so
#: that N workers share the cores instead of each taking all of them.
_WORKER_THREADS: int | None = None


def set_worker_threads(n: int) -> None:
    global _WORKER_THREADS
    _WORKER_THREADS = max(1, n)


def worker_threads() -> int:
    import os

    return _WORKER_THREADS or max(1, os.cpu_count() or 1)


#: where a parser says what it is doing to the file in hand ("ocr", "asr"): set by the
#: worker process to forward it to the ingesting process (see h2otui.ingest.worker)
_PHASE_HOOK: Callable[[str], None] | None = None


def set_phase_hook(hook: Callable[[str], None] | None) -> None:
    global _PHASE_HOOK
    _PHASE_HOOK = hook


def report_phase(phase: str) -> None:
    """Say that the file being parsed enters ``phase`` (a no-op outside an ingest run).
    Never raises: progress reporting must not fail a file."""
    hook = _PHASE_HOOK
    if hook is not None:
        # (a closed queue at shutdown: nobody is listening any more)
        with contextlib.suppress(Exception):
            hook(phase)


class IngestError(Exception):
    """Base class for ingestion errors a user can act on."""


class ParseError(IngestError):
    """A file cannot be parsed. The message is the reason shown to the user, per file."""


class ModelUnavailableError(IngestError):
    """An OCR / ASR / embedding model is not available locally; says how to fix it."""


@dataclass(slots=True)
class Part:
    """One natural unit of a document: a PDF page, a run of transcript segments, a video
    frame's on-screen text, or a whole text file. Summaries and extraction work on parts;
    retrieval works on the chunks cut from them."""

    text: str
    kind: PartKind = "text"
    page: int | None = None
    start_time: float | None = None
    end_time: float | None = None
    frame_time: float | None = None


@dataclass(slots=True)
class ParsedDoc:
    """What a parser produced for one document of a file. A video can give two documents:
    the transcript (suffix "") and its frames (suffix "#frames"), as in h2oGPT."""

    parser: str
    parts: list[Part]
    suffix: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ParseResult:
    docs: list[ParsedDoc]
    pages: int = 0
    media_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
