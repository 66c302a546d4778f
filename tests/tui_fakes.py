"""A scripted engine for driving the TUI through states a real model cannot be made to
hit on demand (a slow endless answer, a failure, a tiny context).

It implements the real Engine protocol: events, cancellation (its ``finally`` records that
the stream was closed), token counting (one token per whitespace-separated word) and a
context length.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget

from h2otui.engines.base import (
    Engine,
    EngineError,
    Event,
    Finished,
    FinishReason,
    GenerationRequest,
    Message,
    StopWatch,
    TextDelta,
)


class ScriptedEngine(Engine):
    engine_name = "scripted"

    def __init__(
        self,
        answer: Callable[[GenerationRequest], Sequence[str]] | Sequence[str] = ("Hello", " world."),
        *,
        model_name: str = "fake",
        context: int = 4096,
        gate_after: int | None = None,
        endless: bool = False,
        delay: float = 0.0,
    ) -> None:
        self.answer = answer
        self.model_name = model_name
        self.prompt_type = "plain"
        self.context = context
        self.requests: list[GenerationRequest] = []
        self.fail: EngineError | None = None
        #: the stream waits on ``gate`` after this many tokens (None = never)
        self.gate_after = gate_after
        self.gate = asyncio.Event()
        #: set once ``gate_after`` tokens were produced
        self.reached = asyncio.Event()
        self.endless = endless
        self.delay = delay
        self.produced = 0
        self.closed = asyncio.Event()
        self.loads = 0

    @classmethod
    def from_entry(cls, entry, settings):  # type: ignore[no-untyped-def]
        raise NotImplementedError("built by the test's engine factory")

    async def load(self) -> None:
        self.loads += 1

    def _tokens(self, request: GenerationRequest) -> Sequence[str]:
        return self.answer(request) if callable(self.answer) else self.answer

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Event]:
        self.requests.append(request)
        if self.fail is not None:
            raise self.fail
        watch = StopWatch()
        self.produced = 0
        self.closed.clear()
        try:
            tokens = list(self._tokens(request))
            i = 0
            while i < len(tokens) or self.endless:
                if self.gate_after is not None and i == self.gate_after:
                    self.reached.set()
                    await self.gate.wait()
                tok = tokens[i % len(tokens)] if tokens else "x "
                await asyncio.sleep(self.delay)  # paced like a real stream
                watch.mark_token()
                yield TextDelta(tok)
                self.produced += 1
                i += 1
            yield watch.usage(
                self.count_tokens(self.render_prompt(request.messages)), self.produced
            )
            yield Finished(FinishReason.STOP)
        finally:
            self.closed.set()

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def render_prompt(self, messages: Sequence[Message]) -> str:
        return "\n".join(f"{m.role}: {m.content}" for m in messages)

    @property
    def context_length(self) -> int:
        return self.context


def factory_for(engine: Engine):  # type: ignore[no-untyped-def]
    """An engine factory that hands out ``engine`` for every model."""

    def build(entry, settings):  # type: ignore[no-untyped-def]
        engine.model_name = entry.name
        return engine

    return build


class ScrollApp(App[None]):
    """A bare app showing one widget in a scrolling container (no screens, no engine)."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield self.widget
