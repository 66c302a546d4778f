"""The ingestion pipeline: discover -> parse in worker processes -> embed in batches in
this process (overlapping with parsing) -> write to the collection.

``ingest()`` is a generator of progress events ending with :class:`IngestFinished`; the
CLI, the TUI and the tests all drive it. Memory stays bounded however many files there
are: only a window of files is in flight, and parsed chunks wait for embedding in a
bounded backlog.

Crash safety: a file's chunks (and separately its parts) are written in one LanceDB
commit that also deletes the rows of its previous version; its documents row (with the
sha256) is written after them. A run killed at any moment therefore leaves each file
either fully old, fully new, or new chunks without the new documents row -- and the next
run re-ingests that file, replacing its rows by document id, never duplicating them.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.ingest.discovery import Candidate, discover
from h2otui.ingest.events import (
    FileDone,
    IngestEvent,
    IngestFinished,
    IngestPhase,
    IngestProgress,
    IngestStarted,
    IngestSummary,
)
from h2otui.ingest.worker import FileResult, FileTask, init_worker, process_file

if TYPE_CHECKING:
    import numpy as np

    from h2otui.config import Settings
    from h2otui.ingest.embedding import Embedder
    from h2otui.store.collections import Collection, CollectionStore

DEFAULT_COLLECTION = "UserData"
FLUSH_ROWS = 2048  # chunks per write commit
FLUSH_SECONDS = 5.0  # ... or this often, so a long run keeps committing its progress
PROGRESS_EVERY_S = 0.1


def doc_id_for(path: str, suffix: str = "") -> str:
    """Stable id of the document of ``path`` (``suffix`` "#frames" for video frames)."""
    return hashlib.sha256((path + suffix).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def default_workers(configured: int = 0) -> int:
    return configured if configured > 0 else max(1, min(2, os.cpu_count() or 1))


@dataclass(slots=True)
class _Known:
    """What the collection holds for one file."""

    doc_ids: set[str] = field(default_factory=set)
    sha256: str | None = None  # of its ok version, if any
    has_ok: bool = False
    broken: bool = False  # a documents row whose chunks are missing


@dataclass
class _Pending:
    """A parsed file whose chunks are being embedded."""

    result: FileResult
    outcome: str
    chunk_rows: list[dict[str, Any]]
    part_rows: list[dict[str, Any]]
    doc_rows: list[dict[str, Any]]
    texts: list[str]
    vectors: Any = None
    filled: int = 0

    @property
    def ready(self) -> bool:
        return self.filled >= len(self.texts)


def _load_known(col: Collection) -> tuple[dict[str, _Known], set[str]]:
    def doc_ids(table: Any) -> set[str]:
        ids = table.search().select(["doc_id"]).limit(None).to_arrow().column("doc_id")
        return set(ids.unique().to_pylist())

    with_chunks = doc_ids(col.chunks)
    existing = with_chunks | doc_ids(col.parts)
    known: dict[str, _Known] = {}
    docs = col.documents.search().select(["doc_id", "source", "sha256", "status", "chunk_count"])
    for row in docs.limit(None).to_arrow().to_pylist():
        k = known.setdefault(row["source"], _Known())
        k.doc_ids.add(row["doc_id"])
        if row["status"] == "ok":
            k.has_ok = True
            # a documents row whose chunks are gone (a run killed while removing it) does
            # not make its file "unchanged": the file is parsed again and heals
            k.sha256 = row["sha256"]
            k.broken |= bool(row["chunk_count"]) and row["doc_id"] not in with_chunks
    for k in known.values():
        if k.broken:
            k.sha256 = None
    return known, existing


def _now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


class _Writer:
    """Buffers ready files and writes them in few, atomic-per-file commits."""

    def __init__(
        self, col: Collection, known: dict[str, _Known], existing: set[str], model_id: str
    ):
        self.col = col
        self.known = known
        self.existing = existing
        self.model_id = model_id
        self.ready: list[_Pending] = []
        self.status_rows: list[dict[str, Any]] = []
        self.status_paths: list[tuple[str, str]] = []
        self.rows = 0
        self.last_flush = time.monotonic()
        self.changed = False

    def add(self, pending: _Pending) -> None:
        self.ready.append(pending)
        self.rows += len(pending.chunk_rows)

    def add_status(
        self, path: str, status: str, reason: str, size: int = 0, mtime: float = 0.0
    ) -> None:
        """Record a failed / skipped file, unless the collection holds a good version of
        it (a file that got corrupted keeps its last good content)."""
        k = self.known.get(path)
        if k is not None and k.has_ok:
            return
        self.status_rows.append(
            _doc_row(
                doc_id_for(path),
                path,
                path,
                "",
                size,
                mtime,
                "",
                status,
                reason,
                [],
                0,
                0,
                0,
                0.0,
                self.model_id,
            )
        )

    def due(self) -> bool:
        return bool(self.ready or self.status_rows) and (
            self.rows >= FLUSH_ROWS or time.monotonic() - self.last_flush >= FLUSH_SECONDS
        )

    def flush(self) -> list[_Pending]:
        import pyarrow as pa

        from h2otui.store.collections import chunks_schema, in_filter, parts_schema

        done, self.ready = self.ready, []
        status_rows, self.status_rows = self.status_rows, []
        self.rows = 0
        self.last_flush = time.monotonic()
        if not done and not status_rows:
            return []
        new_ids: set[str] = set()
        replace: set[str] = set()
        stale: set[str] = set()
        for p in done:
            ids = {r["doc_id"] for r in p.doc_rows}
            prev = self.known.get(p.result.path, _Known()).doc_ids
            new_ids |= ids
            replace |= prev | (ids & self.existing)
            stale |= prev - ids
        if done:
            import numpy as np

            chunk_rows = [r for p in done for r in p.chunk_rows]
            vectors = np.concatenate([p.vectors for p in done]).astype(np.float32, copy=False)
            dim = vectors.shape[1]
            columns = {name: [r[name] for r in chunk_rows] for name in chunk_rows[0]}
            columns["vector"] = pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.reshape(-1)), dim
            )
            schema = chunks_schema(dim)
            chunks = pa.Table.from_pydict({f.name: columns[f.name] for f in schema}, schema=schema)
            parts = pa.Table.from_pylist(
                [r for p in done for r in p.part_rows], schema=parts_schema()
            )
            self._replace(self.col.chunks, "chunk_id", chunks, replace)
            self._replace(self.col.parts, "part_id", parts, replace)
        doc_rows = [r for p in done for r in p.doc_rows] + status_rows
        builder = (
            self.col.documents.merge_insert("doc_id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
        )
        if stale:
            builder = builder.when_not_matched_by_source_delete(in_filter("doc_id", stale))
        from h2otui.store.collections import documents_schema

        builder.execute(pa.Table.from_pylist(doc_rows, schema=documents_schema()))
        if stale:
            # a stale document (say a video's old "#frames") loses its chunks too
            self.col.chunks.delete(in_filter("doc_id", stale))
            self.col.parts.delete(in_filter("doc_id", stale))
        self.existing |= new_ids
        for p in done:
            k = self.known.setdefault(p.result.path, _Known())
            k.doc_ids = {r["doc_id"] for r in p.doc_rows}
            k.sha256, k.has_ok = p.result.sha256, True
        for r in status_rows:
            self.known.setdefault(r["source"], _Known()).doc_ids.add(r["doc_id"])
        self.changed = True
        return done

    @staticmethod
    def _replace(table: Any, key: str, data: Any, replace: set[str]) -> None:
        from h2otui.store.collections import in_filter

        if data.num_rows == 0 and not replace:
            return
        if not replace:
            table.add(data)
            return
        (
            table.merge_insert(key)
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .when_not_matched_by_source_delete(in_filter("doc_id", replace))
            .execute(data)
        )


def _doc_row(
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
    return {
        "doc_id": doc_id, "path": path, "source": source, "sha256": sha, "size": size,
        "mtime": mtime, "parser": parser, "status": status, "error": error,
        "warnings": "\n".join(warnings), "chunk_count": chunks, "part_count": parts,
        "pages": pages, "media_seconds": media_seconds, "ingested_at": _now(),
        "embedding_model": model_id,
    }  # fmt: skip


def _pending_from(result: FileResult, outcome: str, model_id: str) -> _Pending:
    chunk_rows: list[dict[str, Any]] = []
    part_rows: list[dict[str, Any]] = []
    doc_rows: list[dict[str, Any]] = []
    texts: list[str] = []
    src = result.path
    version = result.sha256[:12]
    for doc in result.docs:
        did = doc_id_for(src, doc.suffix)
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
            _doc_row(did, src + doc.suffix, src, result.sha256, result.size, result.mtime,
                     doc.parser, "ok", "", doc.warnings, len(doc.spans), len(doc.parts),
                     result.pages, result.media_seconds, model_id)
        )  # fmt: skip
    return _Pending(result, outcome, chunk_rows, part_rows, doc_rows, texts)


class _LazyEmbedder:
    """The configured embedder, loaded on first use; checks the collection's dimension."""

    def __init__(self, settings: Settings, embedder: Embedder | None):
        from h2otui.ingest.embedding import resolve_model

        self.settings = settings
        self.loaded = embedder
        self.model_id = (
            embedder.model_id if embedder else resolve_model(settings.embedding.model)[0]
        )
        self.col: Collection | None = None
        self.dim = embedder.dim if embedder else 0

    def expect_dim(self, col: Collection) -> None:
        self.col = col
        self.dim = col.dim

    def load(self) -> Embedder:
        if self.loaded is None:
            from h2otui.ingest.embedding import shared_embedder

            self.loaded = shared_embedder(self.settings)
            if self.col is not None:
                self.col.check_model(self.loaded.model_id, self.loaded.dim)
        self.dim = self.loaded.dim
        return self.loaded

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.load().encode(texts)


