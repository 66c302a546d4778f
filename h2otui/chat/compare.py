"""Several models answering one question side by side: :class:`CompareSession`.

Every view that compares (``h2otui compare``, the compare screen) drives one session. It
builds one :class:`~h2otui.chat.runner.AnswerRunner` per model and question, so each
answer streams, saves and stops exactly like a chat answer. What is compare's own:

* **One history per model.** Each model is a *lane* (:class:`ModelLane`, a
  :class:`~h2otui.chat.session.ChatSession`) holding that model's own earlier answers, so
  a follow-up goes to every model with its own history.
* **Saved as one chat** of kind ``compare`` (chat store schema 2, no migration): the
  question once, then one answer per model pointing at it through ``reply_to``, each with
  the settings it was made with in its ``meta``. Partial answers keep their status
  (``partial`` / ``stopped`` / ``error``). :meth:`CompareSession.restore` reopens it.
* **Retrieval once.** From a collection, every lane gets the same passages: the lanes
  share a :class:`SharedCollections` cache whose retriever searches once per question
  and hands the same result to every model (each model still fits them into its own
  context, so a small model may leave the last ones out, which its answer reports).
* **Concurrency that fits the hardware.** Models on a server answer at once; in-process
  models (llama.cpp on the CPU) take turns, ``compare.local_concurrency`` at a time.
  :meth:`CompareSession.lane_events` yields :class:`Queued` while a lane waits.

Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from h2otui.chat.events import AnswerEvent
from h2otui.chat.runner import AnswerRunner
from h2otui.chat.session import (
    AnswerRecord,
    ChatOptions,
    ChatSession,
    Turn,
    default_params,
)
from h2otui.qa.collection import CollectionCache

if TYPE_CHECKING:
    from h2otui.config import Settings
    from h2otui.engines.pool import EnginePool
    from h2otui.qa.retrieval import RetrievalResult, Retriever
    from h2otui.store.chats import ChatStore, MessageStatus, StoredMessage

#: the fewest and most models one compare holds
MIN_MODELS, MAX_MODELS = 2, 4


class CompareError(ValueError):
    """A compare that cannot start (too few models, an unknown one); says what to do."""


@dataclass(frozen=True, slots=True)
class Queued:
    """The lane waits for an in-process model slot (``compare.local_concurrency``)."""

    model: str
    ahead: int


CompareEvent = AnswerEvent | Queued


def is_local(settings: Settings, model: str) -> bool:
    """Whether ``model`` generates in this process (no ``inference_server``)."""
    return not settings.model(model).inference_server


def check_models(settings: Settings, models: Sequence[str]) -> list[str]:
    """The models of a compare, validated: 2-4 distinct configured names."""
    names = list(dict.fromkeys(m.strip() for m in models if m.strip()))
    if len(names) < MIN_MODELS or len(names) > MAX_MODELS:
        raise CompareError(
            f"compare needs {MIN_MODELS} to {MAX_MODELS} different models (got {len(names)}); "
            "see `h2otui models` for the configured ones"
        )
    known = [m.name for m in settings.models]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CompareError(
            f"unknown model{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"(configured: {', '.join(known)})"
        )
    return names


# --- retrieval once ------------------------------------------------------------------------


class SharedRetrieval:
    """A retriever that searches once per query and gives every lane the same result.

    Lanes call :meth:`search` from worker threads at about the same time; the first one
    searches while the others wait on its lock, then all get the same passages."""

    def __init__(self, retriever: Retriever) -> None:
        self._retriever = retriever
        self._lock = threading.Lock()
        self._results: dict[tuple[Any, ...], RetrievalResult] = {}
        #: how many searches really ran (tests: once per question)
        self.searches = 0

    def search(self, query: str, **kwargs: Any) -> RetrievalResult:
        key = (query, *sorted((k, repr(v)) for k, v in kwargs.items()))
        with self._lock:
            found = self._results.get(key)
            if found is None:
                found = self._retriever.search(query, **kwargs)
                self.searches += 1
                self._results[key] = found
            return found

    def __getattr__(self, name: str) -> Any:  # everything else is the real retriever's
        return getattr(self._retriever, name)


class SharedCollections(CollectionCache):
    """A :class:`CollectionCache` whose retrievers are :class:`SharedRetrieval`."""

    def __init__(self) -> None:
        super().__init__()
        self._shared: dict[int, SharedRetrieval] = {}

    def open(self, settings: Settings, name: str) -> tuple[Any, Any]:
        collection, retriever = super().open(settings, name)
        with self._lock:
            shared = self._shared.get(id(retriever))
            if shared is None:
                shared = self._shared[id(retriever)] = SharedRetrieval(retriever)
        return collection, shared

    def forget_results(self) -> None:
        """A new question: searches run afresh (the index may have changed)."""
        with self._lock:
            for shared in self._shared.values():
                with shared._lock:
                    shared._results.clear()


# --- lanes ---------------------------------------------------------------------------------


class ModelLane(ChatSession):
    """One model's side of a compare: its own history, saved into the shared chat.

    The question is recorded once by the :class:`CompareSession`; the lane's answers
    point at it (``reply_to``) and carry their settings in ``meta``."""

    def __init__(self, parent: CompareSession, options: ChatOptions, turns: list[Turn]) -> None:
        super().__init__(
            parent.settings,
            parent.store,
            options,
            chat_id=parent.chat_id,
            title=parent.title,
            turns=turns,
        )
        self.parent = parent

    def record_question(self, question: str) -> None:
        self._pending_question = question
        self.chat_id, self.title = self.parent.chat_id, self.parent.title

    def begin_answer(self, model: str) -> AnswerRecord:
        parent = self.parent
        if self.store is None or parent.chat_id is None or parent.question_id is None:
            return AnswerRecord(None, None)
        meta = {
            "params": self.options.params.model_dump(),
            "system_prompt": self.options.system_prompt,
            "collection": parent.collection,
            "action": parent.action if parent.collection else None,
        }
        message_id = self.store.add_message(
            parent.chat_id,
            "assistant",
            "",
            status="partial",
            model=model,
            reply_to=parent.question_id,
            meta=meta,
        )
        return AnswerRecord(self.store, message_id)


@dataclass(slots=True)
class Round:
    """One question of a reopened compare and each model's saved answer to it."""

    question: str
    answers: dict[str, StoredMessage]
    #: the question's id in the store
    question_id: int | None = None
    #: the merged answer (Ctrl+G) to it, if one was made
    merged: StoredMessage | None = None


