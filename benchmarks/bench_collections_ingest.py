"""Ingest from the app (the collections screen's background queue) vs ``h2otui ingest`` on
the same PDFs, and how fast the app answers keys while it ingests. Not a test.

Generates text PDFs (default 20 files x 10 pages = 200 pages, bench_ingest's corpus),
then, in one run:
  * the baseline: ``h2otui ingest CORPUS --collection CliRun --json`` in a subprocess;
    its throughput is the summary's chunks_written / elapsed_s (pipeline time, the
    model load included, the interpreter start excluded);
  * the app: ``make_app`` run headless (Pilot, a scripted chat engine so no LLM
    loads), F4, the same folder queued on ``app.ingests`` into AppRun; throughput
    from the job's summary the same way;
  * while the app ingests, a key press (down / up in the collections table) every
    100 ms, timed from the press until the app has processed it: p50 / p95 / max.

Prints app / CLI throughput (target >= 0.95) and the key latency p95 (target < 20 ms).

    .venv/bin/python benchmarks/bench_collections_ingest.py [--files 20] [--pages 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]


def cli_run(corpus: Path, env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "h2otui", "ingest", str(corpus), "--collection", "CliRun", "--json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout)


async def app_run(corpus: Path) -> tuple[dict, list[float]]:
    from tui_fakes import ScriptedEngine, factory_for

    from h2otui.app import make_app
    from h2otui.config import load_settings

    app = make_app(load_settings(), engine_factory=factory_for(ScriptedEngine()))
    latencies: list[float] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        job = app.ingests.add("AppRun", [str(corpus)])
        keys = ("down", "up")
        while app.ingests.busy:
            t = time.perf_counter()
            await pilot.press(keys[len(latencies) % 2])
            latencies.append(time.perf_counter() - t)
            await asyncio.sleep(0.1)
        (done,) = [j for j in app.ingests.snapshot() if j.id == job.id]
        assert done.summary is not None, done.message
        return done.summary.to_dict(), latencies


def rate(summary: dict) -> float:
    return summary["chunks_written"] / summary["elapsed_s"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--pages", type=int, default=10)
    args = ap.parse_args()
    from bench_ingest import make_corpus

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "home"
        home.mkdir(mode=0o700)
        os.environ["H2OTUI_HOME"] = str(home)
        os.environ["HF_HUB_OFFLINE"] = "1"
        corpus = root / "corpus"
        corpus.mkdir()
        pages = make_corpus(corpus, args.files, args.pages)
        print(f"corpus: {args.files} PDFs, {pages} pages")
        cli = cli_run(corpus, dict(os.environ))
        print(f"h2otui ingest: {cli['chunks_written']} chunks in {cli['elapsed_s']:.1f}s "
              f"= {rate(cli):.1f} chunks/s")  # fmt: skip
        app, lat = asyncio.run(app_run(corpus))
        print(f"app ingest:    {app['chunks_written']} chunks in {app['elapsed_s']:.1f}s "
              f"= {rate(app):.1f} chunks/s")  # fmt: skip
        print(f"throughput ratio app / CLI: {rate(app) / rate(cli):.2f} (target >= 0.95)")
        if lat:
            ms = sorted(x * 1000 for x in lat)
            p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
            print(f"key latency while ingesting ({len(ms)} presses): p50 "
                  f"{statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms "
                  "(target p95 < 20 ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
