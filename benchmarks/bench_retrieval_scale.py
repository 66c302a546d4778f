"""Retrieval latency on real chunks at 8k and 100k, against a baseline checkout.

The chunks are real: the Python language reference collection that
``bench_retrieval_quality.py`` ingests (968 chunks of hard-wrapped prose and code,
with their real all-MiniLM-L6-v2 int8 vectors), **replicated** to the wanted size with
distinct chunk ids, document ids and source paths (copy ``j`` of a chunk keeps its text
and vector). Replication keeps the text statistics and vector distribution real, but
every chunk has exact duplicates -- full-text and vector ties are broken arbitrarily, so
this benchmark measures latency, not quality (``bench_retrieval_quality.py`` does that).
The native full-text index is built as ingest builds it, and an ANN index
(``ensure_vector_index``: IVF_HNSW_SQ, cosine) at 20k+ chunks.

The queries are the 40 questions of ``benchmarks/data/pyref_questions.json``. For each
size and mode the same script runs in alternating subprocesses (A, B, A, B, ...) with
``PYTHONPATH`` pointing at this tree (A) and at a baseline tree (B, default
``/work/main``), each opening the collection once, warming up, and timing every query
through :class:`~h2otui.qa.retrieval.Retriever` as ``ask --collection`` runs it:

  embed    the query embedding (``RetrievalResult.embed_s``)
  search   everything after it: the vector leg, waiting for the full-text leg (started
           before the embedding, in parallel), fusion, neighbour merging
  total    both (wall time of ``Retriever.search``)

and the ranked chunk ids, which are compared between A and B (identical ranks expected
unless a change says why). The baseline tree may differ from this one in more than the
search (say, a faster embedder merged there): compare ``search`` for the search code.

    .venv/bin/python benchmarks/bench_retrieval_scale.py --source /tmp/bq/home
        [--sizes 8000,100000] [--rounds 3] [--baseline /work/main] [--modes hybrid,text]
        [--legs]

``--legs`` times the search legs alone in this process instead, query by query
alternating the two paths of this tree (in-memory copy vs LanceDB, see
``Collection._memory_chunks``): the vector leg (no embedding: vectors computed first)
and the full-text leg (rows with vectors, as hybrid reads them), and the whole
``Retriever.search`` with the embedding taken out (``total - embed``).

``--source`` is the data dir (``home``) of a ``bench_retrieval_quality.py --data-dir``
run; the replicated collections are kept there too (built once).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "data" / "pyref_questions.json"
SOURCE = "PyRef_int8"


def build(home: Path, n: int) -> str:
    """Collection ``PyRefxN`` of ``n`` chunks replicated from ``PyRef_int8``."""
    import pyarrow as pa

    from h2otui.store.collections import CollectionStore, ensure_vector_index

    name = f"PyRefx{n}"
    store = CollectionStore(home)
    if store.exists(name):
        return name
    src = store.open(SOURCE)
    base = src.chunks.to_arrow()
    col = store.create(name, src.embedding_model, src.dim, src.embedding_precision)
    copies = -(-n // base.num_rows)
    print(f"   building {name}: {copies} copies of {base.num_rows} real chunks", flush=True)
    for j in range(copies):
        take = min(base.num_rows, n - j * base.num_rows)
        t = base.slice(0, take)
        for column, fmt in (("chunk_id", "{}#{}"), ("doc_id", "{}#{}"), ("source", "/copy{1}{0}")):
            values = pa.array([fmt.format(v, j) for v in t.column(column).to_pylist()])
            t = t.set_column(t.schema.get_field_index(column), column, values)
        col.chunks.add(t)
    assert col.count_chunks() == n, col.count_chunks()
    col.ensure_fts_index()
    ensure_vector_index(col.chunks)
    return name


WORKER = r"""
import json, statistics, sys, time
from pathlib import Path
from h2otui.store.collections import CollectionStore
from h2otui.qa.retrieval import Retriever
home, name, mode, qfile = sys.argv[1:5]
questions = [q["q"] for q in json.loads(Path(qfile).read_text())["questions"]]
col = CollectionStore(Path(home)).open(name)
r = Retriever(col, precision="int8")
for q in questions[:3]:
    r.search(q, mode=mode, top_k=5, cut_distance=None)
embed, search, total, ranks = [], [], [], []
for q in questions:
    t = time.perf_counter()
    res = r.search(q, mode=mode, top_k=5, cut_distance=None)
    total.append(time.perf_counter() - t)
    embed.append(res.embed_s)
    search.append(res.search_s)
    ranks.append([c for p in res.passages for c in p.chunk_ids])
