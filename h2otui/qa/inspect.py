"""The retrieval inspector: why a question gets the chunks it gets.

:func:`inspect_retrieval` runs the very search a question runs (:meth:`Retriever.search`
with the same settings as :func:`h2otui.qa.pipeline.run_qa`) and lays out every
candidate: its vector rank and cosine score, its full-text (BM25) rank, its fused (RRF)
rank and score, and its fate -- used (and as which source), dropped by
``cut_distance``, or past ``top_k_docs``. The sources it reports are the ones
``ask --json`` lists for the same question, before the context budget, which needs the
model's tokenizer, trims the last of them when the prompt would not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from h2otui.qa.retrieval import Retriever

if TYPE_CHECKING:
    from h2otui.config import QASettings
    from h2otui.qa.citations import Passage
    from h2otui.qa.retrieval import CollectionLike

USED, CUT, BEYOND_TOP_K = "used", "cut_distance", "past top_k_docs"


@dataclass(slots=True)
class InspectedChunk:
    passage: Passage
    fused_rank: int
    fused_score: float
    vector_rank: int | None
    text_rank: int | None
    verdict: str  # used | cut_distance | past top_k_docs
    source_n: int | None = None  # the source number a question would cite it as

    @property
    def cosine(self) -> float | None:
        return self.passage.score


@dataclass(slots=True)
class Inspection:
    query: str
    chunks: list[InspectedChunk]
    sources: list[Passage]  # what the question gets (neighbours merged), in order
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def inspect_retrieval(
    collection: CollectionLike,
    query: str,
    qa: QASettings,
    *,
    top_k: int | None = None,
    mode: str | None = None,
    retriever: Retriever | None = None,
) -> Inspection:
    """Search ``collection`` for ``query`` as a question would, and explain the result."""
    retriever = retriever or Retriever(
        collection, rrf_k=qa.rrf_k, merge_neighbors=qa.merge_neighbors
    )
    top_k = qa.top_k_docs if top_k is None else top_k
    mode = mode or qa.search
    # the inspector shows every candidate's cosine score, text mode's too
    found = retriever.search(
        query, mode=mode, top_k=top_k, cut_distance=qa.cut_distance, scores=True
    )
    vector_rank = {key: n for n, key in enumerate(found.vector_ranked, 1)}
    text_rank = {key: n for n, key in enumerate(found.text_ranked, 1)}
    source_of: dict[str, int] = {}
    for n, p in enumerate(found.passages, 1):
        for key in p.chunk_ids:
            source_of[key] = n
    cut = {p.chunk_ids[0] for p in found.cut}
    ranked = sorted(found.fused, key=lambda key: (-found.fused[key], key))
    chunks = []
    for n, key in enumerate(ranked, 1):
        verdict = USED if key in source_of else CUT if key in cut else BEYOND_TOP_K
        chunks.append(
            InspectedChunk(
                passage=found.by_id[key],
                fused_rank=n,
                fused_score=found.fused[key],
                vector_rank=vector_rank.get(key),
                text_rank=text_rank.get(key),
                verdict=verdict,
                source_n=source_of.get(key),
            )
        )
    return Inspection(
        query=query,
        chunks=chunks,
        sources=found.passages,
        settings={
            "collection": collection.name,
            "embedding_model": collection.embedding_model,
            "search": mode,
            "top_k_docs": top_k,
            "cut_distance": qa.cut_distance,
            "rrf_k": qa.rrf_k,
            "merge_neighbors": qa.merge_neighbors,
            "candidates": found.candidates,
        },
        notes=list(found.notes),
    )
