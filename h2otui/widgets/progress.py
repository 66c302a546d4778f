"""A one-line 'loading the model' bar with elapsed time."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from h2otui.safe_text import visible


class LoadProgress(Horizontal):
    """Indeterminate progress while something without a percentage runs (a model load)."""

    DEFAULT_CSS = """
    LoadProgress {
        height: 1;
        display: none;
        padding: 0 1;
        &.-active { display: block; }
        & > Label { width: auto; color: $accent; }
        & > ProgressBar { width: 1fr; margin-left: 1; }
        & > .elapsed { color: $text-muted; margin-left: 1; }
    }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._started = 0.0
        self._count = 0

    def compose(self) -> ComposeResult:
        yield Label("", classes="what")
        yield ProgressBar(total=None, show_eta=False, show_percentage=False)
        yield Label("", classes="elapsed")

    def on_mount(self) -> None:
        self._timer = self.set_interval(0.5, self._tick, pause=True)

    @property
    def active(self) -> bool:
        return self._count > 0

    def begin(self, what: str) -> None:
        self._count += 1
        # model names and collection paths: plain text, controls made visible
        self.query_one(".what", Label).update(Text(visible(what)))
        if self._count == 1:
            self._started = time.monotonic()
            self.query_one(".elapsed", Label).update("")
            self.add_class("-active")
            self._timer.resume()

    def end(self) -> None:
        self._count = max(0, self._count - 1)
        if self._count == 0:
            self.remove_class("-active")
            self._timer.pause()

    def _tick(self) -> None:
        self.query_one(".elapsed", Label).update(f"{time.monotonic() - self._started:.0f} s")
