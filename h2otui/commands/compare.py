"""``h2otui compare "QUESTION" --models a,b[,c]``: several models answer one question.

The models answer at once (in-process ones take turns, ``compare.local_concurrency`` at a
time, like the compare screen) through one :class:`~h2otui.chat.compare.CompareSession`;
from a collection, retrieval runs once and every model gets the same sources.

Text output prints the answers one after another, in the order the models were named:
the first streams live while the others are generated alongside, each printed (then
streamed) as its turn comes. ``--json`` prints one object with an entry per model, with
its usage and timings. Like ``ask``, nothing is saved to the chat history.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from h2otui.commands.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from h2otui.safe_text import json_dumps, say, visible_stream

if TYPE_CHECKING:
    from h2otui.chat.events import AnswerFinished
    from h2otui.chat.runner import AnswerRunner
    from h2otui.config import Settings
    from h2otui.engines.pool import EngineFactory
    from h2otui.qa.citations import Passage

_DONE = object()


@dataclass(slots=True)
class _Lane:
    model: str
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    started: float = field(default_factory=time.perf_counter)
    queued_s: float = 0.0
    load_s: float | None = None
    finished: AnswerFinished | None = None


def parse_models(text: str) -> list[str]:
    return [m.strip() for m in text.split(",") if m.strip()]


def run_compare(
    settings: Settings,
    question: str,
    *,
    models: Sequence[str],
    collection: str | None = None,
    action: str = "query",
    docs: Sequence[str] = (),
    as_json: bool = False,
    engine_factory: EngineFactory | None = None,
    out: TextIO | None = None,
) -> int:
    """Answer ``question`` with every model; returns the process exit code."""
    from h2otui.chat.compare import CompareError, CompareSession

    if action not in ("query", "summarize", "extract"):
        say(sys.stderr, f"error: --action {action!r}: use query, summarize or extract\n")
        return EXIT_USAGE
    try:
        session = CompareSession(
            settings, None, models, collection=collection, action=action, docs=docs
        )
    except CompareError as exc:
        say(sys.stderr, f"error: --models: {exc}\n")
        return EXIT_USAGE
    if collection is not None:
        # a missing or empty collection, or a --doc not in it, is one usage error up front,
        # not the same error once per model
        from h2otui.qa.collection import check_docs
        from h2otui.qa.retrieval import QAError

        try:  # opened into the session's cache: the models reuse it
            opened, _ = session.collections.open(settings, collection)
            if docs:
                check_docs(opened, docs)
        except QAError as exc:
            say(sys.stderr, f"error: {exc}\n")
            return EXIT_USAGE
    stdout = out if out is not None else sys.stdout
    try:
        return asyncio.run(_compare(session, question, as_json, engine_factory, stdout))
    except KeyboardInterrupt:
        say(sys.stderr, "\n[stopped]\n")
        return EXIT_INTERRUPTED


async def _compare(
    session: Any,
    question: str,
    as_json: bool,
    engine_factory: EngineFactory | None,
    stdout: TextIO,
) -> int:
    from h2otui.engines.pool import EnginePool

    pool = EnginePool(session.settings, engine_factory)
    runners: dict[str, AnswerRunner] = session.ask(pool, question)
    lanes = {m: _Lane(m) for m in runners}
    tasks = [asyncio.ensure_future(_pump(session, runners[m], lanes[m])) for m in session.models]
    out: TextIO = stdout if as_json else visible_stream(stdout)
    sources: list[Passage] = []
    interrupted = False
    try:
        for i, model in enumerate(session.models):
            lane = lanes[model]
            if not as_json:
                out.write(("\n" if i else "") + f"=== {model} ===\n")
                out.flush()
            while True:
                item = await lane.queue.get()
                if item is _DONE:
                    break
                if not as_json:
                    out.write(item)
                    out.flush()
            finished = lane.finished
            if finished is not None and not sources:
                sources = list(finished.sources)
            if not as_json:
                _text_tail(out, finished)
    except asyncio.CancelledError:
        interrupted = True
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):  # each was cancelled and saved its state
                await task
        await pool.aclose()
    if interrupted:
        say(sys.stderr, "\n[stopped]\n")
        return EXIT_INTERRUPTED
    finals = [lanes[m].finished for m in session.models]
    if as_json:
        obj = {
            "question": question,
            "collection": session.collection,
            "action": session.action if session.collection else None,
            "sources": [p.as_source(n) for n, p in enumerate(sources, 1)],
            "answers": [_answer_json(lanes[m]) for m in session.models],
        }
        out.write(json_dumps(obj) + "\n")
    elif sources:
        from h2otui.commands.ask import print_sources

        out.write("\n")
        print_sources(out, sources)
    out.flush()
    failed = [f.model for f in finals if f is None or f.status != "complete"]
    if failed and not as_json:
        say(sys.stderr, f"error: no complete answer from {', '.join(failed)}\n")
    return EXIT_ERROR if failed else EXIT_OK


async def _pump(session: Any, runner: AnswerRunner, lane: _Lane) -> None:
    """One model's events into its lane's queue (text pieces, then ``_DONE``)."""
    from h2otui.chat.compare import Queued
    from h2otui.chat.events import AnswerFinished, EngineReady, Loading, TextDelta

    queued_at: float | None = None
    loading_at: float | None = None
    try:
        async for event in session.lane_events(runner):
            match event:
                case Queued():
                    queued_at = time.perf_counter()
                case Loading():
                    loading_at = time.perf_counter()
                    if queued_at is not None:
                        lane.queued_s = loading_at - queued_at
                        queued_at = None
                case EngineReady():
                    if queued_at is not None:
                        lane.queued_s = time.perf_counter() - queued_at
                    if loading_at is not None:
                        lane.load_s = time.perf_counter() - loading_at
                case TextDelta(text=text):
                    lane.queue.put_nowait(text)
                case AnswerFinished():
                    lane.finished = event
    finally:
        if lane.finished is None:
            lane.finished = runner.finished
        lane.queue.put_nowait(_DONE)


def _text_tail(out: TextIO, finished: AnswerFinished | None) -> None:
    out.write("\n")
    if finished is None:
        out.write("[not started]\n")
        return
    line = finished.stats_line()
    if finished.status != "complete":
        line = f"{finished.status}" + (f": {line}" if line else "")
    if line:
        out.write(f"[{line}]\n")
    out.flush()


def _answer_json(lane: _Lane) -> dict[str, Any]:
    f = lane.finished
    if f is None:
        return {"model": lane.model, "answer": "", "status": "stopped", "error": "not started"}
    s = f.stats
    prompt = s.get("prompt_tokens")
    completion = s.get("completion_tokens") or 0
    return {
        "model": f.model,
        "answer": f.text,
        "status": f.status,
        "finish_reason": f.finish_reason,
        "error": f.error,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": None if prompt is None else prompt + completion,
        },
        "timings": {
            "queued_s": round(lane.queued_s, 4),
            "load_s": None if lane.load_s is None else round(lane.load_s, 4),
            "time_to_first_token_s": s.get("time_to_first_token_s"),
            "total_s": s.get("total_s"),
            "tokens_per_s": s.get("tokens_per_s"),
        },
        "sources": [p.as_source(n) for n, p in enumerate(f.sources, 1)],
    }
