"""Ingestion: files, folders and globs into LanceDB collections.

Parsers (one module per file type), OCR, ASR, chunking, embedding and the worker pool.
Nothing here imports Textual. Heavy libraries load inside the functions that use them,
so ``import h2otui.ingest`` is cheap.

    from h2otui.ingest import ingest, run_ingest
    for event in ingest(["~/papers"], "UserData", settings):
        ...  # IngestStarted, FileDone, IngestProgress, ..., IngestFinished(summary)
"""

from __future__ import annotations

from h2otui.ingest.base import IngestError, ModelUnavailableError, ParseError
from h2otui.ingest.events import (
    FileDone,
    IngestEvent,
    IngestFinished,
    IngestPhase,
    IngestProgress,
    IngestStarted,
    IngestSummary,
    IngestWaiting,
)
from h2otui.ingest.pipeline import (
    DEFAULT_COLLECTION,
    doc_id_for,
    ingest,
    reembed_collection,
    run_ingest,
)

__all__ = [
    "DEFAULT_COLLECTION",
    "FileDone",
    "IngestError",
    "IngestEvent",
    "IngestFinished",
    "IngestPhase",
    "IngestProgress",
    "IngestStarted",
    "IngestSummary",
    "IngestWaiting",
    "ModelUnavailableError",
    "ParseError",
    "doc_id_for",
    "ingest",
    "reembed_collection",
    "run_ingest",
]
