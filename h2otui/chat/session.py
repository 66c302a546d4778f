"""A conversation, independent of any UI: its options, its history, its saved record,
and the rule that fits the history into the model's context.

The TUI's chat screen drives a :class:`ChatSession`; tests and benchmarks can drive one
directly. Nothing here imports Textual.

Context rule (h2oGPT's, simplified): the request holds the system prompt, as many of the
most recent complete turns as fit, and the new question, so that
``prompt tokens + max_new_tokens <= context length``. Oldest turns go first; the system
prompt is always kept. :class:`ContextPlan` says how many turns were left out so the UI
can show it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from h2otui.engines.base import (
    Engine,
    EngineError,
    GenerationRequest,
    Message,
    SamplingParams,
    Usage,
)
from h2otui.qa.context import build_messages

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings
    from h2otui.qa.citations import Passage
    from h2otui.qa.context import Dropped
    from h2otui.store.chats import ChatStore, MessageStatus, StoredMessage

#: how often a streaming answer is written to the history (seconds)
PARTIAL_SAVE_INTERVAL_S = 0.5


class ContextTooLongError(EngineError):
    """The question alone does not fit in the model's context."""


# --- options ------------------------------------------------------------------------------


def default_params(settings: Settings) -> SamplingParams:
    return settings.generation.to_sampling()


def system_prompt_for(settings: Settings, entry: ModelEntry, override: str | None = None) -> str:
    """The system prompt a model answers with: an override (a CLI flag, the chat's own
    setting) > the model entry's ``system_prompt`` > ``generation.system_prompt``."""
    if override is not None:
        return override
    if entry.system_prompt is not None:
        return entry.system_prompt
    return settings.generation.system_prompt


def qa_system_prompt(settings: Settings, model: str | None, override: str | None = None) -> str:
    """The system prompt for document QA: ``qa.system_prompt`` replaces the chat default."""
    if override is None and settings.qa.system_prompt is not None:
        override = settings.qa.system_prompt
    return system_prompt_for(settings, settings.model(model), override)


@dataclass(slots=True)
class ChatOptions:
    """What a chat is held with; saved with the chat and restored on reopening."""

    model: str
    system_prompt: str | None = None
    """``None`` = the model's default (entry.system_prompt, else generation.system_prompt)."""
    params: SamplingParams = field(default_factory=SamplingParams)

    def copy(self) -> ChatOptions:
        return ChatOptions(self.model, self.system_prompt, self.params.model_copy(deep=True))

    def effective_system_prompt(self, settings: Settings) -> str:
        if self.system_prompt is not None:
            return self.system_prompt
        try:
            entry = settings.model(self.model)
        except Exception:  # an unknown model falls back to the global default
            return settings.generation.system_prompt
        return system_prompt_for(settings, entry)

    def summary(self) -> str:
        p = self.params
        mode = f"temp {p.temperature:g}" if not p.greedy else "greedy"
        return f"{mode} · max {p.max_new_tokens} tok"


# --- context fitting ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Turn:
    question: str
    answer: str


@dataclass(slots=True)
class ContextPlan:
    messages: list[Message]
    kept_turns: int
    dropped_turns: int
    prompt_tokens: int
    context_length: int
    max_new_tokens: int


def _build(system: str, turns: Sequence[Turn], question: str) -> list[Message]:
    return build_messages(system, [(t.question, t.answer) for t in turns], question)


def fit_context(
    engine: Engine, system: str, history: Sequence[Turn], question: str, max_new_tokens: int
) -> ContextPlan:
    """Keep the most recent turns that fit ``context_length - max_new_tokens``.

    The kept count is monotonic in the prompt size, so a binary search needs only
    ``log2(len(history))`` renderings. Raises :class:`ContextTooLongError` when even the
    system prompt plus the question do not fit.
    """
    ctx = engine.context_length
    budget = ctx - max_new_tokens

    def cost(keep: int) -> int:
        turns = history[len(history) - keep :] if keep else []
        return engine.count_tokens(engine.render_prompt(_build(system, turns, question)))

    full = cost(len(history))
    if full <= budget:
        return ContextPlan(
            _build(system, history, question), len(history), 0, full, ctx, max_new_tokens
        )
    bare = cost(0) if history else full
    if bare > budget:
        raise ContextTooLongError(
            f"the question needs {bare} tokens but model '{engine.model_name}' has a context of "
            f"{ctx} with {max_new_tokens} reserved for the answer; shorten the question or "
            "the system prompt, or lower max_new_tokens"
        )
    lo, hi, best_cost = 0, len(history) - 1, bare  # lo always fits, len(history) does not
    while lo < hi:
        mid = (lo + hi + 1) // 2
        c = cost(mid)
        if c <= budget:
            lo, best_cost = mid, c
        else:
            hi = mid - 1
    kept = list(history[len(history) - lo :]) if lo else []
    return ContextPlan(
        _build(system, kept, question), lo, len(history) - lo, best_cost, ctx, max_new_tokens
    )


