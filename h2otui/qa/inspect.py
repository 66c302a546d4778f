"""The retrieval inspector: why a question gets the chunks it gets.

:func:`inspect_retrieval` runs the very search a question runs (:meth:`Retriever.search`
with the same settings as :func:`h2otui.qa.pipeline.run_qa`) and lays out every
candidate: its vector rank and cosine score, its full-text (BM25) rank, its fused (RRF)
rank and score, and its fate -- used (and as which source), dropped by
``cut_distance``, past ``top_k_docs``, or dropped by the context budget (the model's
context, ``max_new_tokens`` and ``qa.max_input_tokens``: the least relevant go first).

Given the model's engine, the budget is applied by the very function an answer uses
(:func:`h2otui.qa.pipeline.fill_query_context`), so the sources it reports are the ones
``ask --json`` lists for the same question; without one (no model could be loaded) the
budget is not checked, and a note says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from h2otui.qa.retrieval import Retriever

if TYPE_CHECKING:
    from collections.abc import Sequence

    from h2otui.config import QASettings
    from h2otui.engines.base import Engine
    from h2otui.qa.citations import Passage
    from h2otui.qa.retrieval import CollectionLike

USED, CUT, BEYOND_TOP_K = "used", "cut_distance", "past top_k_docs"
#: dropped by the context budget: the model's context, or qa.max_input_tokens
OVER_CONTEXT, OVER_MAX_INPUT = "context budget", "max_input_tokens"
#: used, but only its beginning fits
TRUNCATED = "used (cut to fit)"


@dataclass(slots=True)
class InspectedChunk:
    passage: Passage
    fused_rank: int
    fused_score: float
    vector_rank: int | None
    text_rank: int | None
    verdict: str  # used | used (cut to fit) | cut_distance | past top_k_docs | budget ones
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
    engine: Engine | None = None,
    system: str | None = None,
    history: Sequence[tuple[str, str]] = (),
    max_new_tokens: int = 256,
    budget_note: str = "",
) -> Inspection:
    """Search ``collection`` for ``query`` as a question would, and explain the result.
    With ``engine`` (loaded), the context budget of that model is applied as an answer
    with ``system``, ``history`` and ``max_new_tokens`` would apply it; without,
    ``budget_note`` says why not."""
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
    sources = found.passages
    budget: dict[str, str] = {}  # chunk id -> what the context budget did to it
    notes = list(found.notes)
    budget_settings: dict[str, Any] = {}
    if engine is not None and sources:
        from h2otui.qa.context import FilledPrompt
        from h2otui.qa.pipeline import fill_query_context

        filled: FilledPrompt = fill_query_context(
            engine, query, sources, qa, system=system, history=history,
            max_new_tokens=max_new_tokens,
        )  # fmt: skip
        sources = filled.passages
        for d in filled.dropped:
            if d.kind == "chunk" and d.passage is not None:
                verdict = {"context": OVER_CONTEXT, "max_input_tokens": OVER_MAX_INPUT}.get(
                    d.reason, TRUNCATED
                )
                for key in d.passage.chunk_ids:
                    budget[key] = verdict
        budget_settings = {
            "model": getattr(engine, "model_name", ""),
            "context_length": filled.context_length,
            "max_new_tokens": filled.max_new_tokens,
            "max_input_tokens": qa.max_input_tokens,
            "prompt_tokens": filled.prompt_tokens,
        }
    elif sources:
        notes.append("context budget not checked" + (f": {budget_note}" if budget_note else ""))
    source_of: dict[str, int] = {}
    for n, p in enumerate(sources, 1):
        for key in p.chunk_ids:
            source_of[key] = n
    cut = {p.chunk_ids[0] for p in found.cut}
    ranked = sorted(found.fused, key=lambda key: (-found.fused[key], key))
    chunks = []
    for n, key in enumerate(ranked, 1):
        if key in source_of:
            verdict = TRUNCATED if budget.get(key) == TRUNCATED else USED
        elif key in budget:
            verdict = budget[key]
        else:
            verdict = CUT if key in cut else BEYOND_TOP_K
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
        sources=sources,
        settings={
            "collection": collection.name,
            "embedding_model": collection.embedding_model,
            "search": mode,
            "top_k_docs": top_k,
            "cut_distance": qa.cut_distance,
            "rrf_k": qa.rrf_k,
            "merge_neighbors": qa.merge_neighbors,
            "candidates": found.candidates,
            **budget_settings,
        },
        notes=notes,
    )
