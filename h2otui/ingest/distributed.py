"""Distributed ingestion on Ray Data: ``h2otui ingest PATHS --ray [ADDRESS]``.

The run is :class:`~h2otui.ingest.pipeline.IngestPipeline`'s (discovery, the writer lock,
opening the collection, ``--sync``, indexing happen on this machine, the driver); only
:meth:`RayIngestPipeline.process_files` differs. It runs the expensive work as Ray Data
stages spread over the cluster's CPUs:

1. **parse** -- one task per file: hash it (an unchanged file stops here), parse it
   (PDF text, OCR of scans and images, ASR of audio and video) and chunk it, with the
   very function the local worker processes run (:func:`~h2otui.ingest.worker.process_file`).
2. **embed** -- the chunks of every parsed file, in batches, through a pool of Ray actors
   that each load the embedding model once.
3. **write** -- the chunks of files new to the collection are written with lance-ray's
   fragment writer, each Ray block a fragment written by its worker, and committed once
   by the driver (:meth:`~h2otui.store.collections.Collection.append_chunks_from_ray`):
   under the collection's commit lease it first checks the latest version for those
   documents, so a file another host ingested at the same moment is not stored twice.
   The parts and documents rows (small) and files that replace an earlier version go
   through :meth:`~h2otui.store.collections.Collection.replace_documents`, atomically
   per file.

So the collection is the one a local ingest makes: same documents, chunk ids and texts,
metadata, and vectors (up to float rounding: batches differ). The driver gets every
file's result back to report the same events -- a :class:`FileDone` per file with the
same failure reasons -- and its summary.

Crash safety is the local run's: the chunks commit comes before the documents rows, and
a file whose chunks are there without a documents row is re-ingested next time, its rows
replaced by id (see :mod:`h2otui.store.collections`).

Every Ray node needs h2otui installed (the same version) with the ``scale`` extra, and
must see the files at the same paths (a shared file system); the data dir or the
object-storage URI must be reachable from every node too.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from h2otui.ingest.base import IngestError
from h2otui.ingest.events import IngestEvent, IngestPhase
from h2otui.ingest.pipeline import IngestPipeline
from h2otui.ingest.worker import FileResult, FileTask
from h2otui.ingest.writer import ParsedFile

if TYPE_CHECKING:
    from h2otui.config import IngestSettings, Settings

RAY_EXTRA = "scale"
#: what the CLI prints when Ray or lance-ray is missing
RAY_MISSING = (
    "--ray needs Ray Data and lance-ray, which are not installed: "
    f"pip install 'h2otui[{RAY_EXTRA}]' (or `make test`, which installs that extra)"
)


class RayUnavailableError(IngestError):
    """``--ray`` without the ``scale`` extra installed."""


def require_ray() -> Any:
    """The ``ray`` module, or :class:`RayUnavailableError` naming the extra."""
    try:
        import lance_ray  # noqa: F401
        import ray
        import ray.data
    except ImportError:
        raise RayUnavailableError(RAY_MISSING) from None
    return ray


def connect_ray(address: str | None, num_cpus: int | None = None) -> Any:
    """Join the Ray cluster at ``address`` ("auto": the one this node belongs to), or start
    a local one (``num_cpus``: all when None). A running ``ray.init`` is reused."""
    ray = require_ray()
    if not ray.is_initialized():
        import logging

        # the ingest's own events are the progress report: Ray's INFO lines are noise
        logging.getLogger("ray").setLevel(logging.WARNING)
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.WARNING,
        }
        if address:
            kwargs["address"] = address
        elif num_cpus:
            kwargs["num_cpus"] = num_cpus
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise IngestError(f"--ray {address or ''}: cannot start or reach Ray: {exc}") from None
    return ray


# --- the stages (run on Ray workers; module-level so they pickle by reference) -----------


def parse_stage(row: dict[str, Any], opts: IngestSettings) -> dict[str, Any]:
    """Stage 1: one file's :class:`FileResult` (hashed, parsed, chunked), pickled."""
    from h2otui.ingest import base

    base.set_worker_threads(1)
    task = FileTask(row["path"], row["kind"], row["known_sha"] or None, row["force"],
                    row["max_bytes"])  # fmt: skip
    try:
        result = _process(task, opts)
    except Exception as exc:  # a bug in our worker code: reported per file, like locally
        result = FileResult(
            task.path, "failed", error=f"internal error: {type(exc).__name__}: {exc}"
        )
    return {"path": task.path, "status": result.status, "result": pickle.dumps(result)}


def _process(task: FileTask, opts: IngestSettings) -> FileResult:
    from h2otui.ingest.worker import process_file

    return process_file(task, opts)


def chunk_rows_stage(row: dict[str, Any], model_id: str) -> list[dict[str, Any]]:
    """Stage 2a: the chunk rows (with their text) of a parsed file."""
    if row["status"] != "parsed":
        return []
    result: FileResult = pickle.loads(row["result"])
    return ParsedFile.from_result(result, "", model_id).chunk_rows


class EmbedStage:
    """Stage 2b, a Ray actor: loads the embedding model once, embeds batches of chunks."""

    def __init__(self, settings: Settings) -> None:
        from h2otui.ingest import base
        from h2otui.ingest.embedding import shared_embedder

        base.set_worker_threads(1)
        self.embedder = shared_embedder(settings)

    def __call__(self, batch: Any) -> Any:
        """An Arrow batch of chunk rows -> the same rows in the chunks table's schema,
        with their vectors."""
        from h2otui.store.schema import CHUNK_COLUMNS, chunks_table

        vectors = self.embedder.encode([str(t) for t in batch.column("text").to_pylist()])
        return chunks_table({c: batch.column(c).to_pylist() for c in CHUNK_COLUMNS}, vectors)


