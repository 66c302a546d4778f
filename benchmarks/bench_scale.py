"""Beyond one machine (issue 18): what a shared S3 collection and Ray ingestion cost here.

1. Ingest of one ~500-page corpus of real text into (a) the local data dir, (b) the local
   data dir with ``--ray`` on a local Ray of ``--ray-cpus`` (default 2) CPUs, (c) a moto
   S3 server on loopback. The text is what ships with Python and the installed packages
   (Python's language reference, ``pydoc_data.topics``; the packages' licences and their
   long descriptions), laid out as 10-page PDFs. Ratios are against (a), in the same run.
2. Retrieval p50 / p95 (hybrid, the ``Retriever`` the CLI uses, real questions) at
   ``--sizes`` chunks (default 10k and 100k) on local disk vs the loopback S3, local and
   S3 queries interleaved. Embedding 100k texts is too slow here, so these collections
   are built from the chunks (texts and vectors) of run (a), replicated with distinct
   chunk and document ids, then indexed by the store's own step (full-text index,
   compaction, and the IVF_HNSW_SQ vector index from 20k chunks up).
3. From Ray's per-stage timings (parse, embed, write), a projection of throughput with 8
   and 32 workers: parse and embed scale with workers, the driver's share (discovery, the
   commit, indexing) does not (Amdahl).

Needs the ``scale`` extra (ray, lance-ray, moto). Loopback S3 has no network latency:
real S3 adds ~20-60 ms per request, so (c) and the S3 retrieval numbers are a floor.

    .venv/bin/python benchmarks/bench_scale.py [--pages 500] [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

LINES_PER_PAGE = 46
LINE_WIDTH = 78
PAGES_PER_PDF = 10


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def real_texts() -> list[str]:
    """Real prose and reference text from this interpreter and its packages, in a fixed
    order: Python's language reference topics, then each distinct licence and long
    description of the installed distributions."""
    import importlib.metadata as md
    import pydoc_data.topics

    texts = [v for _, v in sorted(pydoc_data.topics.topics.items())]
    seen: set[str] = set()
    dists = sorted(md.distributions(), key=lambda d: (d.metadata["Name"] or "").lower())
    for dist in dists:
        bodies = []
        for f in dist.files or []:
            if f.name.upper().startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE")):
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    bodies.append(f.read_text(encoding="utf-8"))
        bodies.append(dist.metadata.get_payload() or "")  # the long description
        for body in bodies:
            digest = hashlib.sha256(body.strip().encode()).hexdigest()
            if len(body.strip()) > 400 and digest not in seen:
                seen.add(digest)
                texts.append(body)
    return texts


def paginate(texts: list[str], pages: int) -> list[str]:
    """``pages`` pages of at most LINES_PER_PAGE wrapped lines (so nothing overflows the
    PDF text box), filled from ``texts`` in order."""
    lines: list[str] = []
    for text in texts:
        for para in text.splitlines():
            lines.extend(textwrap.wrap(para, LINE_WIDTH) or [""])
        lines.append("")
        if len(lines) >= pages * LINES_PER_PAGE:
            break
    out = []
    for i in range(0, len(lines), LINES_PER_PAGE):
        page = "\n".join(lines[i : i + LINES_PER_PAGE]).strip()
        if page:
            out.append(page)
    if len(out) < pages:
        raise SystemExit(f"only {len(out)} pages of real text found here (wanted {pages})")
    return out[:pages]


def make_corpus(root: Path, pages: int) -> tuple[Path, int]:
    import pymupdf

    root.mkdir(parents=True)
    page_texts = paginate(real_texts(), pages)
    for d in range(0, len(page_texts), PAGES_PER_PDF):
        doc = pymupdf.open()
        for text in page_texts[d : d + PAGES_PER_PDF]:
            page = doc.new_page()
            left = page.insert_textbox(pymupdf.Rect(50, 40, 562, 772), text, fontsize=9)
            assert left >= 0, "page text overflowed its box"
        doc.save(str(root / f"doc{d // PAGES_PER_PDF:04d}.pdf"))
        doc.close()
    return root, sum(len(t) for t in page_texts)


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


def build(store, name: str, source, n: int) -> None:
    """Collection ``name`` of ``n`` chunks: ``source``'s rows (text, vector, metadata)
    replicated with distinct chunk / doc ids, indexed as an ingest indexes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = store.create(name, source.embedding_model, source.dim)
    base = source.chunks.to_arrow()
    m = base.num_rows
    copies = (n + m - 1) // m
    batch: list = []
    rows = 0
    for k in range(copies):
        t = base.slice(0, min(m, n - k * m))
        for key in ("chunk_id", "doc_id"):
            t = t.set_column(
                t.schema.get_field_index(key), key, pc.binary_join_element_wise(
                    t.column(key), pa.scalar(f"r{k}"), "~"
                ),
            )  # fmt: skip
        batch.append(t)
        rows += t.num_rows
        if rows >= 20_000 or k == copies - 1:
            col.chunks.add(pa.concat_tables(batch).cast(col.chunks.schema))
            batch, rows = [], 0
    assert col.count_chunks() == n, (col.count_chunks(), n)
    col.ensure_fts_index()


