"""The document-QA pipeline as one async stream of typed events.

:func:`run_qa` does retrieval (or reads whole parts, for summarize / extract), fills
the context, runs the model and yields:

* :class:`Retrieved` -- the passages going into the prompt (numbered sources) and what
  was dropped, before generation starts (the TUI shows them at once);
* :class:`Progress` -- map-reduce / extraction steps ("part 3/7");
* :class:`~h2otui.engines.base.TextDelta` -- the answer text, streamed;
* :class:`QADone` -- always last: the :class:`QAResult` (answer, sources, dropped,
  usage, timings), whose :meth:`QAResult.as_json` is the ``ask --json`` object.

The CLI (``ask --collection``, ``batch``) and the chat screen consume the same stream.
Engine errors that stop generation before any text raise :class:`EngineError` from the
stream, like the engines themselves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from h2otui.engines.base import (
    Finished,
    FinishReason,
    GenerationRequest,
    SamplingParams,
    TextDelta,
    Usage,
)
from h2otui.qa.citations import Passage
from h2otui.qa.context import (
    Dropped,
    FilledPrompt,
    TokenCounter,
    build_messages,
    fill_context,
    pack_parts,
    split_to_fit,
)
from h2otui.qa.prompts import echo_stops, query_prompt, summary_prompt
from h2otui.qa.retrieval import QAError, RetrievalResult, Retriever

if TYPE_CHECKING:
    from h2otui.config import QASettings
    from h2otui.engines.base import Engine
    from h2otui.qa.retrieval import CollectionLike

#: prompt types for small base models: a document answer ends at the end of its line
SINGLE_LINE_ANSWER_TYPES = {"plain_qa"}
#: map-reduce never runs more rounds than this (each round at least halves the count)
MAX_REDUCE_ROUNDS = 12


@dataclass(slots=True)
class QARequest:
    question: str
    action: str = "query"
    top_k: int | None = None
    docs: Sequence[str] = ()
    search: str | None = None
    history: Sequence[tuple[str, str]] = ()
    system: str | None = None


@dataclass(frozen=True, slots=True)
class Retrieved:
    passages: list[Passage]
    dropped: list[Dropped]
    mode: str
    candidates: int


@dataclass(frozen=True, slots=True)
class Progress:
    message: str
    done: int
    total: int


@dataclass(slots=True)
class QAResult:
    answer: str
    action: str
    collection: str
    model: str
    sources: list[Passage] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    #: extract: one result per part (``{"n", "text"}``; n is the source number)
    results: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float | None] = field(default_factory=dict)
    retrieval: dict[str, Any] = field(default_factory=dict)
    finish_reason: str = "stop"
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "answer": self.answer,
            "model": self.model,
            "collection": self.collection,
            "action": self.action,
            "sources": [p.as_source(n) for n, p in enumerate(self.sources, 1)],
            "dropped": [d.as_dict() for d in self.dropped],
            "usage": self.usage,
            "timings": {k: (None if v is None else round(v, 4)) for k, v in self.timings.items()},
            "retrieval": self.retrieval,
            "finish_reason": self.finish_reason,
            "error": self.error,
        }
        if self.action == "extract":
            out["results"] = self.results
        return out


@dataclass(frozen=True, slots=True)
class QADone:
    result: QAResult


QAEvent = Retrieved | Progress | TextDelta | QADone


class _Meter:
    """Adds up usage over several model calls and times the first answer token."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.calls = 0
        self.first_token: float | None = None

    def add(self, usage: Usage | None) -> None:
        self.calls += 1
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "llm_calls": self.calls,
        }