# --- the pipeline -------------------------------------------------------------------------


class RayIngestPipeline(IngestPipeline):
    """An ingest run whose parse and embed stages run on Ray (see the module docstring)."""

    def __init__(self, *args: Any, ray_address: str | None = None, ray_cpus: int | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.ray_address = ray_address or None
        self.ray_cpus = ray_cpus
        #: seconds per stage (parse, embed, write), for the benchmark's projections
        self.stage_seconds: dict[str, float] = {}

    def discover(self) -> Iterator[IngestEvent]:
        require_ray()  # before anything is locked or opened
        yield from super().discover()

    def process_files(self) -> Iterator[IngestEvent]:
        ray = connect_ray(self.ray_address, self.ray_cpus)
        tasks = []
        while self.todo:
            cand = self.todo.popleft()
            k = self._writer.stored(str(cand.path))
            known = k.sha256 if k and k.has_ok else None
            tasks.append({"path": str(cand.path), "kind": cand.kind, "known_sha": known or "",
                          "force": self.force, "max_bytes": self.max_bytes})  # fmt: skip
        if not tasks:
            return
        cpus = int(ray.cluster_resources().get("CPU", 1))
        yield IngestPhase(f"parsing {len(tasks)} files on Ray ({cpus} CPUs)")
        t0 = time.monotonic()
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        parsed = (
            ray.data.from_items(tasks, override_num_blocks=min(len(tasks), cpus * 4))
            .map(parse_stage, fn_kwargs={"opts": self.opts})
            .materialize()
        )
        self.stage_seconds["parse"] = time.monotonic() - t0
        files: list[ParsedFile] = []
        for row in parsed.iter_rows():
            result: FileResult = pickle.loads(row["result"])
            if result.status == "parsed":
                k = self._writer.stored(result.path)
                outcome = "updated" if k is not None and k.has_ok else "added"
                files.append(ParsedFile.from_result(result, outcome, self.embedder.model_id))
            else:
                yield from self._take_result(result)
        yield from self.report_progress(force=True)
        if not files:
            return
        yield from self._embed_and_write(ray, parsed, files, cpus)

    def _embed_and_write(
        self, ray: Any, parsed: Any, files: list[ParsedFile], cpus: int
    ) -> Iterator[IngestEvent]:
        import warnings

        import numpy as np

        # our filters test set membership, which Ray's expression language cannot say
        warnings.filterwarnings("ignore", message="Use 'expr' instead of 'fn'")

        n_chunks = sum(len(p.texts) for p in files)
        yield IngestPhase(f"embedding {n_chunks} chunks on Ray")
        t0 = time.monotonic()
        self.embedder.load()  # the collection's model must match before Ray loads it
        batch = max(1, self.settings.embedding.batch_size) * 2
        actors = max(1, min(cpus, (n_chunks + batch - 1) // batch))
        chunks = parsed.flat_map(chunk_rows_stage, fn_kwargs={"model_id": self.embedder.model_id})
        embedded = chunks.map_batches(
            EmbedStage,
            fn_constructor_kwargs={"settings": self.settings},
            batch_size=batch,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
            num_cpus=1,
        ).materialize()
        self.stage_seconds["embed"] = time.monotonic() - t0
        t0 = time.monotonic()
        col = self.col
        assert col is not None
        # files new to the collection: their chunks go through lance-ray in one commit
        fresh = {r["doc_id"] for p in files if not self._replaces(p) for r in p.doc_rows}
        if fresh:
            yield IngestPhase(f"writing {len(fresh)} new documents with lance-ray")
            col.append_chunks_from_ray(embedded.filter(lambda row: row["doc_id"] in fresh), fresh)
        # the vectors of files that replace a version come back for an atomic replace
        replacing = [p for p in files if self._replaces(p)]
        if replacing:
            ids = {r["doc_id"] for p in replacing for r in p.doc_rows}
            vecs: dict[str, Any] = {}
            for b in embedded.filter(lambda row: row["doc_id"] in ids).iter_batches(
                batch_format="pyarrow"
            ):
                for cid, v in zip(b.column("chunk_id").to_pylist(),
                                  b.column("vector").to_pylist(), strict=True):  # fmt: skip
                    vecs[cid] = v
            for p in replacing:
                p.allocate_vectors(self.embedder.dim)
                for i, r in enumerate(p.chunk_rows):
                    p.vectors[i] = vecs[r["chunk_id"]]
                p.filled = len(p.texts)
        for p in files:
            if not self._replaces(p):
                # chunks are committed: the writer adds parts and documents rows only
                p.chunk_rows, p.texts = [], []
                p.vectors = np.zeros((0, self.embedder.dim), dtype=np.float32)
            self._writer.add(p)
        yield from self.write_ready()
        self.stage_seconds["write"] = time.monotonic() - t0
        yield from self.report_progress(force=True)

    def _replaces(self, p: ParsedFile) -> bool:
        """Whether ``p`` replaces rows the collection holds (then it is written by
        merge_insert, atomically, instead of appended by lance-ray)."""
        ids = {r["doc_id"] for r in p.doc_rows}
        k = self._writer.stored(p.result.path)
        return bool((k is not None and k.doc_ids) or ids & self._writer.existing)


def ray_workers_hint() -> int:
    return os.cpu_count() or 1
