"""The ingestion pipeline: discover -> parse in worker processes -> embed in batches in
this process (overlapping with parsing) -> write to the collection.

``ingest()`` is a generator of progress events ending with :class:`IngestFinished`; the
CLI, the TUI and the tests all drive it. It runs an :class:`IngestPipeline`, whose named
steps are the stages above. Memory stays bounded however many files there are: only a
window of files is in flight, and parsed chunks wait for embedding in a bounded backlog.

Crash safety is the collection's: each file's new version replaces its old one
atomically, and its documents row (with the sha256) is written last, so a run killed at
any moment is finished by the next run without duplicates (see
:mod:`h2otui.store.collections`). Parser processes die with the run (see
:mod:`h2otui.ingest.pool`).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.ingest.discovery import Candidate, Discovery, discover
from h2otui.ingest.events import (
    FileDone,
    FilePhase,
    IngestEvent,
    IngestFinished,
    IngestPhase,
    IngestProgress,
    IngestStarted,
    IngestSummary,
    IngestWaiting,
)
from h2otui.ingest.pool import WorkerPool
from h2otui.ingest.worker import FileResult, FileTask
from h2otui.ingest.writer import BatchWriter, ParsedFile, doc_id_for

if TYPE_CHECKING:
    import numpy as np

    from h2otui.config import Settings
    from h2otui.ingest.embedding import Embedder
    from h2otui.locking import FileLock
    from h2otui.store.collections import Collection, CollectionStore

__all__ = [
    "DEFAULT_COLLECTION",
    "IngestPipeline",
    "default_workers",
    "doc_id_for",
    "ingest",
    "reembed_collection",
    "run_ingest",
]

DEFAULT_COLLECTION = "UserData"
PROGRESS_EVERY_S = 0.1
PHASE_POLL_S = 0.25  # how often an idle run looks for the workers' phase reports
CRASHED_PARSER = "the parser process crashed on this file (a native library fault or out of memory)"


def default_workers(configured: int = 0) -> int:
    return configured if configured > 0 else max(1, min(2, os.cpu_count() or 1))


class LazyEmbedder:
    """The configured embedder, loaded on first use; checks the collection's dimension.
    Its precision is the setting's for a new collection and the collection's own for an
    existing one (a collection never mixes fp32 and int8 vectors)."""

    def __init__(self, settings: Settings, embedder: Embedder | None):
        from h2otui.ingest.embedding import check_precision, resolve_model

        self.settings = settings
        self.loaded = embedder
        self.model_id = (
            embedder.model_id if embedder else resolve_model(settings.embedding.model)[0]
        )
        self.precision = (
            getattr(embedder, "precision", "fp32")
            if embedder
            else check_precision(settings.embedding.precision)
        )
        self.col: Collection | None = None
        self.dim = embedder.dim if embedder else 0
        #: what loading said (an ONNX export, a fallback to sentence-transformers)
        self.notices: list[str] = []

    def expect_dim(self, col: Collection) -> None:
        self.col = col
        self.dim = col.dim
        if self.loaded is None:
            self.precision = col.embedding_precision

    def load(self) -> Embedder:
        if self.loaded is None:
            from h2otui.ingest.embedding import shared_embedder

            self.loaded = shared_embedder(
                self.settings, precision=self.precision, notice=self.notices.append
            )
            self.precision = getattr(self.loaded, "precision", self.precision)
            if self.col is not None:
                self.col.check_model(self.loaded.model_id, self.loaded.dim)
        self.dim = self.loaded.dim
        return self.loaded

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.load().encode(texts)


class IngestPipeline:
    """One ingest run. :meth:`run` yields its events; the other public methods are its
    steps, in order: :meth:`discover`, :meth:`lock_collection`, :meth:`open_collection`
    (re-embedding first if asked), :meth:`process_files` (:meth:`submit_work`, :meth:`collect_results`,
    :meth:`embed_batch`, :meth:`write_ready`, :meth:`report_progress`),
    :meth:`sync_removals`, :meth:`index`."""

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        collection: str,
        settings: Settings,
        *,
        exclude: Iterable[str] = (),
        workers: int | None = None,
        sync: bool = False,
        reembed: bool = False,
        force: bool = False,
        data_dir: Path | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        from h2otui.store.collections import validate_name

        self.paths = list(paths)
        self.name = validate_name(collection)
        self.settings = settings
        self.opts = settings.ingest
        self.exclude = [*self.opts.exclude, *exclude]
        self.workers_arg = workers
        self.sync = sync
        self.reembed = reembed
        self.force = force
        self.data_dir = data_dir
        self.given_embedder = embedder
        self.started = time.monotonic()
        self.summary = IngestSummary(collection)
        self.embedder = LazyEmbedder(settings, embedder)
        self.summary.embedding_model = self.embedder.model_id
        # filled in by the steps
        self.found: Discovery | None = None
        self.n_workers = 0
        self.col: Collection | None = None
        self.writer: BatchWriter | None = None
        # the file loop: work queue, files in flight, parsed files waiting for vectors
        self.todo: deque[Candidate] = deque()
        self.sizes: dict[str, int] = {}
        self.files_total = 0
        self.in_flight: dict[Future[FileResult], FileTask] = {}
        self.suspects: set[str] = set()  # files in flight when a worker crashed
        self.backlog: deque[ParsedFile] = deque()
        self.backlog_texts = 0
        batch = max(1, settings.embedding.batch_size) * 2
        self.batch = batch
        self.max_backlog = batch * 8
        self.max_bytes = int(self.opts.max_file_mb * 1024 * 1024)
        # progress
        self.files_done = self.bytes_done = self.chunks_done = self.pages = 0
        self.media = 0.0
        self.embed_started = time.monotonic()
        self.embedder_ready = False
        self.last_progress = 0.0
        self.pool: WorkerPool | None = None
        self.lock: FileLock | None = None

    # --- the run ----------------------------------------------------------------------

    def run(self) -> Iterator[IngestEvent]:
        yield from self.discover()
        try:
            yield from self.lock_collection()
            yield from self.open_collection()
            yield from self.process_files()
            if self.sync:
                yield from self.sync_removals()
            yield from self.index()
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None
        now = time.monotonic()
        self.summary.elapsed_s = now - self.started
        if self.embedder_ready:
            self.summary.working_s = now - self.embed_started
        yield IngestFinished(self.summary)

    # --- steps --------------------------------------------------------------------------

    def discover(self) -> Iterator[IngestEvent]:
        """Find the files (and the problems: unreadable, too big, ...); size the pool."""
        found = discover(
            self.paths,
            exclude=self.exclude,
            include_hidden=self.opts.include_hidden,
            max_file_mb=self.opts.max_file_mb,
        )
        self.found = found
        workers = self.workers_arg
        n = default_workers(self.opts.workers if workers is None else workers)
        if workers == 0:
            n = 0  # explicit 0 from the API: parse in this process
        self.n_workers = min(n, max(1, len(found.files))) if n else 0
        self.todo = deque(found.files)
        self.sizes = {str(c.path): c.size for c in found.files}
        self.files_total = len(found.files)
        total_bytes = sum(c.size for c in found.files)
        yield IngestStarted(
            self.name, len(found.files), total_bytes, self.n_workers,
            [str(c.path) for c in found.files],
        )  # fmt: skip
        for prob in found.problems:
            (self.summary.failed if prob.status == "failed" else self.summary.skipped).append(
                (prob.path, prob.reason)
            )
            yield FileDone(prob.path, prob.status, error=prob.reason)

    def lock_collection(self) -> Iterator[IngestEvent]:
        """Become the collection's only writer until the run ends. What to write is
        decided from what the collection holds when the run opens it, so a second
        ingest (another process, the TUI) waits here, then sees the first one's files
        as unchanged instead of adding them again."""
        from h2otui.locking import waiting_message

        store = self._store()
        self.lock = store.writer_lock(self.name)
        if not self.lock.acquire(blocking=False):
            pid = self.lock.holder_pid()
            yield IngestWaiting(waiting_message(f"another ingest into {self.name}", pid), pid)
            self.lock.acquire()

    def open_collection(self) -> Iterator[IngestEvent]:
        """Open the collection (re-embedding it first with ``--reembed``) or create it,
        and read what it holds. The embedding model is loaded only when something needs
        it: re-ingesting unchanged files costs hashing, not a model load."""
        lazy = self.embedder
        store = self._store()
        if self.reembed and store.exists(self.name):
            yield from self.reembed_collection(store)
        if store.exists(self.name):
            col = store.open(self.name)
            col.check_model(lazy.model_id, col.dim if lazy.loaded is None else lazy.loaded.dim)
            lazy.expect_dim(col)
            if lazy.precision != self.settings.embedding.precision:
                yield IngestPhase(
                    f"{self.name} was built with {lazy.precision} embeddings: adding with "
                    f"{lazy.precision} (--reembed switches it to "
                    f"{self.settings.embedding.precision})"
                )
        else:
            yield IngestPhase("loading embedding model")
            loaded = lazy.load()
            yield from self._notices()
            col = store.create(self.name, loaded.model_id, loaded.dim, lazy.precision)
        self.col = col
        self.writer = BatchWriter(col, col.known_documents(), lazy.model_id)
        assert self.found is not None
        for prob in self.found.problems:
            if prob.path and os.path.isfile(prob.path):
                self.writer.add_status(prob.path, prob.status, prob.reason)

    def reembed_collection(self, store: CollectionStore) -> Iterator[IngestEvent]:
        """``--reembed``: re-embed the existing collection when its model differs."""
        old = store.open(self.name)
        given = self.given_embedder
        if (
            old.embedding_model == self.embedder.model_id
            and (given is None or old.dim == given.dim)
            and old.embedding_precision == self.embedder.precision
        ):
            return
        yield IngestPhase("loading embedding model")
        loaded = self.embedder.load()
        yield from self._notices()
        yield IngestPhase(
            f"re-embedding {old.count_chunks()} chunks with {self.embedder.model_id} "
            f"({self.embedder.precision})"
        )
        old.reembed(
            loaded.encode, loaded.model_id, loaded.dim, loaded.batch_size, self.embedder.precision
        )
        self.summary.reembedded = True

    def _notices(self) -> Iterator[IngestEvent]:
        while self.embedder.notices:
            yield IngestPhase(self.embedder.notices.pop(0))

    def process_files(self) -> Iterator[IngestEvent]:
        """Parse, embed and write every file, overlapping the three."""
        self.pool = WorkerPool(self.n_workers, self.settings)
        self.pool.start()
        self.embed_started = time.monotonic()
        self.embedder_ready = self.embedder.loaded is not None  # handed in loaded
        try:
            with self.pool.terminate_on_sigterm():
                while self.todo or self.in_flight or self.backlog or self._writer.pending:
                    self.submit_work()
                    done = self._wait_for_results()
                    yield from self.report_phases()
                    yield from self.collect_results(done)
                    # embed a batch when there is a full one, or when nothing else can
                    # arrive soon
                    if self.backlog and (
                        self.backlog_texts >= self.batch
                        or not done
                        or not (self.todo or self.in_flight)
                    ):
                        yield from self.embed_batch()
                    if self._writer.due() or not (self.todo or self.in_flight or self.backlog):
                        yield from self.write_ready()
                    yield from self.report_progress()
                yield from self.report_progress(force=True)
        finally:
            self.pool.close()

    def submit_work(self) -> None:
        """Keep a window of files in flight, unless the embedding backlog is full. While
        crash suspects are pending, files go one at a time to find the culprit."""
        from concurrent.futures.process import BrokenProcessPool

        assert self.pool is not None
        limit = 1 if self.suspects else max(2, self.n_workers * 2)
        while self.todo and len(self.in_flight) < limit and self.backlog_texts < self.max_backlog:
            cand = self.todo.popleft()
            path = str(cand.path)
            k = self._writer.stored(path)
            known_sha = k.sha256 if k and k.has_ok else None
            task = FileTask(path, cand.kind, known_sha, self.force, self.max_bytes)
            try:
                self.in_flight[self.pool.submit(task)] = task
            except BrokenProcessPool:
                # a worker died since the last look: the files in flight report it and
                # restart the pool; with none in flight, restart it here
                self.todo.appendleft(cand)
                if self.in_flight:
                    return
                self.pool.restart()

    def _wait_for_results(self) -> set[Future[FileResult]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        if not self.in_flight:
            return set()
        if self.backlog_texts >= self.batch:
            timeout: float | None = 0  # a batch to embed: just look
        else:
            # (a look now and then for the workers' phase reports)
            timeout = 0.5 if self.backlog_texts else PHASE_POLL_S
        done, _ = wait(list(self.in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
        return done

    def report_phases(self) -> Iterator[IngestEvent]:
        """A :class:`FilePhase` for each phase a worker reported on a file still in
        flight (a late report on a file already back is stale)."""
        assert self.pool is not None
        reports = self.pool.take_phases()
        if not reports:
            return
        flying = {t.path for t in self.in_flight.values()}
        for path, phase in reports:
            if path in flying:
                yield FilePhase(path, phase)

    def collect_results(self, done: set[Future[FileResult]]) -> Iterator[IngestEvent]:
        """Turn finished parses into events, status rows, or files waiting for vectors."""
        from concurrent.futures.process import BrokenProcessPool

        for fut in done:
            task = self.in_flight.pop(fut)
            try:
                result: FileResult = fut.result()
                self.suspects.discard(task.path)
            except BrokenProcessPool:
                failed = self._worker_crashed(task)
                for result in failed:
                    yield from self._take_result(result)
                return  # the other files in flight were queued again
            except Exception as exc:  # a bug in our worker code: report per file
                result = FileResult(
                    task.path, "failed", error=f"internal error: {type(exc).__name__}: {exc}"
                )
            yield from self._take_result(result)

    def _worker_crashed(self, task: FileTask) -> list[FileResult]:
        """A parser process died (a native library fault, the OOM killer, a file past its
        deadline) and took the pool with it. A worker stopped at a deadline names its
        file, which fails; otherwise every file then in flight is a suspect: they are
        retried one at a time, and one that kills a worker alone fails. Returns the
        failed files' results."""
        assert self.pool is not None
        crashed = [task, *self.in_flight.values()]
        self.in_flight.clear()
        self.pool.restart()
        # a worker that stopped at a file's deadline said which file: it fails now, the
        # others in flight were innocent and go back to the queue as they were
        timed_out = {t.path: r for t in crashed if (r := self.pool.take_reason(t.path))}
        if timed_out:
            for t in reversed(crashed):
                if t.path not in timed_out:
                    self.todo.appendleft(
                        Candidate(Path(t.path), t.kind, self.sizes.get(t.path, 0), 0.0)
                    )
            self.suspects.difference_update(timed_out)
            return [FileResult(p, "failed", error=r) for p, r in timed_out.items()]
        if len(crashed) == 1 and task.path in self.suspects:
            self.suspects.discard(task.path)
            cap = self.opts.max_worker_mb
            hint = f" (ingest.max_worker_mb = {cap})" if cap else ""
            return [FileResult(task.path, "failed", error=CRASHED_PARSER + hint)]
        for t in reversed(crashed):
            self.suspects.add(t.path)
            self.todo.appendleft(Candidate(Path(t.path), t.kind, self.sizes.get(t.path, 0), 0.0))
        return []

    def _take_result(self, result: FileResult) -> Iterator[IngestEvent]:
        summary = self.summary
        if result.status == "unchanged":
            summary.unchanged.append(result.path)
            yield self._finish(result.path, FileDone(result.path, "unchanged"))
        elif result.status in ("failed", "skipped"):
            (summary.failed if result.status == "failed" else summary.skipped).append(
                (result.path, result.error)
            )
            if os.path.isfile(result.path):
                self._writer.add_status(
                    result.path, result.status, result.error, result.size, result.mtime
                )
            yield self._finish(
                result.path, FileDone(result.path, result.status, error=result.error)
            )
        else:
            k = self._writer.stored(result.path)
            outcome = "updated" if k is not None and k.has_ok else "added"
            parsed = ParsedFile.from_result(result, outcome, self.embedder.model_id)
            parsed.allocate_vectors(self.embedder.dim)
            yield FilePhase(result.path, "embedding")
            self.backlog.append(parsed)
            self.backlog_texts += len(parsed.texts)

    def embed_batch(self) -> Iterator[IngestEvent]:
        """Embed up to one batch of backlog texts (across files); files whose vectors are
        complete move on to the writer, in order."""
        take: list[tuple[ParsedFile, int, int]] = []
        texts: list[str] = []
        for p in self.backlog:
            if len(texts) >= self.batch:
                break
            n = min(self.batch - len(texts), len(p.texts) - p.filled)
            take.append((p, p.filled, p.filled + n))
            texts.extend(p.texts[p.filled : p.filled + n])
        if self.embedder.loaded is None:
            yield IngestPhase("loading embedding model")
            self.embedder.load()
            yield from self._notices()
            self.embed_started = time.monotonic()
            self.embedder_ready = True
        vectors = self.embedder.encode(texts)
        offset = 0
        for p, lo, hi in take:
            p.fill(lo, hi, vectors[offset : offset + hi - lo])
            offset += hi - lo
        self.backlog_texts -= len(texts)
        while self.backlog and self.backlog[0].ready:
            self._writer.add(self.backlog.popleft())

    def write_ready(self) -> Iterator[IngestEvent]:
        """Write the buffered files to the collection and report each one."""
        summary = self.summary
        for p in self._writer.flush():
            r = p.result
            # (from the documents rows: a distributed run commits chunks separately)
            n = sum(r["chunk_count"] or 0 for r in p.doc_rows)
            self.chunks_done += n
            summary.chunks_written += n
            self.pages += r.pages
            self.media += r.media_seconds
            summary.pages += r.pages
            summary.media_seconds += r.media_seconds
            (summary.added if p.outcome == "added" else summary.updated).append(r.path)
            warns = list(dict.fromkeys([w for d in r.docs for w in d.warnings] or r.warnings))
            for w in warns:
                summary.warnings.append((r.path, w))
            parser = "+".join(dict.fromkeys(d.parser for d in r.docs))
            event = FileDone(r.path, p.outcome, n, r.pages, r.media_seconds, parser, warnings=warns)
            yield self._finish(r.path, event)

    def report_progress(self, force: bool = False) -> Iterator[IngestEvent]:
        """An :class:`IngestProgress` at most every :data:`PROGRESS_EVERY_S`."""
        now = time.monotonic()
        if not force and now - self.last_progress < PROGRESS_EVERY_S:
            return
        self.last_progress = now
        elapsed = now - self.started
        embedding_s = max(1e-6, now - self.embed_started)
        rate = self.bytes_done / embedding_s
        remaining = sum(self.sizes.values()) - self.bytes_done
        eta = remaining / rate if rate > 0 and self.bytes_done else None
        yield IngestProgress(
            self.files_done, self.files_total, self.pages, self.media, self.chunks_done,
            self.chunks_done / embedding_s, elapsed, eta,
        )  # fmt: skip

    def sync_removals(self) -> Iterator[IngestEvent]:
        """``--sync``: remove the documents of files under the ingested paths that are
        gone. Nothing under a folder (or file) discovery could not read is removed: an
        unreadable folder is not an empty one."""
        found = self.found
        assert found is not None and self.col is not None
        removed = self.col.remove_missing(lambda p: found.in_scope(p) and not found.not_seen(p))
        for path in removed:
            self.summary.removed.append(path)
            yield FileDone(path, "removed")
        self._writer.changed |= bool(removed)

    def index(self) -> Iterator[IngestEvent]:
        """Fold what changed into the full-text (and, when large, vector) index."""
        assert self.col is not None
        if self._writer.changed or self.summary.reembedded:
            yield IngestPhase("indexing")
            if not self.col.store.shared:
                self.col.ensure_fts_index()
                return
            from h2otui.store.collections import StoreError

            try:
                self.col.ensure_fts_index()
            except StoreError as exc:  # another host kept indexing: the rows are written
                self.summary.warnings.append((self.name, str(exc)))
                yield IngestPhase(f"indexing postponed: {exc}")

    # --- helpers ------------------------------------------------------------------------

    def _store(self) -> CollectionStore:
        """The store of this run: ``data_dir``'s when given, else the configured one."""
        from h2otui.store.collections import CollectionStore

        if self.data_dir is not None:
            return CollectionStore(self.data_dir)
        return CollectionStore.for_settings(self.settings)

    @property
    def _writer(self) -> BatchWriter:
        assert self.writer is not None, "open_collection() comes first"
        return self.writer

    def _finish(self, path: str, event: FileDone) -> FileDone:
        """Count a file as done. The ETA is bytes still to do at the rate bytes were
        ingested, so only files that were ingested count towards that rate; a file that
        failed or was skipped leaves both sides (it took no embedding work, and counting
        its bytes as done, or as still to do, made the ETA wrong by far after failures).
        An unchanged file, only hashed, leaves them too."""
        self.files_done += 1
        if event.outcome in ("failed", "skipped", "unchanged"):
            self.sizes.pop(path, None)
        else:
            self.bytes_done += self.sizes.get(path, 0)
        return event


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
    ray: str | None = None,
) -> Iterator[IngestEvent]:
    """Ingest files / folders / globs into ``collection``; yields progress events, the
    last one :class:`IngestFinished` with the summary.

    Raises :class:`~h2otui.store.collections.StoreError` (bad name, embedding model
    mismatch without ``reembed``) and :class:`~h2otui.ingest.base.ModelUnavailableError`
    before any file is touched. Per-file problems never raise: they are in the summary.
    A SIGTERM while it runs (in the main thread) kills the parser processes and raises
    :class:`~h2otui.ingest.pool.IngestTerminated`.

    ``ray`` runs the parse and embed stages on Ray Data (:mod:`h2otui.ingest.distributed`):
    "local" starts Ray on this machine, anything else is a cluster address ("auto",
    "ray://head:10001"). Without the ``scale`` extra it raises
    :class:`~h2otui.ingest.distributed.RayUnavailableError`.
    """
    from h2otui.config import load_settings

    cls: type[IngestPipeline] = IngestPipeline
    extra: dict[str, Any] = {}
    if ray is not None:
        from h2otui.ingest.distributed import RayIngestPipeline

        cls = RayIngestPipeline
        extra["ray_address"] = None if ray in ("", "local") else ray
    pipeline = cls(
        paths, collection, settings or load_settings(), exclude=exclude, workers=workers,
        sync=sync, reembed=reembed, force=force, data_dir=data_dir, embedder=embedder,
        **extra,
    )  # fmt: skip
    yield from pipeline.run()


def reembed_collection(store: CollectionStore, name: str, embedder: Embedder) -> int:
    """Re-embed every chunk of ``name`` with ``embedder`` into a new version of its chunks
    table (the dimension may change). Returns the number of chunks."""
    return store.open(name).reembed(
        embedder.encode,
        embedder.model_id,
        embedder.dim,
        embedder.batch_size,
        getattr(embedder, "precision", None),
    )


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
