"""Ingest from the app (the collections screen's background queue) vs ``h2otui ingest`` on
the same PDFs, and how fast the app answers keys while it ingests. Not a test.

Generates text PDFs (default 10 files x 20 pages = 200 pages, the issue's size), then
runs, interleaved (CLI, app, app, CLI, CLI, app, ...: the machine may be shared, so
neither side gets the quiet moments), ``--rounds`` times each:
  * the baseline: ``h2otui ingest CORPUS --collection CliRunN --json`` in a subprocess;
    its throughput is the summary's chunks_written / elapsed_s (pipeline time, the
    model load included, the interpreter start excluded);
  * the app: ``make_app`` run headless (Pilot, a scripted chat engine so no LLM
    loads), F4, the same folder queued on ``app.ingests`` into AppRunN (the queue runs
    it in a child process); throughput from the job's summary the same way;
  * before the app ingests, 20 key presses (down / up in the collections table), and
    while it ingests, one every 100 ms, each timed from the press until the app has
    processed it (Pilot waits until the app is idle): p50 / p95 / max.

Prints app / CLI throughput (median of the runs; target >= 0.95) and the key latency
p95 while ingesting (target < 20 ms), next to the idle latency.

    .venv/bin/python benchmarks/bench_collections_ingest.py [--files 10] [--pages 20] [--rounds 2]
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


def cli_run(corpus: Path, env: dict[str, str], name: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "h2otui", "ingest", str(corpus), "--collection", name, "--json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout)


async def app_run(corpus: Path, name: str) -> tuple[dict, list[float], list[float]]:
    from tui_fakes import ScriptedEngine, factory_for

    from h2otui.app import make_app
    from h2otui.config import load_settings

    app = make_app(load_settings(), engine_factory=factory_for(ScriptedEngine()))
    idle: list[float] = []
    latencies: list[float] = []
    keys = ("down", "up")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        for i in range(20):
            t = time.perf_counter()
            await pilot.press(keys[i % 2])
            idle.append(time.perf_counter() - t)
        job = app.ingests.add(name, [str(corpus)])
        while app.ingests.busy:
            t = time.perf_counter()
            await pilot.press(keys[len(latencies) % 2])
            latencies.append(time.perf_counter() - t)
            await asyncio.sleep(0.1)
        (done,) = [j for j in app.ingests.snapshot() if j.id == job.id]
        assert done.summary is not None, done.message
        return done.summary.to_dict(), idle, latencies


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's waited-for children and theirs."""
    import resource

    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def rate(summary: dict) -> float:
    return summary["chunks_written"] / summary["elapsed_s"]


def stats(seconds: list[float]) -> str:
    ms = sorted(x * 1000 for x in seconds)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return (f"{len(ms)} presses: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, "
            f"max {ms[-1]:.1f} ms")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--nice", default="0",
                    help="the app's ingest child's niceness; a comma list runs one app side "
                         "per value (e.g. 0,5)")  # fmt: skip
    args = ap.parse_args()
    nices = [int(n) for n in args.nice.split(",")]
    from bench_ingest import make_corpus

    from h2otui.ingest.child import NICE_ENV

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "home"
        home.mkdir(mode=0o700)
        os.environ["H2OTUI_HOME"] = str(home)
        os.environ["HF_HUB_OFFLINE"] = "1"
        corpus = root / "corpus"
        corpus.mkdir()
        pages = make_corpus(corpus, args.files, args.pages)
        print(f"corpus: {args.files} PDFs, {pages} pages; {args.rounds} rounds, interleaved")
        cpu: dict[int | None, list[float]] = {n: [] for n in [None, *nices]}
        cli_rates: list[float] = []
        app_rates: dict[int, list[float]] = {n: [] for n in nices}
        idle: list[float] = []
        busy: dict[int, list[float]] = {n: [] for n in nices}
        sides: list[int | None] = [None, *nices]  # None: the CLI

        def run_side(nice: int | None, r: int) -> None:
            if nice is None:
                cli = cli_run(corpus, dict(os.environ), f"CliRun{r}")
                cli_rates.append(rate(cli))
                print(f"  h2otui ingest: {cli['chunks_written']} chunks in "
                      f"{cli['elapsed_s']:.1f}s = {rate(cli):.1f} chunks/s")  # fmt: skip
            else:
                os.environ[NICE_ENV] = str(nice)
                app, idle_lat, lat = asyncio.run(app_run(corpus, f"AppRun{r}n{nice}"))
                app_rates[nice].append(rate(app))
                idle.extend(idle_lat)
                busy[nice].extend(lat)
                print(f"  app ingest (child nice {nice}): {app['chunks_written']} chunks "
                      f"in {app['elapsed_s']:.1f}s = {rate(app):.1f} chunks/s")  # fmt: skip

        for r in range(args.rounds):
            shift = r % len(sides)
            order = sides[shift:] + sides[:shift]
            if r % 2:
                order.reverse()
            for nice in order:
                before = children_cpu()
                run_side(nice, r)
                cpu[nice].append(children_cpu() - before)
        load = os.getloadavg()[0]
        print(f"machine load average now {load:.1f} on {os.cpu_count()} CPUs (a shared machine "
              "slows keys even when idle: compare with the idle line)")  # fmt: skip
        print(f"key latency idle:            {stats(idle)}")
        for nice in nices:
            ratio = statistics.median(app_rates[nice]) / statistics.median(cli_rates)
            pairs = [a / c for a, c in zip(app_rates[nice], cli_rates, strict=True)]
            print(f"child nice {nice}: throughput ratio app / CLI {ratio:.2f} (medians; per "
                  f"round {', '.join(f'{x:.2f}' for x in pairs)}; target >= 0.95)")  # fmt: skip
            if busy[nice]:
                print(f"  key latency while ingesting: {stats(busy[nice])} (target p95 < 20 ms)")
            # CPU seconds spent by the ingest processes (the CLI and its parsers, or the
            # app's child and its parsers): independent of how loaded the machine is
            cpu_ratio = statistics.median(cpu[None]) / statistics.median(cpu[nice])
            print(f"  CPU efficiency app child / CLI {cpu_ratio:.2f} (CPU s per run: CLI "
                  f"{statistics.median(cpu[None]):.0f}, app child "
                  f"{statistics.median(cpu[nice]):.0f}; > 1: the child needs less)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
