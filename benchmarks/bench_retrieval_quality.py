"""Retrieval quality on a real text corpus: the Python language reference.

The corpus is ``pydoc_data.topics`` -- the language reference topics every CPython ships
for ``help()`` -- written as one ``.txt`` document per topic (77 documents, ~460k
characters, hard-wrapped prose with grammar and code blocks), without the two aggregate
topics ``compound`` and ``specialnames``, which repeat other topics word for word. It is
ingested with the real pipeline (``h2otui ingest``'s chunker and the ONNX embedder) into
one temporary collection per precision (fp32, int8).

The questions (``benchmarks/data/pyref_questions.json``, written by hand) each name the
document(s) that answer them and a *needle*: a phrase the right chunk must contain.
Before measuring, every needle is checked against the ingested chunks: it must occur in
at least one chunk, and only in chunks of the expected documents (whitespace collapsed).
A question whose needle fails the check stops the benchmark -- a typo must not pass as a
retrieval miss.

Then, for each precision and each mode (vector / text / hybrid), through the same
:class:`~h2otui.qa.retrieval.Retriever` that ``ask --collection`` uses, with neighbour
merging off (so every rank is one chunk) and no distance cut:

  doc recall@k    an expected document among the first k chunks
  chunk recall@k  a chunk containing the needle among the first k chunks
  MRR             mean of 1 / rank of the first needle chunk (0 beyond rank 10)

``--answers`` also answers every question with the embedded model (Gemma 3 270M,
``plain_qa``) from the int8 collection (hybrid, the app's defaults), twice: with the
answer end of the current code (:class:`~h2otui.qa.pipeline.AnswerEnd`: a finished
sentence's line break or a blank line) and with the previous rule (the first line
break), and counts the answers that end mid-sentence (the last character is not a
sentence end).

    .venv/bin/python benchmarks/bench_retrieval_quality.py [--answers] [--precisions fp32,int8]
        [--data-dir DIR]   (keep the collections there and reuse them)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

QUESTIONS = Path(__file__).parent / "data" / "pyref_questions.json"
AGGREGATES = ("compound", "specialnames")
MODES = ("vector", "text", "hybrid")
MRR_DEPTH = 10


def norm(text: str) -> str:
    return " ".join(text.split())


def write_corpus(folder: Path) -> int:
    import pydoc_data.topics

    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for name, text in sorted(pydoc_data.topics.topics.items()):
        if name in AGGREGATES:
            continue
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        n += 1
    return n


def build(docs: Path, name: str, precision: str) -> tuple[object, float]:
    from h2otui.config import Settings
    from h2otui.ingest.pipeline import run_ingest
    from h2otui.store.collections import CollectionStore

    settings = Settings()
    settings = settings.model_copy(
        update={"embedding": settings.embedding.model_copy(update={"precision": precision})}
    )
    store = CollectionStore(settings.data_path)
    took = 0.0
    if not store.exists(name):
        t = time.perf_counter()
        summary = run_ingest([str(docs)], name, settings)
        took = time.perf_counter() - t
        if summary.failed:
            raise SystemExit(f"ingest of {docs} failed for some files: {summary}")
    col = store.open(name)
    assert col.embedding_precision == precision, (col.embedding_precision, precision)
    return col, took


def chunk_index(col) -> dict[str, tuple[str, str]]:
    """chunk id -> (document name, whitespace-collapsed text)."""
    rows = col.chunks.search().select(["chunk_id", "source", "text"]).limit(None).to_arrow()
    return {
        r["chunk_id"]: (Path(r["source"]).stem, norm(r["text"] or "")) for r in rows.to_pylist()
    }


def check_needles(questions: list[dict], chunks: dict[str, tuple[str, str]]) -> list[set[str]]:
    """The chunk ids holding each question's needle; exits when a needle is missing or
    also occurs outside the expected documents."""
    out, bad = [], []
    for i, item in enumerate(questions, 1):
        needle = norm(item["needle"])
        where = {cid: doc for cid, (doc, text) in chunks.items() if needle in text}
        stray = sorted({doc for doc in where.values() if doc not in item["docs"]})
        if not where:
            bad.append(f"  #{i} {item['q']!r}: needle {needle!r} is in no chunk")
        elif stray:
            bad.append(f"  #{i} {item['q']!r}: needle {needle!r} also in {stray}")
        out.append(set(where))
    if bad:
        raise SystemExit("needle check failed:\n" + "\n".join(bad))
    return out


def evaluate(col, precision: str, questions, needles, chunks) -> dict[str, dict[str, float]]:
    from h2otui.qa.retrieval import Retriever

    retriever = Retriever(col, precision=precision, merge_neighbors=False)
    retriever.search("warm up", mode="hybrid", top_k=3)
    results = {}
    for mode in MODES:
        hits = {"doc@3": 0, "doc@5": 0, "chunk@3": 0, "chunk@5": 0}
        rr, times = [], []
        for item, wanted in zip(questions, needles, strict=True):
            t = time.perf_counter()
            found = retriever.search(item["q"], mode=mode, top_k=MRR_DEPTH, cut_distance=None)
            times.append(time.perf_counter() - t)
            ids = [p.chunk_ids[0] for p in found.passages]
            doc_rank = next(
                (r for r, cid in enumerate(ids, 1) if chunks[cid][0] in item["docs"]), None
            )
            chunk_rank = next((r for r, cid in enumerate(ids, 1) if cid in wanted), None)
            for k in (3, 5):
                hits[f"doc@{k}"] += doc_rank is not None and doc_rank <= k
                hits[f"chunk@{k}"] += chunk_rank is not None and chunk_rank <= k
            rr.append(0.0 if chunk_rank is None else 1.0 / chunk_rank)
        n = len(questions)
        results[mode] = {k: v / n for k, v in hits.items()}
        results[mode]["mrr"] = sum(rr) / n
        results[mode]["p50_ms"] = statistics.median(times) * 1e3
    return results


# --- answers that end mid-sentence ------------------------------------------------------


class FirstLineBreak:
    """The answer end before :class:`AnswerEnd`: the first line break ends the answer."""

    def feed(self, text: str) -> tuple[str, bool]:
        cut = text.find("\n")
        return (text, False) if cut < 0 else (text[:cut], True)


def mid_sentence(answer: str) -> bool:
    from h2otui.qa.pipeline import _SENTENCE_END

    answer = answer.strip()
    return bool(answer) and not answer.endswith(_SENTENCE_END)


def answers(col, questions: list[dict]) -> dict[str, list[str]]:
    import asyncio

    from h2otui.config import load_settings
    from h2otui.engines import create_engine
    from h2otui.qa import pipeline
    from h2otui.qa.collection import CollectionCache
    from h2otui.qa.pipeline import QARequest, run_qa

    settings = load_settings()
    entry = settings.model(None)
    engine = create_engine(entry, settings)
    params = settings.generation.to_sampling().for_request()
    _, retriever = CollectionCache().open(settings, col.name)
    out: dict[str, list[str]] = {}

    async def ask_all() -> list[str]:
        texts = []
        for item in questions:
            request = QARequest(question=item["q"], action="query")
            answer = ""
            async for event in run_qa(
                engine, col, request, settings.qa, params, retriever=retriever
            ):
                if isinstance(event, pipeline.QADone):
                    answer = event.result.answer
            texts.append(answer)
        return texts

    async def both() -> None:
        real = pipeline.AnswerEnd
        try:
            for label, end in (
                ("before (first line break)", FirstLineBreak),
                ("after (AnswerEnd)", real),
            ):
                pipeline.AnswerEnd = end  # type: ignore[misc]
                t = time.perf_counter()
                out[label] = await ask_all()
                took = time.perf_counter() - t
                print(f"   {label}: {len(questions)} answers in {took:.0f} s", flush=True)
        finally:
            pipeline.AnswerEnd = real  # type: ignore[misc]
            await engine.aclose()

    print(f"   model {entry.name} (prompt type {engine.prompt_type})", flush=True)
    asyncio.run(both())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--precisions", default="fp32,int8")
    ap.add_argument("--answers", action="store_true", help="also count mid-sentence answers")
    ap.add_argument("--data-dir", type=Path, default=None, help="keep / reuse collections here")
    args = ap.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-quality-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["H2OTUI_HOME"] = str(data_dir / "home")
    os.environ.setdefault("H2OTUI_USER_CONFIG", str(data_dir / "none.toml"))
    spec = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    questions = spec["questions"]
    docs = data_dir / "pyref"
    n_docs = write_corpus(docs)
    print(
        f"corpus: {n_docs} documents from pydoc_data.topics (Python {sys.version.split()[0]}), "
        f"{len(questions)} questions; data dir {data_dir}"
    )
    print(f"cpu count {os.cpu_count()}, load avg {os.getloadavg()[0]:.1f}")

    table: dict[tuple[str, str], dict[str, float]] = {}
    cols = {}
    for precision in args.precisions.split(","):
        col, took = build(docs, f"PyRef_{precision}", precision)
        cols[precision] = col
        chunks = chunk_index(col)
        needles = check_needles(questions, chunks)
        built = f"ingested in {took:.0f} s" if took else "reused"
        print(
            f"\n== {precision}: {len(chunks)} chunks ({built}); needles found in "
            f"{sum(len(n) for n in needles)} chunks, all in their expected documents"
        )
        for mode, row in evaluate(col, precision, questions, needles, chunks).items():
            table[(precision, mode)] = row

    print(
        f"\n{'precision':<9} {'mode':<7} {'doc@3':>6} {'doc@5':>6} {'chunk@3':>8} "
        f"{'chunk@5':>8} {'MRR':>6} {'p50 ms':>7}"
    )
    for (precision, mode), r in table.items():
        print(
            f"{precision:<9} {mode:<7} {r['doc@3']:6.2f} {r['doc@5']:6.2f} {r['chunk@3']:8.2f} "
            f"{r['chunk@5']:8.2f} {r['mrr']:6.3f} {r['p50_ms']:7.1f}"
        )
    if ("fp32", "hybrid") in table and ("int8", "hybrid") in table:
        d = table[("int8", "hybrid")]["chunk@3"] - table[("fp32", "hybrid")]["chunk@3"]
        print(f"int8 - fp32 hybrid chunk recall@3: {d:+.3f} (target: within 0.02)")

    if args.answers:
        precision = "int8" if "int8" in cols else next(iter(cols))
        print(f"\n== answers with the embedded model ({precision} collection, hybrid)")
        got = answers(cols[precision], questions)
        for label, texts in got.items():
            cut = [t for t in texts if mid_sentence(t)]
            empty = sum(not t.strip() for t in texts)
            print(f"   {label}: {len(cut)}/{len(texts)} end mid-sentence, {empty} empty")
            for t in cut[:5]:
                print(f"      ...{t[-70:]!r}")


if __name__ == "__main__":
    main()
