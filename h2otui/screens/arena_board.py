"""The arena leaderboard in the app (the compare screen's Ctrl+L; ``h2otui arena
leaderboard`` prints the same table). Computed in a thread: the bootstrap takes a moment
with many votes."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from h2otui.safe_text import visible


class LeaderboardScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = data_dir

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Arena leaderboard", id="board-title")
            with VerticalScroll(id="board-body"):
                yield Static("counting votes…", id="board", markup=False)
            yield Label("Esc closes", classes="hint")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False)
    def load(self) -> None:
        from h2otui.chat.arena import format_table, leaderboard
        from h2otui.store.arena import load_votes

        try:
            votes = load_votes(self.data_dir)
            text = format_table(leaderboard(votes), len(votes))
        except Exception as exc:  # shown in place; the app stays usable
            text = f"cannot read the votes: {exc}"
        self.app.call_from_thread(self.query_one("#board", Static).update, visible(text))

    def action_close(self) -> None:
        self.dismiss(None)
