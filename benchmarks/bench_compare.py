"""Four models streaming at once into the compare screen: does the UI keep up?

Four paced fake engines (remote-type model entries, so all four stream at once) each
produce N tokens at R tokens/s into the real compare screen, in a headless Textual app
that renders every frame, at each terminal size asked for. Reported per size:

* render lag: from the last token of the last stream to the end of the first repaint
  that shows every column's whole answer (target < 100 ms);
* key latency: a key is sent every 100 ms during the streams; time from sending it to its
  binding running, p50 / p95 / max, against the same on the idle screen (target p95 < 10 ms);
* CPU time of the process during the streams, against draining the same four streams
  with no UI (the baseline, in the same run).

With ``--baseline REV`` the same measurement runs on the h2otui of git revision REV
(exported to a temporary folder) and on the working tree, in fresh processes,
interleaved (REV, tree, REV, tree, ...) so that a busy machine weighs on both alike;
it prints the medians of both and their ratios (tree / REV: below 1 is better).

Usage:
    .venv/bin/python benchmarks/bench_compare.py [--tokens 5000] [--rate 500]
        [--sizes 160x45,80x24] [--baseline REV] [--runs 3]
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
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: the h2otui to measure: the working tree, or an exported revision (``--baseline``)
CODE = os.environ.get("BENCH_COMPARE_CODE", str(REPO))
sys.path.insert(0, CODE)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tui_stream import make_engine, synthetic_answer  # noqa: E402

sys.path.insert(0, CODE)  # again: importing bench_tui_stream put the working tree first

MODELS = ("model-a", "model-b", "model-c", "model-d")


async def drain_without_ui(tokens: Sequence[str], rate: float) -> float:
    """CPU seconds to consume the same four paced streams with no UI at all."""
    from h2otui.engines.base import GenerationRequest, Message

    async def one() -> None:
        engine = make_engine(tokens, rate)
        async for _ in engine.stream(GenerationRequest([Message("user", "q")])):
            pass

    cpu = time.process_time()
    await asyncio.gather(*(one() for _ in MODELS))
    return time.process_time() - cpu


async def run_app(tokens: Sequence[str], rate: float, size: tuple[int, int]) -> dict[str, float]:
    from textual.binding import Binding
    from textual.events import Key

    from h2otui.app import H2oTuiApp
    from h2otui.config import load_settings
    from h2otui.screens.compare import CompareScreen
    from h2otui.widgets.chat_input import ChatInput

    engines = {m: make_engine(tokens, rate) for m in MODELS}
    pings: list[float] = []
    sent: list[float] = []

    class BenchApp(H2oTuiApp):
        BINDINGS = [  # noqa: RUF012
            *H2oTuiApp.BINDINGS,
            Binding("f12", "ping", show=False, priority=True),
        ]

        def action_ping(self) -> None:
            pings.append(time.perf_counter() - sent[len(pings)])

    models = [
        {"name": m, "inference_server": "http://127.0.0.1:9", "base_model": m} for m in MODELS
    ]
    settings = load_settings(
        overrides={"models": models, "default_model": MODELS[0], "compare": {"models": MODELS}}
    )
    app = BenchApp(settings, engine_factory=lambda entry, s: engines[entry.name])

    async def ping_once() -> float:
        before = len(pings)
        sent.append(time.perf_counter())
        app.post_message(Key("f12", None))
        while len(pings) == before:
            await asyncio.sleep(0.001)
        return pings[-1]

    expected = "".join(tokens)
    async with app.run_test(size=size) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        idle = [await ping_once() for _ in range(20)]
        pings.clear()
        sent.clear()

        def shows_everything() -> bool:
            return all(c.text == expected and not c.dirty for c in screen.columns())

        original_refresh = screen._compositor_refresh
        complete_paints: list[tuple[float, float]] = []

        def compositor_refresh() -> None:
            complete = not complete_paints and shows_everything()
            original_refresh()
            if complete:
                complete_paints.append((time.perf_counter(), time.process_time()))

        screen._compositor_refresh = compositor_refresh  # type: ignore[method-assign]
        screen.query_one(ChatInput).focus()
        cpu0 = time.process_time()
        # what Enter does (pilot.press would wait for the screen to go idle: the streams' end)
        await screen.ask("Write me a very long answer.")
        during: list[float] = []
        while not all(c.done for c in screen.columns()):
            await asyncio.sleep(0.1)
            if not all(c.done for c in screen.columns()):
                during.append(await ping_once())
        while not complete_paints:
            await pilot.pause()
        cpu = time.process_time() - cpu0
        rendered_at, rendered_cpu = complete_paints[0]
        last = max(engines.values(), key=lambda e: e.last_token_at)
        last_token, last_cpu = last.last_token_at, last.last_token_cpu
        states = {c.state for c in screen.columns()}
        if states != {"complete"}:
            raise SystemExit(f"not every answer completed: {states}")
    return {
        "lag_s": rendered_at - last_token,
        "lag_cpu_s": rendered_cpu - last_cpu,
        "cpu_s": cpu,
        "idle_key_p50": statistics.median(idle),
        "key_p50": statistics.median(during) if during else float("nan"),
        "key_p95": sorted(during)[int(0.95 * (len(during) - 1))] if during else float("nan"),
        "key_max": max(during) if during else float("nan"),
        "keys": len(during),
        "load": os.getloadavg()[0],
    }


def print_one(spec: str, r: dict[str, float], seconds: float, bare_cpu: float) -> None:
    ms = 1000.0
    print(f"\ncompare screen at {spec} (load average {r['load']:.1f} on {os.cpu_count()} CPUs)")
    print(f"  render lag after the last token : {r['lag_s'] * ms:8.1f} ms   (target < 100 ms)")
    print(
        f"    of which CPU work of this app   : {r['lag_cpu_s'] * ms:8.1f} ms   "
        "(the lag on an idle core)"
    )
    print(
        f"  key latency idle p50            : {r['idle_key_p50'] * ms:8.1f} ms\n"
        f"  key latency stream p50/p95/max  : {r['key_p50'] * ms:6.1f} / "
        f"{r['key_p95'] * ms:6.1f} / {r['key_max'] * ms:6.1f} ms  ({r['keys']} keys; "
        f"target p95 < 10 ms)"
    )
    print(
        f"  CPU time during the streams     : {r['cpu_s']:8.2f} s   "
        f"({r['cpu_s'] / seconds:.0%} of one core; four bare streams without UI "
        f"{bare_cpu:.2f} s = {r['cpu_s'] / max(bare_cpu, 1e-9):.1f}x)"
    )


def run_in_process(code: str, spec: str, tokens: int, rate: float) -> dict[str, float]:
    """One measurement (one size) in a fresh interpreter running the h2otui at ``code``."""
    env = dict(os.environ, BENCH_COMPARE_CODE=code, PYTHONPATH="")
    cmd = [sys.executable, __file__, "--one", spec, "--tokens", str(tokens), "--rate", str(rate)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"run at {code} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def export_revision(rev: str) -> str:
    """h2otui and config.toml of git revision ``rev``, in a temporary folder."""
    dest = tempfile.mkdtemp(prefix="h2otui-baseline-")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "h2otui", "config.toml"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return dest


def compare_revisions(args: argparse.Namespace, seconds: float) -> None:
    baseline = export_revision(args.baseline)
    rows = [
        ("render lag after the last token (ms)", "lag_s", 1000.0),
        ("  of which CPU work (ms)", "lag_cpu_s", 1000.0),
        ("key latency p50 while streaming (ms)", "key_p50", 1000.0),
        ("key latency p95 while streaming (ms)", "key_p95", 1000.0),
        ("key latency max while streaming (ms)", "key_max", 1000.0),
        ("CPU time during the streams (s)", "cpu_s", 1.0),
    ]
    for spec in args.sizes.split(","):
        runs: dict[str, list[dict[str, float]]] = {"base": [], "tree": []}
        for _ in range(args.runs):  # interleaved: a load spike hits both alike
            runs["base"].append(run_in_process(baseline, spec, args.tokens, args.rate))
            runs["tree"].append(run_in_process(str(REPO), spec, args.tokens, args.rate))
        loads = [r["load"] for rs in runs.values() for r in rs]
        print(
            f"\ncompare screen at {spec}: {args.baseline} vs working tree, median of "
            f"{args.runs} interleaved runs each (load average {min(loads):.1f}-{max(loads):.1f}"
            f" on {os.cpu_count()} CPUs)"
        )
        print(f"  {'':40} {args.baseline[:12]:>12} {'tree':>10} {'tree/base':>10}")
        for title, key, scale in rows:
            base = statistics.median(r[key] for r in runs["base"]) * scale
            tree = statistics.median(r[key] for r in runs["tree"]) * scale
            ratio = tree / base if base else float("nan")
            print(f"  {title:40} {base:12.1f} {tree:10.1f} {ratio:10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--sizes", default="160x45,80x24", help="terminal sizes, COLSxROWS,...")
    parser.add_argument("--baseline", help="git revision to compare the working tree with")
    parser.add_argument("--runs", type=int, default=3, help="runs of each, with --baseline")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # one size, JSON out (a child run)
    args = parser.parse_args()

    os.environ["H2OTUI_HOME"] = tempfile.mkdtemp(prefix="h2otui-bench-")
    os.environ["H2OTUI_USER_CONFIG"] = os.path.join(os.environ["H2OTUI_HOME"], "none.toml")
    tokens = synthetic_answer(args.tokens)
    seconds = len(tokens) / args.rate
    if args.one:
        import h2otui

        assert h2otui.__file__ and h2otui.__file__.startswith(CODE), h2otui.__file__
        os.chdir(CODE)  # its config.toml
        cols, _, rows = args.one.partition("x")
        r = asyncio.run(run_app(tokens, args.rate, (int(cols), int(rows))))
        print(json.dumps(r))
        return
    os.chdir(os.environ["H2OTUI_HOME"])
    print(
        f"4 streams x {len(tokens)} tokens at {args.rate:g} tokens/s = {seconds:.1f} s each, "
        f"all at once"
    )
    if args.baseline:
        compare_revisions(args, seconds)
        return
    bare_cpu = asyncio.run(drain_without_ui(tokens, args.rate))
    for spec in args.sizes.split(","):
        cols, _, rows = spec.partition("x")
        r = asyncio.run(run_app(tokens, args.rate, (int(cols), int(rows))))
        print_one(spec, r, seconds, bare_cpu)


if __name__ == "__main__":
    main()
