"""Ask for one line of text (e.g. a chat's new title); dismisses with it or None."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label


class TextPromptScreen(ModalScreen[str | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, label: str, value: str = "") -> None:
        super().__init__()
        self.label = label
        self.value = value

    def compose(self) -> ComposeResult:
        # the dialog's own keys: the chat's footer below it would list keys that do
        # nothing while the dialog is open
        yield Footer()
        with Vertical(id="dialog"):
            yield Label(self.label)
            yield Input(self.value, id="value")
            yield Label("Enter to save · Esc to cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
