"""One answer, for every view: :class:`AnswerRunner`.

A view (the chat screen, ``chat --plain``, the compare screen) builds one runner per
question and renders the :mod:`typed events <h2otui.chat.events>` it yields. The runner
does everything else, the same way for every view:

* records the question in the session (and the chat store, creating the chat);
* loads the model through the shared :class:`~h2otui.engines.pool.EnginePool`;
* plain chat: fits the history into the context (:func:`~h2otui.chat.session.fit_context`);
  from a collection: runs :func:`~h2otui.qa.pipeline.run_qa` (retrieval, its own context
  filling with the history, the action), with collections kept in a shared
  :class:`~h2otui.qa.collection.CollectionCache`;
* saves the answer as it streams (throttled ``partial`` saves), then once with its final
  status (``complete``, ``stopped``, ``error``) and stats, and adds the turn to the
  session's history;
* stops cleanly: cancelling the consuming task (Esc in the TUI, Ctrl-C in the REPL) or
  closing the stream stops the engine (engines honour cancellation within 0.5 s), saves
  the partial text as ``stopped`` and re-raises ``CancelledError``. The outcome is then on
  :attr:`AnswerRunner.finished`, since a cancelled generator cannot yield it. A view that
  is going away rather than stopping (``view_closing``: the app crashed) leaves the answer
  ``partial`` instead, shown as interrupted, as a killed process would.

Errors a user can act on (engine, settings, collection, context too long) do not raise:
they end the stream with ``AnswerFinished(status="error", error=message)``, saved the same
way, so views need no knowledge of the error types below. An unexpected exception is
reported the same way, with its type name, so one broken answer never breaks a view.

One runner is one answer; several may run at once (on different sessions). Nothing here
imports Textual.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from h2otui.chat.events import (
    AnswerEvent,
    AnswerFinished,
    AnswerStatus,
    ContextTrimmed,
    EngineReady,
    HistoryError,
    Loading,
    Progress,
    QuestionSaved,
    SourcesFound,
    TextDelta,
)
from h2otui.chat.session import AnswerRecord, answer_stats, fit_context, sources_meta
from h2otui.config import ConfigError
from h2otui.engines.base import (
    EngineError,
    Finished,
    FinishReason,
    GenerationRequest,
    Usage,
)
from h2otui.qa import ACTIONS
from h2otui.qa.collection import CollectionCache
from h2otui.qa.retrieval import QAError
from h2otui.store.chats import ChatStoreError, MessageStatus

if TYPE_CHECKING:
    from h2otui.chat.session import ChatSession
    from h2otui.engines.base import Engine
    from h2otui.engines.pool import EnginePool
    from h2otui.qa.citations import Passage
    from h2otui.qa.context import Dropped
    from h2otui.qa.pipeline import QAResult

#: errors with a message meant for the user: shown as it is, without a type name
USER_ERRORS = (EngineError, ConfigError, QAError)
#: the chat store failing (its writes can also raise sqlite's own errors: disk full, locked)
STORE_ERRORS = (ChatStoreError, sqlite3.Error)


@dataclass(slots=True)
class _Run:
    """What one answer gathered so far (the final save is built from it)."""

    started: float = field(default_factory=time.perf_counter)
    first_token: float | None = None
    deltas: int = 0
    usage: Usage | None = None
    finish: Finished = field(default_factory=lambda: Finished(FinishReason.STOP))
    dropped_turns: int = 0
    sources: list[Passage] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    qa_result: QAResult | None = None


class AnswerRunner:
    """Runs one answer to ``question`` in ``session`` and yields its events.

    ``collection`` set: answer from that collection with ``action`` (query, summarize,
    extract), optionally restricted to ``docs``; pass the view's ``collections`` cache so
    collections stay open across questions. :meth:`events` runs the answer, once.
    """

    def __init__(
        self,
        session: ChatSession,
        engines: EnginePool,
        question: str,
        *,
        collection: str | None = None,
        action: str = "query",
        docs: Sequence[str] = (),
        collections: CollectionCache | None = None,
        view_closing: Callable[[], bool] | None = None,
    ) -> None:
        self.session = session
        #: asked when the answer is cancelled: True = the view is going away (the app
        #: crashed), not the user stopping, so the saved answer stays ``partial``
        self.view_closing = view_closing
        self.engines = engines
        self.question = question
        #: the model and parameters as they were when the question was asked
        self.model = session.options.model
        self.params = session.options.params.model_copy(deep=True)
        self.collection = collection
        self.action = action
        self.docs = list(docs)
        self.collections = collections if collections is not None else CollectionCache()
        #: the outcome, set when the answer ended in any way (also when cancelled)
        self.finished: AnswerFinished | None = None
        self._parts: list[str] = []
        self._iterated = False

    @property
    def text(self) -> str:
        """The answer's text so far."""
        return "".join(self._parts)

    def events(self) -> AsyncIterator[AnswerEvent]:
        """The answer's events; call once, and consume inside ``aclosing``::

            async with contextlib.aclosing(runner.events()) as events:
                async for event in events:
                    ...

        so that a consumer stopped while busy with an event (not waiting on the stream)
        still closes it at once: the engine stops and the answer is saved as ``stopped``.
        """
        if self._iterated:
            raise RuntimeError("an AnswerRunner runs one answer; make a new one")
        self._iterated = True
        return self._events()

    async def _events(self) -> AsyncIterator[AnswerEvent]:
        session = self.session
        store_errors: list[str] = []
        try:
            session.record_question(self.question)
            session.answer_from(self.collection, self.action)
        except STORE_ERRORS as exc:
            store_errors.append(f"{exc}\nThe answer will not be saved.")
        try:
            record = session.begin_answer(self.model)
        except STORE_ERRORS as exc:
            record = AnswerRecord(None, None)
            store_errors.append(f"{exc}\nThe answer will not be saved.")
        run = _Run()
        status: AnswerStatus = "error"
        error: str | None = None
        try:
            for message in store_errors:
                yield HistoryError(message)
            yield QuestionSaved(session.chat_id, session.title)
            async with aclosing(self._answer(run, record)) as events:
                async for event in events:
                    yield event
            status, error = _outcome(run.finish)
        except (asyncio.CancelledError, GeneratorExit):
            status = "stopped"
            raise
        except USER_ERRORS as exc:
            error = str(exc)
        except Exception as exc:  # reported like the others: a view must stay usable
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self._finish(run, record, status, error)
        assert self.finished is not None
        yield self.finished

    async def _answer(self, run: _Run, record: AnswerRecord) -> AsyncIterator[AnswerEvent]:
        pool = self.engines
        if not pool.is_loaded(self.model):
            yield Loading(self.model)
        engine = await pool.load(self.model)
        yield EngineReady(self.model)
        if self.collection is None:
            events = self._plain(engine, run)
        else:
            events = self._from_collection(engine, self.collection, run)
        async with aclosing(events) as stream:
            async for event in stream:
                if isinstance(event, TextDelta):
                    if run.first_token is None:
                        run.first_token = time.perf_counter()
                    run.deltas += 1
                    self._parts.append(event.text)
                    if record.due():
                        try:
                            record.progress(self.text)
                        except STORE_ERRORS as exc:
                            record = AnswerRecord(None, None)
                            yield HistoryError(f"{exc}\nThe answer will not be saved.")
                yield event

    async def _plain(self, engine: Engine, run: _Run) -> AsyncIterator[AnswerEvent]:
        session = self.session
        plan = fit_context(
            engine, session.system_prompt, session.turns, self.question, self.params.max_new_tokens
        )
        run.dropped_turns = plan.dropped_turns
        if plan.dropped_turns:
            yield ContextTrimmed(plan.dropped_turns, plan.context_length, self.model)
        run.started = time.perf_counter()
        async with aclosing(engine.stream(GenerationRequest(plan.messages, self.params))) as events:
            async for event in events:
                match event:
                    case TextDelta():
                        yield event
                    case Usage():
                        run.usage = event
                    case Finished():
                        run.finish = event

    async def _from_collection(
        self, engine: Engine, name: str, run: _Run
    ) -> AsyncIterator[AnswerEvent]:
        from h2otui.qa.collection import check_docs
        from h2otui.qa.pipeline import Progress as QAProgress
        from h2otui.qa.pipeline import QADone, QARequest, Retrieved, run_qa

        session = self.session
        settings = session.settings
        if self.action not in ACTIONS:
            raise QAError(f"unknown action '{self.action}' (use {', '.join(ACTIONS)})")

        def open_collection() -> tuple[object, object]:
            collection, retriever = self.collections.open(settings, name)
            if self.docs:
                check_docs(collection, self.docs)
            return collection, retriever

        collection, retriever = await asyncio.to_thread(open_collection)
        request = QARequest(
            question=self.question,
            action=self.action,
            docs=list(self.docs),
            history=[(t.question, t.answer) for t in session.turns],
            system=session.system_prompt,
        )
        run.started = time.perf_counter()
        stream = run_qa(
            engine,
            collection,  # type: ignore[arg-type]
            request,
            settings.qa,
            self.params,
            retriever=retriever,  # type: ignore[arg-type]
            model_name=self.model,
        )
        async with aclosing(stream) as events:
            async for event in events:
                match event:
                    case Retrieved(passages=passages, dropped=dropped):
                        run.sources, run.dropped = list(passages), list(dropped)
                        yield SourcesFound(run.sources, run.dropped)
                        turns = sum(1 for d in dropped if d.kind == "history")
                        if turns:
                            run.dropped_turns = turns
                            yield ContextTrimmed(turns, engine.context_length, self.model)
                    case QAProgress(message=message, done=done, total=total):
                        yield Progress(message, done, total)
                    case TextDelta():
                        yield event
                    case QADone(result=result):
                        run.qa_result = result
                        run.sources, run.dropped = list(result.sources), list(result.dropped)
                        t = result.timings
                        run.usage = Usage(
                            result.usage.get("prompt_tokens", 0),
                            result.usage.get("completion_tokens", 0),
                            t.get("time_to_first_token_s"),
                            t.get("total_s") or 0.0,
                        )
                        known = {f.value for f in FinishReason}
                        reason = (
                            FinishReason(result.finish_reason)
                            if result.finish_reason in known
                            else FinishReason.STOP
                        )
                        run.finish = Finished(reason, result.error)

    def _finish(
        self, run: _Run, record: AnswerRecord, status: AnswerStatus, error: str | None
    ) -> None:
        """Save the outcome, add the turn to the history and keep it on ``finished``.
        Synchronous: it also runs while the answer is being cancelled."""
        text = self.text
        stats = answer_stats(
            run.usage,
            completion_tokens=run.deltas,
            ttft_s=None if run.first_token is None else run.first_token - run.started,
            total_s=time.perf_counter() - run.started,
            dropped_turns=run.dropped_turns,
        )
        save_error = None
        saved: MessageStatus = status
        if status == "stopped" and self.view_closing is not None and self.view_closing():
            saved = "partial"
        meta = None
        if self.collection is not None:
            meta = sources_meta(self.collection, self.action, run.sources, run.dropped)
        try:
            record.finish(text, saved, stats=stats, error=error, meta=meta)
        except STORE_ERRORS as exc:
            save_error = str(exc)
        self.session.add_turn(self.question, text)
        self.finished = AnswerFinished(
            status=status,
            text=text,
            model=self.model,
            stats=stats,
            finish_reason="cancelled" if status == "stopped" else run.finish.reason.value,
            error=error,
            dropped_turns=run.dropped_turns,
            sources=run.sources,
            dropped=run.dropped,
            qa_result=run.qa_result,
            save_error=save_error,
        )


def _outcome(finish: Finished) -> tuple[AnswerStatus, str | None]:
    if finish.reason is FinishReason.ERROR:
        return "error", finish.error or "the model stopped with an error"
    if finish.reason is FinishReason.CANCELLED:
        return "stopped", None
    return "complete", None
