"""The engine protocol every model backend implements.

An engine turns a :class:`GenerationRequest` (a conversation plus sampling parameters)
into an async stream of typed events:

* :class:`TextDelta` -- a piece of generated text, in order;
* :class:`Usage` -- token counts and timings, sent once, right before the end;
* :class:`Finished` -- always the last event, with a :class:`FinishReason`.

Contract (tests hold every engine to it):

* Problems that prevent generation from starting (model file missing, server refused
  the connection, bad credentials) raise an :class:`EngineError` subclass from the
  first ``__anext__`` call, with a message a user can act on.
* A failure after text was produced does not raise: the stream ends with
  ``Finished(reason=ERROR, error=...)`` so the partial answer is kept.
* Cancelling the task that consumes the stream (or calling ``aclose()`` on it) stops
  generation promptly -- within 0.5 s -- and leaves nothing generating in the
  background. Engines that generate in a thread must join it in their cleanup path.

This module is deliberately light: it imports neither Textual nor any model library.
"""

from __future__ import annotations

import abc
import enum
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

# the error hierarchy and SamplingParams live in neutral modules (config and the server
# grammar use them without importing the engines); engine code imports them from here
from h2otui.errors import (
    EngineAuthError,
    EngineConfigError,
    EngineConnectionError,
    EngineError,
    EngineRequestError,
    ModelNotFoundError,
)
from h2otui.sampling import SamplingParams

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings

__all__ = [
    "Capabilities",
    "Completion",
    "Engine",
    "EngineAuthError",
    "EngineConfigError",
    "EngineConnectionError",
    "EngineError",
    "EngineOptions",
    "EngineRequestError",
    "Event",
    "FinishReason",
    "Finished",
    "GenerationRequest",
    "Message",
    "ModelNotFoundError",
    "SamplingParams",
    "StopWatch",
    "TextDelta",
    "Usage",
    "collect",
]

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a conversation."""

    role: Role
    content: str


@dataclass(slots=True)
class GenerationRequest:
    """What to generate.

    ``messages`` is the conversation (an optional leading system message, then
    alternating user / assistant turns, ending with a user turn). ``prompt`` -- when
    set -- is a raw prompt used verbatim by raw-prompt engines, for callers (document
    QA) that build their own prompt text; chat engines send it as one user message.
    """

    messages: list[Message]
    params: SamplingParams = field(default_factory=SamplingParams)
    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    time_to_first_token_s: float | None
    total_s: float

    @property
    def tokens_per_s(self) -> float:
        """Generation speed after the first token (prompt processing excluded)."""
        if self.completion_tokens <= 1 or self.time_to_first_token_s is None:
            return 0.0
        gen_time = self.total_s - self.time_to_first_token_s
        return (self.completion_tokens - 1) / gen_time if gen_time > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


class FinishReason(enum.StrEnum):
    STOP = "stop"
    LENGTH = "length"
    CANCELLED = "cancelled"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Finished:
    reason: FinishReason
    error: str | None = None


Event = TextDelta | Usage | Finished


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an engine can do; callers adapt instead of guessing."""

    chat_messages: bool = False
    """Accepts role-tagged messages natively (server-side chat template)."""
    raw_prompt: bool = True
    """Accepts a raw prompt string rendered with a prompt type."""
    stop_sequences: bool = True
    max_stop_sequences: int | None = None
    seed: bool = True
    local: bool = True
    """Runs in this process (as opposed to a remote server)."""


class EngineOptions(BaseModel):
    """Base for each engine's own options model. Unknown options are an error."""

    model_config = ConfigDict(extra="forbid")


# --- the engine base class ------------------------------------------------------------


class Engine(abc.ABC):
    """Base class for model backends.

    Subclasses set ``engine_name``, ``Options`` and ``capabilities``, and implement
    :meth:`from_entry`, :meth:`stream`, :meth:`count_tokens` and ``context_length``.
    :meth:`load` and :meth:`aclose` have safe defaults.
    """

    engine_name: ClassVar[str]
    Options: ClassVar[type[EngineOptions]] = EngineOptions
    capabilities: Capabilities = Capabilities()

    #: A human-readable model label ("gemma3-270m", "tgi@host:8080").
    model_name: str = ""
    #: The resolved prompt type name ("plain_qa", "llama2", "template" for a chat template).
    prompt_type: str = ""

    @classmethod
    @abc.abstractmethod
    def from_entry(cls, entry: ModelEntry, settings: Settings) -> Engine:
        """Build the engine from a configured model entry (validating its options)."""

    async def load(self) -> None:
        """Make the engine ready (load weights, check the server). Idempotent."""

    @abc.abstractmethod
    def stream(self, request: GenerationRequest) -> AsyncIterator[Event]:
        """Generate, yielding events; see the module docstring for the contract."""

    @abc.abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` costs with this model's tokenizer."""

    @property
    @abc.abstractmethod
    def context_length(self) -> int:
        """Most tokens (prompt + generated) the model accepts."""

    def default_system_prompt(self) -> str | None:
        """The text a system prompt of ``"auto"`` stands for with this engine, or None
        when that is not known here (the model's chat template or the server decides)."""
        return None

    def render_prompt(self, messages: Sequence[Message]) -> str:
        """The raw prompt the model would see for ``messages`` (for token budgeting)."""
        return "\n".join(m.content for m in messages)

    async def aclose(self) -> None:
        """Free the backend's resources. Idempotent."""

    @classmethod
    def parse_options(cls, options: dict[str, Any], *, model_name: str) -> EngineOptions:
        from pydantic import ValidationError

        try:
            return cls.Options.model_validate(options)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'options'}: {err['msg']}"
                for err in exc.errors()
            )
            known = ", ".join(sorted(cls.Options.model_fields)) or "none"
            raise EngineConfigError(
                f"model '{model_name}': bad options for engine '{cls.engine_name}': "
                f"{problems} (known options: {known})"
            ) from None


@dataclass(slots=True)
class Completion:
    """A finished generation gathered from a stream (see :func:`collect`)."""

    text: str
    finish_reason: FinishReason
    usage: Usage | None = None
    error: str | None = None


async def collect(engine: Engine, request: GenerationRequest) -> Completion:
    """Run a stream to the end and gather its text, usage and finish reason."""
    parts: list[str] = []
    usage: Usage | None = None
    finished = Finished(FinishReason.ERROR, "stream ended without a Finished event")
    async for event in engine.stream(request):
        match event:
            case TextDelta(text=text):
                parts.append(text)
            case Usage():
                usage = event
            case Finished():
                finished = event
    return Completion("".join(parts), finished.reason, usage, finished.error)


class StopWatch:
    """Times a generation: start, first token, and (at :meth:`usage`) the end."""

    __slots__ = ("first_token", "start")

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first_token: float | None = None

    def mark_token(self) -> None:
        if self.first_token is None:
            self.first_token = time.perf_counter()

    def usage(self, prompt_tokens: int, completion_tokens: int) -> Usage:
        end = time.perf_counter()
        ttft = None if self.first_token is None else self.first_token - self.start
        return Usage(prompt_tokens, completion_tokens, ttft, end - self.start)
