"""Opening a collection to ask it questions, with the errors a user can act on.

Every way of asking (``ask --collection``, ``batch``, the chat screen, the compare screen)
opens collections here, so a missing or empty collection, or a ``--doc`` that is not in
it, reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from h2otui.qa.retrieval import QAError

if TYPE_CHECKING:
    from h2otui.config import Settings


def open_collection(settings: Settings, name: str, docs: Sequence[str] = ()) -> Any:
    """Open ``name`` and check it can be asked: it has chunks, and ``docs`` are in it."""
    from h2otui.store.collections import CollectionStore, StoreError

    try:
        collection = CollectionStore(settings.data_path).open(name)
    except StoreError as exc:
        raise QAError(str(exc)) from None
    if collection.count_chunks() == 0:
        raise QAError(
            f"collection '{name}' is empty: add documents with `h2otui ingest PATH --collection {name}`"
        )
    if docs:
        check_docs(collection, docs)
    return collection


def check_docs(collection: Any, docs: Sequence[str]) -> None:
    """Each ``--doc`` must name a document of the collection (by path, relative or absolute)."""
    from pathlib import Path

    table = collection.documents
    cols = set(table.schema.names)
    rows = table.to_arrow().to_pylist()
    known: set[str] = set()
    for r in rows:
        for key in ("path", "source", "doc_id"):
            if key in cols and r.get(key):
                known.add(str(r[key]))
    missing = []
    for d in docs:
        p = Path(d).expanduser()
        candidates = {d, str(p.resolve()) if not p.is_absolute() else str(p)}
        if not candidates & known:
            missing.append(d)
    if missing:
        listed = ", ".join(sorted(str(r.get("path") or r.get("source")) for r in rows)[:10])
        raise QAError(
            f"--doc {', '.join(missing)}: not in collection '{collection.name}' "
            f"(its documents: {listed or 'none'})"
        )
