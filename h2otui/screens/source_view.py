"""A dialog showing one source's full chunk text (opened from the sources panel)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from h2otui.safe_text import visible
from h2otui.widgets.sources_panel import highlighted_quote


class SourceScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "dismiss_source", "Close"),
        Binding("ctrl+y", "copy_source", "Copy text", priority=True),
    ]

    def __init__(self, label: str, text: str, path: str, question: str = "") -> None:
        super().__init__()
        self.label = label
        self.text = text  # exact: Ctrl+Y copies what the document holds
        self.path = path
        #: the part of the text matching it is highlighted and scrolled to
        self.question = question

    def compose(self) -> ComposeResult:
        # the dialog's own keys: the chat's footer below it would list keys that do
        # nothing while the dialog is open
        yield Footer()
        with Vertical(id="source-dialog"):
            # document text and file names: controls made visible, never markup
            yield Label(visible(self.label), id="source-label", markup=False)
            yield Label(visible(self.path), id="source-path", markup=False)
            with VerticalScroll(id="source-scroll"):
                yield Static(self._body, id="source-text", markup=False)
            yield Label("Esc close · Ctrl+Y copy", id="source-help")

    def on_mount(self) -> None:
        self.query_one("#source-scroll").focus()
        if self._body.spans:
            self.call_after_refresh(self._scroll_to_match)

    @property
    def _body(self) -> Text:
        if not hasattr(self, "_body_text"):
            self._body_text, self._match_at = highlighted_quote(self.text, self.question)
        return self._body_text

    def _scroll_to_match(self) -> None:
        width = self.query_one("#source-text", Static).content_size.width
        if width > 0:
            lines = self._body[: self._match_at].wrap(self.app.console, width)
            scroll = self.query_one("#source-scroll", VerticalScroll)
            scroll.scroll_to(y=max(0, len(lines) - 2), animate=False)

    def action_dismiss_source(self) -> None:
        self.dismiss(None)

    def action_copy_source(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify(f"Copied the source text ({len(self.text)} characters).", timeout=3)
