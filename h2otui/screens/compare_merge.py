"""The merged answer: one model reads every column's answer and writes one (Ctrl+G on the
compare screen). It streams here; Esc stops it (or closes when done), Ctrl+Y copies it.
When it ends (stopped too) the compare saves it with its chat and shows it in the column
of the model that wrote it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from h2otui.chat.events import AnswerFinished, Loading, TextDelta
from h2otui.safe_text import visible

if TYPE_CHECKING:
    from textual.worker import Worker

    from h2otui.chat.runner import AnswerRunner


class MergeScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop_or_close", "Stop / close", priority=True),
        Binding("ctrl+y", "copy", "Copy"),
    ]

    def __init__(
        self,
        runner: AnswerRunner,
        on_finished: Callable[[str, AnswerFinished | None], None] | None = None,
    ) -> None:
        super().__init__()
        self.runner = runner
        #: told the merged text and how it ended (the compare saves it)
        self.on_finished = on_finished
        self.text = ""
        self.status = "waiting…"
        self._worker: Worker[None] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(visible(f"Merged by {self.runner.model}"), id="merge-title", markup=False)
            yield Static(self.status, id="merge-status", markup=False)
            with VerticalScroll(id="merge-body"):
                yield Static("", id="merge-text", markup=False)
            yield Label("Esc stops, then closes · Ctrl+Y copies", classes="hint")

    def on_mount(self) -> None:
        self._worker = self.run_worker(self._merge(), exit_on_error=False)

    async def _merge(self) -> None:
        text = self.query_one("#merge-text", Static)
        status = self.query_one("#merge-status", Static)
        try:
            async with aclosing(self.runner.events()) as events:
                async for event in events:
                    match event:
                        case Loading(model=model):
                            status.update(visible(f"loading {model}…"))
                        case TextDelta(text=piece):
                            self.text += piece
                            text.update(visible(self.text))
                            status.update("streaming")
                        case AnswerFinished():
                            pass
        finally:
            f = self.runner.finished
            line = "stopped" if f is None else f.status
            if f is not None and f.status == "error" and f.error:
                line += f": {f.error}"
            elif f is not None:
                line += " · " + f.stats_line()
            self.status = line
            status.update(visible(line))
            if self.on_finished is not None:
                self.on_finished(self.text, f)

    def action_stop_or_close(self) -> None:
        worker = self._worker
        if worker is not None and worker.is_running:
            worker.cancel()
        else:
            self.dismiss(None)

    def action_copy(self) -> None:
        if self.text:
            self.app.copy_to_clipboard(self.text)
            self.notify("Copied the merged answer.", timeout=3)