async def run_qa(
    engine: Engine,
    collection: CollectionLike,
    request: QARequest,
    qa: QASettings,
    params: SamplingParams,
    *,
    retriever: Retriever | None = None,
    model_name: str | None = None,
    started: float | None = None,
) -> AsyncIterator[QAEvent]:
    """Answer ``request`` from ``collection`` with ``engine``; see the module docstring.

    The engine is loaded concurrently with retrieval. ``started`` (a
    ``time.perf_counter()`` value) is when the caller's clock started -- process start
    for the CLI -- for ``timings.start_to_first_token_s``.
    """
    t0 = time.perf_counter()
    action = request.action
    if action not in ("query", "summarize", "extract"):
        raise QAError(f"unknown action '{action}' (use query, summarize or extract)")
    if action == "query" and not request.question.strip():
        raise QAError("the question is empty")
    meter = _Meter(t0)
    timings: dict[str, float | None] = {}
    load_task = asyncio.ensure_future(_timed_load(engine))
    try:
        if action == "query":
            retriever = retriever or Retriever(
                collection, rrf_k=qa.rrf_k, merge_neighbors=qa.merge_neighbors
            )
            top_k = request.top_k if request.top_k is not None else qa.top_k_docs
            found: RetrievalResult = await asyncio.to_thread(
                retriever.search,
                request.question,
                mode=request.search or qa.search,
                top_k=top_k,
                cut_distance=qa.cut_distance,
                docs=list(request.docs),
            )
            timings["embed_s"] = found.embed_s
            timings["search_s"] = found.search_s
            parts: list[Passage] = []
        else:
            found = RetrievalResult(passages=[], mode="parts")
            ts = time.perf_counter()
            parts = await asyncio.to_thread(read_parts, collection, list(request.docs))
            timings["embed_s"] = 0.0
            timings["search_s"] = time.perf_counter() - ts
            if not parts:
                which = ", ".join(request.docs) if request.docs else "any document"
                raise QAError(f"collection '{collection.name}' has no text for {which} to {action}")
        timings["load_s"] = await load_task
    except BaseException:
        if not load_task.done():
            load_task.cancel()
        raise

    result = QAResult(
        answer="",
        action=action,
        collection=collection.name,
        model=model_name or engine.model_name,
    )
    result.retrieval = {
        "mode": found.mode,
        "top_k": request.top_k if request.top_k is not None else qa.top_k_docs,
        "candidates": found.candidates,
        "docs": list(request.docs),
        "notes": found.notes,
    }
    cut_dropped = [Dropped("chunk", "cut_distance", None, passage=p) for p in found.cut]

    if action == "query":
        tb = time.perf_counter()
        filled = fill_query_context(
            engine,
            request.question,
            found.passages,
            qa,
            system=request.system,
            history=request.history,
            max_new_tokens=params.max_new_tokens,
        )
        timings["prompt_build_s"] = time.perf_counter() - tb
        result.sources = filled.passages
        result.dropped = cut_dropped + filled.dropped
        yield Retrieved(filled.passages, result.dropped, found.mode, found.candidates)
        stops = echo_stops(qa.pre_prompt_query, qa.prompt_query)
        single_line = engine.prompt_type in SINGLE_LINE_ANSWER_TYPES
        async with aclosing(
            _generate(engine, filled, params, stops, meter, result, single_line=single_line)
        ) as answer:
            async for event in answer:
                yield event
    else:
        async with aclosing(
            _map_reduce(engine, request, qa, params, parts, meter, result, timings)
        ) as steps:
            async for event in steps:
                yield event

    end = time.perf_counter()
    timings["time_to_first_token_s"] = None if meter.first_token is None else meter.first_token - t0
    timings["total_s"] = end - t0
    if started is not None:
        timings["start_to_first_token_s"] = (
            None if meter.first_token is None else meter.first_token - started
        )
    result.timings = timings
    result.usage = meter.as_dict()
    yield QADone(result)


async def _timed_load(engine: Engine) -> float:
    t = time.perf_counter()
    await engine.load()
    return time.perf_counter() - t


async def _generate(
    engine: Engine,
    filled: FilledPrompt,
    params: SamplingParams,
    stops: list[str],
    meter: _Meter,
    result: QAResult,
    *,
    stream: bool = True,
    single_line: bool = False,
) -> AsyncIterator[TextDelta]:
    """Run one model call; stream its text (``stream``) and put it in ``result.answer``.

    ``single_line``: the answer ends at a real boundary (:class:`AnswerEnd`): a line
    break after a finished sentence, or a blank line (small base models go on to invent
    more questions); a line break inside a sentence -- the model hard-wrapping like the
    documents it read -- becomes a space. Leading blank lines are skipped.
    """
    p = params.model_copy(update={"stop": list(dict.fromkeys([*params.stop, *stops]))})
    request = GenerationRequest(filled.messages, p)
    parts: list[str] = []
    usage: Usage | None = None
    finished = Finished(FinishReason.STOP)
    produced = False
    end = AnswerEnd()
    async with aclosing(_stopping_stream(engine, request)) as events:
        async for event in events:
            match event:
                case TextDelta(text=text):
                    cut = -1
                    if single_line:
                        if not produced:
                            text = text.lstrip()
                            if not text:
                                continue
                        text, done = end.feed(text)
                        cut = 0 if done else -1
                    produced = True
                    if text:
                        if stream and meter.first_token is None:
                            meter.first_token = time.perf_counter()
                        parts.append(text)
                        if stream:
                            yield TextDelta(text)
                    if cut >= 0:
                        break  # _stopping_stream stops the generation
                case Usage():
                    usage = event
                case Finished():
                    finished = event
    if usage is None:
        # stopped early (single line): the engine's own count never came
        completion = engine.count_tokens("".join(parts)) if parts else 0
        usage = Usage(filled.prompt_tokens, completion, None, 0.0)
    meter.add(usage)
    result.answer = "".join(parts).strip()
    result.finish_reason = finished.reason.value
    result.error = finished.error


