"""Stream a long answer into the chat screen and measure how well the UI keeps up.

A paced fake engine produces a synthetic Markdown answer (paragraphs, lists, code blocks,
tables) of N tokens at R tokens/s into the real chat screen, in a headless Textual app
that renders every frame. Reported:

* render lag: time from the last token produced to the end of the first repaint that shows
  it: the first paint to start once every token is in a Markdown widget and no update is
  still mounting blocks (target < 100 ms);
* schedule slip: how late the engine got to its last token (the UI shares the event loop,
  so a UI that cannot keep up slows the producer down);
* key latency: a key is sent every 100 ms during the stream; time from sending it to its
  binding running, vs the same measured on the idle app (the baseline);
* CPU time of the process during the stream, vs draining the same stream with no UI;
* optionally (--naive) the same stream appended token by token with Markdown.append into
  one widget: the baseline the chat screen's batching, chunking and folding replace.

Usage:
    .venv/bin/python benchmarks/bench_tui_stream.py [--tokens 20000] [--rate 500] [--naive]
        [--size 120x40] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = [
    "the",
    "model",
    "streams",
    "tokens",
    "into",
    "a",
    "markdown",
    "view",
    "while",
    "the",
    "user",
    "keeps",
    "typing",
    "and",
    "the",
    "screen",
    "stays",
    "smooth",
    "because",
    "fragments",
    "are",
    "batched",
    "before",
    "each",
    "render",
    "pass",
]


def synthetic_answer(n_tokens: int) -> list[str]:
    """Markdown-shaped tokens: ~1 word each, with headings, lists, code and tables."""
    tokens: list[str] = []
    i = 0
    section = 0
    while len(tokens) < n_tokens:
        section += 1
        tokens.append(f"\n\n## Section {section}\n\n")
        for _ in range(60):  # a paragraph
            tokens.append(WORDS[i % len(WORDS)] + " ")
            i += 1
        tokens.append("\n\n")
        for k in range(5):  # a list
            tokens.append(f"- item {k} ")
            for _ in range(6):
                tokens.append(WORDS[i % len(WORDS)] + " ")
                i += 1
            tokens.append("\n")
        tokens.append("\n```python\n")
        for k in range(6):  # a code block
            tokens += [f"value_{k}", " = ", f"compute({k})", "\n"]
        tokens.append("```\n\n| a | b |\n|---|---|\n")
        for k in range(4):
            tokens += [f"| {k} ", f"| {k * k} |\n"]
    return tokens[:n_tokens]


def make_engine(tokens: Sequence[str], rate: float):  # type: ignore[no-untyped-def]
    from h2otui.engines.base import (
        Engine,
        Event,
        Finished,
        FinishReason,
        GenerationRequest,
        Message,
        StopWatch,
        TextDelta,
    )

    class PacedEngine(Engine):
        """Yields tokens on a fixed schedule: token i is due at start + i / rate."""

        engine_name = "paced"

        def __init__(self) -> None:
            self.model_name = "paced"
            self.started_at = 0.0
            self.last_token_at = 0.0
            self.last_token_cpu = 0.0

        @classmethod
        def from_entry(cls, entry, settings):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        async def stream(self, request: GenerationRequest) -> AsyncIterator[Event]:
            watch = StopWatch()
            start = self.started_at = time.perf_counter()
            i = 0
            n = len(tokens)
            while i < n:
                now = time.perf_counter()
                due = min(n, int((now - start) * rate) + 1)
                while i < due:
                    watch.mark_token()
                    yield TextDelta(tokens[i])
                    i += 1
                self.last_token_at = time.perf_counter()
                self.last_token_cpu = time.process_time()
                if i < n:
                    await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            yield watch.usage(10, n)
            yield Finished(FinishReason.STOP)

        def count_tokens(self, text: str) -> int:
            return len(text.split())

        def render_prompt(self, messages: Sequence[Message]) -> str:
            return "\n".join(m.content for m in messages)

        @property
        def context_length(self) -> int:
            return 1_000_000

    return PacedEngine()


async def drain_without_ui(tokens: Sequence[str], rate: float) -> float:
    """CPU seconds to consume the same paced stream with no UI at all."""
    from h2otui.engines.base import GenerationRequest, Message

    engine = make_engine(tokens, rate)
    cpu = time.process_time()
    async for _ in engine.stream(GenerationRequest([Message("user", "q")])):
        pass
    return time.process_time() - cpu


async def run_app(
    tokens: Sequence[str], rate: float, *, naive: bool, size: tuple[int, int] = (120, 40)
) -> dict[str, float]:
    from textual.await_complete import AwaitComplete
    from textual.binding import Binding
    from textual.events import Key
    from textual.widgets import Markdown

    from h2otui.app import H2oTuiApp
    from h2otui.config import load_settings
    from h2otui.widgets.chat_input import ChatInput
    from h2otui.widgets.chat_view import AssistantMessage

    engine = make_engine(tokens, rate)
    pings: list[float] = []
    sent: list[float] = []

    class BenchApp(H2oTuiApp):
        BINDINGS = [  # noqa: RUF012
            *H2oTuiApp.BINDINGS,
            Binding("f12", "ping", show=False, priority=True),
        ]

        def action_ping(self) -> None:
            pings.append(time.perf_counter() - sent[len(pings)])

    if naive:

        async def write(self: AssistantMessage, fragment: str) -> None:
            self._parts.append(fragment)
            await self.query_one(Markdown).append(fragment)

        AssistantMessage.write = write  # type: ignore[method-assign]

    settings = load_settings(overrides={"ui": {"save_chats": True}})
    app = BenchApp(settings, engine_factory=lambda entry, s: engine)

    async def ping_once() -> float:
        before = len(pings)
        sent.append(time.perf_counter())
        app.post_message(Key("f12", None))
        while len(pings) == before:
            await asyncio.sleep(0.001)
        return pings[-1]

    async with app.run_test(size=size) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        idle = [await ping_once() for _ in range(20)]
        pings.clear()
        sent.clear()

        box = app.query_one(ChatInput)
        box.text = "Write me a very long answer."
        screen = app.screen

        # A frame shows the whole answer when, as its paint starts, every token has been
        # handed to a Markdown widget (its source), every Markdown widget has started
        # rendering its initial text, and no update or append is still mounting blocks.
        expected = "".join(tokens)
        busy = [0]
        originals = {name: getattr(Markdown, name) for name in ("append", "update")}

        def counted(name: str):  # type: ignore[no-untyped-def]
            def method(self: Markdown, markdown: str) -> AwaitComplete:
                busy[0] += 1
                pending = originals[name](self, markdown)

                async def run() -> None:
                    try:
                        await pending
                    finally:
                        busy[0] -= 1

                return AwaitComplete(run())

            return method

        for name in originals:
            setattr(Markdown, name, counted(name))

        def shows_everything() -> bool:
            answers = app.query(AssistantMessage)
            if busy[0] or not answers:
                return False
            answer = answers.last()
            return answer.rendered_source == expected and all(
                md._initial_markdown is None for md in answer.query(Markdown)
            )

        original_refresh = screen._compositor_refresh
        complete_paints: list[tuple[float, float]] = []
        paints = [0]

        def compositor_refresh() -> None:
            complete = not complete_paints and shows_everything()
            original_refresh()
            paints[0] += 1
            if complete:
                complete_paints.append((time.perf_counter(), time.process_time()))

        screen._compositor_refresh = compositor_refresh  # type: ignore[method-assign]

        cpu0 = time.process_time()
        await pilot.press("enter")
        worker = screen._generation  # type: ignore[attr-defined]
        done = asyncio.ensure_future(worker.wait())
        during: list[float] = []
        while not done.done():
            await asyncio.wait({done}, timeout=0.1)
            if not done.done():
                during.append(await ping_once())
        await done
        while not complete_paints:  # the frame with the final text
            await pilot.pause()
        cpu = time.process_time() - cpu0
        for name, method in originals.items():
            setattr(Markdown, name, method)
        rendered_at, rendered_cpu = complete_paints[0]
        if os.environ.get("BENCH_DEBUG"):
            print("paints", paints[0])
        answer = app.query(AssistantMessage).last()
        shown = answer.rendered_source
        if shown != expected:
            raise SystemExit(
                f"rendered text differs from the stream ({len(shown)} vs {len(expected)} chars)"
            )
        schedule_end = engine.started_at + (len(tokens) - 1) / rate
    return {
        "lag_s": rendered_at - engine.last_token_at,
        "lag_cpu_s": rendered_cpu - engine.last_token_cpu,
        "load": os.getloadavg()[0],
        "slip_s": engine.last_token_at - schedule_end,
        "cpu_s": cpu,
        "idle_key_p50": statistics.median(idle),
        "idle_key_max": max(idle),
        "key_p50": statistics.median(during) if during else float("nan"),
        "key_p95": sorted(during)[int(0.95 * (len(during) - 1))] if during else float("nan"),
        "key_max": max(during) if during else float("nan"),
        "keys": len(during),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--naive", action="store_true", help="also run the token-by-token baseline")
    parser.add_argument("--size", default="120x40", help="terminal size, COLSxROWS")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="stream the answer this many times; the lag is reported per run and as a median "
        "(it depends on what the UI is doing when the last token arrives)",
    )
    args = parser.parse_args()

    os.environ["H2OTUI_HOME"] = tempfile.mkdtemp(prefix="h2otui-bench-")
    os.environ["H2OTUI_USER_CONFIG"] = os.path.join(os.environ["H2OTUI_HOME"], "none.toml")
    os.chdir(os.environ["H2OTUI_HOME"])
    cols, _, rows = args.size.partition("x")
    size = (int(cols), int(rows))
    tokens = synthetic_answer(args.tokens)
    chars = sum(len(t) for t in tokens)
    print(
        f"stream: {len(tokens)} tokens ({chars} chars) at {args.rate:g} tokens/s "
        f"= {len(tokens) / args.rate:.1f} s, terminal {args.size}"
    )

    bare_cpu = asyncio.run(drain_without_ui(tokens, args.rate))
    runs = [
        asyncio.run(run_app(tokens, args.rate, naive=False, size=size)) for _ in range(args.runs)
    ]
    r = dict(runs[0])
    if len(runs) > 1:
        for key in ("lag_s", "lag_cpu_s", "slip_s", "cpu_s", "key_p50", "key_p95"):
            r[key] = statistics.median(run[key] for run in runs)
        r["key_max"] = max(run["key_max"] for run in runs)
        r["keys"] = sum(run["keys"] for run in runs)
    ms = 1000.0
    if len(runs) > 1:
        lags = ", ".join(f"{run['lag_s'] * ms:.0f}" for run in runs)
        print(f"\n{len(runs)} runs; render lag per run (ms): {lags}; medians below")
    print("\nchat screen (Markdown.append fed every 0.1 s+, chunked, off-screen chunks folded)")
    print(f"  render lag after the last token : {r['lag_s'] * ms:8.1f} ms   (target < 100 ms)")
    print(
        f"    of which CPU work of this app   : {r['lag_cpu_s'] * ms:8.1f} ms   "
        f"(the lag on an idle core; load average now {r['load']:.1f} on {os.cpu_count()} CPUs)"
    )
    print(f"  producer slip at the last token : {r['slip_s'] * ms:8.1f} ms")
    print(
        f"  key latency idle   p50 / max    : {r['idle_key_p50'] * ms:6.1f} / {r['idle_key_max'] * ms:6.1f} ms"
    )
    print(
        f"  key latency stream p50/p95/max  : {r['key_p50'] * ms:6.1f} / {r['key_p95'] * ms:6.1f} / "
        f"{r['key_max'] * ms:6.1f} ms  ({r['keys']} keys)  = {r['key_p50'] / r['idle_key_p50']:.1f}x idle p50"
    )
    print(
        f"  CPU time during the stream      : {r['cpu_s']:8.2f} s   "
        f"({r['cpu_s'] / (len(tokens) / args.rate):.0%} of one core; "
        f"bare stream without UI {bare_cpu:.2f} s = {r['cpu_s'] / max(bare_cpu, 1e-9):.1f}x)"
    )
    if args.naive:
        n = asyncio.run(run_app(tokens, args.rate, naive=True, size=size))
        print("\nbaseline: Markdown.append per token into one widget (no batching, no chunks)")
        print(
            f"  render lag after the last token : {n['lag_s'] * ms:8.1f} ms   "
            f"({n['lag_s'] / max(r['lag_s'], 1e-9):.1f}x the chat screen)"
        )
        print(f"    of which CPU work of this app   : {n['lag_cpu_s'] * ms:8.1f} ms")
        print(f"  producer slip at the last token : {n['slip_s'] * ms:8.1f} ms")
        print(
            f"  key latency stream p50/p95/max  : {n['key_p50'] * ms:6.1f} / {n['key_p95'] * ms:6.1f} / "
            f"{n['key_max'] * ms:6.1f} ms"
        )
        print(
            f"  CPU time during the stream      : {n['cpu_s']:8.2f} s   "
            f"({n['cpu_s'] / max(r['cpu_s'], 1e-9):.1f}x the chat screen)"
        )


if __name__ == "__main__":
    main()
