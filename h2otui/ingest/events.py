"""Progress events yielded by :func:`h2otui.ingest.ingest` (the CLI and the TUI render
the same stream)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class IngestStarted:
    collection: str
    files_total: int
    bytes_total: int
    workers: int
    #: the files found, in the order they will be ingested (a queue view lists them)
    paths: list[str] = field(default_factory=list)


@dataclass(slots=True)
class IngestPhase:
    """A step that takes a while: "loading embedding model", "re-embedding", "indexing"."""

    name: str


@dataclass(slots=True)
class IngestWaiting(IngestPhase):
    """Another writer (an ingest, a delete) holds the collection: this run waits for it
    to finish, then reads the collection afresh. ``name`` is the message to show."""

    pid: int | None = None


@dataclass(slots=True)
class FilePhase:
    """What is happening to one file now: ``parsing`` (a worker started on it), ``ocr``
    or ``asr`` (its parser reads an image or transcribes audio), ``embedding`` (parsed,
    waiting for or getting its vectors). A :class:`FileDone` ends it. Not an
    :class:`IngestPhase`: it says nothing about the run as a whole."""

    path: str
    phase: str


#: the per-file phases, in the order a file goes through them (ocr / asr while parsing)
FILE_PHASES = ("waiting", "parsing", "ocr", "asr", "embedding")


@dataclass(slots=True)
class FileDone:
    path: str
    outcome: str  # added | updated | unchanged | failed | skipped | removed
    chunks: int = 0
    pages: int = 0
    media_seconds: float = 0.0
    parser: str = ""
    error: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class IngestProgress:
    files_done: int
    files_total: int
    pages: int
    media_seconds: float
    chunks: int
    chunks_per_s: float
    elapsed_s: float
    eta_s: float | None


@dataclass
class IngestSummary:
    collection: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    chunks_written: int = 0
    pages: int = 0
    media_seconds: float = 0.0
    elapsed_s: float = 0.0
    #: seconds from the embedding model being ready to the end (the rate's denominator:
    #: loading the model is not ingest speed); 0 when nothing was embedded
    working_s: float = 0.0
    embedding_model: str = ""
    reembedded: bool = False

    @property
    def ok(self) -> bool:
        """True when no file failed (skipped unsupported files do not count)."""
        return not self.failed

    @property
    def chunks_per_s(self) -> float:
        """Chunks written per second of work once the embedding model was ready."""
        return self.chunks_written / self.working_s if self.working_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["failed"] = [{"path": p, "reason": r} for p, r in self.failed]
        d["skipped"] = [{"path": p, "reason": r} for p, r in self.skipped]
        d["warnings"] = [{"path": p, "warning": w} for p, w in self.warnings]
        d["counts"] = {
            k: len(getattr(self, k))
            for k in ("added", "updated", "unchanged", "removed", "failed", "skipped")
        }
        d["ok"] = self.ok
        d["chunks_per_s"] = round(self.chunks_per_s, 2)
        return d


@dataclass(slots=True)
class IngestFinished:
    summary: IngestSummary


IngestEvent = IngestStarted | IngestPhase | FilePhase | FileDone | IngestProgress | IngestFinished

_EVENT_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (IngestStarted, IngestPhase, IngestWaiting, FilePhase, FileDone, IngestProgress)
}


def event_to_json(event: IngestEvent) -> dict[str, Any]:
    """An event as one JSON object (``{"type": "FileDone", ...}``): how an ingest run in
    a child process reports to the app (see :mod:`h2otui.ingest.child`)."""
    data = asdict(event.summary) if isinstance(event, IngestFinished) else asdict(event)
    data["type"] = type(event).__name__
    return data


def event_from_json(data: dict[str, Any]) -> IngestEvent:
    """The inverse of :func:`event_to_json`; raises ValueError on an unknown type."""
    data = dict(data)
    kind = data.pop("type", None)
    if kind == "IngestFinished":
        for key in ("failed", "skipped", "warnings"):
            data[key] = [tuple(pair) for pair in data.get(key, [])]
        return IngestFinished(IngestSummary(**data))
    cls = _EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"not an ingest event: {kind!r}")
    event: IngestEvent = cls(**data)
    return event
