"""h2otui's OpenAI-compatible engine vs the ``openai`` SDK called directly, in one run.

Against llama-cpp-python's own server on loopback (serving the embedded Gemma 3 270M),
with the same request on both sides (completions, greedy, same prompt and max_tokens):

  * time to first token and generation tokens/s, one request at a time -- the h2otui
    engine (``vllm:host:port``, failover / retry / stop-scanning layer included) vs a bare
    ``AsyncOpenAI().completions.create(stream=True)`` loop; target ratio >= 0.95;
  * 8 concurrent requests (8 ``ask``-style generations at once through one engine vs 8
    SDK streams at once): wall time, aggregate tokens/s and mean time to first token.
    llama-cpp-python's server runs one request at a time (queued, not interrupted), so
    this measures h2otui's overhead under concurrency, not server parallelism.

Runs alternate (A B A B ...) so machine noise hits both sides alike; medians are shown,
with the best run of each side and the client process's CPU time per answer (the server
is a separate process, so that figure is the client's own cost, robust to other load).

    .venv/bin/python benchmarks/bench_remote.py [--reps 5] [--tokens 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROMPT = "Chapter 1\n\nThe old lighthouse keeper climbed the stairs, and"


async def direct_once(client, model: str, tokens: int) -> tuple[float, float, int, float]:
    cpu = time.process_time()
    start = time.perf_counter()
    first = None
    n = 0
    stream = await client.completions.create(
        model=model, prompt=PROMPT, max_tokens=tokens, temperature=0.0, stream=True
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].text:
            n += 1
            if first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    assert first is not None
    cpu_ms = (time.process_time() - cpu) * 1000
    return first - start, (n - 1) / (end - first) if n > 1 else 0.0, n, cpu_ms


async def h2otui_once(engine, tokens: int) -> tuple[float, float, int, float]:
    from h2otui.engines.base import GenerationRequest, Message, SamplingParams, TextDelta

    request = GenerationRequest(
        [Message("user", "unused")], SamplingParams(max_new_tokens=tokens), prompt=PROMPT
    )
    cpu = time.process_time()
    start = time.perf_counter()
    first = None
    n = 0
    async for event in engine.stream(request):
        if isinstance(event, TextDelta):
            n += 1
            if first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    assert first is not None
    cpu_ms = (time.process_time() - cpu) * 1000
    return first - start, (n - 1) / (end - first) if n > 1 else 0.0, n, cpu_ms


async def concurrent(run_one, k: int) -> tuple[float, float, float, float]:
    cpu = time.process_time()
    start = time.perf_counter()
    results = await asyncio.gather(*(run_one() for _ in range(k)))
    wall = time.perf_counter() - start
    total_tokens = sum(r[2] for r in results)
    cpu_ms = (time.process_time() - cpu) * 1000
    return wall, total_tokens / wall, statistics.mean(r[0] for r in results), cpu_ms


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--concurrent-reps", type=int, default=2)
    args = parser.parse_args()

    from openai import AsyncOpenAI

    from h2otui.config import load_settings
    from h2otui.engines import create_engine
    from tests.servers.llama_server import LlamaServer, embedded_model_path

    models_dir = Path(tempfile.gettempdir()) / "h2otui-bench-models"
    models_dir.mkdir(exist_ok=True)
    server = LlamaServer(
        embedded_model_path(models_dir),
        n_ctx=2048,
        n_threads=args.threads,
        interrupt_requests=False,  # queue concurrent requests instead of cutting them short
    )
    server.start()
    try:
        host = server.url.removeprefix("http://")
        settings = load_settings(
            overrides={
                "models": [
                    {"name": "bench", "inference_server": f"vllm:{host}", "prompt_type": "plain"}
                ]
            }
        )
        engine = create_engine(settings.model("bench"), settings)
        await engine.load()
        client = AsyncOpenAI(base_url=server.url + "/v1", api_key="EMPTY", max_retries=0)
        model = engine.served_model

        # warm up both paths (connections, server caches)
        await direct_once(client, model, 4)
        await h2otui_once(engine, 4)

        single: dict[str, list[tuple[float, float, int, float]]] = {"sdk": [], "h2otui": []}
        for _ in range(args.reps):
            single["sdk"].append(await direct_once(client, model, args.tokens))
            single["h2otui"].append(await h2otui_once(engine, args.tokens))

        conc: dict[str, list[tuple[float, float, float, float]]] = {"sdk": [], "h2otui": []}
        k = args.concurrency
        for _ in range(args.concurrent_reps):
            conc["sdk"].append(await concurrent(lambda: direct_once(client, model, args.tokens), k))
            conc["h2otui"].append(await concurrent(lambda: h2otui_once(engine, args.tokens), k))
        await engine.aclose()
        await client.close()
    finally:
        server.stop()

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    print(f"llama-cpp-python server, embedded Gemma 3 270M, {args.tokens} tokens, greedy, "
          f"{args.reps} reps, {args.threads} threads")  # fmt: skip
    print(f"{'':28}{'openai SDK':>14}{'h2otui':>14}{'ratio':>10}")
    ttft_s, ttft_h = med(single["sdk"], 0), med(single["h2otui"], 0)
    tps_s, tps_h = med(single["sdk"], 1), med(single["h2otui"], 1)

    def best(rows, i, fn):
        return fn(r[i] for r in rows)

    ttft_s, ttft_h = med(single["sdk"], 0), med(single["h2otui"], 0)
    tps_s, tps_h = med(single["sdk"], 1), med(single["h2otui"], 1)
    bttft_s, bttft_h = best(single["sdk"], 0, min), best(single["h2otui"], 0, min)
    btps_s, btps_h = best(single["sdk"], 1, max), best(single["h2otui"], 1, max)
    cpu_s, cpu_h = med(single["sdk"], 3), med(single["h2otui"], 3)
    print(f"{'time to first token (s)':28}{ttft_s:>14.4f}{ttft_h:>14.4f}{ttft_s / ttft_h:>10.3f}")
    print(f"{'  best of the runs':28}{bttft_s:>14.4f}{bttft_h:>14.4f}{bttft_s / bttft_h:>10.3f}")
    print(f"{'generation tokens/s':28}{tps_s:>14.2f}{tps_h:>14.2f}{tps_h / tps_s:>10.3f}")
    print(f"{'  best of the runs':28}{btps_s:>14.2f}{btps_h:>14.2f}{btps_h / btps_s:>10.3f}")
    print(f"{'client CPU per answer (ms)':28}{cpu_s:>14.1f}{cpu_h:>14.1f}{cpu_s / cpu_h:>10.3f}")
    print(
        f"{'tokens per answer':28}{med(single['sdk'], 2):>14.0f}{med(single['h2otui'], 2):>14.0f}"
    )
    wall_s, wall_h = med(conc["sdk"], 0), med(conc["h2otui"], 0)
    agg_s, agg_h = med(conc["sdk"], 1), med(conc["h2otui"], 1)
    mttft_s, mttft_h = med(conc["sdk"], 2), med(conc["h2otui"], 2)
    ccpu_s, ccpu_h = med(conc["sdk"], 3), med(conc["h2otui"], 3)
    print(f"{k} concurrent requests:")
    print(f"{'  wall time (s)':28}{wall_s:>14.3f}{wall_h:>14.3f}{wall_s / wall_h:>10.3f}")
    print(f"{'  aggregate tokens/s':28}{agg_s:>14.2f}{agg_h:>14.2f}{agg_h / agg_s:>10.3f}")
    print(
        f"{'  mean first token (s)':28}{mttft_s:>14.3f}{mttft_h:>14.3f}{mttft_s / mttft_h:>10.3f}"
    )
    print(f"{'  client CPU (ms)':28}{ccpu_s:>14.1f}{ccpu_h:>14.1f}{ccpu_s / ccpu_h:>10.3f}")
    print(
        "client CPU is this process's CPU time (the server is another process): the cost of\n"
        "each client, least affected by other load on the machine."
    )
    print("ratios: >= 1 means h2otui is as fast or faster (target >= 0.95)")


if __name__ == "__main__":
    asyncio.run(main())
