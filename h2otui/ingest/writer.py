"""Turning parsed files into collection rows, and writing them in few commits.

A parsed file becomes a :class:`ParsedFile` (its chunk, part and documents rows, and the
texts to embed); once its vectors are filled in, :class:`BatchWriter` buffers it and
hands a batch of files to :meth:`Collection.replace_documents
<h2otui.store.collections.Collection.replace_documents>`, which writes each file
atomically (the crash-safety reasoning is in :mod:`h2otui.store.collections`). The
writer keeps the pipeline's view of what the collection holds up to date, so a file's
next version (in the same run or the next) replaces the right rows.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from h2otui.store.collections import DocumentWrite, StoredFile
from h2otui.store.schema import stored_path

if TYPE_CHECKING:
    import numpy as np

    from h2otui.ingest.worker import FileResult
    from h2otui.store.collections import Collection, StoredDocuments

#: chunks per write commit (tests make it tiny to race readers against many commits)
FLUSH_ROWS = int(os.environ.get("_H2OTUI_TEST_FLUSH_ROWS", "") or 2048)
FLUSH_SECONDS = 5.0  # ... or this often, so a long run keeps committing its progress


def doc_id_for(path: str, suffix: str = "") -> str:
    """Stable id of the document of ``path`` (``suffix`` "#frames" for video frames)."""
    return hashlib.sha256((path + suffix).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def doc_row(
    doc_id: str,
    path: str,
    source: str,
    sha: str,
    size: int,
    mtime: float,
    parser: str,
    status: str,
    error: str,
    warnings: list[str],
    chunks: int,
    parts: int,
    pages: int,
    media_seconds: float,
    model_id: str,
) -> dict[str, Any]:
    """One row of the documents table. Messages may quote a non-UTF-8 file name: they
    are stored UTF-8-safe, like the names (:func:`~h2otui.store.schema.stored_path`)."""
    return {
        "doc_id": doc_id, "path": path, "source": source, "sha256": sha, "size": size,
        "mtime": mtime, "parser": parser, "status": status, "error": stored_path(error),
        "warnings": stored_path("\n".join(warnings)), "chunk_count": chunks, "part_count": parts,
        "pages": pages, "media_seconds": media_seconds, "ingested_at": _now(),
        "embedding_model": model_id,
    }  # fmt: skip


@dataclass
class ParsedFile:
    """A parsed file whose chunks are being embedded (``vectors`` fill up by batches)."""

    result: FileResult
    outcome: str  # "added" | "updated"
    chunk_rows: list[dict[str, Any]]
    part_rows: list[dict[str, Any]]
    doc_rows: list[dict[str, Any]]
    texts: list[str]
    vectors: Any = None
    filled: int = 0

    @property
    def ready(self) -> bool:
        return self.filled >= len(self.texts)

    @classmethod
    def from_result(cls, result: FileResult, outcome: str, model_id: str) -> ParsedFile:
        """The rows of a worker's result. Chunk and part ids carry the file's sha256
        prefix, so a new version's rows never collide with the old version's."""
        chunk_rows: list[dict[str, Any]] = []
        part_rows: list[dict[str, Any]] = []
        doc_rows: list[dict[str, Any]] = []
        texts: list[str] = []
        # the rows name the file in its UTF-8-safe form; ids hash its real bytes
        src = stored_path(result.path)
        version = result.sha256[:12]
        for doc in result.docs:
            did = doc_id_for(result.path, doc.suffix)
            for pi, part in enumerate(doc.parts):
                part_rows.append({
                    "part_id": f"{did}-{version}-{pi}", "doc_id": did, "source": src,
                    "part_index": pi, "page": part.page, "start_time": part.start_time,
                    "end_time": part.end_time, "frame_time": part.frame_time,
                    "kind": part.kind, "text": part.text,
                })  # fmt: skip
            for pi, ci, s, e in doc.spans:
                part = doc.parts[pi]
                text = part.text[s:e]
                texts.append(text)
                chunk_rows.append({
                    "chunk_id": f"{did}-{version}-{pi}-{ci}", "doc_id": did, "source": src,
                    "text": text, "page": part.page, "start_time": part.start_time,
                    "end_time": part.end_time, "frame_time": part.frame_time,
                    "part_index": pi, "chunk_index": ci, "char_start": s, "char_end": e,
                    "kind": part.kind,
                })  # fmt: skip
            doc_rows.append(
                doc_row(did, src + doc.suffix, src, result.sha256, result.size, result.mtime,
                        doc.parser, "ok", "", doc.warnings, len(doc.spans), len(doc.parts),
                        result.pages, result.media_seconds, model_id)
            )  # fmt: skip
        return cls(result, outcome, chunk_rows, part_rows, doc_rows, texts)

    def allocate_vectors(self, dim: int) -> None:
        import numpy as np

        self.vectors = np.empty((len(self.texts), dim), dtype=np.float32)

    def fill(self, lo: int, hi: int, vectors: np.ndarray) -> None:
        self.vectors[lo:hi] = vectors
        self.filled = hi


class BatchWriter:
    """Buffers ready files and writes them in few, atomic-per-file commits: every
    :data:`FLUSH_ROWS` chunks or :data:`FLUSH_SECONDS`, whichever comes first."""

    def __init__(self, col: Collection, stored: StoredDocuments, model_id: str):
        self.col = col
        self.known: dict[str, StoredFile] = stored.files
        #: doc ids with chunk / part rows (a killed run may leave some without documents)
        self.existing: set[str] = stored.with_rows
        self.model_id = model_id
        self.ready: list[ParsedFile] = []
        self.status_rows: list[dict[str, Any]] = []
        self.rows = 0
        self.last_flush = time.monotonic()
        self.changed = False

    def stored(self, path: str) -> StoredFile | None:
        """What the collection holds for the file ``path`` (as discovery names it)."""
        return self.known.get(stored_path(path))

    def add(self, parsed: ParsedFile) -> None:
        self.ready.append(parsed)
        self.rows += len(parsed.chunk_rows)

    def add_status(
        self, path: str, status: str, reason: str, size: int = 0, mtime: float = 0.0
    ) -> None:
        """Record a failed / skipped file, unless the collection holds a good version of
        it (a file that got corrupted keeps its last good content)."""
        k = self.stored(path)
        if k is not None and k.has_ok:
            return
        name = stored_path(path)
        self.status_rows.append(
            doc_row(doc_id_for(path), name, name, "", size, mtime, "", status, reason, [],
                    0, 0, 0, 0.0, self.model_id)
        )  # fmt: skip

    @property
    def pending(self) -> bool:
        return bool(self.ready or self.status_rows)

    def due(self) -> bool:
        return self.pending and (
            self.rows >= FLUSH_ROWS or time.monotonic() - self.last_flush >= FLUSH_SECONDS
        )

    def flush(self) -> list[ParsedFile]:
        """Write what is buffered; returns the files written."""
        done, self.ready = self.ready, []
        status_rows, self.status_rows = self.status_rows, []
        self.rows = 0
        self.last_flush = time.monotonic()
        if not done and not status_rows:
            return []
        writes = []
        for p in done:
            ids = {r["doc_id"] for r in p.doc_rows}
            prev = self.known.get(stored_path(p.result.path), StoredFile()).doc_ids
            writes.append(
                DocumentWrite(
                    source=stored_path(p.result.path),
                    doc_rows=p.doc_rows,
                    chunk_rows=p.chunk_rows,
                    vectors=p.vectors,
                    part_rows=p.part_rows,
                    replaces=prev | (ids & self.existing),
                )
            )
        self.col.replace_documents(writes, status_rows)
        for p in done:
            ids = {r["doc_id"] for r in p.doc_rows}
            self.existing |= ids
            k = self.known.setdefault(stored_path(p.result.path), StoredFile())
            k.doc_ids = ids
            k.sha256, k.has_ok = p.result.sha256, True
        for r in status_rows:
            self.known.setdefault(r["source"], StoredFile()).doc_ids.add(r["doc_id"])
        self.changed = True
        return done
