"""Document collections in LanceDB: the contract between ingestion and document QA.

One LanceDB database per data dir (``<data_dir>/lancedb``). A collection NAME is four
tables:

- ``NAME__chunks``: retrieval units with their vector (L2-normalised), text (with a native
  full-text index), source file, page / time span / frame time and character offsets.
- ``NAME__parts``: the full text of each page / transcript span / frame, for summarize and
  extract actions, which work on whole parts rather than chunks.
- ``NAME__documents``: one row per document (path, sha256, size, mtime, parser, status,
  error, chunk count, ingested_at, embedding model).
- ``NAME__meta``: key / value rows (embedding model, dimension, schema version). A
  collection exists when this table does; it is written last on creation.

This module and :mod:`h2otui.store.schema` are the only code that builds LanceDB
queries or writes to the tables: ingestion and document QA call :class:`Collection`'s
methods (replace a file's documents, remove documents, vector / full-text candidates,
read parts), which keep the invariants below.

Crash safety (:meth:`Collection.replace_documents`): a file's chunks (and separately its
parts) are written in one LanceDB commit -- a ``merge_insert`` that also deletes the rows
of its previous version -- so a reader sees the old version or the new one, never both
and never neither. Its documents row (with the sha256) is written after them. A run
killed at any moment therefore leaves each file either fully old, fully new, or new
chunks without the new documents row -- and the next run re-ingests that file
(:meth:`Collection.known_documents` does not report it as unchanged), replacing its rows
by document id, never duplicating them. Removals delete chunks first: a documents row
without chunks is re-ingested next time.

On object storage (``storage.uri``, :mod:`h2otui.store.location`) the same holds across
hosts: every commit is a conditional put, so racing writers retry rather than overwrite;
indexing retries its conflicts. The writer lock only keeps one host's processes apart, and
Lance does not notice two commits inserting the same new key (two ``merge_insert`` runs
that read the same version both insert it), so writers of rows also take the collection's
**commit lease** (:meth:`Collection.commit_lease`): a compare-and-swap on a row of the
meta table, which Lance does serialise (two updates of one row conflict, and the loser's
retry sees the winner's value). Under it a writer reads the latest version and upserts by
id; so two hosts ingesting the same file at once leave one copy of each row. The lease
spans a commit, not a run: parsing and embedding on many hosts stay parallel.

Nothing here imports Textual; lancedb and pyarrow are imported lazily.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.store.schema import (
    CHUNK_COLUMNS,
    SCHEMA_VERSION,
    chunks_schema,
    chunks_table,
    document_names,
    documents_filter,
    documents_schema,
    in_filter,
    meta_schema,
    parts_schema,
    real_path,
    rows_table,
    sql_quote,
    stored_path,
)

if TYPE_CHECKING:
    import numpy as np

    from h2otui.config import Settings
    from h2otui.locking import FileLock
    from h2otui.store.location import StorageLocation

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SUFFIXES = ("chunks", "parts", "documents", "meta")


#: a commit lease older than this is a crashed writer's: another host may take it over
LEASE_SECONDS = 600
_LEASE_KEY = "commit_lease"

#: ANN search parameters (used only when the chunks table has a vector index)
ANN_NPROBES = 20
ANN_EF = 100
ANN_REFINE_FACTOR = 5


class StoreError(Exception):
    """A collection problem a user can act on."""


class CollectionNotFoundError(StoreError):
    pass


class EmbeddingMismatchError(StoreError):
    pass


@dataclass(slots=True)
class StoredFile:
    """What a collection holds for one source file."""

    doc_ids: set[str] = field(default_factory=set)
    sha256: str | None = None  # of its ok version, if any (None: parse it again)
    has_ok: bool = False
    broken: bool = False  # an ok documents row whose chunks are missing


@dataclass(slots=True)
class StoredDocuments:
    """:meth:`Collection.known_documents`: the files a collection holds, and the doc ids
    that have chunk or part rows (a killed run can leave rows without a documents row)."""

    files: dict[str, StoredFile]
    with_rows: set[str]


@dataclass(slots=True)
class DocumentWrite:
    """A file's new version, for :meth:`Collection.replace_documents`.

    ``chunk_rows`` hold every column of the chunks table but the vector; ``vectors`` is
    ``(len(chunk_rows), dim)``. ``replaces`` are the doc ids whose chunk and part rows
    this version replaces (the file's previous documents, and leftover rows under its
    new ids); those of them that are not among the new documents are removed.
    """

    source: str
    doc_rows: list[dict[str, Any]]
    chunk_rows: list[dict[str, Any]]
    vectors: np.ndarray
    part_rows: list[dict[str, Any]]
    replaces: set[str] = field(default_factory=set)


@dataclass(slots=True)
class CollectionInfo:
    name: str
    documents: int
    chunks: int
    size_bytes: int
    embedding_model: str
    dim: int
    embedding_precision: str = "fp32"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "documents": self.documents,
            "chunks": self.chunks,
            "size_bytes": self.size_bytes,
            "embedding_model": self.embedding_model,
            "dim": self.dim,
            "embedding_precision": self.embedding_precision,
        }


def validate_name(name: str) -> str:
    if not _NAME_RE.match(name) or "__" in name:
        raise StoreError(
            f"invalid collection name {name!r}: use letters, digits, '_', '-' and '.', "
            "starting with a letter or digit, without '__'"
        )
    return name


# --- the store ------------------------------------------------------------------------


class CollectionStore:
    """All collections of one location: the data dir's ``lancedb`` folder, or object
    storage shared by several hosts (:mod:`h2otui.store.location`)."""

    def __init__(self, data_dir: Path | str, location: StorageLocation | None = None):
        from h2otui.store.location import local_location

        self.data_dir = Path(data_dir)
        self.location = location or local_location(self.data_dir)
        #: the local folder of the tables; None on object storage
        self.path: Path | None = self.location.local_path
        self._db: Any = None

    @classmethod
    def for_settings(cls, settings: Settings) -> CollectionStore:
        """The store ``settings.storage`` names (the data dir by default)."""
        from h2otui.store.location import StorageConfigError, location_for

        try:
            return cls(settings.data_path, location_for(settings))
        except StorageConfigError as exc:
            raise StoreError(str(exc)) from None

    @property
    def shared(self) -> bool:
        """Whether the tables are on object storage (other hosts may write them)."""
        return self.location.remote

    @property
    def db(self) -> Any:
        if self._db is None:
            try:
                self._db = self.location.connect()
            except (OSError, ValueError, RuntimeError) as exc:
                raise self.storage_error(exc) from None
        return self._db

    def storage_error(self, exc: BaseException) -> StoreError:
        """A :class:`StoreError` for an object-storage failure, without any secret."""
        detail = self.location.scrub(" ".join(str(exc).split())[:500])
        return StoreError(
            f"collection storage {self.location.describe()}: {detail} (check storage.uri, "
            "storage.options and the credentials in the environment or storage.profile)"
        )

    def writer_lock(self, name: str) -> FileLock:
        """The lock every writer of collection ``name`` holds (ingest for its whole
        run; delete, remove-doc, re-embed): writers decide what to write from what they
        read, so two at once would duplicate documents (see :mod:`h2otui.locking`).
        Readers never take it. Not acquired yet: ``with`` it, or ``acquire()``.

        On object storage the lock only keeps this host's processes apart; writers on
        other hosts are kept consistent by Lance's conditional-put commits and by
        :meth:`Collection.replace_documents` upserting by chunk id."""
        from h2otui.locking import FileLock

        validate_name(name)
        if self.path is not None:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            return FileLock(self.path / f"{name}.lock")
        locks = self.data_dir / "locks"
        locks.mkdir(mode=0o700, parents=True, exist_ok=True)
        return FileLock(locks / f"{self.location.key()}-{name}.lock")

    def _table_names(self) -> list[str]:
        names: list[str] = []
        token = None
        while True:
            resp = self.db.list_tables(page_token=token, limit=1000)
            names.extend(resp.tables)
            token = resp.page_token
            if not token:
                return names

    def names(self) -> list[str]:
        if self.path is not None and not self.path.exists():
            return []
        try:
            tables = self._table_names()
        except (OSError, ValueError, RuntimeError) as exc:
            raise self.storage_error(exc) from None
        return sorted(n[: -len("__meta")] for n in tables if n.endswith("__meta"))

    def exists(self, name: str) -> bool:
        return name in self.names()

    def open(self, name: str) -> Collection:
        if not self.exists(name):
            known = ", ".join(self.names()) or "none yet"
            raise CollectionNotFoundError(
                f"no collection named {name!r} (existing: {known}); create one with "
                f"`h2otui ingest PATH --collection {name}`"
            )
        return Collection(self, name)

    def create(
        self, name: str, embedding_model: str, dim: int, precision: str = "fp32"
    ) -> Collection:
        """Open ``name``, creating it for this embedding model (and ``precision``, fp32 or
        int8, recorded) if needed. An existing collection with another model raises
        :class:`EmbeddingMismatchError`; another precision is compatible (same space)."""
        validate_name(name)
        if self.exists(name):
            col = Collection(self, name)
            col.check_model(embedding_model, dim)
            return col
        db = self.db
        db.create_table(f"{name}__chunks", schema=chunks_schema(dim), exist_ok=True)
        db.create_table(f"{name}__parts", schema=parts_schema(), exist_ok=True)
        db.create_table(f"{name}__documents", schema=documents_schema(), exist_ok=True)
        meta = [
            {"key": "embedding_model", "value": embedding_model},
            {"key": "dim", "value": str(dim)},
            {"key": "embedding_precision", "value": precision},
            {"key": "schema_version", "value": SCHEMA_VERSION},
            {"key": _LEASE_KEY, "value": ""},
            {"key": "created_at", "value": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        ]
        db.create_table(f"{name}__meta", data=meta, schema=meta_schema(), exist_ok=True)
        return Collection(self, name)

    def delete(self, name: str) -> None:
        if not self.exists(name):
            self.open(name)  # raises with the list of collections
        with self.writer_lock(name):
            self._drop(name)

    def _drop(self, name: str) -> None:
        # meta first: a half-deleted collection is then invisible, and re-creating it works
        for suffix in ("meta", "chunks", "parts", "documents"):
            table = f"{name}__{suffix}"
            with contextlib.suppress(FileNotFoundError, ValueError):
                self.db.drop_table(table)
            leftover = self.path / f"{table}.lance" if self.path is not None else None
            if leftover is not None and leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)

    def list(self) -> list[CollectionInfo]:
        return [self.open(n).info() for n in self.names()]

    def rename(self, name: str, new_name: str) -> None:
        """Rename collection ``name`` to ``new_name`` under both writer locks. The meta
        table moves last: until then the old name is the collection, and a rename cut
        short is finished by renaming again (the moved tables are found under the new
        name)."""
        validate_name(new_name)
        if not self.exists(name):
            self.open(name)  # raises with the list of collections
        if self.exists(new_name):
            raise StoreError(f"a collection named {new_name!r} already exists: pick another name")
        with self.writer_lock(name), self.writer_lock(new_name):
            tables = set(self._table_names())
            for suffix in ("chunks", "parts", "documents", "meta"):
                old, new = f"{name}__{suffix}", f"{new_name}__{suffix}"
                if old in tables and new not in tables:
                    self._rename_table(old, new)

    def _rename_table(self, old: str, new: str) -> None:
        try:
            self.db.rename_table(old, new)
        except (NotImplementedError, ValueError, RuntimeError):
            # LanceDB OSS keeps a local table in a ``NAME.lance`` directory and may not
            # rename it itself; moving the directory is the rename
            if self.path is None:  # object storage: no directory to move
                raise StoreError(
                    f"cannot rename table {old!r}: this LanceDB does not rename tables "
                    "on object storage; re-ingest into a collection with the new name"
                ) from None
            src, dst = self.path / f"{old}.lance", self.path / f"{new}.lance"
            if not src.is_dir():
                raise StoreError(f"cannot rename table {old!r} in {self.path}") from None
            os.rename(src, dst)
            self._db = None  # reconnect: the connection caches table names


class Collection:
    """One collection. ``chunks`` / ``parts`` / ``documents`` are lancedb Tables."""

    def __init__(self, store: CollectionStore, name: str):
        self.store = store
        self.name = name
        db = store.db
        self.meta = db.open_table(f"{name}__meta")
        values = {r["key"]: r["value"] for r in self.meta.to_arrow().to_pylist()}
        self.embedding_model: str = values.get("embedding_model", "")
        self.dim: int = int(values.get("dim", "0"))
        # collections from before ONNX embeddings were built with sentence-transformers fp32
        self.embedding_precision: str = values.get("embedding_precision", "fp32")
        self.chunks = db.open_table(f"{name}__chunks")
        self.parts = db.open_table(f"{name}__parts")
        self.documents = db.open_table(f"{name}__documents")
        self._chunk_columns: list[str] | None = None
        self._lease: str | None = None
        #: the in-memory copy searches use (see :meth:`prepare_search`)
        self._memory: _MemoryChunks | None = None
        self._memory_key: tuple[int, int] | None = None
        self._memory_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Collection({self.name!r}, model={self.embedding_model!r}, dim={self.dim})"

    def check_model(self, embedding_model: str, dim: int) -> None:
        if embedding_model != self.embedding_model or dim != self.dim:
            raise EmbeddingMismatchError(
                f"collection {self.name!r} was embedded with {self.embedding_model!r} "
                f"(dim {self.dim}), not {embedding_model!r} (dim {dim}). Ingest with the "
                f"same embedding.model, or re-embed the whole collection with "
                f"`h2otui ingest ... --collection {self.name} --reembed`."
            )

    def count_chunks(self) -> int:
        return int(self.chunks.count_rows())

    def count_documents(self, status: str | None = "ok") -> int:
        if status is None:
            return int(self.documents.count_rows())
        return int(self.documents.count_rows(f"status = {sql_quote(status)}"))

    def size_bytes(self) -> int:
        if self.store.path is None:
            return self._stored_bytes()
        total = 0
        for suffix in _SUFFIXES:
            root = self.store.path / f"{self.name}__{suffix}.lance"
            if root.exists():
                total += sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
        return total

    def _stored_bytes(self) -> int:
        """On object storage: the bytes of the current versions' data files."""
        total = 0
        for table in (self.chunks, self.parts, self.documents, self.meta):
            with contextlib.suppress(Exception):  # a managed table may not report it
                stats = table.stats()
                total += int(getattr(stats, "total_bytes", None) or stats["total_bytes"])
        return total

    def info(self) -> CollectionInfo:
        return CollectionInfo(
            name=self.name,
            documents=self.count_documents(),
            chunks=self.count_chunks(),
            size_bytes=self.size_bytes(),
            embedding_model=self.embedding_model,
            dim=self.dim,
            embedding_precision=self.embedding_precision,
        )

    def last_ingest(self) -> Any:
        """When a document was last written (a UTC datetime), or None."""
        rows = self.documents.search().select(["ingested_at"]).limit(None).to_arrow()
        times = [t for t in rows.column("ingested_at").to_pylist() if t is not None]
        return max(times) if times else None

    def document_rows(self) -> list[dict[str, Any]]:
        rows = self.documents.to_arrow().to_pylist()
        rows.sort(key=lambda r: r["path"] or "")
        return rows

    def remove_document(self, path: str) -> int:
        """Remove the document(s) of a file (with its ``#frames`` document): chunks, parts
        and the documents row. Returns how many documents were removed."""
        path = stored_path(path)  # a non-UTF-8 name is stored escaped
        with self.store.writer_lock(self.name):
            rows = [
                r
                for r in self.documents.to_arrow().to_pylist()
                if r["path"] in (path, path + "#frames") or r["source"] == path
            ]
            if not rows:
                return 0
            self.remove_doc_ids([r["doc_id"] for r in rows])
        return len(rows)

    def remove_doc_ids(self, doc_ids: list[str]) -> None:
        if not doc_ids:
            return
        cond = in_filter("doc_id", doc_ids)
        # chunks first: a document row without chunks is re-ingested next time
        self.chunks.delete(cond)
        self.parts.delete(cond)
        self.documents.delete(cond)

    def remove_missing(
        self, in_scope: Callable[[str], bool], exists: Callable[[str], bool] = os.path.lexists
    ) -> list[str]:
        """``--sync``: remove the documents of source files that are in scope (under the
        paths being ingested) and no longer exist. Returns the removed sources, sorted."""
        rows = self.documents.search().select(["doc_id", "source"]).limit(None).to_arrow()
        gone: dict[str, list[str]] = {}
        for r in rows.to_pylist():
            src = r["source"]
            # a stored name may be an escaped non-UTF-8 one (store.schema.stored_path);
            # when in doubt about which file it is, keep the document
            real = real_path(src)
            if in_scope(real) and not (exists(real) or exists(src)):
                gone.setdefault(src, []).append(r["doc_id"])
        if gone:
            self.remove_doc_ids([d for ids in gone.values() for d in ids])
        return sorted(gone)

    # --- writing files ----------------------------------------------------------------

    def known_documents(self) -> StoredDocuments:
        """What the collection holds, per source file, for deciding what to (re)ingest."""

        def doc_ids(table: Any) -> set[str]:
            ids = table.search().select(["doc_id"]).limit(None).to_arrow().column("doc_id")
            return set(ids.unique().to_pylist())

        with_chunks = doc_ids(self.chunks)
        with_rows = with_chunks | doc_ids(self.parts)
        files: dict[str, StoredFile] = {}
        docs = self.documents.search().select(
            ["doc_id", "source", "sha256", "status", "chunk_count"]
        )
        for row in docs.limit(None).to_arrow().to_pylist():
            f = files.setdefault(row["source"], StoredFile())
            f.doc_ids.add(row["doc_id"])
            if row["status"] == "ok":
                f.has_ok = True
                # a documents row whose chunks are gone (a run killed while removing it)
                # does not make its file "unchanged": the file is parsed again and heals
                f.sha256 = row["sha256"]
                f.broken |= bool(row["chunk_count"]) and row["doc_id"] not in with_chunks
        for f in files.values():
            if f.broken:
                f.sha256 = None
        return StoredDocuments(files, with_rows)

    def replace_documents(
        self, files: Sequence[DocumentWrite], status_rows: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Write new versions of ``files`` (and documents rows of failed / skipped files)
        in few commits, each file atomically (see the module docstring): chunks, then
        parts, each in one ``merge_insert`` that deletes the replaced rows; then the
        documents rows, in one commit that also drops documents no file has any more
        (say a video's old ``#frames``); then the chunks and parts of those."""
        if not files and not status_rows:
            return
        with self.commit_lease():
            self._replace_documents(files, status_rows)

    def _replace_documents(
        self, files: Sequence[DocumentWrite], status_rows: Sequence[dict[str, Any]]
    ) -> None:
        if self.store.shared:  # under the lease: decide on the latest version
            for table in (self.chunks, self.parts, self.documents):
                table.checkout_latest()
        new_ids: set[str] = set()
        replace: set[str] = set()
        stale: set[str] = set()
        for f in files:
            ids = {r["doc_id"] for r in f.doc_rows}
            new_ids |= ids
            replace |= f.replaces
            stale |= f.replaces - ids
        if files:
            import numpy as np

            chunk_rows = [r for f in files for r in f.chunk_rows]
            columns = {name: [r.get(name) for r in chunk_rows] for name in CHUNK_COLUMNS}
            chunks = chunks_table(columns, np.concatenate([f.vectors for f in files]))
            parts = rows_table([r for f in files for r in f.part_rows], parts_schema())
            # on shared storage another host may have written the same file since this
            # run read the collection: under the commit lease (we read the latest
            # version), upsert by id, never a plain append, so one copy of each row stays
            upsert = self.store.shared
            _replace_rows(self.chunks, "chunk_id", chunks, replace, upsert=upsert)
            _replace_rows(self.parts, "part_id", parts, replace, upsert=upsert)
        doc_rows = [r for f in files for r in f.doc_rows] + list(status_rows)
        builder = (
            self.documents.merge_insert("doc_id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
        )
        if stale:
            builder = builder.when_not_matched_by_source_delete(in_filter("doc_id", stale))
        builder.execute(rows_table(doc_rows, documents_schema()))
        if stale:
            # a stale document (say a video's old "#frames") loses its chunks too
            self.chunks.delete(in_filter("doc_id", stale))
            self.parts.delete(in_filter("doc_id", stale))

    def append_chunks_from_ray(self, dataset: Any, doc_ids: set[str]) -> int:
        """Add the chunks of documents ``doc_ids`` from a Ray dataset of chunk rows (the
        chunks table's schema, vectors included), in parallel and committed once.

        Each Ray block is written as a Lance fragment (data files in the chunks dataset,
        not yet part of any version) by the worker that holds it. Then, under the commit
        lease, the driver checks the latest version for chunks of ``doc_ids``: none (the
        normal case) -- the fragments are committed in one ``Append``; some (another host
        committed some of these documents since this run read the collection) -- only the
        other documents' rows are added, by ``merge_insert`` on chunk id, and the written
        fragments are left unreferenced (Lance's cleanup removes such files). So the same
        file ingested by two hosts at once is stored once. Returns the rows added.

        Only for documents the collection holds no rows of (a version to replace goes
        through :meth:`replace_documents`, atomically)."""
        import lance

        uri = self.chunks.uri
        # the workers may be on other nodes, without this process's AWS_* environment
        options = self.store.location.worker_options() if self.store.shared else None
        schema = chunks_schema(self.dim)
        try:
            written = dataset.map_batches(
                write_chunk_fragments,
                fn_kwargs={"uri": uri, "schema": schema, "options": options},
                batch_size=None,
                batch_format="pyarrow",
            ).take_all()
            fragments = [_unpickle(r["fragment"]) for r in written]
            rows = sum(int(f.num_rows) for f in fragments)
            if not fragments:
                return 0
            with self.commit_lease():
                self.chunks.checkout_latest()
                present = self._doc_ids_with_chunks(doc_ids)
                if not present:
                    version = self.chunks.version
                    lance.LanceDataset.commit(
                        uri, lance.LanceOperation.Append(fragments), read_version=version,
                        storage_options=options,
                    )  # fmt: skip
                else:
                    rows = self._insert_missing(dataset, doc_ids - present, schema)
        except (OSError, RuntimeError, ValueError) as exc:
            raise self.store.storage_error(exc) from None
        self.chunks.checkout_latest()
        return rows

    def _insert_missing(self, dataset: Any, doc_ids: set[str], schema: Any) -> int:
        """Insert the rows of ``doc_ids`` from a Ray dataset of chunk rows by chunk id
        (rows already there are kept); returns the rows read."""
        import pyarrow as pa

        if not doc_ids:
            return 0
        data = dataset.filter(lambda row: row["doc_id"] in doc_ids)
        batches = [b.cast(schema) for b in data.iter_batches(batch_format="pyarrow")]
        table = pa.concat_tables(batches) if batches else None
        if table is None or table.num_rows == 0:
            return 0
        self.chunks.merge_insert("chunk_id").when_not_matched_insert_all().execute(table)
        return int(table.num_rows)

    def _doc_ids_with_chunks(self, doc_ids: set[str]) -> set[str]:
        if not doc_ids:
            return set()
        q = self.chunks.search().where(in_filter("doc_id", doc_ids)).select(["doc_id"])
        return set(q.limit(None).to_arrow().column("doc_id").unique().to_pylist())

    # --- the commit lease (object storage) -------------------------------------------

    @contextlib.contextmanager
    def commit_lease(self) -> Iterator[None]:
        """Hold the collection's commit lease (on object storage; a no-op on the data
        dir, where the writer lock already keeps writers apart): one host at a time
        reads the latest version and commits rows, so the check "is this chunk / document
        there yet?" and the write that depends on it cannot interleave with another
        host's (see the module docstring). Waits for a holder to finish; a lease older
        than :data:`LEASE_SECONDS` (a crashed writer's) is taken over."""
        if not self.store.shared or self._lease is not None:
            yield
            return
        self._lease = self._acquire_lease()
        try:
            yield
        finally:
            token, self._lease = self._lease, None
            self._release_lease(token)

    def _lease_swap(self, condition: str, value: str) -> bool:
        """Set the lease row to ``value`` where ``condition`` holds on the latest version;
        whether it did. A conflicting commit (another host swapped first) is a no."""
        try:
            self.meta.checkout_latest()
            res = (
                self.meta.merge_insert("key")
                .when_matched_update_all(where=condition)
                .execute([{"key": _LEASE_KEY, "value": value}])
            )
        except Exception as exc:
            if _is_conflict(exc):
                return False
            raise self.store.storage_error(exc) from None
        return int(res.num_updated_rows) >= 1

    def _acquire_lease(self) -> str:
        import socket
        import uuid

        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.meta.checkout_latest()
        keys = self.meta.search().select(["key"]).limit(None).to_arrow().column(0)
        if _LEASE_KEY not in keys.to_pylist():  # a collection from before the lease
            self.meta.merge_insert("key").when_not_matched_insert_all().execute(
                [{"key": _LEASE_KEY, "value": ""}]
            )
        deadline = time.monotonic() + LEASE_SECONDS + 60
        delay = 0.02
        while True:
            now = time.time()
            token = f"{_utc(now + LEASE_SECONDS)} {holder}"
            # free ('') or expired: ISO timestamps compare as strings
            if self._lease_swap(f"target.value < {sql_quote(_utc(now))}", token):
                return token
            if time.monotonic() > deadline:
                raise StoreError(
                    f"collection {self.name!r}: another writer has held the commit lease "
                    f"for over {LEASE_SECONDS} s; try again later"
                )
            time.sleep(delay)
            delay = min(1.0, delay * 2)

    def _release_lease(self, token: str) -> None:
        for _ in range(10):
            if self._lease_swap(f"target.value = {sql_quote(token)}", ""):
                return
            self.meta.checkout_latest()
            value = self.meta.search().where(f"key = {sql_quote(_LEASE_KEY)}").limit(None)
            if token not in value.to_arrow().column("value").to_pylist():
                return  # expired and taken over: nothing of ours to release
            time.sleep(0.05)

    def reembed(
        self,
        encode: Callable[[list[str]], np.ndarray],
        model_id: str,
        dim: int,
        batch_size: int = 128,
        precision: str | None = None,
    ) -> int:
        """Re-embed every chunk with ``encode`` (``model_id``, ``dim`` dimensions, which
        may differ from the current ones) into a new version of the chunks table, record
        the model (and ``precision``, if given), and rebuild the indexes. Returns the
        number of chunks."""
        with self.store.writer_lock(self.name):
            n = self._reembed(encode, model_id, dim, batch_size)
            if precision is not None:
                self.set_meta("embedding_precision", precision)
                self.embedding_precision = precision
            return n

    def _reembed(
        self,
        encode: Callable[[list[str]], np.ndarray],
        model_id: str,
        dim: int,
        batch_size: int,
    ) -> int:
        import numpy as np

        columns = [f.name for f in self.chunks.schema if f.name != "vector"]
        data = self.chunks.search().select(columns).limit(None).to_arrow()
        texts = data.column("text").to_pylist()
        step = max(1, batch_size) * 4
        vectors = (
            np.concatenate([encode(texts[i : i + step]) for i in range(0, len(texts), step)])
            if texts
            else np.zeros((0, dim), dtype=np.float32)
        )
        table = chunks_table({name: data.column(name) for name in columns}, vectors)
        self.store.db.create_table(
            f"{self.name}__chunks", data=table, schema=table.schema, mode="overwrite"
        )
        self.chunks = self.store.db.open_table(f"{self.name}__chunks")
        self._chunk_columns = None
        self.set_meta("embedding_model", model_id)
        self.set_meta("dim", str(dim))
        self.embedding_model, self.dim = model_id, dim
        self.documents.update(values={"embedding_model": model_id})
        self.ensure_fts_index()
        return len(texts)

    # --- reading for document QA ------------------------------------------------------

    def _columns(self) -> list[str]:
        if self._chunk_columns is None:
            names = set(self.chunks.schema.names)
            self._chunk_columns = [c for c in CHUNK_COLUMNS if c in names]
        return self._chunk_columns

    def prepare_search(self) -> bool:
        """Load the in-memory copy that searches of a small collection use, now rather
        than on the first search (``ask --collection`` calls it while the model loads).
        Returns whether the collection has one (see :meth:`_memory_chunks`)."""
        return self._memory_chunks() is not None

    def _memory_chunks(self) -> _MemoryChunks | None:
        """The chunk rows and vectors of the current version of the chunks table, held in
        memory -- for a local collection of at most :data:`MEMORY_SEARCH_MAX_ROWS` chunks
        without a vector index, else None.

        Why: at these sizes LanceDB's exact (flat) vector search costs ~10 ms per query,
        nearly all of it per-query planning and reading, while the arithmetic (8k x 384
        multiply-adds) takes under a millisecond; and reading the matched rows' columns
        is most of a full-text search. The copy is re-read when the table's version
        changes (a write through this object; other processes' writes are not seen by
        a local table opened without a consistency interval either). Collections on
        object storage, where other hosts write, always query LanceDB."""
        if self.store.shared:
            return None
        table = self.chunks
        key = (id(table), table.version)
        if key == self._memory_key:
            return self._memory
        with self._memory_lock:
            if key != self._memory_key:
                try:
                    self._memory = _MemoryChunks.load(table, self._columns())
                except Exception:  # an odd table (say, no fixed-size vectors): LanceDB
                    self._memory = None
                self._memory_key = key
            return self._memory

    def vector_search(
        self, vector: np.ndarray, limit: int, docs: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The ``limit`` chunks nearest to ``vector`` (cosine), best first, optionally
        only of ``docs`` (paths or doc ids); each row has the chunk columns but the
        vector, and ``_distance`` (cosine distance)."""
        where = documents_filter(docs)
        memory = None if where else self._memory_chunks()
        if memory is not None:
            return memory.nearest(vector, limit)
        q = (
            self.chunks.search(vector, vector_column_name="vector")
            .distance_type("cosine")
            # with an ANN index: probe most partitions, search each HNSW graph wider and
            # re-rank 5x the candidates on full vectors (recall@1 1.0 instead of 0.33 on
            # the 100k benchmark, ~3 ms more); no-ops for a flat scan
            .nprobes(ANN_NPROBES)
            .ef(ANN_EF)
            .refine_factor(ANN_REFINE_FACTOR)
        )
        if where:
            q = q.where(where, prefilter=True)
        rows: list[dict[str, Any]] = (
            q.select([*self._columns(), "_distance"]).limit(limit).to_arrow().to_pylist()
        )
        return rows

    def text_search(
        self,
        query: str,
        limit: int,
        docs: Sequence[str] | None = None,
        *,
        vectors: bool = True,
    ) -> list[dict[str, Any]]:
        """The ``limit`` best full-text (BM25) matches of ``query``, optionally only of
        ``docs``; each row has the chunk columns, ``vector`` (to score it by cosine; not
        read without ``vectors``) and ``_score``. Raises when the collection has no
        full-text index."""
        q = self.chunks.search(query, query_type="fts")
        where = documents_filter(docs)
        if where:
            q = q.where(where, prefilter=True)
        memory = self._memory_chunks()
        if memory is not None:
            # the index gives ids and scores; the rows come from memory (unless a write
            # in between made ids it does not know: then LanceDB reads them)
            found = q.select(["chunk_id", "_score"]).limit(limit).to_arrow()
            known = memory.rows_of(
                found.column("chunk_id").to_pylist(),
                found.column("_score").to_pylist(),
                vectors=vectors,
            )
            if known is not None:
                return known
        columns = (
            [*self._columns(), "vector", "_score"] if vectors else [*self._columns(), "_score"]
        )
        rows: list[dict[str, Any]] = q.select(columns).limit(limit).to_arrow().to_pylist()
        return rows

    def read_parts(self, docs: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Every part row (page, transcript span, frame) of ``docs`` (all documents when
        empty), ordered by source and part index; ``frame_time`` is always present."""
        where = documents_filter(docs)
        if where is None:
            rows = self.parts.to_arrow().to_pylist()
        else:
            rows = self.parts.search().where(where).limit(None).to_arrow().to_pylist()
        rows.sort(key=lambda r: (r.get("source") or "", r.get("part_index") or 0))
        for r in rows:
            r.setdefault("frame_time", None)
        return rows

    def document_chunks(self, doc_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The chunks of documents ``doc_ids`` (without vectors), in document order."""
        if not doc_ids:
            return []
        q = self.chunks.search().where(in_filter("doc_id", list(doc_ids)))
        rows: list[dict[str, Any]] = q.select(self._columns()).limit(None).to_arrow().to_pylist()
        rows.sort(key=lambda r: (r.get("part_index") or 0, r.get("chunk_index") or 0))
        return rows

    def document_paths(self, status: str | None = "ok") -> list[str]:
        """The path (or source) of every document with ``status`` (``ok``: the ones that
        can be asked; ``None``: all, failed and skipped ones too), sorted."""
        rows = self.documents.search().select(["path", "source", "status"]).limit(None)
        return sorted(
            str(r["path"] or r["source"])
            for r in rows.to_arrow().to_pylist()
            if status is None or r["status"] == status
        )

    def missing_documents(self, docs: Sequence[str]) -> list[str]:
        """The ``--doc`` values that name no document of the collection (by path,
        relative or absolute, source or doc id) -- the names :meth:`vector_search`'s
        ``docs`` filter matches."""
        return self.named_documents(docs)[0]

    def named_documents(self, docs: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """For ``--doc`` values, in one read of the documents table: those that name no
        document (as :meth:`missing_documents`), and those that name one holding nothing
        to answer from (it failed or was skipped at ingest), with its status and reason."""
        wanted = {d: set(document_names([d])) for d in docs}
        known: set[str] = set()
        unanswerable: dict[str, str] = {}
        columns = ["path", "source", "doc_id", "status", "error"]
        for r in self.documents.search().select(columns).limit(None).to_arrow().to_pylist():
            names = {str(r[k]) for k in ("path", "source", "doc_id") if r[k]}
            known |= names
            if r["status"] == "ok":
                continue
            reason = f"{r['status']}: {r['error']}" if r["error"] else str(r["status"])
            for d, forms in wanted.items():
                if forms & names:
                    unanswerable[d] = reason
        missing = [d for d, forms in wanted.items() if not forms & known]
        return missing, unanswerable

    def set_meta(self, key: str, value: str) -> None:
        (
            self.meta.merge_insert("key")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute([{"key": key, "value": value}])
        )

    def ensure_fts_index(self) -> None:
        """Create the native full-text index on chunk text (or fold new rows into it) and
        compact the tables.

        On shared storage another host may index or write at the same moment; Lance then
        refuses one commit (readers never notice: they keep reading their version). The
        step is retried on the latest version, and a conflict that persists is reported
        as a :class:`StoreError` (the data is written; the next ingest indexes it)."""
        if not self.store.shared:
            self._ensure_indexes()
            return
        for attempt in range(4):
            try:
                self._ensure_indexes()
                return
            except Exception as exc:
                if not _is_conflict(exc):
                    raise self.store.storage_error(exc) from None
                if attempt == 3:
                    raise StoreError(
                        f"collection {self.name!r}: indexing kept conflicting with another "
                        "writer; the documents are written and searchable, and the next "
                        "ingest folds them into the index"
                    ) from None
                time.sleep(0.2 * 2**attempt)
                for table in (self.chunks, self.parts, self.documents):
                    with contextlib.suppress(Exception):
                        table.checkout_latest()

    def _ensure_indexes(self) -> None:
        import warnings

        if self.count_chunks() == 0:
            return
        has_fts = any(
            "text" in idx.columns and str(idx.index_type).upper().startswith("FTS")
            for idx in self.chunks.list_indices()
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not has_fts:
                self.chunks.create_fts_index("text", use_tantivy=False, replace=True)
            # compact the small fragments each write commit made, and fold rows added
            # since the index was built into it (readers are unaffected: MVCC)
            # (on shared storage the meta table gets a version per commit lease too)
            extra = (self.meta,) if self.store.shared else ()
            for table in (self.chunks, self.parts, self.documents, *extra):
                table.optimize()
            # large collections get an ANN index (later runs' rows are folded in by optimize)
            ensure_vector_index(self.chunks)


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _unpickle(data: bytes) -> Any:
    import pickle

    return pickle.loads(data)


def write_chunk_fragments(batch: Any, uri: str, schema: Any, options: Any) -> Any:
    """Ray stage: write an Arrow batch of chunk rows as Lance fragment(s) of the dataset
    at ``uri``, uncommitted; returns their pickled metadata (``fragment`` column)."""
    import pyarrow as pa

    if batch.num_rows == 0:
        return pa.table({"fragment": pa.array([], pa.binary())})
    from lance_ray.fragment import LanceFragmentWriter

    out = LanceFragmentWriter(uri, schema=schema, storage_options=options)(batch.cast(schema))
    return out.select(["fragment"])


def _is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is Lance refusing a commit because another writer committed first."""
    text = f"{type(exc).__name__} {exc}".lower()
    return "conflict" in text or "retryable" in text or "concurrent" in text


def _replace_rows(
    table: Any, key: str, data: Any, replace: set[str], *, upsert: bool = False
) -> None:
    """Write ``data`` into ``table`` deleting the rows of the ``replace`` doc ids, in one
    commit (a plain append when nothing is replaced: a first ingest, unless ``upsert``)."""
    if data.num_rows == 0 and not replace:
        return
    if not replace and not upsert:
        table.add(data)
        return
    builder = table.merge_insert(key).when_matched_update_all().when_not_matched_insert_all()
    if replace:
        builder = builder.when_not_matched_by_source_delete(in_filter("doc_id", replace))
    builder.execute(data)


#: below this many chunks a flat scan is exact and fast enough (~10 ms at 20k)
VECTOR_INDEX_MIN_ROWS = 20_000
#: up to this many chunks (the collections without a vector index) searches run on an
#: in-memory copy of the chunks (~2 kB each with a 384-dim vector: 40 MB at most)
MEMORY_SEARCH_MAX_ROWS = VECTOR_INDEX_MIN_ROWS


class _MemoryChunks:
    """One version of a chunks table in memory: its rows without the vector (Arrow) and
    the vectors as a float32 matrix, for exact cosine search by numpy."""

    def __init__(self, rows: Any, vectors: np.ndarray) -> None:
        import numpy as np

        self.rows = rows
        self.vectors = vectors
        norms = np.linalg.norm(vectors, axis=1) if len(vectors) else np.zeros(0, np.float32)
        self.norms = np.where(norms > 0, norms, np.float32(1.0)).astype(np.float32)
        self.position = {cid: i for i, cid in enumerate(rows.column("chunk_id").to_pylist())}

    @classmethod
    def load(cls, table: Any, columns: list[str]) -> _MemoryChunks | None:
        """The copy of ``table``; None when it is too big or has a vector index (the ANN
        search is the fast path then)."""
        import numpy as np

        if table.count_rows() > MEMORY_SEARCH_MAX_ROWS:
            return None
        if any("vector" in list(getattr(i, "columns", [])) for i in table.list_indices()):
            return None
        data = table.to_arrow()
        vector = data.column("vector").combine_chunks()
        dim = vector.type.list_size
        flat = vector.values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        # one chunk per column: taking rows from many chunks would concatenate them each time
        return cls(data.select(columns).combine_chunks(), flat.reshape(len(vector), dim))

    def nearest(self, vector: Any, limit: int) -> list[dict[str, Any]]:
        """What LanceDB's exact cosine search returns: the ``limit`` nearest rows, best
        first, with ``_distance`` (1 - cosine); ties in row order."""
        import numpy as np

        n = len(self.vectors)
        if n == 0 or limit <= 0:
            return []
        q = np.asarray(vector, dtype=np.float32)
        qn = float(np.linalg.norm(q)) or 1.0
        # einsum, not ``@``: a matrix-vector product this small is ~1 ms on one core,
        # while multi-threaded BLAS takes 30+ ms on a busy machine (threads spin-wait)
        dots = np.einsum("ij,j->i", self.vectors, q)
        distance = 1.0 - dots / (self.norms * np.float32(qn))
        picked = np.argpartition(distance, limit - 1)[:limit] if limit < n else np.arange(n)
        picked = picked[np.lexsort((picked, distance[picked]))]
        rows: list[dict[str, Any]] = self.rows.take(picked).to_pylist()
        for row, d in zip(rows, distance[picked].tolist(), strict=True):
            row["_distance"] = d
        return rows

    def rows_of(
        self, chunk_ids: list[str], scores: list[float], *, vectors: bool
    ) -> list[dict[str, Any]] | None:
        """The rows of ``chunk_ids`` (in that order) with their ``_score`` (and vector);
        None if one of them is not in this copy."""
        import numpy as np

        picked = [self.position.get(c, -1) for c in chunk_ids]
        if -1 in picked:
            return None
        rows: list[dict[str, Any]] = self.rows.take(np.asarray(picked, dtype=np.int64)).to_pylist()
        for row, i, score in zip(rows, picked, scores, strict=True):
            row["_score"] = score
            if vectors:
                row["vector"] = self.vectors[i]
        return rows


def ensure_vector_index(
    table: Any, *, min_rows: int = VECTOR_INDEX_MIN_ROWS, replace: bool = False
) -> bool:
    """Build an ANN index (IVF_HNSW_SQ, cosine) on ``vector`` for large tables.

    Below ``min_rows`` a flat scan is fast enough and exact. Returns whether an index
    was built. Meant for after ingestion (it writes to the table); searching never
    builds one itself.
    """
    n = table.count_rows()
    if n < min_rows:
        return False
    if not replace:
        for idx in table.list_indices():
            if "vector" in list(getattr(idx, "columns", [])):
                return False
    partitions = max(1, min(256, n // 4096))
    table.create_index(
        metric="cosine",
        vector_column_name="vector",
        index_type="IVF_HNSW_SQ",
        num_partitions=partitions,
        replace=True,
    )
    return True
