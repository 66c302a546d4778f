"""``h2otui batch FILE --collection NAME --out OUT.jsonl``: many questions, resumable.

Input: ``.jsonl`` (objects with ``question`` and optional ``id``, ``collection``,
``action``), ``.txt`` (one question per line; blank lines and ``#`` comments skipped) or
``.csv`` (a ``question`` column; optional ``id`` / ``collection`` / ``action`` columns).
A question without an ``id`` gets its 1-based row number.

Output: one JSON object per line, appended as each answer completes and flushed to
disk (fsync) -- the ``ask --json`` object plus ``id`` and ``question``. A re-run skips
every (id, model) already in OUT, so a batch killed half-way resumes where it stopped
and never writes an answer twice; two runs sharing one OUT take turns (a lock on OUT).
A half-written last line (the process died while
writing it) is cut off before appending. Questions that fail are reported (stderr and
the summary) and not written, so the next run retries them.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.commands.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from h2otui.safe_text import say, visible

if TYPE_CHECKING:
    from h2otui.config import Settings
    from h2otui.engines.base import Engine


class BatchInputError(Exception):
    """The questions file is unreadable or malformed (the message names file and line)."""


@dataclass(slots=True)
class BatchItem:
    id: str
    question: str
    collection: str | None = None
    action: str | None = None


def read_questions(path: Path) -> list[BatchItem]:
    """Parse a .jsonl / .txt / .csv questions file."""
    if not path.is_file():
        raise BatchInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchInputError(f"{path}: cannot read: {exc}") from None
    items: list[BatchItem] = []
    if suffix == ".jsonl":
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BatchInputError(f"{path}:{lineno}: not valid JSON: {exc.msg}") from None
            if not isinstance(obj, dict) or not str(obj.get("question") or "").strip():
                raise BatchInputError(
                    f'{path}:{lineno}: expected an object with a non-empty "question"'
                )
            items.append(_item(obj, len(items) + 1))
    elif suffix == ".txt":
        for line in text.splitlines():
            q = line.strip()
            if q and not q.startswith("#"):
                items.append(BatchItem(str(len(items) + 1), q))
    elif suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or "question" not in [f.strip() for f in reader.fieldnames]:
            raise BatchInputError(
                f"{path}: a CSV file needs a 'question' column (found: {reader.fieldnames})"
            )
        for row in reader:
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            if row.get("question"):
                items.append(_item(row, len(items) + 1))
    else:
        raise BatchInputError(
            f"{path}: unsupported file type '{suffix}' (use .jsonl, .txt or .csv)"
        )
    seen: set[str] = set()
    for it in items:
        if it.id in seen:
            raise BatchInputError(f"{path}: id {it.id!r} appears twice; ids must be unique")
        seen.add(it.id)
    return items


def _item(obj: dict[str, Any], row: int) -> BatchItem:
    raw_id = obj.get("id")
    return BatchItem(
        id=str(raw_id) if raw_id not in (None, "") else str(row),
        question=str(obj["question"]).strip(),
        collection=str(obj["collection"]) if obj.get("collection") else None,
        action=str(obj["action"]) if obj.get("action") else None,
    )


def answered_keys(out: Path) -> set[tuple[str, str]]:
    """(id, model) of every complete answer line in ``out``; repairs a torn last line."""
    if not out.exists():
        return set()
    data = out.read_bytes()
    if data and not data.endswith(b"\n"):
        # killed mid-write: drop the partial line so the next append starts clean
        cut = data.rfind(b"\n") + 1
        with out.open("r+b") as fh:
            fh.truncate(cut)
        data = data[:cut]
    keys: set[tuple[str, str]] = set()
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "id" in obj and "model" in obj:
            keys.add((str(obj["id"]), str(obj["model"])))
    return keys


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run_batch(
    settings: Settings,
    questions: Path,
    *,
    out: Path,
    collection: str | None = None,
    models: Sequence[str] = (),
    action: str = "query",
    top_k: int | None = None,
    docs: Sequence[str] = (),
) -> int:
    try:
        items = read_questions(questions)
    except BatchInputError as exc:
        say(sys.stderr, f"error: {exc}\n")
        return EXIT_USAGE
    if action not in ("query", "summarize", "extract"):
        say(sys.stderr, f"error: --action {action!r}: use query, summarize or extract\n")
        return EXIT_USAGE
    for it in items:
        if it.action and it.action not in ("query", "summarize", "extract"):
            say(
                sys.stderr,
                f"error: {questions}: question {it.id!r} has unknown action {it.action!r}\n",
            )
            return EXIT_USAGE
        if not (it.collection or collection):
            say(
                sys.stderr,
                f"error: question {it.id!r} names no collection: pass --collection NAME\n",
            )
            return EXIT_USAGE
    names = list(models) or [settings.default_model]
    for name in names:
        settings.model(name)  # ConfigError for an unknown model, before any work
    from h2otui.locking import FileLock, waiting_message

    # two runs appending to one OUT would both answer what neither had written yet:
    # the second waits, then reads OUT afresh and skips what the first answered. The
    # lock is on OUT itself (no lock file left next to it); OUT is created owner-only.
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out, record_pid=False)
    try:
        if not lock.acquire(blocking=False):
            sys.stderr.write(waiting_message(f"another batch writing {out}", None) + "\n")
            lock.acquire()
        return asyncio.run(
            _batch(
                settings,
                items,
                out=out,
                collection=collection,
                models=names,
                action=action,
                top_k=top_k,
                docs=docs,
            )
        )
    except KeyboardInterrupt:
        say(sys.stderr, "[stopped] re-run the same command to resume\n")
        return EXIT_INTERRUPTED
    finally:
        lock.release()


async def _batch(
    settings: Settings,
    items: list[BatchItem],
    *,
    out: Path,
    collection: str | None,
    models: list[str],
    action: str,
    top_k: int | None,
    docs: Sequence[str],
) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from h2otui.chat.session import qa_system_prompt
    from h2otui.commands.ingest import cell
    from h2otui.commands.ingest import console as output_console
    from h2otui.engines import create_engine
    from h2otui.engines.base import EngineError
    from h2otui.qa.collection import open_collection
    from h2otui.qa.pipeline import QADone, QARequest, run_qa
    from h2otui.qa.retrieval import QAError, Retriever

    out.parent.mkdir(parents=True, exist_ok=True)
    done = answered_keys(out)
    todo = [(it, m) for it in items for m in models if (it.id, m) not in done]
    skipped = len(items) * len(models) - len(todo)
    console = output_console(stderr=True)
    if not todo:
        console.print(cell(f"all {len(items) * len(models)} answers are already in {out}"))
        return EXIT_OK

    engines: dict[str, Engine] = {}
    collections: dict[str, Any] = {}
    retrievers: dict[str, Retriever] = {}
    latencies: list[float] = []
    failures: list[tuple[str, str, str]] = []
    answered = 0
    params = settings.generation.to_sampling()
    try:
        with (
            out.open("a", encoding="utf-8") as fh,
            Progress(
                TextColumn("[bold]batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}", markup=False),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as progress,
        ):
            task = progress.add_task("batch", total=len(todo), status="")
            for it, model_name in todo:
                name = it.collection or collection or ""
                progress.update(task, status=visible(f"{it.id} · {model_name}"))
                try:
                    if model_name not in engines:
                        engines[model_name] = create_engine(settings.model(model_name), settings)
                        await engines[model_name].load()
                    if name not in collections:
                        collections[name] = await asyncio.to_thread(
                            open_collection, settings, name, docs
                        )
                        retrievers[name] = Retriever(
                            collections[name],
                            rrf_k=settings.qa.rrf_k,
                            merge_neighbors=settings.qa.merge_neighbors,
                        )
                    t0 = time.perf_counter()  # latency of the answer, not of loading
                    request = QARequest(
                        question=it.question,
                        action=it.action or action,
                        top_k=top_k,
                        docs=list(docs),
                        system=qa_system_prompt(settings, model_name, None),
                    )
                    result = None
                    async for event in run_qa(
                        engines[model_name],
                        collections[name],
                        request,
                        settings.qa,
                        params,
                        retriever=retrievers[name],
                        model_name=model_name,
                    ):
                        if isinstance(event, QADone):
                            result = event.result
                    if result is None or result.finish_reason == "error":
                        raise QAError(result.error if result else "no answer")
                except (QAError, EngineError) as exc:
                    failures.append((it.id, model_name, str(exc)))
                    progress.console.print(
                        cell("failed", "red") + cell(f" {it.id} ({model_name}): {exc}")
                    )
                    progress.advance(task)
                    continue
                latencies.append(time.perf_counter() - t0)
                line = {"id": it.id, "question": it.question, **result.as_json()}
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                answered += 1
                progress.advance(task)
    finally:
        for engine in engines.values():
            await engine.aclose()

    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)

    def secs(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}s"

    console.print(
        cell(
            f"{answered} answered, {skipped} already in {out}, {len(failures)} failed; "
            f"latency p50 {secs(p50)} p95 {secs(p95)}"
        )
    )
    return EXIT_PARTIAL if failures else EXIT_OK