QUESTIONS = [
    "How does the with statement manage a context?",
    "What happens when an exception is raised inside a try block?",
    "How are keyword arguments matched to parameters in a call?",
    "What does the global statement do?",
    "How is operator precedence defined?",
    "What may a licence holder redistribute in binary form?",
    "Is the software provided with any warranty?",
    "How do I install the package with pip?",
    "What are the rules for identifiers and keywords?",
    "How does a for loop iterate over a sequence?",
    "What is the difference between is and ==?",
    "How are class attributes looked up?",
    "What does the yield expression return?",
    "How do comparisons chain?",
    "What is an augmented assignment?",
    "How are string literals concatenated?",
    "Which conditions apply to modified versions of the work?",
    "How does asynchronous iteration work?",
    "What does the del statement remove?",
    "How are default parameter values evaluated?",
]


def retrieval(local, remote, queries: list[str]) -> tuple[list[float], list[float]]:
    """Latencies (ms) of the same queries on both stores, interleaved A,B,B,A,..."""
    for q in queries[:3]:  # warm both (query embedder, table handles, index caches)
        local.search(q, top_k=3, cut_distance=None)
        remote.search(q, top_k=3, cut_distance=None)
    a: list[float] = []
    b: list[float] = []
    for i, q in enumerate(queries * 2):
        order = ((local, a), (remote, b)) if i % 2 == 0 else ((remote, b), (local, a))
        for r, out in order:
            t = time.perf_counter()
            r.search(q, top_k=3, cut_distance=None)
            out.append((time.perf_counter() - t) * 1000)
    return a, b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=500)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--ray-cpus", type=int, default=2)
    ap.add_argument("--retrieval-only", action="store_true",
                    help="ingest (a) only, as the source of the retrieval collections")  # fmt: skip
    args = ap.parse_args()

    import logging

    import ray
    from servers.s3 import moto_s3

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    logging.getLogger("ray").setLevel(logging.WARNING)

    from h2otui.config import Settings
    from h2otui.qa.retrieval import Retriever
    from h2otui.store.collections import CollectionStore
    from h2otui.store.location import StorageLocation

    started = time.perf_counter()
    load0 = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    (tmp / "home").mkdir(mode=0o700)
    os.environ["H2OTUI_HOME"] = str(tmp / "home")
    os.environ["HF_HUB_OFFLINE"] = "1"
    corpus, chars = make_corpus(tmp / "corpus", args.pages)
    settings = Settings()
    cpus = args.ray_cpus

    with moto_s3() as s3:
        for k, v in s3.env(s3.uri("bench")).items():
            os.environ[k] = v
        from h2otui.config import load_settings

        s3_settings = load_settings()
        os.environ.pop("H2OTUI_STORAGE__URI")
        from h2otui.ingest.embedding import shared_embedder

        shared_embedder(settings)  # loaded once, outside every timing

        local_s, summary, _ = ingest_once(corpus, "Local", settings)
        pages = summary.pages
        print(f"corpus: {pages} pages of real text ({chars / 1e6:.2f} M chars, "
              f"{pages // PAGES_PER_PDF} PDFs), {summary.chunks_written} chunks")  # fmt: skip
        print(f"(a) local ingest         {local_s:7.1f} s  {pages / local_s:6.1f} pages/s  1.00x",
              flush=True)  # fmt: skip
        if not args.retrieval_only:
            t0 = time.perf_counter()
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING)  # fmt: skip
            ray.data.DataContext.get_current().enable_progress_bars = False
            ray_start = time.perf_counter() - t0
            ray_s, _, stages = ingest_once(corpus, "OnRay", settings, ray=True)
            ray.shutdown()
            print(f"(b) Ray ({cpus} CPUs) ingest   {ray_s:7.1f} s  {pages / ray_s:6.1f} pages/s  "
                  f"{local_s / ray_s:.2f}x  (+{ray_start:.1f} s ray.init, once per session)")  # fmt: skip
            parse, embed, write = (stages.get(k, 0.0) for k in ("parse", "embed", "write"))
            driver = max(0.0, ray_s - parse - embed - write)
            print(f"Ray stages: parse {parse:.1f} s, embed {embed:.1f} s, write {write:.1f} s, "
                  f"driver {driver:.1f} s")  # fmt: skip
            for workers in (8, 32):
                scaled = (parse + embed) * cpus / workers + write + driver
                print(f"projected {workers:2d} workers: {pages / scaled:7.1f} pages/s "
                      f"({local_s / scaled:.1f}x local; driver+write {write + driver:.1f} s "
                      f"of {scaled:.1f} s)", flush=True)  # fmt: skip
            s3_s, _, _ = ingest_once(corpus, "OnS3", s3_settings)
            print(f"(c) loopback S3 ingest   {s3_s:7.1f} s  {pages / s3_s:6.1f} pages/s  "
                  f"{local_s / s3_s:.2f}x", flush=True)  # fmt: skip

        source = CollectionStore(settings.data_path).open("Local")
        local_store = CollectionStore(tmp / "retrieval")
        loc = StorageLocation(
            s3.uri("retrieval"),
            {"endpoint": s3.endpoint, "region": "us-east-1", "allow_http": "true"},
        )
        s3_store = CollectionStore(tmp / "retrieval-s3", loc)
        rng = random.Random(1)
        queries = QUESTIONS[:]
        rng.shuffle(queries)
        print(f"retrieval: {len(queries) * 2} hybrid queries per store, top 3, interleaved; "
              f"collections = the {source.count_chunks()} real chunks of (a) replicated "
              "with distinct ids")  # fmt: skip
        for n in args.sizes:
            t0 = time.perf_counter()
            build(local_store, f"R{n}", source, n)
            lb = time.perf_counter() - t0
            t0 = time.perf_counter()
            build(s3_store, f"R{n}", source, n)
            sb = time.perf_counter() - t0
            a, b = retrieval(
                Retriever(local_store.open(f"R{n}")), Retriever(s3_store.open(f"R{n}")), queries
            )
            lp50, lp95, sp50, sp95 = pct(a, 0.5), pct(a, 0.95), pct(b, 0.5), pct(b, 0.95)
            print(f"retrieval {n:>7} chunks: local p50 {lp50:6.1f} ms p95 {lp95:6.1f} ms | "
                  f"S3 p50 {sp50:6.1f} ms p95 {sp95:6.1f} ms | S3/local p50 "
                  f"{sp50 / lp50:.2f}x p95 {sp95 / lp95:.2f}x | build+index local "
                  f"{lb:.0f} s, S3 {sb:.0f} s", flush=True)  # fmt: skip
    shutil.rmtree(tmp, ignore_errors=True)
    load1 = os.getloadavg()
    print(f"total {time.perf_counter() - started:.0f} s; load average at start "
          f"{load0[0]:.1f}, at end {load1[0]:.1f} on {os.cpu_count()} CPUs (shared machine)")  # fmt: skip


if __name__ == "__main__":
    main()