_END = object()

#: what a finished sentence ends with (a line break after one ends a one-line answer)
_SENTENCE_END = tuple(".!?。！？…\"'”’)]")


class AnswerEnd:
    """Where a ``plain_qa`` answer ends, fed the streamed text: at a blank line, or at a
    line break that follows a finished sentence. A line break inside a sentence (the
    model wrapping its answer like the hard-wrapped documents it read) is a space.
    ``feed`` returns the text to keep and whether the answer is over."""

    def __init__(self) -> None:
        self.tail = ""  # the answer so far, stripped of trailing spaces (its last chars)
        self.held_break = False  # a line break turned into a space, just before

    def feed(self, text: str) -> tuple[str, bool]:
        out: list[str] = []
        for ch in text:
            if ch == "\n":
                if self.held_break or self.tail.rstrip().endswith(_SENTENCE_END):
                    return "".join(out).rstrip(" "), True
                self.held_break = True
                continue
            if self.held_break:
                self.held_break = False
                if ch not in " \t" and not self.tail.endswith(" "):
                    out.append(" ")
            out.append(ch)
            if ch not in " \t":
                self.tail = (self.tail + ch)[-8:]
            elif not self.tail.endswith(" "):
                self.tail = (self.tail + " ")[-8:]
        return "".join(out), False


async def _stopping_stream(engine: Engine, request: GenerationRequest) -> AsyncIterator[Any]:
    """``engine.stream(request)``, consumed in its own task so that stopping early (the
    caller breaks out) cancels that task: cancellation is the path every engine must
    handle promptly and cleanly (its worker joined), whereas closing a half-read async
    generator may leave an engine's inner generator running until garbage collection."""
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for event in engine.stream(request):
                queue.put_nowait(event)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            queue.put_nowait(exc)
        queue.put_nowait(_END)

    task = asyncio.ensure_future(pump())
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if not task.done():
            task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def fill_query_context(
    engine: Engine,
    question: str,
    passages: Sequence[Passage],
    qa: QASettings,
    *,
    system: str | None,
    history: Sequence[tuple[str, str]] = (),
    max_new_tokens: int,
) -> FilledPrompt:
    """The prompt of a ``query`` question: the retrieved ``passages`` that fit the
    model's context and ``qa.max_input_tokens`` (the others in ``dropped``). The one
    rule for answers and for the retrieval inspector."""
    return fill_context(
        engine,
        build_user=lambda ps: query_prompt(
            question, ps, pre_prompt=qa.pre_prompt_query, prompt=qa.prompt_query
        ),
        passages=passages,
        system=system,
        history=list(history),
        max_new_tokens=max_new_tokens,
        max_input_tokens=qa.max_input_tokens,
    )


async def _complete(
    engine: Engine, filled: FilledPrompt, params: SamplingParams, meter: _Meter
) -> tuple[str, str, str | None]:
    """One non-streamed call: (text, finish reason, error)."""
    scratch = QAResult("", "", "", "")
    async with aclosing(_generate(engine, filled, params, [], meter, scratch, stream=False)) as gen:
        async for _ in gen:
            pass
    return scratch.answer, scratch.finish_reason, scratch.error


def _fill_parts(
    engine: Engine,
    batch: Sequence[Passage],
    *,
    pre_prompt: str,
    prompt: str,
    question: str,
    system: str | None,
    params: SamplingParams,
) -> FilledPrompt:
    return fill_context(
        engine,
        build_user=lambda ps: summary_prompt(
            ps, pre_prompt=pre_prompt, prompt=prompt, question=question
        ),
        passages=list(batch),
        system=system,
        max_new_tokens=params.max_new_tokens,
    )


def _parts_budget(
    engine: Engine,
    qa: QASettings,
    params: SamplingParams,
    system: str | None,
    pre_prompt: str,
    prompt: str,
    question: str,
) -> int:
    counter = TokenCounter(engine)
    base = counter.prompt(
        build_messages(
            system, [], summary_prompt([], pre_prompt=pre_prompt, prompt=prompt, question=question)
        )
    )
    budget = int(engine.context_length) - params.max_new_tokens - base - 16
    if qa.max_input_tokens and qa.max_input_tokens > 0:
        budget = min(budget, qa.max_input_tokens)
    return budget