# --- stats -------------------------------------------------------------------------------------


def answer_stats(
    usage: Usage | None,
    *,
    completion_tokens: int,
    ttft_s: float | None,
    total_s: float,
    dropped_turns: int = 0,
) -> dict[str, Any]:
    """Per-answer numbers shown under the answer and saved with it."""
    if usage is not None:
        tokens = usage.completion_tokens
        ttft = usage.time_to_first_token_s
        total = usage.total_s
        tps = usage.tokens_per_s
        prompt_tokens: int | None = usage.prompt_tokens
    else:
        tokens, ttft, total, prompt_tokens = completion_tokens, ttft_s, total_s, None
        gen = total - (ttft or 0.0)
        tps = (tokens - 1) / gen if tokens > 1 and gen > 0 else 0.0
    return {
        "completion_tokens": tokens,
        "prompt_tokens": prompt_tokens,
        "tokens_per_s": round(tps, 2),
        "time_to_first_token_s": None if ttft is None else round(ttft, 3),
        "total_s": round(total, 3),
        "dropped_turns": dropped_turns,
    }


def format_stats(stats: dict[str, Any] | None) -> str:
    if not stats:
        return ""
    parts = [f"{stats.get('completion_tokens', 0)} tokens"]
    if stats.get("tokens_per_s"):
        parts.append(f"{stats['tokens_per_s']:.1f} tok/s")
    if stats.get("time_to_first_token_s") is not None:
        parts.append(f"first token {stats['time_to_first_token_s']:.2f} s")
    if stats.get("total_s") is not None:
        parts.append(f"{stats['total_s']:.2f} s")
    return " · ".join(parts)


# --- the session -------------------------------------------------------------------------------


