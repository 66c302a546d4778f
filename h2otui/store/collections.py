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

Replacing a document's chunks is one LanceDB commit (``merge_insert`` with a delete of
the old rows of the same document), so a reader sees the old version or the new one,
never both and never neither. Nothing here imports Textual; lancedb is imported lazily.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SUFFIXES = ("chunks", "parts", "documents", "meta")


class StoreError(Exception):
    """A collection problem a user can act on."""


class CollectionNotFoundError(StoreError):
    pass


class EmbeddingMismatchError(StoreError):
    pass


@dataclass(slots=True)
class CollectionInfo:
    name: str
    documents: int
    chunks: int
    size_bytes: int
    embedding_model: str
    dim: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "documents": self.documents,
            "chunks": self.chunks,
            "size_bytes": self.size_bytes,
            "embedding_model": self.embedding_model,
            "dim": self.dim,
        }


def validate_name(name: str) -> str:
    if not _NAME_RE.match(name) or "__" in name:
        raise StoreError(
            f"invalid collection name {name!r}: use letters, digits, '_', '-' and '.', "
            "starting with a letter or digit, without '__'"
        )
    return name


# --- schemas --------------------------------------------------------------------------


def chunks_schema(dim: int) -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("chunk_id", pa.string(), nullable=False),
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("source", pa.string()),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
            pa.field("page", pa.int32()),
            pa.field("start_time", pa.float64()),
            pa.field("end_time", pa.float64()),
            pa.field("frame_time", pa.float64()),
            pa.field("part_index", pa.int32()),
            pa.field("chunk_index", pa.int32()),
            pa.field("char_start", pa.int32()),
            pa.field("char_end", pa.int32()),
            pa.field("kind", pa.string()),
        ]
    )


def parts_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("part_id", pa.string(), nullable=False),
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("source", pa.string()),
            pa.field("part_index", pa.int32()),
            pa.field("page", pa.int32()),
            pa.field("start_time", pa.float64()),
            pa.field("end_time", pa.float64()),
            pa.field("frame_time", pa.float64()),
            pa.field("kind", pa.string()),
            pa.field("text", pa.string()),
        ]
    )


def documents_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("path", pa.string()),
            pa.field("source", pa.string()),
            pa.field("sha256", pa.string()),
            pa.field("size", pa.int64()),
            pa.field("mtime", pa.float64()),
            pa.field("parser", pa.string()),
            pa.field("status", pa.string()),
            pa.field("error", pa.string()),
            pa.field("warnings", pa.string()),
            pa.field("chunk_count", pa.int32()),
            pa.field("part_count", pa.int32()),
            pa.field("pages", pa.int32()),
            pa.field("media_seconds", pa.float64()),
            pa.field("ingested_at", pa.timestamp("us", tz="UTC")),
            pa.field("embedding_model", pa.string()),
        ]
    )


def meta_schema() -> Any:
    import pyarrow as pa

    return pa.schema([pa.field("key", pa.string()), pa.field("value", pa.string())])


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def in_filter(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(_quote(v) for v in values)})"


# --- the store ------------------------------------------------------------------------


class CollectionStore:
    """All collections of one data dir."""

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / "lancedb"
        self._db: Any = None

    @property
    def db(self) -> Any:
        if self._db is None:
            import lancedb

            self.path.mkdir(parents=True, exist_ok=True)
            self._db = lancedb.connect(str(self.path))
        return self._db

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
        if not self.path.exists():
            return []
        return sorted(n[: -len("__meta")] for n in self._table_names() if n.endswith("__meta"))

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

    def create(self, name: str, embedding_model: str, dim: int) -> Collection:
        """Open ``name``, creating it for this embedding model if needed. An existing
        collection with another model raises :class:`EmbeddingMismatchError`."""
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
            {"key": "schema_version", "value": SCHEMA_VERSION},
            {"key": "created_at", "value": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        ]
        db.create_table(f"{name}__meta", data=meta, schema=meta_schema(), exist_ok=True)
        return Collection(self, name)

    def delete(self, name: str) -> None:
        if not self.exists(name):
            self.open(name)  # raises with the list of collections
        # meta first: a half-deleted collection is then invisible, and re-creating it works
        for suffix in ("meta", "chunks", "parts", "documents"):
            table = f"{name}__{suffix}"
            with contextlib.suppress(FileNotFoundError, ValueError):
                self.db.drop_table(table)
            leftover = self.path / f"{table}.lance"
            if leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)

    def list(self) -> list[CollectionInfo]:
        return [self.open(n).info() for n in self.names()]


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
        self.chunks = db.open_table(f"{name}__chunks")
        self.parts = db.open_table(f"{name}__parts")
        self.documents = db.open_table(f"{name}__documents")

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
        return int(self.documents.count_rows(f"status = {_quote(status)}"))

    def size_bytes(self) -> int:
        total = 0
        for suffix in _SUFFIXES:
            root = self.store.path / f"{self.name}__{suffix}.lance"
            if root.exists():
                total += sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
        return total

    def info(self) -> CollectionInfo:
        return CollectionInfo(
            name=self.name,
            documents=self.count_documents(),
            chunks=self.count_chunks(),
            size_bytes=self.size_bytes(),
            embedding_model=self.embedding_model,
            dim=self.dim,
        )

    def document_rows(self) -> list[dict[str, Any]]:
        rows = self.documents.to_arrow().to_pylist()
        rows.sort(key=lambda r: r["path"] or "")
        return rows

    def remove_document(self, path: str) -> int:
        """Remove the document(s) of a file (with its ``#frames`` document): chunks, parts
        and the documents row. Returns how many documents were removed."""
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

    def set_meta(self, key: str, value: str) -> None:
        (
            self.meta.merge_insert("key")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute([{"key": key, "value": value}])
        )

    def ensure_fts_index(self) -> None:
        """Create the native full-text index on chunk text (or fold new rows into it) and
        compact the tables."""
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
            for table in (self.chunks, self.parts, self.documents):
                table.optimize()
            # large collections get an ANN index (later runs' rows are folded in by optimize)
            ensure_vector_index(self.chunks)


#: below this many chunks a flat scan is exact and fast enough (~10 ms at 20k)
VECTOR_INDEX_MIN_ROWS = 20_000


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
