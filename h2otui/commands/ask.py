"""``h2otui ask``: one question to one model, streamed to stdout or printed as JSON; with
``--collection`` the answer comes from documents, with numbered sources.

Start-up is on the critical path for ``ask --collection`` (the benchmark measures process
start to first token), so the slow steps overlap: the model loads in a worker thread while
LanceDB is imported and the collection opened in another, and the query embedder (numpy,
not sentence-transformers) warms up alongside.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from h2otui.commands.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from h2otui.engines.base import (
    EngineError,
    EngineRequestError,
    Finished,
    FinishReason,
    GenerationRequest,
    StopWatch,
    TextDelta,
    Usage,
)
from h2otui.safe_text import json_dumps, say, visible_stream

if TYPE_CHECKING:
    from h2otui.config import Settings
    from h2otui.engines.base import Engine
    from h2otui.qa.citations import Passage
    from h2otui.qa.pipeline import QAResult


def process_started() -> float:
    """``time.perf_counter()`` value of when this process started (Linux; else now)."""
    now = time.perf_counter()
    try:
        with open("/proc/self/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5), counted after the ")"
        ticks = os.sysconf("SC_CLK_TCK")
        uptime = time.clock_gettime(time.CLOCK_BOOTTIME)
        age = uptime - start_ticks / ticks
        return now - max(0.0, age)
    except (OSError, ValueError, IndexError, AttributeError):
        return now


#: set by the CLI entry points: after Ctrl-C the process ends within a bound (see below)
_BOUND_EXIT_AFTER_INTERRUPT = False
_stopped_said = False
#: how long the model's close and the event loop's teardown may take after Ctrl-C
EXIT_BOUND_S = 10.0


def _say_stopped() -> None:
    global _stopped_said
    if not _stopped_said:
        _stopped_said = True
        say(sys.stderr, "[stopped]\n")


def _bound_exit_after_interrupt() -> None:
    """Ctrl-C in the CLI: what was answered is already printed, so the process ends
    within :data:`EXIT_BOUND_S` (exit 130) even if closing the model or the event loop's
    teardown hangs. A safety net: the normal path ends well before it fires."""
    if not _BOUND_EXIT_AFTER_INTERRUPT:
        return
    import threading

    def bail() -> None:
        with contextlib.suppress(OSError, ValueError):
            _say_stopped()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(EXIT_INTERRUPTED)

    timer = threading.Timer(EXIT_BOUND_S, bail)
    timer.daemon = True
    timer.start()


def run_ask(
    settings: Settings,
    question: str,
    *,
    model: str | None = None,
    system: str | None = None,
    as_json: bool = False,
) -> int:
    """Answer ``question``; returns the process exit code (the CLI's entry point)."""
    global _BOUND_EXIT_AFTER_INTERRUPT
    _BOUND_EXIT_AFTER_INTERRUPT = True
    return asyncio.run(_ask_model(settings, question, model=model, system=system, as_json=as_json))


async def _ask_model(
    settings: Settings, question: str, *, model: str | None, system: str | None, as_json: bool
) -> int:
    from h2otui.chat.session import system_prompt_for
    from h2otui.engines import create_engine
    from h2otui.qa.context import build_messages

    entry = settings.model(model)
    engine: Engine = create_engine(entry, settings)
    start = time.perf_counter()
    await engine.load()
    load_s = time.perf_counter() - start
    # the seed is drawn here, not in the engine, so that --json can report it
    params = settings.generation.to_sampling().for_request()
    request = GenerationRequest(
        build_messages(system_prompt_for(settings, entry, system), [], question), params
    )
    parts: list[str] = []
    usage: Usage | None = None
    finish = Finished(FinishReason.ERROR, "no answer")
    out: TextIO = sys.stdout if as_json else visible_stream(sys.stdout)
    rejected = False
    watch = StopWatch()
    try:
        async for event in engine.stream(request):
            match event:
                case TextDelta(text=text):
                    watch.mark_token()
                    parts.append(text)
                    if not as_json:
                        out.write(text)
                        out.flush()
                case Usage():
                    usage = event
                case Finished():
                    finish = event
    except asyncio.CancelledError:
        # Ctrl-C: keep what was printed, report it as cancelled
        _bound_exit_after_interrupt()
        finish = Finished(FinishReason.CANCELLED)
    except EngineRequestError as exc:
        # the question does not fit (or the server refused it): bad input, exit 2 as
        # with --collection; --json still gets its object
        finish, rejected = Finished(FinishReason.ERROR, str(exc)), True
    finally:
        if usage is None and (parts or finish.reason is FinishReason.CANCELLED):
            # stopped before the engine's own count: what was generated so far (counted
            # while the model is still open)
            usage = _usage_so_far(engine, request, "".join(parts), watch)
        await engine.aclose()

    answer = "".join(parts)
    if as_json:
        out.write(
            json.dumps(_result(entry.name, engine, answer, finish, usage, load_s, params.seed))
            + "\n"
        )
    else:
        if not answer.endswith("\n") and not rejected:
            out.write("\n")
        if rejected:
            say(sys.stderr, f"error: {finish.error}\n")
        elif finish.reason is FinishReason.ERROR:
            say(sys.stderr, f"error: generation stopped: {finish.error}\n")
        elif finish.reason is FinishReason.CANCELLED:
            _say_stopped()
    out.flush()
    if finish.reason is FinishReason.CANCELLED:
        return EXIT_INTERRUPTED
    if rejected:
        return EXIT_USAGE
    return EXIT_ERROR if finish.reason is FinishReason.ERROR else EXIT_OK


def _usage_so_far(
    engine: Engine, request: GenerationRequest, answer: str, watch: StopWatch
) -> Usage | None:
    """Usage of an answer cut short, counted with the model's tokenizer (None if the
    engine cannot count: a remote one that is gone)."""
    try:
        prompt = engine.count_tokens(engine.render_prompt(request.messages))
        completion = engine.count_tokens(answer) if answer else 0
    except Exception:  # counting is best effort; the answer itself is what matters
        return None
    return watch.usage(prompt, completion)


def _result(
    model: str,
    engine: Engine,
    answer: str,
    finish: Finished,
    usage: Usage | None,
    load_s: float,
    seed: int | None,
) -> dict[str, Any]:
    """``ask --json`` without a collection; ``seed`` is the one the answer was sampled
    with (``None``: greedy), so a liked answer can be had again with ``--seed``."""
    return {
        "answer": answer,
        "model": model,
        "seed": seed,
        "prompt_type": engine.prompt_type,
        "finish_reason": finish.reason.value,
        "error": finish.error,
        "usage": usage.as_dict() if usage else None,
        "timings": {
            "load_s": round(load_s, 4),
            "time_to_first_token_s": (
                round(usage.time_to_first_token_s, 4)
                if usage and usage.time_to_first_token_s is not None
                else None
            ),
            "total_s": round(usage.total_s, 4) if usage else None,
            "tokens_per_s": round(usage.tokens_per_s, 2) if usage else None,
        },
    }


def run_ask_collection(
    settings: Settings,
    question: str,
    *,
    collection: str,
    model: str | None = None,
    system: str | None = None,
    action: str = "query",
    top_k: int | None = None,
    docs: Sequence[str] = (),
    search: str | None = None,
    show_sources: bool = False,
    as_json: bool = False,
    exit_process: bool = False,
) -> int:
    """Answer from ``collection``; returns the exit code.

    ``exit_process`` (the CLI): end the process right after the answer is out and the
    model closed, skipping the interpreter's teardown of LanceDB / llama.cpp / pandas
    modules, which costs a second or more after the user already has the answer.
    """
    global _BOUND_EXIT_AFTER_INTERRUPT
    _BOUND_EXIT_AFTER_INTERRUPT = exit_process
    started = process_started()
    try:
        code = asyncio.run(
            _ask_collection(
                settings,
                question,
                collection_name=collection,
                model=model,
                system=system,
                action=action,
                top_k=top_k,
                docs=docs,
                search=search,
                show_sources=show_sources,
                as_json=as_json,
                started=started,
            )
        )
    except KeyboardInterrupt:
        _say_stopped()
        code = EXIT_INTERRUPTED
    if exit_process:
        for stream in (sys.stdout, sys.stderr):
            # a closed pipe (`| head`): nothing left to say
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    return code


async def _ask_collection(
    settings: Settings,
    question: str,
    *,
    collection_name: str,
    model: str | None,
    system: str | None,
    action: str,
    top_k: int | None,
    docs: Sequence[str],
    search: str | None,
    show_sources: bool,
    as_json: bool,
    started: float,
) -> int:
    from h2otui.chat.session import qa_system_prompt
    from h2otui.engines import create_engine
    from h2otui.qa.pipeline import Progress, QADone, QARequest, Retrieved, run_qa
    from h2otui.qa.retrieval import QAError, Retriever

    if action not in ("query", "summarize", "extract"):
        say(sys.stderr, f"error: --action {action!r}: use query, summarize or extract\n")
        return EXIT_USAGE
    if search is not None and search not in ("hybrid", "vector", "text"):
        say(sys.stderr, f"error: --search {search!r}: use hybrid, vector or text\n")
        return EXIT_USAGE
    if top_k is not None and (top_k == 0 or top_k < -1):
        say(sys.stderr, "error: --top-k must be a positive number, or -1 to fill the context\n")
        return EXIT_USAGE

    t_cli = time.perf_counter()
    params = settings.generation.to_sampling().for_request()
    entry = settings.model(model)
    engine = create_engine(entry, settings)
    system_prompt = qa_system_prompt(settings, model, system)
    # the three slow starts overlap: model weights, LanceDB + the collection, the embedder
    load_task = asyncio.ensure_future(_timed(engine.load()))
    embed_task = None
    if action == "query" and (search or settings.qa.search) != "text":
        embed_task = asyncio.ensure_future(
            _timed(asyncio.to_thread(_warm_embedder, settings, collection_name))
        )
    try:
        col, open_s = await _timed(
            asyncio.to_thread(
                _open_for_search, settings, collection_name, docs, embed_task is not None
            )
        )
        retriever = Retriever(
            col,
            rrf_k=settings.qa.rrf_k,
            merge_neighbors=settings.qa.merge_neighbors,
            precision=settings.embedding.precision,
        )
        warm_s = None
        if embed_task is not None:
            embedder, warm_s = await embed_task
            if embedder is not None and embedder.model_id == col.embedding_model:
                retriever._embedder = embedder
        _, load_s = await load_task
        startup = {
            "startup_s": t_cli - started,
            "open_collection_s": open_s,
            "load_embedder_s": warm_s,
            "load_model_s": load_s,
            "ready_s": time.perf_counter() - started,
        }
    except QAError as exc:
        await _cancel(load_task, embed_task)
        say(sys.stderr, f"error: {exc}\n")
        if as_json:
            _json_error(collection_name, action, entry.name, str(exc), params.seed)
        return EXIT_USAGE
    except BaseException:
        await _cancel(load_task, embed_task)
        raise

    request = QARequest(
        question=question,
        action=action,
        top_k=top_k,
        docs=list(docs),
        search=search,
        system=system_prompt,
    )
    out: TextIO = sys.stdout if as_json else visible_stream(sys.stdout)
    result: QAResult | None = None
    interrupted = False
    try:
        async for event in run_qa(
            engine,
            col,
            request,
            settings.qa,
            params,
            retriever=retriever,
            model_name=entry.name,
            started=started,
        ):
            match event:
                case TextDelta(text=text):
                    if not as_json:
                        out.write(text)
                        out.flush()
                case Progress(message=message):
                    if not as_json:
                        say(sys.stderr, f"… {message}\n")
                case Retrieved():
                    pass
                case QADone(result=done):
                    result = done
                    result.timings = {**startup, **result.timings}
    except QAError as exc:
        say(sys.stderr, f"error: {exc}\n")
        if as_json:
            _json_error(collection_name, action, entry.name, str(exc), params.seed)
        return EXIT_USAGE
    except EngineError as exc:
        say(sys.stderr, f"error: {exc}\n")
        if as_json:
            _json_error(collection_name, action, entry.name, str(exc), params.seed)
        return EXIT_USAGE if isinstance(exc, EngineRequestError) else EXIT_ERROR
    except asyncio.CancelledError:
        _bound_exit_after_interrupt()
        interrupted = True
    finally:
        await engine.aclose()
    if interrupted or result is None:
        _say_stopped()
        return EXIT_INTERRUPTED
    if as_json:
        out.write(json_dumps({**result.as_json(), "seed": params.seed}) + "\n")
    else:
        print_text_tail(out, result, show_sources=show_sources)
    out.flush()
    if result.finish_reason == "error":
        say(sys.stderr, f"error: generation stopped: {result.error}\n")
        return EXIT_ERROR
    return EXIT_OK


def _json_error(collection: str, action: str, model: str, error: str, seed: int | None) -> None:
    """``ask -c --json`` that failed before an answer: the usual object, ``error`` set,
    so a script reading stdout always gets one JSON line."""
    from h2otui.qa.pipeline import QAResult

    result = QAResult("", action, collection, model, finish_reason="error", error=error)
    sys.stdout.write(json_dumps({**result.as_json(), "seed": seed}) + "\n")
    sys.stdout.flush()


def _open_for_search(settings: Settings, name: str, docs: Sequence[str], vectors: bool) -> Any:
    """Open the collection; when the question will be embedded (``vectors``), also load
    what its vector search reads, while the model is still loading."""
    from h2otui.qa.collection import open_collection

    col = open_collection(settings, name, docs)
    if vectors:
        col.prepare_search()
    return col


def _warm_embedder(settings: Settings, collection: str) -> Any:
    """Load the default query embedder while the collection opens (if the collection
    turns out to use another model, the retriever loads that one instead)."""
    from h2otui.qa.embed import query_embedder

    try:
        embedder = query_embedder(
            settings.embedding.model,
            data_dir=settings.data_path,
            precision=settings.embedding.precision,
        )
        embedder.encode(["warm up"])
    except Exception:
        return None
    return embedder


async def _timed(awaitable: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    value = await awaitable
    return value, time.perf_counter() - t


async def _cancel(*tasks: asyncio.Future[Any] | None) -> None:
    for task in tasks:
        if task is None:
            continue
        task.cancel()
        with contextlib.suppress(BaseException):  # only cleaning up
            await task


#: printed after an answer when retrieval found nothing
NO_SOURCES = "\n(no sources: nothing in the collection matched)\n"


def print_text_tail(out: TextIO, result: QAResult, *, show_sources: bool) -> None:
    """After the streamed answer: the numbered sources (always), quotes and drops on request."""
    from h2otui.qa.citations import format_sources

    if not result.answer.endswith("\n"):
        out.write("\n")
    if not result.sources:
        out.write(NO_SOURCES)
        return
    if not show_sources:
        print_sources(out, result.sources)
        return
    out.write("\nSources:\n")
    r = result.retrieval
    if r.get("mode") != "parts":
        out.write(
            f"({r.get('mode')} search: {r.get('candidates')} candidates, top_k {r.get('top_k')}"
            f" -> {len(result.sources)} in the prompt)\n"
        )
    out.write(format_sources(result.sources) + "\n")
    if result.dropped:
        out.write("Left out:\n")
        for d in result.dropped:
            out.write(f"  {d.describe()}\n")


def print_sources(out: TextIO, sources: Sequence[Passage]) -> None:
    """The numbered sources after an answer (``ask -c``, ``chat --plain -c``)."""
    out.write("\nSources:\n")
    for n, p in enumerate(sources, 1):
        out.write(p.label(n) + "\n")