class _Pool:
    """Worker processes (spawned: no fork of a process that holds torch threads), or
    in-process parsing when ``workers == 0`` is forced (debugging)."""

    def __init__(self, workers: int, settings: Settings):
        self.workers = workers
        self.opts = settings.ingest
        self.executor: Any = None
        self.threads = max(1, (os.cpu_count() or 1) // max(1, workers))

    def start(self) -> None:
        if self.workers <= 0:
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(self.opts, self.threads),
        )

    def submit(self, task: FileTask) -> Any:
        from concurrent.futures import Future

        if self.executor is None:
            fut: Future[FileResult] = Future()
            try:
                fut.set_result(process_file(task, self.opts))
            except Exception as exc:
                fut.set_exception(exc)
            return fut
        return self.executor.submit(process_file, task)

    def restart(self) -> None:
        self.shutdown()
        self.start()

    def shutdown(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None


def ingest(
    paths: Iterable[str | os.PathLike[str]],
    collection: str = DEFAULT_COLLECTION,
    settings: Settings | None = None,
    *,
    exclude: Iterable[str] = (),
    workers: int | None = None,
    sync: bool = False,
    reembed: bool = False,
    force: bool = False,
    data_dir: Path | None = None,
    embedder: Embedder | None = None,
) -> Iterator[IngestEvent]:
    """Ingest files / folders / globs into ``collection``; yields progress events, the
    last one :class:`IngestFinished` with the summary.

    Raises :class:`~h2otui.store.collections.StoreError` (bad name, embedding model
    mismatch without ``reembed``) and :class:`~h2otui.ingest.base.ModelUnavailableError`
    before any file is touched. Per-file problems never raise: they are in the summary.
    """
    from h2otui.config import load_settings
    from h2otui.store.collections import CollectionStore, validate_name

    settings = settings or load_settings()
    opts = settings.ingest
    validate_name(collection)
    started = time.monotonic()
    found = discover(
        paths,
        exclude=[*opts.exclude, *exclude],
        include_hidden=opts.include_hidden,
        max_file_mb=opts.max_file_mb,
    )
    n_workers = default_workers(opts.workers if workers is None else workers)
    if workers == 0:
        n_workers = 0  # explicit 0 from the API: parse in this process
    n_workers = min(n_workers, max(1, len(found.files))) if n_workers else 0
    total_bytes = sum(c.size for c in found.files)
    yield IngestStarted(collection, len(found.files), total_bytes, n_workers)

    summary = IngestSummary(collection)
    for prob in found.problems:
        (summary.failed if prob.status == "failed" else summary.skipped).append(
            (prob.path, prob.reason)
        )
        yield FileDone(prob.path, prob.status, error=prob.reason)

    # The embedding model is loaded only when something needs embedding: re-ingesting
    # unchanged files costs hashing, not a model load.
    lazy = _LazyEmbedder(settings, embedder)
    summary.embedding_model = lazy.model_id
    store = CollectionStore(data_dir or settings.data_path)
    if reembed and store.exists(collection):
        old = store.open(collection)
        if old.embedding_model != lazy.model_id or (
            embedder is not None and old.dim != embedder.dim
        ):
            yield IngestPhase("loading embedding model")
            loaded = lazy.load()
            yield IngestPhase(f"re-embedding {old.count_chunks()} chunks with {lazy.model_id}")
            reembed_collection(store, collection, loaded)
            summary.reembedded = True
    if store.exists(collection):
        col = store.open(collection)
        col.check_model(lazy.model_id, col.dim if lazy.loaded is None else lazy.loaded.dim)
        lazy.expect_dim(col)
    else:
        yield IngestPhase("loading embedding model")
        loaded = lazy.load()
        col = store.create(collection, loaded.model_id, loaded.dim)
    known, existing = _load_known(col)
    writer = _Writer(col, known, existing, lazy.model_id)
    for prob in found.problems:
        if prob.path and os.path.isfile(prob.path):
            writer.add_status(prob.path, prob.status, prob.reason)

    yield from _run(found.files, settings, lazy, writer, summary, n_workers, force, started)

    if sync:
        removed = _sync_removed(col, found)
        for path in removed:
            summary.removed.append(path)
            yield FileDone(path, "removed")
        writer.changed |= bool(removed)
    if writer.changed or summary.reembedded:
        yield IngestPhase("indexing")
        col.ensure_fts_index()
    summary.elapsed_s = time.monotonic() - started
    yield IngestFinished(summary)


def _run(
    files: list[Candidate],
    settings: Settings,
    embedder: _LazyEmbedder,
    writer: _Writer,
    summary: IngestSummary,
    n_workers: int,
    force: bool,
    started: float,
) -> Iterator[IngestEvent]:
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    import numpy as np

    opts = settings.ingest
    max_bytes = int(opts.max_file_mb * 1024 * 1024)
    batch = max(1, settings.embedding.batch_size) * 2
    max_backlog = batch * 8
    window = max(2, n_workers * 2)
    todo = deque(files)
    sizes = {str(c.path): c.size for c in files}
    in_flight: dict[Any, FileTask] = {}
    suspects: set[str] = set()  # files in flight when a worker crashed
    backlog: deque[_Pending] = deque()
    backlog_texts = 0
    files_done = bytes_done = chunks_done = pages = 0
    media = 0.0
    embed_started = time.monotonic()
    last_progress = 0.0
    pool = _Pool(n_workers, settings)
    pool.start()

    def progress(force_emit: bool = False) -> Iterator[IngestEvent]:
        nonlocal last_progress
        now = time.monotonic()
        if not force_emit and now - last_progress < PROGRESS_EVERY_S:
            return
        last_progress = now
        elapsed = now - started
        rate = bytes_done / max(1e-6, now - embed_started)
        remaining = sum(sizes.values()) - bytes_done
        eta = remaining / rate if rate > 0 and bytes_done else None
        yield IngestProgress(
            files_done, len(files), pages, media, chunks_done,
            chunks_done / max(1e-6, now - embed_started), elapsed, eta,
        )  # fmt: skip

    def finish(path: str, event: FileDone) -> FileDone:
        nonlocal files_done, bytes_done
        files_done += 1
        bytes_done += sizes.get(path, 0)
        return event

    def written(done: list[_Pending]) -> Iterator[IngestEvent]:
        nonlocal chunks_done, pages, media
        for p in done:
            r = p.result
            n = len(p.chunk_rows)
            chunks_done += n
            summary.chunks_written += n
            pages += r.pages
            media += r.media_seconds
            summary.pages += r.pages
            summary.media_seconds += r.media_seconds
            (summary.added if p.outcome == "added" else summary.updated).append(r.path)
            warns = [w for d in r.docs for w in d.warnings] or r.warnings
            for w in dict.fromkeys(warns):
                summary.warnings.append((r.path, w))
            parser = "+".join(dict.fromkeys(d.parser for d in r.docs))
            yield finish(
                r.path,
                FileDone(
                    r.path,
                    p.outcome,
                    n,
                    r.pages,
                    r.media_seconds,
                    parser,
                    warnings=list(dict.fromkeys(warns)),
                ),
            )

    try:
        while todo or in_flight or backlog or writer.ready or writer.status_rows:
            # while crash suspects are pending, run files one at a time to find the culprit
            limit = 1 if suspects else window
            while todo and len(in_flight) < limit and backlog_texts < max_backlog:
                cand = todo.popleft()
                path = str(cand.path)
                k = writer.known.get(path)
                task = FileTask(
                    path, cand.kind, k.sha256 if k and k.has_ok else None, force, max_bytes
                )
                in_flight[pool.submit(task)] = task

            have_batch = backlog_texts >= batch
            if in_flight:
                timeout = 0 if have_batch else (0.5 if backlog_texts else None)
                done, _ = wait(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
            else:
                done = set()
            for fut in done:
                task = in_flight.pop(fut)
                try:
                    result: FileResult = fut.result()
                    suspects.discard(task.path)
                except BrokenProcessPool:
                    # A parser process died (a native library fault, the OOM killer) and
                    # took the pool with it. Every file then in flight is a suspect: they
                    # are retried one at a time, and one that kills a worker alone fails.
                    crashed = [task, *in_flight.values()]
                    in_flight.clear()
                    pool.restart()
                    if len(crashed) == 1 and task.path in suspects:
                        suspects.discard(task.path)
                        result = FileResult(
                            task.path,
                            "failed",
                            error="the parser process crashed on this file (a native "
                            "library fault or out of memory)",
                        )
                    else:
                        for t in reversed(crashed):
                            suspects.add(t.path)
                            todo.appendleft(
                                Candidate(Path(t.path), t.kind, sizes.get(t.path, 0), 0.0)
                            )
                        break
                except Exception as exc:  # a bug in our worker code: report per file
                    result = FileResult(
                        task.path, "failed", error=f"internal error: {type(exc).__name__}: {exc}"
                    )
                if result.status == "unchanged":
                    summary.unchanged.append(result.path)
                    yield finish(result.path, FileDone(result.path, "unchanged"))
                elif result.status in ("failed", "skipped"):
                    (summary.failed if result.status == "failed" else summary.skipped).append(
                        (result.path, result.error)
                    )
                    if os.path.isfile(result.path):
                        writer.add_status(
                            result.path, result.status, result.error, result.size, result.mtime
                        )
                    yield finish(
                        result.path, FileDone(result.path, result.status, error=result.error)
                    )
                else:
                    k = writer.known.get(result.path)
                    outcome = "updated" if k is not None and k.has_ok else "added"
                    pending = _pending_from(result, outcome, embedder.model_id)
                    pending.vectors = np.empty((len(pending.texts), embedder.dim), dtype=np.float32)
                    backlog.append(pending)
                    backlog_texts += len(pending.texts)

            # embed one batch when there is a full one, or when nothing else can arrive soon
            if backlog and (backlog_texts >= batch or not done or not (todo or in_flight)):
                take: list[tuple[_Pending, int, int]] = []
                texts: list[str] = []
                for p in backlog:
                    if len(texts) >= batch:
                        break
                    n = min(batch - len(texts), len(p.texts) - p.filled)
                    take.append((p, p.filled, p.filled + n))
                    texts.extend(p.texts[p.filled : p.filled + n])
                if embedder.loaded is None:
                    yield IngestPhase("loading embedding model")
                    embedder.load()
                    embed_started = time.monotonic()
                vectors = embedder.encode(texts)
                offset = 0
                for p, lo, hi in take:
                    p.vectors[lo:hi] = vectors[offset : offset + hi - lo]
                    offset += hi - lo
                    p.filled = hi
                backlog_texts -= len(texts)
                while backlog and backlog[0].ready:
                    writer.add(backlog.popleft())
            if writer.due() or (not todo and not in_flight and not backlog):
                yield from written(writer.flush())
            yield from progress()
        yield from progress(force_emit=True)
    finally:
        pool.shutdown()


def _sync_removed(col: Collection, found: Any) -> list[str]:
    rows = col.documents.search().select(["doc_id", "source"]).limit(None).to_arrow().to_pylist()
    gone: dict[str, list[str]] = {}
    for r in rows:
        src = r["source"]
        if found.in_scope(src) and not os.path.lexists(src):
            gone.setdefault(src, []).append(r["doc_id"])
    if gone:
        col.remove_doc_ids([d for ids in gone.values() for d in ids])
    return sorted(gone)


def reembed_collection(store: CollectionStore, name: str, embedder: Embedder) -> int:
    """Re-embed every chunk of ``name`` with ``embedder`` into a new version of its chunks
    table (the dimension may change). Returns the number of chunks."""
    import pyarrow as pa

    from h2otui.store.collections import chunks_schema

    col = store.open(name)
    columns = [f.name for f in col.chunks.schema if f.name != "vector"]
    data = col.chunks.search().select(columns).limit(None).to_arrow()
    texts = data.column("text").to_pylist()
    import numpy as np

    step = max(1, embedder.batch_size) * 4
    vectors = (
        np.concatenate([embedder.encode(texts[i : i + step]) for i in range(0, len(texts), step)])
        if texts
        else np.zeros((0, embedder.dim), dtype=np.float32)
    )
    schema = chunks_schema(embedder.dim)
    arrays = {name: data.column(name) for name in columns}
    arrays["vector"] = pa.FixedSizeListArray.from_arrays(
        pa.array(vectors.reshape(-1), pa.float32()), embedder.dim
    )
    table = pa.Table.from_pydict({f.name: arrays[f.name] for f in schema}, schema=schema)
    store.db.create_table(f"{name}__chunks", data=table, schema=schema, mode="overwrite")
    col = store.open(name)
    col.set_meta("embedding_model", embedder.model_id)
    col.set_meta("dim", str(embedder.dim))
    col.documents.update(values={"embedding_model": embedder.model_id})
    col.ensure_fts_index()
    return len(texts)


def run_ingest(
    paths: Iterable[str | os.PathLike[str]],
    collection: str = DEFAULT_COLLECTION,
    settings: Settings | None = None,
    **kwargs: Any,
) -> IngestSummary:
    """:func:`ingest` run to the end; returns the summary."""
    summary = None
    for event in ingest(paths, collection, settings, **kwargs):
        if isinstance(event, IngestFinished):
            summary = event.summary
    assert summary is not None
    return summary