class AnswerRecord:
    """The saved row of one answer while it streams (throttled partial saves)."""

    def __init__(self, store: ChatStore | None, message_id: int | None) -> None:
        self._store = store
        self.message_id = message_id
        self._last_save = time.monotonic()
        self._saved_len = 0

    def due(self) -> bool:
        """Whether a partial save is due (cheap; call it before building the text)."""
        return (
            self._store is not None
            and self.message_id is not None
            and time.monotonic() - self._last_save >= PARTIAL_SAVE_INTERVAL_S
        )

    def progress(self, text: str) -> bool:
        """Save the text so far as ``partial``."""
        if self._store is None or self.message_id is None:
            return False
        now = time.monotonic()
        if len(text) == self._saved_len:
            return False
        self._store.update_message(self.message_id, text, status="partial")
        self._last_save, self._saved_len = now, len(text)
        return True

    def finish(
        self,
        text: str,
        status: MessageStatus,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        if self._store is None or self.message_id is None:
            return
        self._store.update_message(
            self.message_id, text, status=status, stats=stats, error=error, meta=meta
        )


class ChatSession:
    """One conversation: options, completed turns, and (optionally) its saved chat."""

    def __init__(
        self,
        settings: Settings,
        store: ChatStore | None,
        options: ChatOptions,
        *,
        chat_id: int | None = None,
        title: str = "",
        turns: list[Turn] | None = None,
        collection: str | None = None,
        action: str = "query",
    ) -> None:
        self.settings = settings
        self.store = store
        self.options = options
        self.chat_id = chat_id
        self.title = title
        self.turns: list[Turn] = turns or []
        #: what the last question was answered from (``None``: plain chat) and how; saved
        #: in the chat's meta, so a reopened documents chat goes on from its collection
        self.collection = collection
        self.action = action
        self._pending_question: str | None = None

    @classmethod
    def new(
        cls, settings: Settings, store: ChatStore | None, model: str | None = None
    ) -> ChatSession:
        options = ChatOptions(model or settings.default_model, None, default_params(settings))
        return cls(settings, store, options)

    @classmethod
    def restore(
        cls, settings: Settings, store: ChatStore, chat_id: int
    ) -> tuple[ChatSession, list[StoredMessage], list[str]]:
        """Reopen a saved chat; returns the session, its messages and warnings to show."""
        chat = store.get_chat(chat_id)
        messages = store.messages(chat_id)
        warnings: list[str] = []
        model = chat.model
        known = {m.name for m in settings.models}
        if model not in known:
            warnings.append(
                f"model '{model}' of this chat is no longer configured; "
                f"continuing with '{settings.default_model}'"
            )
            model = settings.default_model
        try:
            params = SamplingParams.model_validate(
                {**default_params(settings).model_dump(), **chat.params}
            )
        except Exception:  # bad saved params fall back to the defaults, with a warning
            warnings.append("this chat's saved sampling parameters were invalid; using defaults")
            params = default_params(settings)
        collection = chat.meta.get("collection")
        action = chat.meta.get("action")
        session = cls(
            settings,
            store,
            ChatOptions(model, chat.system_prompt, params),
            chat_id=chat.id,
            title=chat.title,
            turns=turns_from_messages(messages),
            collection=collection if isinstance(collection, str) and collection else None,
            action=action if isinstance(action, str) and action else "query",
        )
        return session, messages, warnings

    # --- options --------------------------------------------------------------------

    def set_options(self, options: ChatOptions) -> None:
        self.options = options
        if self.store is not None and self.chat_id is not None:
            self.store.update_chat_settings(
                self.chat_id,
                model=options.model,
                system_prompt=options.system_prompt,
                params=options.params.model_dump(),
            )

    @property
    def system_prompt(self) -> str:
        return self.options.effective_system_prompt(self.settings)

    # --- turns ----------------------------------------------------------------------

    def record_question(self, question: str) -> None:
        """Save the question (creating the chat row on the first one)."""
        self._pending_question = question
        if self.store is None:
            return
        if self.chat_id is None:
            chat = self.store.create_chat(
                self.options.model,
                system_prompt=self.options.system_prompt,
                params=self.options.params.model_dump(),
            )
            self.chat_id = chat.id
        self.store.add_message(self.chat_id, "user", question)
        if not self.title:
            self.title = self.store.get_chat(self.chat_id).title

    def answer_from(self, collection: str | None, action: str) -> None:
        """Remember what questions are answered from (a collection and action, or plain
        chat) and save it with the chat, once it exists; unchanged, nothing is written."""
        changed = (collection, action) != (self.collection, self.action)
        self.collection, self.action = collection, action
        if self.store is None or self.chat_id is None:
            return
        meta = self.store.get_chat(self.chat_id).meta
        wanted = {**meta, "collection": collection, "action": action}
        if changed or wanted != meta:
            self.store.update_chat_meta(self.chat_id, wanted)

    def plan(self, engine: Engine, question: str) -> ContextPlan:
        return fit_context(
            engine, self.system_prompt, self.turns, question, self.options.params.max_new_tokens
        )

    def request(self, plan: ContextPlan) -> GenerationRequest:
        return GenerationRequest(plan.messages, self.options.params.model_copy(deep=True))

    def begin_answer(self, model: str) -> AnswerRecord:
        if self.store is None or self.chat_id is None:
            return AnswerRecord(None, None)
        message_id = self.store.add_message(
            self.chat_id, "assistant", "", status="partial", model=model
        )
        return AnswerRecord(self.store, message_id)

    def complete_turn(self, answer: str) -> None:
        """Add the last recorded question, with its answer, to the history used as context."""
        question = self._pending_question
        if question is not None:
            self.add_turn(question, answer)

    def add_turn(self, question: str, answer: str) -> None:
        """Add a question and its answer to the history used as context; an empty answer
        (a failure before any text) is left out, partial and stopped ones count.

        The answer runner names its own question, so several answers may be in flight."""
        if question == self._pending_question:
            self._pending_question = None
        if answer.strip():
            self.turns.append(Turn(question, answer))


def sources_meta(
    collection: str, action: str, sources: Sequence[Passage], dropped: Sequence[Dropped]
) -> dict[str, Any]:
    """A documents answer's meta: where it came from, its sources and what was left out."""
    return {
        "collection": collection,
        "action": action,
        "sources": [p.to_meta() for p in sources],
        "dropped": [d.to_meta() for d in dropped],
    }


def sources_from_meta(meta: dict[str, Any] | None) -> tuple[list[Passage], list[Dropped]]:
    """The sources and drops saved by :func:`sources_meta` (empty for a plain answer, and
    for a save this version cannot read: the answer's text is what matters)."""
    from h2otui.qa.citations import Passage
    from h2otui.qa.context import Dropped

    if not meta:
        return [], []
    try:
        sources = [Passage.from_meta(p) for p in meta.get("sources") or []]
        dropped = [Dropped.from_meta(d) for d in meta.get("dropped") or []]
    except (TypeError, AttributeError, ValueError):
        return [], []
    return sources, dropped


def turns_from_messages(messages: Sequence[StoredMessage]) -> list[Turn]:
    """Question/answer pairs with a non-empty answer (partial and stopped ones count)."""
    turns: list[Turn] = []
    question: str | None = None
    for m in messages:
        if m.role == "user":
            question = m.content
        elif m.role == "assistant" and question is not None:
            if m.content.strip():
                turns.append(Turn(question, m.content))
            question = None
    return turns
