"""Document QA for a conversation (the chat screen's collection mode), UI-free.

:class:`CollectionChat` keeps opened collections and retrievers across questions and
turns the :func:`~h2otui.qa.pipeline.run_qa` stream into what a chat UI consumes: the
engine events it already knows (``TextDelta``, ``Usage``, ``Finished``) plus the QA
events (``Retrieved``, ``Progress``, ``QADone``) for its sources panel.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from h2otui.engines.base import Finished, FinishReason, TextDelta, Usage
from h2otui.qa.pipeline import Progress, QADone, QARequest, Retrieved, run_qa
from h2otui.qa.retrieval import Retriever

if TYPE_CHECKING:
    from h2otui.config import Settings
    from h2otui.engines.base import Engine, SamplingParams

ChatEvent = TextDelta | Usage | Finished | Retrieved | Progress | QADone


def list_collections(settings: Settings) -> list[tuple[str, int]]:
    """(name, chunk count) of every collection; slow the first time (imports LanceDB)."""
    from h2otui.store.collections import CollectionStore

    store = CollectionStore(settings.data_path)
    out = []
    for name in store.names():
        try:
            out.append((name, store.open(name).count_chunks()))
        except Exception:
            out.append((name, -1))
    return out


class CollectionChat:
    """Answers chat questions from collections; one per chat screen."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._collections: dict[str, Any] = {}
        self._retrievers: dict[str, Retriever] = {}

    def _open(self, name: str) -> tuple[Any, Retriever]:
        from h2otui.qa.collection import open_collection

        with self._lock:
            if name not in self._collections:
                col = open_collection(self.settings, name)
                qa = self.settings.qa
                self._collections[name] = col
                self._retrievers[name] = Retriever(
                    col, rrf_k=qa.rrf_k, merge_neighbors=qa.merge_neighbors
                )
            return self._collections[name], self._retrievers[name]

    def forget(self, name: str | None = None) -> None:
        """Drop cached collections (after re-ingestion, reopen to see new documents)."""
        with self._lock:
            for key in [name] if name else list(self._collections):
                self._collections.pop(key, None)
                self._retrievers.pop(key, None)

    async def stream(
        self,
        engine: Engine,
        collection: str,
        question: str,
        *,
        action: str = "query",
        history: Sequence[tuple[str, str]] = (),
        system: str | None = None,
        params: SamplingParams,
        docs: Sequence[str] = (),
    ) -> AsyncIterator[ChatEvent]:
        """QA events, then ``Usage`` and ``Finished`` like an engine stream.

        Raises :class:`~h2otui.qa.retrieval.QAError` (missing / empty collection, nothing to summarize) before
        any text, as engines raise ``EngineError``.
        """
        col, retriever = await asyncio.to_thread(self._open, collection)
        request = QARequest(
            question=question, action=action, docs=list(docs), history=list(history), system=system
        )
        async with aclosing(
            run_qa(engine, col, request, self.settings.qa, params, retriever=retriever)
        ) as events:
            async for event in events:
                yield event
                if isinstance(event, QADone):
                    r = event.result
                    t = r.timings
                    yield Usage(
                        r.usage.get("prompt_tokens", 0),
                        r.usage.get("completion_tokens", 0),
                        t.get("time_to_first_token_s"),
                        t.get("total_s") or 0.0,
                    )
                    reason = (
                        FinishReason(r.finish_reason)
                        if r.finish_reason in {f.value for f in FinishReason}
                        else FinishReason.STOP
                    )
                    yield Finished(reason, r.error)
