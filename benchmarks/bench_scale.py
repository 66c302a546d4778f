"""Beyond one machine (issue 18): what a shared S3 collection and Ray ingestion cost here.

1. Ingest of one generated PDF corpus (``--pages``, default 500, 10 pages a PDF) into
   (a) the local data dir, (b) the local data dir with ``--ray`` on this machine's CPUs,
   (c) a moto S3 server on loopback. Ratios are against (a), in the same run.
2. Retrieval p50 / p95 (hybrid, the ``Retriever`` the CLI uses) over synthetic collections
   of ``--sizes`` chunks (default 10k and 100k) on local disk vs the loopback S3.
3. From Ray's per-stage timings (parse, embed, write), a projection of throughput with 8
   and 32 workers: parse and embed scale with workers, the driver's share (discovery,
   the single commit, indexing) does not (Amdahl).

Needs the ``scale`` extra (ray, lance-ray, moto). Loopback S3 has no network latency:
real S3 adds ~20-60 ms per request, so (c) and the S3 retrieval numbers are a floor.

    .venv/bin/python benchmarks/bench_scale.py [--pages 500] [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

WORDS = [
    "harbor",
    "report",
    "churn",
    "revenue",
    "quarter",
    "region",
    "north",
    "south",
    "lighthouse",
    "submarine",
    "river",
    "mill",
    "barge",
    "heron",
    "otter",
    "invoice",
    "contract",
    "policy",
    "customer",
    "renewal",
    "pricing",
    "discount",
    "forecast",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def make_corpus(root: Path, pages: int) -> Path:
    from ingest_corpus import make_pdf

    root.mkdir(parents=True)
    rng = random.Random(7)
    for d in range((pages + 9) // 10):
        n = min(10, pages - d * 10)
        texts = [
            " ".join(rng.choice(WORDS) for _ in range(320)) + f" Document {d} page {p}."
            for p in range(n)
        ]
        make_pdf(root / f"doc{d:04d}.pdf", texts)
    return root


def ingest_once(corpus: Path, name: str, settings, **kwargs) -> tuple[float, object, dict]:
    from h2otui.ingest.pipeline import IngestPipeline

    if kwargs.pop("ray", None):
        from h2otui.ingest.distributed import RayIngestPipeline

        pipeline = RayIngestPipeline([corpus], name, settings, **kwargs)
    else:
        pipeline = IngestPipeline([corpus], name, settings, **kwargs)
    t0 = time.perf_counter()
    events = list(pipeline.run())
    elapsed = time.perf_counter() - t0
    summary = events[-1].summary
    assert summary.ok, summary.failed
    return elapsed, summary, getattr(pipeline, "stage_seconds", {})


def build(store, name: str, n: int, dim: int = 384) -> None:
    import numpy as np

    from h2otui.store.collections import ensure_vector_index

    rng = np.random.default_rng(n)
    pyrng = random.Random(n)
    col = store.create(name, "all-MiniLM-L6-v2", dim)
    for start in range(0, n, 20_000):
        m = min(20_000, n - start)
        vecs = rng.standard_normal((m, dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        rows = []
        for j in range(m):
            i = start + j
            text = " ".join(pyrng.choice(WORDS) for _ in range(60))
            rows.append({
                "chunk_id": f"c{i}", "doc_id": f"d{i // 50}", "source": f"/b/doc{i // 50}.txt",
                "text": text, "vector": vecs[j], "page": None, "start_time": None,
                "end_time": None, "frame_time": None, "part_index": 0, "chunk_index": i % 50,
                "char_start": 0, "char_end": len(text), "kind": "text",
            })  # fmt: skip
        col.chunks.add(rows)
    col.ensure_fts_index()
    ensure_vector_index(col.chunks)


def retrieval(store, name: str, queries: list[str]) -> tuple[float, float]:
    from h2otui.qa.retrieval import Retriever

    r = Retriever(store.open(name))
    for q in queries[:3]:
        r.search(q, top_k=3, cut_distance=None)
    times = []
    for q in queries:
        t = time.perf_counter()
        r.search(q, top_k=3, cut_distance=None)
        times.append(time.perf_counter() - t)
    return pct(times, 0.5) * 1000, pct(times, 0.95) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=500)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=30)
    args = ap.parse_args()

    import ray
    from servers.s3 import moto_s3

    from h2otui.config import Settings
    from h2otui.store.collections import CollectionStore
    from h2otui.store.location import StorageLocation

    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    (tmp / "home").mkdir(mode=0o700)
    os.environ["H2OTUI_HOME"] = str(tmp / "home")
    os.environ["HF_HUB_OFFLINE"] = "1"
    corpus = make_corpus(tmp / "corpus", args.pages)
    settings = Settings()
    cpus = os.cpu_count() or 1

    with moto_s3() as s3:
        for k, v in s3.env(s3.uri("bench")).items():
            os.environ[k] = v
        from h2otui.config import load_settings

        s3_settings = load_settings()
        os.environ.pop("H2OTUI_STORAGE__URI")
        from h2otui.ingest.embedding import shared_embedder

        shared_embedder(settings)  # loaded once, outside every timing

        local_s, summary, _ = ingest_once(corpus, "Local", settings)
        t0 = time.perf_counter()
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - t0
        ray_s, _, stages = ingest_once(corpus, "OnRay", settings, ray=True)
        s3_s, _, _ = ingest_once(corpus, "OnS3", s3_settings)
        ray.shutdown()

        pages = summary.pages
        print(f"corpus: {pages} pages, {summary.chunks_written} chunks, {cpus} CPUs")
        print(f"(a) local ingest        {local_s:7.1f} s  {pages / local_s:6.1f} pages/s  1.00x")
        print(f"(b) Ray ({cpus} CPUs) ingest  {ray_s:7.1f} s  {pages / ray_s:6.1f} pages/s  "
              f"{local_s / ray_s:.2f}x  (+{ray_start:.1f} s ray.init, once per session)")  # fmt: skip
        print(f"(c) loopback S3 ingest  {s3_s:7.1f} s  {pages / s3_s:6.1f} pages/s  "
              f"{local_s / s3_s:.2f}x")  # fmt: skip
        parse, embed, write = (stages.get(k, 0.0) for k in ("parse", "embed", "write"))
        driver = max(0.0, ray_s - parse - embed - write)
        print(f"Ray stages: parse {parse:.1f} s, embed {embed:.1f} s, write {write:.1f} s, "
              f"driver {driver:.1f} s")  # fmt: skip
        for workers in (8, 32):
            scaled = (parse + embed) * cpus / workers + write + driver
            print(f"projected {workers:2d} workers: {pages / scaled:7.1f} pages/s "
                  f"({local_s / scaled:.1f}x local)")  # fmt: skip

        local_store = CollectionStore(tmp / "retrieval")
        loc = StorageLocation(
            s3.uri("retrieval"),
            {"endpoint": s3.endpoint, "region": "us-east-1", "allow_http": "true"},
        )
        s3_store = CollectionStore(tmp / "retrieval-s3", loc)
        rng = random.Random(1)
        queries = [" ".join(rng.choice(WORDS) for _ in range(6)) for _ in range(args.queries)]
        for n in args.sizes:
            build(local_store, f"R{n}", n)
            build(s3_store, f"R{n}", n)
            lp50, lp95 = retrieval(local_store, f"R{n}", queries)
            sp50, sp95 = retrieval(s3_store, f"R{n}", queries)
            print(f"retrieval {n:>7} chunks: local p50 {lp50:6.1f} ms p95 {lp95:6.1f} ms | "
                  f"S3 p50 {sp50:6.1f} ms p95 {sp95:6.1f} ms | S3/local p50 "
                  f"{sp50 / lp50:.2f}x p95 {sp95 / lp95:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