class CompareSession:
    """2-4 models answering the same questions; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        store: ChatStore | None,
        models: Sequence[str],
        *,
        collection: str | None = None,
        action: str = "query",
        docs: Sequence[str] = (),
        chat_id: int | None = None,
        title: str = "",
        histories: dict[str, list[Turn]] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.models = check_models(settings, models)
        self.collection = collection
        self.action = action
        self.docs = list(docs)
        self.chat_id = chat_id
        self.title = title
        #: the question being answered (its row in the store)
        self.question_id: int | None = None
        self.collections = SharedCollections()
        params = default_params(settings)
        self.lanes: dict[str, ModelLane] = {
            m: ModelLane(
                self,
                ChatOptions(m, None, params.model_copy(deep=True)),
                (histories or {}).get(m, []),
            )
            for m in self.models
        }
        self._local_slots: asyncio.Semaphore | None = None
        self._waiting = 0

    def meta(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "collection": self.collection,
            "action": self.action,
            "docs": list(self.docs),
        }

    # --- asking ----------------------------------------------------------------------

    def ask(
        self,
        engines: EnginePool,
        question: str,
        *,
        view_closing: Any = None,
    ) -> dict[str, AnswerRunner]:
        """Record ``question`` once and build one runner per model (not started yet:
        consume each through :meth:`lane_events`). Store errors propagate: the caller
        shows them and may go on unsaved with ``store = None``."""
        self.collections.forget_results()
        if self.store is not None:
            if self.chat_id is None:
                chat = self.store.create_chat(
                    self.models[0], kind="compare", meta=self.meta(), title=""
                )
                self.chat_id = chat.id
            self.question_id = self.store.add_message(self.chat_id, "user", question)
            if not self.title:
                self.title = self.store.get_chat(self.chat_id).title
        return {
            m: AnswerRunner(
                lane,
                engines,
                question,
                collection=self.collection,
                action=self.action,
                docs=self.docs,
                collections=self.collections,
                view_closing=view_closing,
            )
            for m, lane in self.lanes.items()
        }

    async def lane_events(self, runner: AnswerRunner) -> AsyncIterator[CompareEvent]:
        """``runner``'s events, after waiting for a slot if its model is in-process.

        A lane cancelled while queued never starts: ``runner.finished`` stays ``None``
        and nothing is saved for it."""
        if not is_local(self.settings, runner.model):
            async with aclosing(runner.events()) as events:
                async for event in events:
                    yield event
            return
        if self._local_slots is None:
            self._local_slots = asyncio.Semaphore(self.settings.compare.local_concurrency)
        slots = self._local_slots
        if slots.locked():
            self._waiting += 1
            try:
                yield Queued(runner.model, self._waiting)
                await slots.acquire()
            finally:
                self._waiting -= 1
        else:
            await slots.acquire()
        try:
            async with aclosing(runner.events()) as events:
                async for event in events:
                    yield event
        finally:
            slots.release()

    # --- after a compare -----------------------------------------------------------------

    def save_merge(
        self,
        model: str,
        merged_from: Sequence[str],
        text: str,
        status: str,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> int | None:
        """Save a merged answer to the current question (an answer with ``meta.merged``;
        :func:`rounds_from_messages` keeps it apart from ``model``'s own answer). Returns
        its id, ``None`` when nothing is saved (history off, or no question yet)."""
        if self.store is None or self.chat_id is None or self.question_id is None:
            return None
        return self.store.add_message(
            self.chat_id,
            "assistant",
            text,
            status=cast("MessageStatus", status if status in ("complete", "error") else "stopped"),
            model=model,
            stats=stats,
            error=error,
            reply_to=self.question_id,
            meta={"merged": True, "merged_from": list(merged_from)},
        )

    def continue_with(self, model: str) -> int | None:
        """Turn the compare into a normal chat with ``model`` and its own history: a new
        chat (kind ``chat``) holding each question and that model's answer. Returns its
        id (``None`` with history off: the caller keeps the lane's turns in memory)."""
        lane = self.lanes[model]
        if self.store is None:
            return None
        chat = self.store.create_chat(
            model,
            params=lane.options.params.model_dump(),
            title=self.title,
            meta={"continued_from": self.chat_id},
        )
        for turn in lane.turns:
            self.store.add_message(chat.id, "user", turn.question)
            self.store.add_message(chat.id, "assistant", turn.answer, model=model)
        return chat.id

    @classmethod
    def restore(
        cls, settings: Settings, store: ChatStore, chat_id: int
    ) -> tuple[CompareSession, list[Round], list[str]]:
        """Reopen a saved compare: the session (each model with its history), its rounds
        for the grid, and warnings (a model no longer configured is left out)."""
        chat = store.get_chat(chat_id)
        if chat.kind != "compare":
            raise CompareError(f"chat {chat_id} is not a compare")
        meta = chat.meta
        rounds = rounds_from_messages(store.messages(chat_id))
        saved = [str(m) for m in meta.get("models") or []]
        if not saved:
            saved = list(dict.fromkeys(m for r in rounds for m in r.answers))
        known = {m.name for m in settings.models}
        warnings = [
            f"model '{m}' of this compare is no longer configured; left out"
            for m in saved
            if m not in known
        ]
        models = [m for m in saved if m in known]
        histories = {
            m: [
                Turn(r.question, r.answers[m].content)
                for r in rounds
                if m in r.answers and r.answers[m].content.strip()
            ]
            for m in models
        }
        session = cls(
            settings,
            store,
            models,
            collection=meta.get("collection"),
            action=meta.get("action") or "query",
            docs=meta.get("docs") or (),
            chat_id=chat.id,
            title=chat.title,
            histories=histories,
        )
        if rounds:  # a merge made after reopening goes with the last question
            session.question_id = rounds[-1].question_id
        return session, rounds, warnings


def merge_question(question: str, answers: dict[str, str]) -> str:
    """The request that asks one model to merge several answers into one (Open WebUI's
    "merge"): the question, then each answer numbered (model names left out, so the
    merging model judges the text, not the name)."""
    parts = [
        "Several assistants answered the same question. Write one answer that keeps what "
        "is correct and useful in them, drops what is wrong, and reads as a single answer.",
        "",
        f"Question: {question}",
    ]
    for n, text in enumerate((t for t in answers.values() if t.strip()), 1):
        parts += ["", f"Answer {n}:", text.strip()]
    parts += ["", "Merged answer:"]
    return "\n".join(parts)


def merge_runner(
    settings: Settings, engines: EnginePool, model: str, question: str, answers: dict[str, str]
) -> AnswerRunner:
    """A runner for the merged answer by ``model`` (its session saves nothing: the compare
    saves the result with :meth:`CompareSession.save_merge`)."""
    session = ChatSession.new(settings, None, model)
    return AnswerRunner(session, engines, merge_question(question, answers))


def rounds_from_messages(messages: Sequence[StoredMessage]) -> list[Round]:
    """Questions in order, each with its answers by model (``reply_to`` links them)."""
    rounds: dict[int, Round] = {}
    for m in messages:
        if m.role == "user":
            rounds[m.id] = Round(m.content, {}, question_id=m.id)
        elif m.role == "assistant" and m.reply_to in rounds and (m.meta or {}).get("merged"):
            rounds[m.reply_to].merged = m  # the latest merge, if merged more than once
        elif m.role == "assistant" and m.reply_to in rounds and m.model:
            rounds[m.reply_to].answers[m.model] = m
    return list(rounds.values())
