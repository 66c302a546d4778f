"""A yes/no question that dismisses with the answer."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label

from h2otui.safe_text import visible


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "No"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(
        self, question: str, *, yes: str = "Yes", no: str = "No", danger: bool = False
    ) -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no
        self.danger = danger

    def compose(self) -> ComposeResult:
        # the dialog's own keys: the chat's footer below it would list keys that do
        # nothing while the dialog is open
        yield Footer()
        with Vertical(id="dialog"):
            # questions quote chat titles: plain text, controls made visible
            yield Label(visible(self.question), id="question", markup=False)
            with Horizontal(id="buttons"):
                yield Button(f"{self.no} (n)", id="no", compact=True)
                yield Button(
                    f"{self.yes} (y)",
                    id="yes",
                    variant="error" if self.danger else "primary",
                    compact=True,
                )

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
