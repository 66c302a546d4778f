"""The Arrow schemas of a collection's tables, the Arrow tables written into them, and
the SQL filters LanceDB queries take. Only ``store/`` uses these: the rest of h2otui
reaches LanceDB through :class:`~h2otui.store.collections.Collection`'s methods.

pyarrow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SCHEMA_VERSION = "1"

#: the chunk columns a search returns (everything but the vector)
CHUNK_COLUMNS = [
    "chunk_id",
    "doc_id",
    "source",
    "text",
    "page",
    "start_time",
    "end_time",
    "frame_time",
    "part_index",
    "chunk_index",
    "char_start",
    "char_end",
    "kind",
]


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


def chunks_table(columns: dict[str, Any], vectors: np.ndarray) -> Any:
    """An Arrow table of chunk rows: ``columns`` maps every non-vector column of
    :func:`chunks_schema` to a list (or Arrow array) of values, ``vectors`` is
    ``(rows, dim)``. The vectors go in as one flat float32 buffer, not row by row."""
    import numpy as np
    import pyarrow as pa

    vectors = np.asarray(vectors, dtype=np.float32)
    dim = int(vectors.shape[1])
    schema = chunks_schema(dim)
    arrays = dict(columns)
    arrays["vector"] = pa.FixedSizeListArray.from_arrays(
        pa.array(vectors.reshape(-1), pa.float32()), dim
    )
    return pa.Table.from_pydict({f.name: arrays[f.name] for f in schema}, schema=schema)


def rows_table(rows: list[dict[str, Any]], schema: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=schema)


# --- file names -----------------------------------------------------------------------

_ESCAPED_BYTE = re.compile(r"\\x([89a-f][0-9a-f])")


def stored_path(path: str) -> str:
    """The form of a file name kept in the tables: Arrow strings must be valid UTF-8,
    but a POSIX file name is bytes, and one that is not UTF-8 reaches us (``os.fsdecode``)
    with lone surrogates for its bad bytes. Those bytes are written ``\\xNN`` (Python's
    ``backslashreplace``, what ``ls -b`` and Python show), which also reads well in a
    citation. Valid names are stored as they are."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        raw = path.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace")


def real_path(stored: str) -> str:
    """The file name :func:`stored_path` stored (surrogate-escaped, as ``os.fsdecode``
    gives it). A valid name that contains a literal ``\\xNN`` text is ambiguous;
    callers that touch the file system (``--sync``) check both forms."""
    if "\\x" not in stored:
        return stored
    return _ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), stored)


# --- filters --------------------------------------------------------------------------


def sql_quote(value: str) -> str:
    """A SQL string literal (LanceDB's DataFusion dialect)."""
    return "'" + value.replace("'", "''") + "'"


def in_filter(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(sql_quote(v) for v in values)})"


def document_names(docs: Sequence[str]) -> list[str]:
    """The names a ``--doc`` value may match: as given, and resolved to an absolute path
    when it is a relative one (documents are stored by absolute path)."""
    values: list[str] = []
    for d in docs:
        values.append(stored_path(d))
        p = Path(d).expanduser()
        resolved = str(p.resolve()) if not p.is_absolute() else str(p)
        if resolved != d:
            values.append(stored_path(resolved))
    return list(dict.fromkeys(values))


def documents_filter(docs: Sequence[str] | None) -> str | None:
    """A ``where`` clause limiting a chunks / parts query to documents (paths or doc
    ids); None for no limit."""
    if not docs:
        return None
    listed = ", ".join(sql_quote(v) for v in document_names(docs))
    return f"(source IN ({listed}) OR doc_id IN ({listed}))"
