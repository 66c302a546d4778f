"""Hostile and huge inputs through ``h2otui ingest``, one real CLI process each: the
table of issue 12 (input, outcome, peak memory, time).

Each input is ingested into a fresh data dir by ``python -m h2otui ingest --json``; the
row gives the outcome (the file's status and reason from the JSON summary, or the exit
code), the peak RSS of the whole run (``ru_maxrss`` of the CLI process and its parser
workers, read by a small wrapper process that runs nothing else) and the wall time. The
first row is a baseline: one small good text file, so every other row reads as a ratio
against the cost of an ingest that does nothing special (model load included).

Sizes are chosen to run in minutes on a small machine; ``--big`` uses the sizes the
issue reported (a 300 MB docx bomb, a 200 MB one-line text file, a 2 GB sparse file).

    .venv/bin/python benchmarks/bench_hostile_inputs.py [--big] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from hostile_files import bomb_docx, controls_past_64k, one_line_text  # noqa: E402

#: runs ``argv[2:]`` with its stdout in the file ``argv[1]``, then prints its exit code and
#: the peak RSS (KB) of it and of every process it waited for (the parser workers)
WRAPPER = (
    "import resource, subprocess, sys; "
    "rc = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], 'w'), "
    "stderr=subprocess.DEVNULL).returncode; "
    "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _nested_html(path: Path, depth: int) -> Path:
    path.write_text("<html><body>" + "<div>" * depth + "deep text" + "</div>" * depth)
    return path


def _scanned_pdf(path: Path, pages: int) -> Path:
    from ingest_corpus import make_pdf

    return make_pdf(path, [], scanned=[f"scanned page {i}" for i in range(pages)])


def _text_pdf(path: Path, pages: int) -> Path:
    import pymupdf

    doc = pymupdf.open()
    for i in range(pages):
        doc.new_page().insert_text((72, 72), f"Page {i} of a very long report about herons.")
    doc.save(str(path))
    doc.close()
    return path


def _sparse(path: Path, gb: float) -> Path:
    with path.open("wb") as fh:
        fh.truncate(int(gb * 1024**3))
    return path


def cases(big: bool) -> list[tuple[str, str, Callable[[Path], Path], dict[str, str]]]:
    """(name, what it is, maker, extra environment) for each input."""
    bomb_mb = 300 if big else 60
    line_mb = 200 if big else 60
    sparse_gb = 2.0 if big else 1.0
    return [
        ("baseline", "one small good text file",
         lambda d: _write(d / "good.txt", "The walrus budget was approved."), {}),
        ("docx-bomb", f"docx unpacking to {bomb_mb} MB (guards on)",
         lambda d: bomb_docx(d / "bomb.docx", bomb_mb), {}),
        # the memory cap alone: python-docx's tree of the XML needs more than 512 MB
        # (with 1024 it fits at ~900 MB, and the ~45,000 junk chunks then take long to embed)
        ("docx-bomb-unguarded", "same, zip guards off, max_worker_mb = 512",
         lambda d: bomb_docx(d / "bomb.docx", bomb_mb),
         {"H2OTUI_INGEST__MAX_UNPACK_RATIO": "1e9", "H2OTUI_INGEST__MAX_UNPACKED_MB": "1e6",
          "H2OTUI_INGEST__MAX_WORKER_MB": "512", "H2OTUI_INGEST__MAX_TEXT_MB": "8"}),
        ("one-line-text", f"{line_mb} MB text on one line (max_text_mb = 32)",
         lambda d: one_line_text(d / "line.txt", line_mb), {}),
        ("big-text-indexed", "1 MB text on one line, fully indexed",
         lambda d: one_line_text(d / "one.txt", 1), {}),
        ("sparse", f"{sparse_gb:g} GB sparse file named .txt",
         lambda d: _sparse(d / "sparse.txt", sparse_gb), {}),
        ("controls", "NUL / ESC / C1 past the first 64 KB",
         lambda d: controls_past_64k(d / "controls.txt"), {}),
        ("nested-html", "HTML nested 100,000 divs deep",
         lambda d: _nested_html(d / "deep.html", 100_000), {}),
        ("text-pdf", "PDF of 400 text pages",
         lambda d: _text_pdf(d / "long.pdf", 400), {}),
        ("scanned-pdf", "scanned PDF, 12 pages (ocr_max_pages = 4)",
         lambda d: _scanned_pdf(d / "scan.pdf", 12), {"H2OTUI_INGEST__OCR_MAX_PAGES": "4"}),
        ("stuck-parser", "a parser that never returns (test hook), max_seconds_per_file = 5",
         lambda d: _write(d / "stuck-here.txt", "stuck"),
         {"_H2OTUI_TEST_HANG_ON": "stuck-here", "H2OTUI_INGEST__MAX_SECONDS_PER_FILE": "5"}),
    ]  # fmt: skip


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def run_case(work: Path, maker: Callable[[Path], Path], extra: dict[str, str]) -> dict:
    inputs = work / "in"
    inputs.mkdir()
    path = maker(inputs)
    size = path.stat().st_size
    env = {k: v for k, v in os.environ.items() if not k.startswith("H2OTUI_")}
    env.update({"H2OTUI_HOME": str(work / "home"), "PYTHONPATH": str(REPO),
                "H2OTUI_USER_CONFIG": str(work / "none.toml"), **extra})  # fmt: skip
    home_models = Path(os.environ.get("H2OTUI_HOME", "")) / "models"
    (work / "home").mkdir(mode=0o700)
    if home_models.is_dir():  # reuse assembled models rather than assembling again
        (work / "home" / "models").symlink_to(home_models)
    out = work / "summary.json"
    argv = [sys.executable, "-m", "h2otui", "ingest", str(path), "-c", "Bench", "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(out), *argv], capture_output=True, text=True,
        env=env, cwd=work, timeout=1800,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    rc, maxrss_kb = (int(x) for x in proc.stdout.split()[-2:])
    try:
        summary = json.loads(out.read_text() or "{}")
    except (json.JSONDecodeError, OSError):
        summary = {}
    outcome = f"exit {rc}"
    for key in ("added", "updated", "unchanged"):
        if summary.get(key):
            outcome = f"{key}, {summary.get('chunks_written', 0)} chunks"
    for key in ("failed", "skipped"):
        for item in summary.get(key, []):
            outcome = f"{key}: {item['reason']}"
    for item in summary.get("warnings", []):
        outcome += f" [warning: {item['warning']}]"
    return {"size": size, "outcome": outcome, "peak_mb": maxrss_kb / 1024, "time_s": elapsed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--big", action="store_true", help="the sizes from the issue")
    ap.add_argument("--only", nargs="*", default=None, help="case names to run")
    args = ap.parse_args()
    rows = []
    base_time = base_mem = None
    for name, what, maker, extra in cases(args.big):
        if args.only and name not in args.only and name != "baseline":
            continue
        with tempfile.TemporaryDirectory(prefix="h2otui-hostile-") as tmp:
            r = run_case(Path(tmp), maker, extra)
        if name == "baseline":
            base_time, base_mem = r["time_s"], r["peak_mb"]
        r.update(name=name, what=what)
        rows.append(r)
        print(
            f"{name:20} {r['size'] / 1e6:9.1f} MB  peak {r['peak_mb']:7.0f} MB "
            f"({r['peak_mb'] / base_mem:4.1f}x)  {r['time_s']:7.1f} s "
            f"({r['time_s'] / base_time:5.1f}x)  {r['outcome'][:150]}",
            flush=True,
        )
    print("\n| input | size | outcome | peak RSS | time |\n|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['what']} | {r['size'] / 1e6:.1f} MB | {r['outcome']} | "
            f"{r['peak_mb']:.0f} MB ({r['peak_mb'] / base_mem:.1f}x) | "
            f"{r['time_s']:.1f} s ({r['time_s'] / base_time:.1f}x) |"
        )


if __name__ == "__main__":
    main()
