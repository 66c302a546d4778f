"""Embedding throughput and agreement: sentence-transformers fp32 ``encode`` (the old
ingest path) against h2otui's ONNX Runtime embedder at fp32 and int8, on the same chunks
in the same run; plus query-embedding latency and a small ingest from process start.

The chunks are real English prose: the docstrings of the Python standard library, cut
into ~500-character pieces (what the ingest chunker makes).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_embed.py --chunks 1000 --speed-chunks 300

* throughput: each runtime encodes the same ``--speed-chunks`` chunks, ``--rounds`` times,
  interleaved (st, fp32, int8, st, fp32, int8, ...) so a change in machine load hits all
  of them alike; chunks/s (wall, and per CPU-second: steadier on a shared machine) and
  the ratio against sentence-transformers. Pages/s is derived at the issue's corpus
  density (8,260 chunks from 1,109 pages: 7.45 chunks a page);
* int8 at ``embedding.batch_size`` 32 and 64, and ONNX Runtime with 1 and 2 threads;
* agreement: per-vector cosine of int8 and fp32 against each other and against
  sentence-transformers over all ``--chunks`` chunks;
* query embedding: p50 / p95 of one short query, one thread (as ``qa/embed.py`` runs it);
* ``--ingest``: ``h2otui ingest`` of one small text file into a new collection, process
  start to exit (the export is cached by then, as after a first use).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODULES = [
    "os", "json", "argparse", "collections", "typing", "asyncio", "subprocess", "pathlib",
    "re", "logging", "email", "http.client", "unittest", "sqlite3", "threading", "socket",
    "datetime", "decimal", "functools", "itertools", "shutil", "tarfile", "zipfile", "csv",
]  # fmt: skip
CHUNKS_PER_PAGE = 8260 / 1109


def corpus(n: int, size: int = 500) -> list[str]:
    texts: list[str] = []
    for name in MODULES:
        mod = importlib.import_module(name)
        docs = [mod.__doc__ or ""]
        for attr in dir(mod):
            doc = getattr(getattr(mod, attr, None), "__doc__", None)
            if isinstance(doc, str) and len(doc) > 80:
                docs.append(doc)
        text = "\n\n".join(docs)
        texts.extend(text[i : i + size] for i in range(0, len(text), size))
    seen: set[str] = set()
    unique = [t for t in texts if t.strip() and not (t in seen or seen.add(t))]
    return unique[:n]


def timed(fn, texts):  # type: ignore[no-untyped-def]
    w, c = time.perf_counter(), time.process_time()
    out = fn(texts)
    return out, time.perf_counter() - w, time.process_time() - c


def cos_stats(a, b) -> str:  # type: ignore[no-untyped-def]
    import numpy as np

    c = (a * b).sum(1)
    return f"min {c.min():.4f}  p1 {np.percentile(c, 1):.4f}  mean {c.mean():.4f}"


def ingest_small(data: Path) -> float:
    """Seconds from process start to exit for ``h2otui ingest`` of one small text file."""
    doc = data / "note.txt"
    doc.write_text("The archive moved to the east wing in 1998.\n" * 20)
    env = {**os.environ, "H2OTUI_HOME": str(data)}
    name = f"Small{time.time_ns()}"
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "h2otui", "ingest", str(doc), "--collection", name],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    took = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed: {proc.stderr[-2000:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=1000, help="chunks for the cosine stats")
    ap.add_argument("--speed-chunks", type=int, default=300, help="chunks per timed encode")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads; 0 = all")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--skip-st", action="store_true", help="no sentence-transformers baseline")
    ap.add_argument("--ingest", type=int, default=3, help="small ingests from process start")
    args = ap.parse_args()

    import numpy as np

    from h2otui.ingest.embedding import load_embedder, resolve_model

    texts = corpus(args.chunks)
    speed = texts[: args.speed_chunks]
    data = Path(tempfile.mkdtemp(prefix="bench-embed-"))
    print(f"{len(texts)} chunks of stdlib docstrings ({len(speed)} timed); cache {data}")
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start")
    encoders = {}
    loads: dict[str, float] = {}
    for precision in ("fp32", "int8"):
        load_embedder(data_dir=data, precision=precision)  # export / quantize once
        t = time.perf_counter()
        emb = load_embedder(
            data_dir=data, precision=precision, batch_size=args.batch_size, threads=args.threads
        )
        emb.encode(["warm up"])
        loads[f"onnx {precision}"] = time.perf_counter() - t
        encoders[f"onnx {precision}"] = emb.encode
    for extra, kw in (("int8 batch 64", {"batch_size": 64}), ("int8 1 thread", {"threads": 1})):
        kw = {"batch_size": args.batch_size, "threads": args.threads, **kw}
        e = load_embedder(data_dir=data, precision="int8", **kw)
        e.encode(["warm up"])
        encoders[f"onnx {extra}"] = e.encode
    if not args.skip_st:
        from sentence_transformers import SentenceTransformer

        t = time.perf_counter()
        st = SentenceTransformer(str(resolve_model("all-MiniLM-L6-v2")[1]), device="cpu")
        st.encode(["warm up"])
        loads["sentence-transformers"] = time.perf_counter() - t

        def st_encode(xs: list[str]) -> np.ndarray:
            return st.encode(xs, batch_size=args.batch_size, normalize_embeddings=True)

        encoders = {"sentence-transformers": st_encode, **encoders}

    walls: dict[str, list[float]] = {k: [] for k in encoders}
    cpus: dict[str, list[float]] = {k: [] for k in encoders}
    for _ in range(args.rounds):
        for name, fn in encoders.items():
            _, wall, cpu = timed(fn, speed)
            walls[name].append(wall)
            cpus[name].append(cpu)
    base = "sentence-transformers" if not args.skip_st else None
    print(
        f"\n{'runtime':<24}{'load s':>7}{'chunks/s':>9}{'pages/s':>8}{'per cpu-s':>10}"
        f"{'x st':>6}{'x st cpu':>9}"
    )
    for name in encoders:
        wall, cpu = sum(walls[name]), sum(cpus[name])
        n = len(speed) * args.rounds
        ratio = f"{sum(walls[base]) / wall:.2f}" if base else "-"
        cratio = f"{sum(cpus[base]) / cpu:.2f}" if base else "-"
        load = f"{loads[name]:.2f}" if name in loads else "-"
        print(
            f"{name:<24}{load:>7}{n / wall:>9.1f}{n / wall / CHUNKS_PER_PAGE:>8.1f}"
            f"{n / cpu:>10.1f}{ratio:>6}{cratio:>9}"
        )

    vecs = {name: encoders[name](texts) for name in ("onnx fp32", "onnx int8")}
    print(f"\ncosine over {len(texts)} chunks, per vector:")
    print(f"  int8 vs fp32:   {cos_stats(vecs['onnx int8'], vecs['onnx fp32'])}")
    if base:
        ref = encoders[base](texts)
        print(f"  fp32 vs st:     {cos_stats(vecs['onnx fp32'], ref)}")
        print(f"  int8 vs st:     {cos_stats(vecs['onnx int8'], ref)}")

    print("\nquery embedding (one short query, 1 thread):")
    for precision in ("fp32", "int8"):
        q = load_embedder(data_dir=data, precision=precision, threads=1)
        times = []
        for i in range(args.queries):
            t = time.perf_counter()
            q.encode([f"what does the {MODULES[i % len(MODULES)]} module do with files?"])
            times.append(time.perf_counter() - t)
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"  {precision}: p50 {statistics.median(times) * 1e3:.2f} ms  p95 {p95 * 1e3:.2f} ms")
    if args.ingest:
        runs = [ingest_small(data) for _ in range(args.ingest)]
        print(
            f"\nsmall ingest, process start to exit: median {statistics.median(runs):.2f} s "
            f"({', '.join(f'{r:.2f}' for r in runs)})"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
