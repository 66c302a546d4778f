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

Usage:
    .venv/bin/python benchmarks/bench_compare.py [--tokens 5000] [--rate 500]
        [--sizes 160x45,80x24]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tui_stream import make_engine, synthetic_answer

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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--sizes", default="160x45,80x24", help="terminal sizes, COLSxROWS,...")
    args = parser.parse_args()

    os.environ["H2OTUI_HOME"] = tempfile.mkdtemp(prefix="h2otui-bench-")
    os.environ["H2OTUI_USER_CONFIG"] = os.path.join(os.environ["H2OTUI_HOME"], "none.toml")
    os.chdir(os.environ["H2OTUI_HOME"])
    tokens = synthetic_answer(args.tokens)
    seconds = len(tokens) / args.rate
    print(
        f"4 streams x {len(tokens)} tokens at {args.rate:g} tokens/s = {seconds:.1f} s each, "
        f"all at once"
    )
    bare_cpu = asyncio.run(drain_without_ui(tokens, args.rate))
    ms = 1000.0
    for spec in args.sizes.split(","):
        cols, _, rows = spec.partition("x")
        r = asyncio.run(run_app(tokens, args.rate, (int(cols), int(rows))))
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


if __name__ == "__main__":
    main()
