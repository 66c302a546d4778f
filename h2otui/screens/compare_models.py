"""Pick the 2-4 models a compare shows; dismisses with their names or None."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, SelectionList

from h2otui.chat.compare import MAX_MODELS, MIN_MODELS
from h2otui.safe_text import visible


class ModelPickerScreen(ModalScreen[list[str] | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, models: list[str], selected: list[str]) -> None:
        super().__init__()
        self.models = models
        self.selected = selected

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Models to compare ({MIN_MODELS} to {MAX_MODELS}); Space toggles")
            yield SelectionList[str](
                *((visible(m), m, m in self.selected) for m in self.models), id="models"
            )
            yield Label("", id="problem", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Compare", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
            return
        chosen = [m for m in self.models if m in self.query_one(SelectionList).selected]
        if not MIN_MODELS <= len(chosen) <= MAX_MODELS:
            self.query_one("#problem", Label).update(
                f"Pick {MIN_MODELS} to {MAX_MODELS} models ({len(chosen)} picked)."
            )
            return
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)
