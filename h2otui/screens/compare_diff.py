"""A word-level diff of two answers (the compare screen's Ctrl+D)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from h2otui.chat.diff import similarity, word_diff
from h2otui.safe_text import visible

STYLES = {"equal": "", "delete": "strike red", "insert": "bold green"}


def diff_text(a: str, b: str) -> Text:
    """The diff as rich Text: removed words struck through, added ones highlighted."""
    out = Text()
    for op, piece in word_diff(a, b):
        out.append(visible(piece), style=STYLES[op])
    return out


class DiffScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, label_a: str, a: str, label_b: str, b: str) -> None:
        super().__init__()
        self.label_a, self.a, self.label_b, self.b = label_a, a, label_b, b

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(
                visible(
                    f"{self.label_a} → {self.label_b}: {similarity(self.a, self.b):.0%} "
                    "of words shared · struck: only in the first · bold: only in the second"
                ),
                markup=False,
                id="diff-title",
            )
            with VerticalScroll(id="diff-body"):
                yield Static(diff_text(self.a, self.b), id="diff", markup=False)
            yield Label("Esc closes", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
