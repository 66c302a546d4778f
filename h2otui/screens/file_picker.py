"""Pick a GGUF file from the disk: folders and ``*.gguf`` files, dot-entries hidden.

File names are untrusted: Textual's tree would parse a plain-string label as markup, so
every label is made a plain :class:`~rich.text.Text` with controls made visible first.
Dismisses with the chosen path, or ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Label

from h2otui.safe_text import visible


class GgufTree(DirectoryTree):
    """A directory tree of folders and GGUF files whose labels are never markup."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        for path in paths:
            if path.name.startswith("."):
                continue
            try:
                if path.is_dir() or path.suffix.lower() == ".gguf":
                    yield path
            except OSError:
                continue  # unreadable entry: skip it, keep the rest

    def process_label(self, label: object) -> Text:
        if isinstance(label, Text):
            return Text(visible(label.plain), style=label.style)
        return Text(visible(str(label)))


class FilePickerScreen(ModalScreen[str | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(f"Pick a .gguf file under {visible(str(self.start))}"), id="title")
            yield GgufTree(self.start, id="tree")
            yield Label("Enter picks a file or opens a folder · Esc cancels", classes="muted")

    def on_mount(self) -> None:
        self.query_one(GgufTree).focus()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(str(event.path))

    def action_cancel(self) -> None:
        self.dismiss(None)