async def _map_reduce(
    engine: Engine,
    request: QARequest,
    qa: QASettings,
    params: SamplingParams,
    parts: list[Passage],
    meter: _Meter,
    result: QAResult,
    timings: dict[str, float | None],
) -> AsyncIterator[QAEvent]:
    """summarize: map-reduce over whole parts; extract: one result per part."""
    extract = request.action == "extract"
    pre = qa.pre_prompt_extraction if extract else qa.pre_prompt_summary
    post = qa.prompt_extraction if extract else qa.prompt_summary
    question = request.question
    tb = time.perf_counter()
    counter = TokenCounter(engine)
    budget = _parts_budget(engine, qa, params, request.system, pre, post, question)
    if extract:
        # one call per part; a part longer than the budget is split into pieces
        batches = [[piece] for part in parts for piece in split_to_fit(counter, part, budget)]
    else:
        batches = pack_parts(counter, parts, budget)
    timings["prompt_build_s"] = time.perf_counter() - tb
    sources = [b[0] for b in batches] if extract else [p for b in batches for p in b]
    result.sources = sources
    yield Retrieved(sources, [], "parts", len(parts))

    def fill(
        batch: Sequence[Passage], *, prompt_pre: str = pre, prompt_post: str = post
    ) -> FilledPrompt:
        return _fill_parts(
            engine,
            batch,
            pre_prompt=prompt_pre,
            prompt=prompt_post,
            question=question,
            system=request.system,
            params=params,
        )

    if extract:
        texts: list[str] = []
        for i, batch in enumerate(batches, 1):
            yield Progress(f"extracting from part {i}/{len(batches)}", i - 1, len(batches))
            filled = fill(batch)
            result.dropped += filled.dropped
            scratch = QAResult("", "", "", "")
            chunks: list[str] = []
            header = ("\n\n" if i > 1 else "") + f"[{i}] "
            first = True
            async with aclosing(_generate(engine, filled, params, [], meter, scratch)) as gen:
                async for delta in gen:
                    if first:
                        yield TextDelta(header)
                        first = False
                    chunks.append(delta.text)
                    yield delta
            if first:  # nothing generated: still show the number
                yield TextDelta(header)
            text = scratch.answer
            result.results.append({"n": i, "text": text, "finish_reason": scratch.finish_reason})
            texts.append(f"[{i}] {text}")
            if scratch.error:
                result.error = scratch.error
                result.finish_reason = scratch.finish_reason
        result.answer = "\n\n".join(texts)
        return

    # summarize: map each batch to a partial summary, then reduce until one remains
    level = batches
    rounds = 0
    while True:
        if len(level) == 1:
            yield Progress("writing the summary", 0, 1)
            filled = fill(level[0])
            result.dropped += filled.dropped
            async with aclosing(_generate(engine, filled, params, [], meter, result)) as gen:
                async for delta in gen:
                    yield delta
            return
        rounds += 1
        if rounds > MAX_REDUCE_ROUNDS:
            raise QAError("summarize did not converge: lower max_new_tokens or raise the context")
        summaries: list[Passage] = []
        for i, batch in enumerate(level, 1):
            yield Progress(f"summarizing part {i}/{len(level)} (round {rounds})", i - 1, len(level))
            filled = fill(batch)
            result.dropped += filled.dropped
            text, _reason, error = await _complete(engine, filled, params, meter)
            if error and not text:
                raise QAError(f"summarize failed on part {i}: {error}")
            summaries.append(Passage(text=text, source=f"summary {rounds}.{i}", kind="summary"))
        next_level = pack_parts(counter, summaries, budget)
        if len(next_level) >= len(level):
            # summaries as long as their inputs: pair them up so the count still halves
            next_level = [summaries[j : j + 2] for j in range(0, len(summaries), 2)]
        level = next_level


def read_parts(collection: CollectionLike, docs: Sequence[str]) -> list[Passage]:
    """Whole parts (pages, transcript spans, frames) of the chosen documents, in order."""
    out = []
    for r in collection.read_parts(list(docs) or None):
        text = (r.get("text") or "").strip()
        if not text:
            continue
        out.append(
            Passage(
                text=text,
                source=r.get("source") or "",
                doc_id=r.get("doc_id") or "",
                page=r.get("page"),
                start_time=r.get("start_time"),
                end_time=r.get("end_time"),
                frame_time=r.get("frame_time"),
                kind=r.get("kind") or "text",
                part_index=int(r.get("part_index") or 0),
            )
        )
    return out
