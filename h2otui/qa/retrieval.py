"""Retrieval over a collection's chunks: vector, full-text, or hybrid.

This module is the retrieval *policy*: how many candidates to ask for, fusion, scoring,
the distance cut, merging neighbours. The candidates come from the collection's own
searches (:meth:`~h2otui.store.collections.Collection.vector_search` and
:meth:`~h2otui.store.collections.Collection.text_search`): only ``store/`` builds
LanceDB queries.

* **vector** -- cosine similarity of the query embedding with the chunk vectors
  (LanceDB; an ANN index is used when the table has one, see
  :func:`h2otui.store.collections.ensure_vector_index`).
* **text** -- LanceDB's native full-text (BM25) index on ``text``.
* **hybrid** (default) -- both, fused with reciprocal rank fusion:
  ``score(d) = sum(1 / (rrf_k + rank_i(d)))`` over the two ranked lists. A rare exact
  term (a part number, a name) that the embedding blurs is still found by the
  full-text side.

Every hit gets a cosine ``score`` (full-text-only hits are scored from their stored
vector), so citations show one comparable number whatever found them -- except in
``text`` mode, which embeds nothing (no embedder is loaded) unless ``scores=True`` asks
for them: its hits then have no score.

``cut_distance`` drops weak *vector* matches: a hit whose cosine distance
(``1 - cosine``) is above it is dropped unless the full-text search also matched it
(an exact keyword match is not a weak match). h2oGPT's default of 1.64 is a squared
L2 distance; for unit vectors that is ``2 * (1 - cosine)``, i.e. a cosine distance of
0.82 -- our default.

Neighbouring chunks of the same part (consecutive ``chunk_index``) are merged into one
passage so the model reads coherent text; the merged passage keeps the best score.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from h2otui.qa.citations import Passage

if TYPE_CHECKING:
    import numpy as np

    from h2otui.qa.embed import QueryEmbedder


class QAError(Exception):
    """A document-QA problem with a message a user can act on."""


class CollectionLike(Protocol):
    """What document QA uses of a collection
    (:class:`~h2otui.store.collections.Collection` is the real one). ``docs`` limits a
    call to documents named by path (relative or absolute) or doc id."""

    name: str
    embedding_model: str
    dim: int

    def vector_search(
        self, vector: np.ndarray, limit: int, docs: Sequence[str] | None = None
    ) -> list[dict[str, Any]]: ...

    def text_search(
        self, query: str, limit: int, docs: Sequence[str] | None = None, *, vectors: bool = True
    ) -> list[dict[str, Any]]: ...

    def read_parts(self, docs: Sequence[str] | None = None) -> list[dict[str, Any]]: ...


@dataclass(slots=True)
class RetrievalResult:
    passages: list[Passage]
    #: chunks dropped by ``cut_distance`` (reported in ``dropped``)
    cut: list[Passage] = field(default_factory=list)
    mode: str = "hybrid"
    candidates: int = 0
    embed_s: float = 0.0
    search_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: every candidate by chunk id, and the ranked lists it came from (best first) with
    #: the fused RRF scores: what the retrieval inspector shows
    by_id: dict[str, Passage] = field(default_factory=dict)
    vector_ranked: list[str] = field(default_factory=list)
    text_ranked: list[str] = field(default_factory=list)
    fused: dict[str, float] = field(default_factory=dict)


def rrf_fuse(ranked_lists: Sequence[Sequence[str]], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion: id -> sum of 1/(k + rank) (rank starts at 1)."""
    scores: dict[str, float] = {}
    for ranked in ranked_lists:
        for rank, key in enumerate(ranked, 1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return scores


def _passage(row: dict[str, Any]) -> Passage:
    def opt_int(key: str) -> int | None:
        v = row.get(key)
        return None if v is None else int(v)

    def opt_float(key: str) -> float | None:
        v = row.get(key)
        return None if v is None else float(v)

    return Passage(
        text=row.get("text") or "",
        source=row.get("source") or "",
        doc_id=row.get("doc_id") or "",
        page=opt_int("page"),
        start_time=opt_float("start_time"),
        end_time=opt_float("end_time"),
        frame_time=opt_float("frame_time"),
        kind=row.get("kind") or "text",
        part_index=int(row.get("part_index") or 0),
        chunk_ids=[str(row.get("chunk_id"))],
        chunk_index=int(row.get("chunk_index") or 0),
        char_start=int(row.get("char_start") or 0),
        char_end=int(row.get("char_end") or 0),
    )


class Retriever:
    """Searches one collection. Cheap to build; the embedder is loaded on first use."""

    def __init__(
        self,
        collection: CollectionLike,
        embedder: QueryEmbedder | None = None,
        *,
        rrf_k: int = 60,
        merge_neighbors: bool = True,
        precision: str | None = None,
    ) -> None:
        self.collection = collection
        self._embedder = embedder
        self.rrf_k = rrf_k
        self.merge_neighbors = merge_neighbors
        #: embedding.precision for queries (either works on any collection of the model)
        self.precision = precision

    @property
    def embedder(self) -> QueryEmbedder:
        if self._embedder is None:
            from h2otui.qa.embed import query_embedder

            store = getattr(self.collection, "store", None)
            if store is not None:
                data_dir = store.data_dir
            else:
                from h2otui.config import load_settings

                data_dir = load_settings().data_path
            self._embedder = query_embedder(
                self.collection.embedding_model, data_dir=data_dir, precision=self.precision
            )
        return self._embedder

    def embed(self, query: str) -> np.ndarray:
        vec = self.embedder.encode([query])[0]
        dim = getattr(self.collection, "dim", None)
        if dim and len(vec) != dim:
            raise QAError(
                f"collection '{self.collection.name}' holds {dim}-dim vectors from "
                f"'{self.collection.embedding_model}', but the query embedder gives {len(vec)} dims"
            )
        return vec

    # --- the two searches -------------------------------------------------------------

    def vector_search(
        self, vec: np.ndarray, limit: int, docs: Sequence[str] | None = None
    ) -> list[tuple[Passage, float]]:
        """Vector candidates with their cosine similarity."""
        rows = self.collection.vector_search(vec, limit, docs)
        return [(_passage(row), 1.0 - float(row["_distance"])) for row in rows]

    def text_search(
        self, query: str, limit: int, docs: Sequence[str] | None = None, vectors: bool = True
    ) -> list[tuple[Passage, list[float] | None]]:
        """Full-text candidates with their stored vector (to score them by cosine;
        ``None`` without ``vectors``)."""
        rows = self.collection.text_search(query, limit, docs, vectors=vectors)
        return [(_passage(row), row.get("vector")) for row in rows]

    # --- the public entry point -------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        mode: str = "hybrid",
        top_k: int = 3,
        cut_distance: float | None = 0.82,
        docs: Sequence[str] | None = None,
        fill_limit: int = 200,
        scores: bool | None = None,
    ) -> RetrievalResult:
        """Ranked passages for ``query``; ``top_k=-1`` returns up to ``fill_limit``
        (for the context filler to cut down). ``scores``: give full-text hits a cosine
        score (needs the query embedding); by default yes, except in ``text`` mode."""
        import numpy as np

        if mode not in ("hybrid", "vector", "text"):
            raise QAError(f"unknown search mode '{mode}' (use hybrid, vector or text)")
        if top_k == 0 or top_k < -1:
            raise QAError("top_k_docs must be a positive number, or -1 to fill the context")
        want = fill_limit if top_k == -1 else top_k
        # ask each side for more than we keep: fusion and the distance cut thin the list
        per_side = max(want * 3, 20) if mode == "hybrid" else max(want * 2, 10)
        docs = list(docs) if docs else None
        result = RetrievalResult(passages=[], mode=mode)

        if scores is None:
            scores = mode != "text"
        embeds = mode != "text" or scores
        # the full-text search needs no embedding: it runs while the query is embedded
        # (in this thread when nothing is embedded: no hand-off to wait for)
        text_future: Future[list[tuple[Passage, list[float] | None]]] | None = None
        if mode in ("hybrid", "text") and embeds:
            text_future = _pool().submit(self.text_search, query, per_side, docs, scores)
        elif mode == "text":
            text_future = Future()
            try:
                text_future.set_result(self.text_search(query, per_side, docs, scores))
            except Exception as exc:
                text_future.set_exception(exc)
        vec = None
        if embeds:
            t0 = time.perf_counter()
            vec = self.embed(query)  # full-text hits are scored by cosine too
            result.embed_s = time.perf_counter() - t0

        t1 = time.perf_counter()
        by_id: dict[str, Passage] = {}
        vector_ranked: list[str] = []
        text_ranked: list[str] = []
        if vec is not None and mode in ("hybrid", "vector"):
            for p, sim in self.vector_search(vec, per_side, docs):
                p.score = sim
                p.found_by = ("vector",)
                by_id[p.chunk_ids[0]] = p
                vector_ranked.append(p.chunk_ids[0])
        if text_future is not None:
            try:
                text_hits = text_future.result()
            except Exception as exc:
                if mode == "text":
                    raise QAError(
                        f"collection '{self.collection.name}' has no usable full-text index ({exc}); "
                        "re-ingest it or use --search vector"
                    ) from None
                result.notes.append(f"full-text search unavailable: {exc}")
                text_hits = []
            for p, stored in text_hits:
                key = p.chunk_ids[0]
                text_ranked.append(key)
                if key in by_id:
                    by_id[key].found_by = ("vector", "text")
                    continue
                if stored is not None and vec is not None:
                    p.score = float(np.dot(np.asarray(stored, dtype=np.float32), vec))
                p.found_by = ("text",)
                by_id[key] = p

        fused = rrf_fuse([r for r in (vector_ranked, text_ranked) if r], self.rrf_k)
        ranked = sorted(fused, key=lambda key: (-fused[key], key))
        result.candidates = len(ranked)
        result.by_id, result.fused = by_id, fused
        result.vector_ranked, result.text_ranked = vector_ranked, text_ranked
        kept: list[Passage] = []
        for key in ranked:
            if len(kept) >= want:
                break
            p = by_id[key]
            p.rank_score = fused[key]
            if (
                cut_distance is not None
                and "text" not in p.found_by
                and p.distance is not None
                and p.distance > cut_distance
            ):
                # report only what would otherwise have been used
                if len(result.cut) + len(kept) < want:
                    result.cut.append(p)
                continue
            kept.append(p)
        if self.merge_neighbors:
            kept = merge_neighbors(kept)
        result.passages = kept
        result.search_s = time.perf_counter() - t1
        return result


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qa-fts")
        return _POOL


