"""What an :class:`~h2otui.chat.runner.AnswerRunner` yields while it runs one answer.

Every view (the chat screen, ``chat --plain``, the compare screen) ``match``es on these
and renders them; none of them needs to know the engine, QA or store error types. In the
order they can come::

    QuestionSaved                     always first: the question is in the history
    HistoryError*                     the chat store failed; the answer goes on, unsaved
    Loading?                          the model is being loaded (only when it is not yet)
    EngineReady                       the model is ready; generation or retrieval starts
    ContextTrimmed?                   older turns were left out to fit the context
    SourcesFound?                     collection answers: the passages in the prompt
    Progress*                         summarize / extract: map-reduce steps
    TextDelta*                        the answer's text, in order
    AnswerFinished                    always last when the answer was not cancelled

A cancelled answer (the consuming task cancelled, or the stream closed) yields nothing
more; its :class:`AnswerFinished` (status ``stopped``) is on ``runner.finished``.
``TextDelta`` is the engines' own event, re-exported so views import one module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from h2otui.chat.session import format_stats
from h2otui.engines.base import TextDelta

if TYPE_CHECKING:
    from h2otui.qa.citations import Passage
    from h2otui.qa.context import Dropped
    from h2otui.qa.pipeline import QAResult

__all__ = [
    "AnswerEvent",
    "AnswerFinished",
    "AnswerStatus",
    "ContextTrimmed",
    "EngineReady",
    "HistoryError",
    "Loading",
    "Progress",
    "QuestionSaved",
    "SourcesFound",
    "TextDelta",
]

AnswerStatus = Literal["complete", "stopped", "error"]


@dataclass(frozen=True, slots=True)
class QuestionSaved:
    """The question is recorded: in the store (``chat_id`` set; a new chat got its
    ``title``) or, with history off, only in the session."""

    chat_id: int | None
    title: str


@dataclass(frozen=True, slots=True)
class HistoryError:
    """The chat store failed (disk full, file locked); the answer still streams."""

    message: str


@dataclass(frozen=True, slots=True)
class Loading:
    """The model is loading (seconds for a local model); ``EngineReady`` follows."""

    model: str


@dataclass(frozen=True, slots=True)
class EngineReady:
    """The model is ready; retrieval or generation starts now."""

    model: str


@dataclass(frozen=True, slots=True)
class ContextTrimmed:
    """``dropped_turns`` earlier turns were left out so the prompt fits the context."""

    dropped_turns: int
    context_length: int
    model: str

    def describe(self) -> str:
        n = self.dropped_turns
        return (
            f"{n} earlier turn{'s' if n > 1 else ''} left out to fit the "
            f"{self.context_length}-token context of {self.model}"
        )


@dataclass(frozen=True, slots=True)
class SourcesFound:
    """Collection answers: the numbered passages going into the prompt, and what was
    left out (cut by distance, or not fitting the context)."""

    passages: list[Passage]
    dropped: list[Dropped]


@dataclass(frozen=True, slots=True)
class Progress:
    """A map-reduce step of summarize / extract ("summarizing part 3/7")."""

    message: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class AnswerFinished:
    """The outcome, as saved: ``status`` is ``complete``, ``stopped`` or ``error``.

    ``text`` is the whole answer (partial when stopped); ``stats`` the per-answer numbers
    saved with it (:func:`~h2otui.chat.session.answer_stats`); ``finish_reason`` the
    engine's (``stop``, ``length``, ``cancelled``, ``error``); ``error`` a message for the
    user; ``save_error`` set when the final save to the chat store failed. Collection
    answers carry their final ``sources`` / ``dropped`` and the pipeline's ``qa_result``
    (``None`` when stopped or failed before the end).
    """

    status: AnswerStatus
    text: str
    model: str
    stats: dict[str, Any]
    finish_reason: str = "stop"
    error: str | None = None
    dropped_turns: int = 0
    sources: list[Passage] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    qa_result: QAResult | None = None
    save_error: str | None = None

    def stats_line(self) -> str:
        """The line shown under the answer: numbers, then the error or why it ended."""
        line = format_stats(self.stats) if self.text else ""
        if self.status == "error" and self.error:
            line = (line + " · " if line else "") + self.error
        if self.status == "complete" and self.finish_reason == "length":
            line += " · reached max_new_tokens"
        return line


AnswerEvent = (
    QuestionSaved
    | HistoryError
    | Loading
    | EngineReady
    | ContextTrimmed
    | SourcesFound
    | Progress
    | TextDelta
    | AnswerFinished
)