print(json.dumps({"embed": embed, "search": search, "total": total, "ranks": ranks}))
"""


def run_worker(tree: Path, home: Path, name: str, mode: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), H2OTUI_HOME=str(home))
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(home), name, mode, str(QUESTIONS)],
        capture_output=True, text=True, env=env, check=False, cwd=str(tree),
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"worker in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def legs(home: Path, name: str, rounds: int) -> None:
    from h2otui.qa.retrieval import Retriever
    from h2otui.store.collections import CollectionStore

    questions = [q["q"] for q in json.loads(QUESTIONS.read_text())["questions"]]
    col = CollectionStore(home).open(name)
    r = Retriever(col, precision="int8")
    vecs = [r.embed(q) for q in questions]
    fast = col._memory_chunks
    paths = {"memory": fast, "lancedb": lambda: None}
    if not col.prepare_search():
        print("   (no in-memory copy at this size: LanceDB only)")
        paths = {"lancedb": lambda: None}
    times: dict[tuple[str, str], list[float]] = {}
    import time

    for _ in range(rounds):
        for i, q in enumerate(questions):
            # alternate which path goes first: the second one finds LanceDB's caches warm
            order = list(paths.items())
            for label, path in order[::-1] if i % 2 else order:
                col._memory_chunks = path  # type: ignore[method-assign]
                for leg, fn in (
                    ("vector leg", lambda v=vecs[i]: col.vector_search(v, 20)),
                    ("text leg", lambda q=q: col.text_search(q, 20, vectors=True)),
                    ("hybrid - embed", lambda q=q: r.search(q, mode="hybrid", top_k=5)),
                ):
                    t = time.perf_counter()
                    res = fn()
                    took = time.perf_counter() - t
                    if leg == "hybrid - embed":
                        took -= res.embed_s
                    times.setdefault((leg, label), []).append(took)
    col._memory_chunks = fast  # type: ignore[method-assign]
    for leg in ("vector leg", "text leg", "hybrid - embed"):
        p50 = {label: statistics.median(times[(leg, label)]) * 1e3 for label in paths}
        shown = "  ".join(f"{label} {v:6.2f} ms" for label, v in p50.items())
        ratio = f"  -> {p50['lancedb'] / p50['memory']:.1f}x faster" if "memory" in p50 else ""
        print(f"   {leg:<15} p50 {shown}{ratio}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--source", type=Path, required=True, help="home of the quality benchmark")
    ap.add_argument("--sizes", default="8000,100000")
    ap.add_argument("--modes", default="hybrid,vector,text")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", type=Path, default=Path("/work/main"))
    ap.add_argument("--legs", action="store_true", help="time the legs, in-memory vs LanceDB")
    args = ap.parse_args()
    home = args.source
    os.environ["H2OTUI_HOME"] = str(home)
    sys.path.insert(0, str(HERE.parent))
    trees = {"A (this tree)": HERE.parent, "B (baseline)": args.baseline}
    commits = {
        label: subprocess.run(
            ["git", "-C", str(tree), "log", "-1", "--format=%h %s"],
            capture_output=True, text=True, check=False,
        ).stdout.strip()[:70]
        for label, tree in trees.items()
    }  # fmt: skip
    for label, c in commits.items():
        print(f"{label}: {c}")
    print(f"cpu count {os.cpu_count()}, load avg {os.getloadavg()[0]:.1f}")
    for n in [int(s) for s in args.sizes.split(",")]:
        name = build(home, n)
        if args.legs:
            print(f"\n== {n} chunks: search legs, {args.rounds} x 40 queries, paths alternating")
            legs(home, name, args.rounds)
            continue
        print(f"\n== {n} chunks ({args.rounds} rounds x 40 queries per tree, alternating)")
        print(f"   {'mode':<7} {'tree':<14} {'embed p50':>9} {'search p50':>10} {'total p50':>9}")
        for mode in args.modes.split(","):
            got: dict[str, dict[str, list]] = {label: {} for label in trees}
            for _ in range(args.rounds):
                for label, tree in trees.items():
                    r = run_worker(tree, home, name, mode)
                    for key, values in r.items():
                        got[label].setdefault(key, []).extend(values)
            p50 = {}
            for label in trees:
                p50[label] = {
                    k: statistics.median(got[label][k]) * 1e3 for k in ("embed", "search", "total")
                }
                print(
                    f"   {mode:<7} {label:<14} {p50[label]['embed']:9.2f} "
                    f"{p50[label]['search']:10.2f} {p50[label]['total']:9.2f}"
                )
            a, b = (p50[label] for label in trees)
            ranks_a, ranks_b = (got[label]["ranks"] for label in trees)
            pairs = list(zip(ranks_a, ranks_b, strict=True))
            same = sum(x == y for x, y in pairs)
            # copies of one chunk tie exactly: which copy comes first is arbitrary
            same_text = sum(
                [c.rsplit("#", 1)[0] for c in x] == [c.rsplit("#", 1)[0] for c in y]
                for x, y in pairs
            )
            print(
                f"   {mode:<7} ratio B/A: search {b['search'] / max(a['search'], 1e-9):.2f}x, "
                f"total {b['total'] / max(a['total'], 1e-9):.2f}x; identical top-5 ranks "
                f"{same}/{len(pairs)} queries, {same_text}/{len(pairs)} up to which copy "
                "of a replicated chunk"
            )


if __name__ == "__main__":
    main()
