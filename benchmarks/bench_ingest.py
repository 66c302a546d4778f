"""Ingestion throughput vs the bare embedding rate of the same chunks, in one run.

Generates a corpus of text PDFs (default 20 files x 12 pages = 240 pages of varied prose),
then:
  * ingests it end to end with ``h2otui.ingest.ingest`` (worker processes parse while
    the main process embeds and writes) into a fresh collection: pages/s and chunks/s,
    with the embedding model already loaded (the model load is reported separately);
  * embeds exactly the chunk texts that ingestion stored with ``model.encode`` alone
    (the same sentence-transformers model object, the same batch size), before and
    after the pipeline run, and takes the mean as the baseline;
  * reports pipeline chunks/s / bare chunks/s (target >= 0.8: parsing, chunking and
    writing hidden behind embedding) and peak memory (RSS of the main process and of
    the biggest worker, sampled every 50 ms).

    .venv/bin/python benchmarks/bench_ingest.py [--files 20] [--pages 12] [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

WORDS = """
system model data river market policy energy network signal budget theory forest
storage protocol harbor patient museum engine contract weather orbit language
culture planet memory circuit garden voltage ledger archive canyon festival
migration algorithm turbine glacier satellite vaccine pottery treaty mineral
""".split()  # noqa: SIM905


def make_corpus(root: Path, files: int, pages: int, seed: int = 7) -> int:
    import pymupdf

    rng = random.Random(seed)
    total = 0
    for f in range(files):
        doc = pymupdf.open()
        for _p in range(pages):
            paras = []
            for _ in range(5):
                sentences = []
                for _ in range(rng.randint(3, 6)):
                    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
                    sentences.append(" ".join(words).capitalize() + ".")
                paras.append(" ".join(sentences))
            page = doc.new_page()
            page.insert_textbox(pymupdf.Rect(54, 54, 558, 788), "\n\n".join(paras), fontsize=9)
            total += 1
        doc.save(str(root / f"report_{f:03}.pdf"))
        doc.close()
    return total


class PeakRss:
    """Samples the RSS of this process and of its children (the parser workers)."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.main = 0
        self.worker = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                self.main = max(self.main, self.proc.memory_info().rss)
                for child in self.proc.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        self.worker = max(self.worker, child.memory_info().rss)
            except psutil.Error:
                pass
            self._stop.wait(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--pages", type=int, default=12)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()

    from h2otui.config import Settings
    from h2otui.ingest import IngestFinished, ingest
    from h2otui.ingest.embedding import shared_embedder
    from h2otui.store.collections import CollectionStore

    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        corpus.mkdir()
        pages = make_corpus(corpus, args.files, args.pages)
        mb = sum(p.stat().st_size for p in corpus.iterdir()) / 1e6
        print(f"corpus: {args.files} PDFs, {pages} pages, {mb:.1f} MB")

        t = time.perf_counter()
        embedder = shared_embedder(settings)
        load_s = time.perf_counter() - t
        embedder.encode(["warm up the model once"] * 8)
        print(
            f"embedding model load: {load_s:.1f}s ({embedder.model_id}, batch {embedder.batch_size})"
        )

        def bare(texts: list[str]) -> float:
            t0 = time.perf_counter()
            # exactly what the pipeline calls, in one go: model.encode alone
            embedder._model.encode(
                texts, batch_size=embedder.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )  # fmt: skip
            return len(texts) / (time.perf_counter() - t0)

        data_dir = root / "data"
        with PeakRss() as rss:
            t0 = time.perf_counter()
            summary = None
            for event in ingest(
                [corpus], "Bench", settings, data_dir=data_dir, workers=args.workers
            ):
                if isinstance(event, IngestFinished):
                    summary = event.summary
            wall = time.perf_counter() - t0
        assert summary is not None and summary.ok, summary
        col = CollectionStore(data_dir).open("Bench")
        texts = (
            col.chunks.search().select(["text"]).limit(None).to_arrow().column("text").to_pylist()
        )
        assert len(texts) == summary.chunks_written

        # the baseline: same chunk texts, same model object; once before (a throwaway
        # warm run above) and twice around a short pause, mean of the two
        bare_rates = [bare(texts), bare(texts)]
        bare_rate = sum(bare_rates) / len(bare_rates)
        pipe_rate = summary.chunks_written / wall
        print(f"pipeline: {summary.pages} pages, {summary.chunks_written} chunks in {wall:.1f}s "
              f"-> {summary.pages / wall:.1f} pages/s, {pipe_rate:.1f} chunks/s")  # fmt: skip
        print(
            f"bare model.encode on the same {len(texts)} chunks: "
            f"{', '.join(f'{r:.1f}' for r in bare_rates)} chunks/s (mean {bare_rate:.1f})"
        )
        print(f"ratio pipeline / bare embedding: {pipe_rate / bare_rate:.2f}  (target >= 0.80)")
        print(
            f"peak RSS: main process {rss.main / 2**20:.0f} MiB, largest worker {rss.worker / 2**20:.0f} MiB"
        )

        # re-ingest: unchanged files cost hashing only
        t0 = time.perf_counter()
        again = None
        for event in ingest([corpus], "Bench", settings, data_dir=data_dir, workers=args.workers):
            if isinstance(event, IngestFinished):
                again = event.summary
        assert again is not None and len(again.unchanged) == args.files
        print(f"re-ingest of the unchanged corpus: {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