def merge_neighbors(passages: list[Passage]) -> list[Passage]:
    """Merge passages that are consecutive chunks of the same part.

    The merged passage takes the place of its best-ranked member; its text is the
    members' texts in document order, with overlapping characters written once.
    """
    groups: dict[tuple[str, str, int], list[int]] = {}
    for i, p in enumerate(passages):
        groups.setdefault((p.doc_id or p.source, p.source, p.part_index), []).append(i)
    replacement: dict[int, Passage] = {}
    absorbed: set[int] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        ordered = sorted(members, key=lambda i: passages[i].chunk_index)
        runs: list[list[int]] = [[ordered[0]]]
        for i in ordered[1:]:
            if passages[i].chunk_index == passages[runs[-1][-1]].chunk_index + 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        for run in runs:
            if len(run) < 2:
                continue
            best = min(run)  # earliest in ranking = most relevant
            replacement[best] = _merge_run([passages[i] for i in run])
            absorbed.update(i for i in run if i != best)
    out = []
    for i, p in enumerate(passages):
        if i in absorbed:
            continue
        out.append(replacement.get(i, p))
    return out


def _merge_run(run: list[Passage]) -> Passage:
    first = run[0]
    text = first.text
    end = first.char_end
    for p in run[1:]:
        overlap = end - p.char_start
        if p.char_end > p.char_start and 0 < overlap < len(p.text):
            text += p.text[overlap:]
        elif overlap <= 0:
            text += ("" if text.endswith((" ", "\n")) else " ") + p.text
        else:
            text += " " + p.text
        end = max(end, p.char_end)
    scores = [p.score for p in run if p.score is not None]
    starts = [p.start_time for p in run if p.start_time is not None]
    ends = [p.end_time for p in run if p.end_time is not None]
    found: list[str] = []
    for p in run:
        found += [f for f in p.found_by if f not in found]
    return Passage(
        text=text,
        source=first.source,
        doc_id=first.doc_id,
        page=first.page,
        start_time=min(starts) if starts else None,
        end_time=max(ends) if ends else None,
        frame_time=first.frame_time,
        kind=first.kind,
        part_index=first.part_index,
        chunk_ids=[c for p in run for c in p.chunk_ids],
        chunk_index=first.chunk_index,
        char_start=first.char_start,
        char_end=end,
        score=max(scores) if scores else None,
        found_by=tuple(found),
        rank_score=max(p.rank_score for p in run),
    )
