"""Opening a collection to ask it questions, with the errors a user can act on.

Every way of asking (``ask --collection``, ``batch``, the chat screen, the compare screen)
opens collections here, so a missing or empty collection, or a ``--doc`` that is not in
it, reads the same everywhere. Views that ask many questions keep their collections open
in a :class:`CollectionCache`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from h2otui.qa.retrieval import QAError, Retriever

if TYPE_CHECKING:
    from h2otui.config import Settings


def open_collection(settings: Settings, name: str, docs: Sequence[str] = ()) -> Any:
    """Open ``name`` and check it can be asked: it has chunks, and ``docs`` are in it."""
    from h2otui.store.collections import CollectionStore, StoreError

    try:
        collection = CollectionStore.for_settings(settings).open(name)
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
    missing, unanswerable = collection.named_documents(docs)
    if missing:
        paths = collection.document_paths()  # the ones that can be asked, not failed ones
        listed = ", ".join(paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
        raise QAError(
            f"--doc {', '.join(missing)}: not in collection '{collection.name}' "
            f"(documents you can ask: {listed or 'none'})"
        )
    if unanswerable:
        why = "; ".join(f"{doc} ({reason})" for doc, reason in unanswerable.items())
        raise QAError(
            f"--doc {why}: nothing to answer from in collection '{collection.name}'; "
            "fix the file and run `h2otui ingest` again"
        )


def list_collections(settings: Settings) -> list[tuple[str, int]]:
    """(name, chunk count) of every collection, -1 for one that cannot be read; slow the
    first time (imports LanceDB)."""
    from h2otui.store.collections import CollectionStore

    store = CollectionStore.for_settings(settings)
    out = []
    for name in store.names():
        try:
            out.append((name, store.open(name).count_chunks()))
        except Exception:  # listed as unreadable; the others stay usable
            out.append((name, -1))
    return out


class CollectionCache:
    """Opened collections and their retrievers, kept across questions.

    Opening a collection and building its retriever (full-text index, embedder) costs
    more than a question, so a view that asks many (a chat, the compare screen) keeps
    one cache and passes it to every answer. Entries are keyed by the data directory and
    the retrieval settings too, so answers with new settings never use a stale retriever.
    Thread-safe: answers open collections in worker threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, int, bool], tuple[Any, Retriever]] = {}

    def open(self, settings: Settings, name: str) -> tuple[Any, Retriever]:
        """The collection ``name`` and its retriever (raises :class:`QAError`)."""
        qa = settings.qa
        key = (
            f"{settings.data_path}|{settings.storage.uri}",
            name,
            qa.rrf_k,
            bool(qa.merge_neighbors),
        )
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                collection = open_collection(settings, name)
                retriever = Retriever(
                    collection,
                    rrf_k=qa.rrf_k,
                    merge_neighbors=qa.merge_neighbors,
                    precision=settings.embedding.precision,
                )
                entry = self._entries[key] = (collection, retriever)
            return entry

    def forget(self, name: str | None = None) -> None:
        """Drop cached collections (after re-ingestion, reopen to see new documents)."""
        with self._lock:
            for key in list(self._entries):
                if name is None or key[1] == name:
                    del self._entries[key]
