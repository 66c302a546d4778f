"""A multi-line prompt box: Enter sends, Ctrl+J (or Shift/Alt+Enter) adds a newline.

Up in an empty box recalls the previous question (again: older ones; Down: newer ones,
then the empty box back), as a shell does. :attr:`ChatInput.past_questions` holds the past
questions, newest first (the screen fills it from the chat store)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip
from textual.widgets import TextArea

from h2otui.widgets.textual_compat import replace_as_typed

#: keys that insert a newline instead of sending. Ctrl+J works in every terminal (it is
#: a literal line feed); Shift+Enter / Alt+Enter only where the terminal reports them.
NEWLINE_KEYS = ("ctrl+j", "shift+enter", "alt+enter")


class ChatInput(TextArea):
    """Where the user writes. Pasting multi-line text keeps its newlines."""

    DEFAULT_CSS = """
    ChatInput {
        height: auto;
        min-height: 3;
        max-height: 10;
        border: round $primary 50%;
        padding: 0 1;
        &:focus { border: round $primary; }
        & .text-area--cursor-line { background: transparent; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # Enter is handled in _on_key, in order with the typed characters (a priority
        # binding would run before keys typed just ahead of it reached the box); the
        # binding is here for the footer.
        Binding("enter", "submit", "Send", show=True),
        # not in the footer: the placeholder says it, and an 80-column footer has no room
        Binding("ctrl+j", "newline", "Newline", show=False, key_display="^j"),
        # Ctrl+Y copies the last answer (the screen's action), not TextArea's redo
        Binding("ctrl+y", "screen.copy_last", "Copy", show=True),
    ]

    @dataclass
    class Submitted(Message):
        """The user pressed Enter on a non-empty prompt."""

        input: ChatInput
        text: str

        @property
        def control(self) -> ChatInput:
            return self.input

    def __init__(self, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(
            "",
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            compact=False,
            placeholder=placeholder,
            highlight_cursor_line=False,
        )
        self.past_questions = []

    #: past questions, newest first
    past_questions: list[str]
    #: which of :attr:`past_questions` the box shows (None: the user's own text)
    _recalled: int | None = None

    def remember(self, question: str) -> None:
        """Put ``question`` first in the history (once) and stop recalling."""
        history = self.past_questions
        self.past_questions = [question, *(q for q in history if q != question)]
        self._recalled = None

    def _recall(self, step: int) -> bool:
        """Show the history entry ``step`` away (+1 older, -1 newer); False if none."""
        history = self.past_questions
        current = -1 if self._recalled is None else self._recalled
        index = current + step
        if index >= len(history) or (index < 0 and self._recalled is None):
            return False
        if index < 0:
            self._recalled = None
            self.load_text("")
            return True
        self._recalled = index
        self.load_text(history[index])
        self.move_cursor(self.document.end)
        return True

    def _recalling(self) -> bool:
        """Whether the box still shows, unedited, the entry it recalled."""
        history = self.past_questions
        recalled = self._recalled
        return recalled is not None and recalled < len(history) and self.text == history[recalled]

    def render_line(self, y: int) -> Strip:
        """A blank line while the box has no room for text.

        Textual 8 wraps the placeholder to the content width, and wrapping at width 0
        raises ``ValueError: range() arg 3 must not be zero`` -- a resize that squeezes the
        box to nothing (side panels open, a small terminal) would kill the app."""
        if self.content_size.width <= 0:
            return Strip.blank(0)
        return super().render_line(y)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        if event.key in ("up", "down"):
            row = self.cursor_location[0]
            if not self._recalling():
                self._recalled = None
            # Up recalls from an empty box, or from the first line of a recalled one;
            # Down moves on from the last line of a recalled one
            recall = not self.text or (self._recalling() and row == 0)
            if event.key == "up" and recall and self._recall(+1):
                event.stop()
                event.prevent_default()
                return
            if event.key == "down" and self._recalling() and row == self.document.line_count - 1:
                self._recall(-1)
                event.stop()
                event.prevent_default()
                return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.action_newline()
            return
        await super()._on_key(event)

    def action_newline(self) -> None:
        start, end = self.selection
        replace_as_typed(self, "\n", start, end)

    def action_submit(self) -> None:
        text = self.text
        if not text.strip():
            return
        self.post_message(self.Submitted(self, text))
