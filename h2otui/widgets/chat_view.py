"""The conversation: user messages, streamed assistant answers, notices.

An :class:`AssistantMessage` renders Markdown as it streams through Textual's
``MarkdownStream``, which folds fragments together whenever rendering falls behind, so a
fast model never queues up thousands of tiny re-renders.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Label, Markdown, Static
from textual.widgets.markdown import MarkdownStream

STATUS_LABELS = {
    "complete": "",
    "streaming": "",
    "partial": "interrupted",
    "stopped": "stopped",
    "error": "error",
}


class ChatMessage(Vertical, can_focus=True):
    """Base for one message: focusable so it can be selected and copied."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c,y", "copy", "Copy message"),
    ]

    class CopyRequested(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    @property
    def text(self) -> str:
        raise NotImplementedError

    def action_copy(self) -> None:
        self.post_message(self.CopyRequested(self.text))


class UserMessage(ChatMessage):
    DEFAULT_CSS = """
    UserMessage {
        height: auto;
        margin: 1 0 0 4;
        padding: 0 1;
        background: $primary 12%;
        border-left: thick $primary;
        &:focus { background: $primary 25%; }
        & > .role { color: $primary; text-style: bold; }
        & > .content { height: auto; }
    }
    """

    def __init__(self, content: str) -> None:
        super().__init__()
        self._content = content

    @property
    def text(self) -> str:
        return self._content

    def compose(self) -> ComposeResult:
        yield Label("You", classes="role")
        yield Static(Text(self._content), classes="content")


class AssistantMessage(ChatMessage):
    """An answer: model name, Markdown body (streamed), and a stats line."""

    DEFAULT_CSS = """
    AssistantMessage {
        height: auto;
        margin: 1 4 0 0;
        padding: 0 1;
        border-left: thick $secondary;
        &:focus { background: $secondary 15%; }
        & > .role { color: $secondary; text-style: bold; }
        & > Markdown { margin: 0; padding: 0; background: transparent; }
        & > .stats { color: $text-muted; height: auto; }
        &.-stopped > .stats, &.-partial > .stats { color: $warning; }
        &.-error > .stats { color: $error; }
        &.-waiting > .stats { color: $text-muted; text-style: italic; }
    }
    """

    def __init__(self, model: str, content: str = "", *, status: str = "complete", stats: str = "") -> None:
        super().__init__()
        self.model = model
        self._parts: list[str] = [content] if content else []
        self._status = status
        self._stats = stats
        self._stream: MarkdownStream | None = None

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def status(self) -> str:
        return self._status

    def compose(self) -> ComposeResult:
        yield Label(self.model, classes="role")
        yield Markdown(self.text or None)
        yield Static(self._stats_line(), classes="stats")

    def on_mount(self) -> None:
        self._apply_status_class()

    def _stats_line(self) -> Text:
        label = STATUS_LABELS.get(self._status, self._status)
        parts = [p for p in (f"[{label}]" if label else "", self._stats) if p]
        return Text("  ".join(parts))

    def _apply_status_class(self) -> None:
        for name in ("stopped", "partial", "error", "waiting"):
            self.set_class(self._status == name, f"-{name}")

    def set_waiting(self, note: str) -> None:
        """Show a note (e.g. 'thinking…') in the stats line before the first token."""
        self._status = "waiting"
        self._stats = note
        self._apply_status_class()
        self.query_one(".stats", Static).update(Text(note))

    # --- streaming ------------------------------------------------------------------

    def start_stream(self) -> None:
        self._stream = Markdown.get_stream(self.query_one(Markdown))

    async def write(self, fragment: str) -> None:
        self._parts.append(fragment)
        if self._stream is None:
            self.start_stream()
        assert self._stream is not None
        await self._stream.write(fragment)

    async def end_stream(self) -> None:
        """Flush what is pending into the Markdown widget and stop the stream."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.stop()

    def finish(self, status: str, stats: str = "") -> None:
        self._status = status
        self._stats = stats
        self._apply_status_class()
        self.query_one(".stats", Static).update(self._stats_line())


class Notice(Static):
    """A one-line note in the conversation (e.g. turns left out of the context)."""

    DEFAULT_CSS = """
    Notice {
        height: auto;
        margin: 1 0 0 0;
        color: $warning;
        text-style: italic;
    }
    """


class ConversationView(VerticalScroll):
    """Holds the messages and stays scrolled to the newest one while it streams."""

    DEFAULT_CSS = """
    ConversationView {
        height: 1fr;
        padding: 0 1 1 1;
        scrollbar-size-vertical: 1;
    }
    ConversationView > .empty {
        color: $text-muted;
        margin: 1 2;
        height: auto;
    }
    """

    def on_mount(self) -> None:
        self.anchor()

    def messages(self) -> list[ChatMessage]:
        return list(self.query(ChatMessage))

    def last_answer(self) -> AssistantMessage | None:
        answers = list(self.query(AssistantMessage))
        return answers[-1] if answers else None

    async def clear(self, hint: str = "") -> None:
        await self.remove_children()
        if hint:
            await self.mount(Static(hint, classes="empty"))

    async def add(self, widget: Static | ChatMessage) -> None:
        for empty in self.query(".empty"):
            await empty.remove()
        await self.mount(widget)
        self.anchor()
