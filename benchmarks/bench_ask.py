"""h2otui's llama.cpp path vs llama-cpp-python called directly, in one run.

Prints, side by side on the same model, settings and prompt (greedy):
  * generation tokens/s and time to first token: the h2otui engine vs a bare
    ``Llama.create_completion(stream=True)`` loop (target ratio >= 0.95);
  * the same for ``h2otui ask --json`` as a user runs it (a whole process);
  * the wall time of ``h2otui --help`` next to a bare ``python -c pass`` (target < 0.15 s).

Runs alternate (A B A B ...) so machine noise hits both sides alike; medians are shown.

    .venv/bin/python benchmarks/bench_ask.py [--reps 5] [--tokens 128]
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

PROMPT = "Chapter 1\n\nThe old lighthouse keeper climbed the stairs, and"


def bench_direct(llm, tokens: int) -> tuple[float, float, int]:
    llm.reset()
    start = time.perf_counter()
    first = None
    n = 0
    for chunk in llm.create_completion(PROMPT, max_tokens=tokens, temperature=0.0, stream=True):
        if chunk["choices"][0].get("text"):
            n += 1
            if first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    assert first is not None
    return first - start, (n - 1) / (end - first), n


async def bench_engine(engine, tokens: int) -> tuple[float, float, int]:
    from h2otui.engines.base import GenerationRequest, SamplingParams, TextDelta

    req = GenerationRequest([], SamplingParams(max_new_tokens=tokens), prompt=PROMPT)
    start = time.perf_counter()
    first = None
    n = 0
    async for event in engine.stream(req):
        if isinstance(event, TextDelta):
            n += 1
            if first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    assert first is not None
    return first - start, (n - 1) / (end - first), n


def wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=128)
    args = ap.parse_args()

    home = os.environ.get("H2OTUI_HOME") or tempfile.mkdtemp(prefix="h2otui-bench-")
    os.environ["H2OTUI_HOME"] = home
    env = {**os.environ}

    from llama_cpp import Llama

    from h2otui.config import load_settings
    from h2otui.engines import create_engine

    settings = load_settings()
    entry = settings.model()
    engine = create_engine(entry, settings)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(engine.load())
    opts = engine.options  # type: ignore[attr-defined]
    llm = Llama(
        model_path=str(engine.model_path),  # type: ignore[attr-defined]
        n_ctx=opts.n_ctx,
        n_threads=engine._llm.n_threads,  # type: ignore[attr-defined]  # same as the engine
        n_threads_batch=engine._llm.n_threads_batch,  # type: ignore[attr-defined]
        n_batch=opts.n_batch,
        verbose=False,
    )
    # warm up both
    bench_direct(llm, 8)
    loop.run_until_complete(bench_engine(engine, 8))

    direct, ours = [], []
    for _ in range(args.reps):
        direct.append(bench_direct(llm, args.tokens))
        ours.append(loop.run_until_complete(bench_engine(engine, args.tokens)))

    cli_ttft, cli_tps = [], []
    for _ in range(max(2, args.reps // 2)):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "h2otui",
                "ask",
                "--json",
                "--max-new-tokens",
                str(args.tokens),
                PROMPT,
            ],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        t = json.loads(proc.stdout)["timings"]
        cli_ttft.append(t["time_to_first_token_s"])
        cli_tps.append(t["tokens_per_s"])

    help_walls = [wall([sys.executable, "-m", "h2otui", "--help"], env) for _ in range(10)]
    h2otui_bin = os.path.join(os.path.dirname(sys.executable), "h2otui")
    script_walls = (
        [wall([h2otui_bin, "--help"], env) for _ in range(10)] if os.path.exists(h2otui_bin) else []
    )
    bare = [wall([sys.executable, "-c", "pass"], env) for _ in range(10)]

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    d_tps, o_tps = med(direct, 1), med(ours, 1)
    print(
        f"model: {entry.name} ({engine.model_path.name}), {args.tokens} new tokens, greedy, {args.reps} reps"
    )  # type: ignore[attr-defined]
    print(f"{'':28}{'tokens/s':>10}{'TTFT ms':>10}{'tokens':>8}")
    print(
        f"{'llama-cpp-python direct':28}{d_tps:10.1f}{med(direct, 0) * 1000:10.1f}{med(direct, 2):8.0f}"
    )
    print(f"{'h2otui engine':28}{o_tps:10.1f}{med(ours, 0) * 1000:10.1f}{med(ours, 2):8.0f}")
    print(
        f"{'h2otui ask --json (process)':28}{statistics.median(cli_tps):10.1f}{statistics.median(cli_ttft) * 1000:10.1f}"
    )
    print(f"ratio h2otui/direct tokens/s: {o_tps / d_tps:.3f}  (target >= 0.95)")
    print(f"`python -m h2otui --help` wall: median {statistics.median(help_walls) * 1000:.0f} ms")
    if script_walls:
        print(
            f"`h2otui --help` wall:           median {statistics.median(script_walls) * 1000:.0f} ms  (target < 150 ms)"
        )
    print(
        f"`python -c pass` wall:          median {statistics.median(bare) * 1000:.0f} ms  (interpreter baseline)"
    )
    loop.run_until_complete(engine.aclose())


if __name__ == "__main__":
    main()
