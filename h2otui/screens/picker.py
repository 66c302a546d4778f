"""Search and pick one item: past questions (Ctrl+R), saved chats (/ in the chat list).

Typing filters (``search(query)`` gives the matching items as ``(label, value)``); Enter
or a click picks the highlighted one and dismisses with its value; Esc dismisses with
None. Labels are chat titles and the user's questions: shown as plain text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList
from textual.widgets.option_list import Option

from h2otui.safe_text import visible

#: at most this many matches are listed
MAX_SHOWN = 200


class PickerScreen(ModalScreen[Any]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("enter", "pick", "Pick", priority=True),
    ]

    def __init__(
        self,
        title: str,
        search: Callable[[str], list[tuple[str, Any]]],
        *,
        placeholder: str = "Type to search",
        empty: str = "Nothing matches.",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.search = search
        self.placeholder = placeholder
        self.empty = empty
        self._values: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Footer()
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="title", markup=False)
            yield Input(placeholder=self.placeholder, id="query", compact=True)
            yield OptionList(id="matches", compact=True)
            yield Label("", id="status", markup=False)

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        self._fill("")

    @on(Input.Changed, "#query")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    def _fill(self, query: str) -> None:
        try:
            found = self.search(query)
        except Exception as exc:  # the store failing: say so, keep the dialog usable
            found = []
            self.query_one("#status", Label).update(f"Search failed: {exc}")
        else:
            shown = found[:MAX_SHOWN]
            more = f" (first {MAX_SHOWN} shown)" if len(found) > MAX_SHOWN else ""
            status = f"{len(found)} found{more}" if found else self.empty
            self.query_one("#status", Label).update(status)
            found = shown
        self._values = [value for _, value in found]
        matches = self.query_one("#matches", OptionList)
        matches.clear_options()
        matches.add_options(
            [Option(Text(visible(" ".join(label.split())), no_wrap=True)) for label, _ in found]
        )
        if found:
            matches.highlighted = 0

    def action_move(self, step: int) -> None:
        matches = self.query_one("#matches", OptionList)
        if self._values:
            current = matches.highlighted or 0
            matches.highlighted = max(0, min(len(self._values) - 1, current + step))

    def action_pick(self) -> None:
        index = self.query_one("#matches", OptionList).highlighted
        if index is not None and 0 <= index < len(self._values):
            self.dismiss(self._values[index])

    @on(OptionList.OptionSelected, "#matches")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self._values[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
