"""Embedding throughput and agreement: sentence-transformers fp32 ``encode`` (the old
ingest path) against h2otui's ONNX Runtime embedder at fp32 and int8, on the same chunks
in the same run; plus query-embedding latency (one short text, one thread).

The chunks are real English prose: the docstrings of the Python standard library, cut
into ~500-character pieces (what the ingest chunker makes).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_embed.py --chunks 1000

Prints chunks/s (wall and per CPU-second: the second is steadier on a shared machine),
the ratio against sentence-transformers, and the per-vector cosine of int8 against fp32.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import tempfile
import time
from pathlib import Path

MODULES = [
    "os", "json", "argparse", "collections", "typing", "asyncio", "subprocess", "pathlib",
    "re", "logging", "email", "http.client", "unittest", "sqlite3", "threading", "socket",
    "datetime", "decimal", "functools", "itertools", "shutil", "tarfile", "zipfile", "csv",
]  # fmt: skip


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--skip-st", action="store_true", help="no sentence-transformers baseline")
    args = ap.parse_args()

    import numpy as np

    from h2otui.ingest.embedding import load_embedder, resolve_model

    texts = corpus(args.chunks)
    data = Path(tempfile.mkdtemp(prefix="bench-embed-"))
    print(f"{len(texts)} chunks of stdlib docstrings; cache {data}")
    results: dict[str, tuple[np.ndarray, float, float]] = {}
    loads: dict[str, float] = {}
    for precision in ("fp32", "int8"):
        t = time.perf_counter()
        emb = load_embedder(data_dir=data, precision=precision, batch_size=args.batch_size)
        emb.encode(["warm up"])
        loads[precision] = time.perf_counter() - t
        results[precision] = timed(emb.encode, texts)
    if not args.skip_st:
        from sentence_transformers import SentenceTransformer

        t = time.perf_counter()
        st = SentenceTransformer(str(resolve_model("all-MiniLM-L6-v2")[1]), device="cpu")
        st.encode(["warm up"])
        loads["st"] = time.perf_counter() - t

        def st_encode(xs: list[str]) -> np.ndarray:
            return st.encode(xs, batch_size=args.batch_size, normalize_embeddings=True)

        results["st"] = timed(st_encode, texts)
    base = results.get("st")
    print(
        f"{'runtime':<22}{'load s':>8}{'chunks/s':>10}{'per cpu-s':>11}{'x st':>7}{'x st cpu':>9}"
    )
    for name, (_, wall, cpu) in results.items():
        ratio = f"{base[1] / wall:.2f}" if base else "-"
        cratio = f"{base[2] / cpu:.2f}" if base else "-"
        label = {"st": "sentence-transformers"}.get(name, f"onnx {name}")
        print(
            f"{label:<22}{loads[name]:>8.2f}{len(texts) / wall:>10.1f}{len(texts) / cpu:>11.1f}"
            f"{ratio:>7}{cratio:>9}"
        )
    v32, v8 = results["fp32"][0], results["int8"][0]
    cos = (v32 * v8).sum(1)
    print(
        f"int8 vs fp32 cosine: min {cos.min():.4f}  p1 {np.percentile(cos, 1):.4f}  mean {cos.mean():.4f}"
    )
    if base:
        c = (v32 * base[0]).sum(1)
        print(f"onnx fp32 vs sentence-transformers cosine: min {c.min():.5f}")
    for precision in ("fp32", "int8"):
        q = load_embedder(data_dir=data, precision=precision, threads=1)
        times = []
        for i in range(args.queries):
            t = time.perf_counter()
            q.encode([f"what does the {MODULES[i % len(MODULES)]} module do with files?"])
            times.append(time.perf_counter() - t)
        print(f"query embedding {precision}: p50 {statistics.median(times) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
