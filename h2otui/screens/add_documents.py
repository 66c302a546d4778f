"""Pick files and folders to ingest: a directory tree with a glob filter, exclude
patterns, and a line for typed or pasted paths. Dismisses with an :class:`AddRequest`
(or None); the collections screen queues it on the app's ingest queue.

Typed paths are split like a shell line (quotes keep spaces in a name); a path that
does not exist is not refused here -- the ingest reports it, with the same message as
``h2otui ingest`` -- so pasting a list with one typo loses nothing else.
"""

from __future__ import annotations

import fnmatch
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label

from h2otui.safe_text import visible


@dataclass(frozen=True, slots=True)
class AddRequest:
    collection: str
    paths: list[str]
    exclude: list[str]


def split_patterns(text: str) -> list[str]:
    return [p for p in text.replace(",", " ").split() if p]


def split_paths(text: str) -> list[str]:
    """Paths typed or pasted on one line, shell-quoted or not."""
    try:
        parts = shlex.split(text)
    except ValueError:  # an unbalanced quote: take the words as they are
        parts = text.split()
    return [str(Path(p).expanduser()) for p in parts if p]


def with_globs(paths: list[str], globs: list[str]) -> list[str]:
    """A folder chosen while the tree shows only ``globs`` means the matching files
    under it: ``folder/**/GLOB`` (discovery expands globs recursively)."""
    if not globs:
        return paths
    out: list[str] = []
    for p in paths:
        if Path(p).is_dir():
            out.extend(str(Path(p) / "**" / g) for g in globs)
        else:
            out.append(p)
    return out


class FilteredTree(DirectoryTree):
    """A directory tree showing folders and the files matching ``globs`` (all files
    when empty), minus those matching ``excludes``."""

    def __init__(self, path: str, *, id: str | None = None) -> None:
        super().__init__(path, id=id)
        self.globs: list[str] = []
        self.excludes: list[str] = []

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        out = []
        for path in paths:
            name = path.name
            if any(fnmatch.fnmatch(name, x) for x in self.excludes):
                continue
            try:
                is_dir = path.is_dir()
            except OSError:
                continue
            if is_dir or not self.globs or any(fnmatch.fnmatch(name, g) for g in self.globs):
                out.append(path)
        return out


class AddDocumentsScreen(ModalScreen[AddRequest | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "add", "Ingest", priority=True),
        # the tree's own Enter / Space open folders; s chooses the highlighted one
        Binding("s", "toggle", "Choose"),
    ]

    def __init__(self, collection: str, root: Path | None = None) -> None:
        super().__init__()
        self.collection = collection
        self.root = root or Path.cwd()
        self.chosen: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="add-dialog"):
            with Horizontal(classes="add-row"):
                yield Label("Collection ", classes="add-label")
                yield Input(self.collection, id="add-collection")
            with Horizontal(classes="add-row"):
                yield Label("Show only ", classes="add-label")
                yield Input(placeholder="glob filter, e.g. *.pdf *.md", id="add-glob")
            with Horizontal(classes="add-row"):
                yield Label("Exclude ", classes="add-label")
                yield Input(placeholder="patterns, e.g. *.tmp drafts", id="add-exclude")
            yield FilteredTree(str(self.root), id="add-tree")
            with Horizontal(classes="add-row"):
                yield Label("Paths ", classes="add-label")
                yield Input(
                    placeholder="or type / paste paths (quoted if they hold spaces)", id="add-paths"
                )
            yield Label("", id="add-chosen", markup=False)
            yield Label(
                "s choose a file or folder · Enter choose a file · Ctrl+S ingest · Esc cancel",
                classes="hint",
            )
            with Horizontal(id="add-buttons"):
                yield Button("Cancel", id="add-cancel", compact=True)
                yield Button("Ingest (Ctrl+S)", id="add-ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#add-tree", FilteredTree).focus()
        self._show_chosen()

    # --- filters ------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        tree = self.query_one("#add-tree", FilteredTree)
        if event.input.id == "add-glob":
            tree.globs = split_patterns(event.value)
            tree.reload()
        elif event.input.id == "add-exclude":
            tree.excludes = split_patterns(event.value)
            tree.reload()
        elif event.input.id == "add-paths":
            self._show_chosen()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "add-paths":
            self.action_add()

    # --- choosing -----------------------------------------------------------------------

    def _toggle(self, path: Path) -> None:
        key = str(path)
        if key in self.chosen:
            self.chosen.remove(key)
        else:
            self.chosen.append(key)
        self._show_chosen()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self._toggle(event.path)

    def action_toggle(self) -> None:
        tree = self.query_one("#add-tree", FilteredTree)
        if not tree.has_focus:
            return
        node = tree.cursor_node
        if node is not None and node.data is not None:
            self._toggle(Path(node.data.path))

    def all_paths(self) -> list[str]:
        typed = split_paths(self.query_one("#add-paths", Input).value)
        return list(dict.fromkeys([*self.chosen, *typed]))

    def _show_chosen(self) -> None:
        paths = self.all_paths()
        if not paths:
            text = "nothing chosen yet"
        else:
            names = ", ".join(Path(p).name or p for p in paths[:6])
            text = f"{len(paths)} chosen: {names}" + (" …" if len(paths) > 6 else "")
        self.query_one("#add-chosen", Label).update(Text(visible(text)))

    # --- answering ----------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "add-ok":
            self.action_add()
        else:
            self.action_cancel()

    def action_add(self) -> None:
        paths = self.all_paths()
        name = self.query_one("#add-collection", Input).value.strip()
        if not paths:
            self.notify("Choose files or folders in the tree, or type their paths.", timeout=4)
            return
        if not name:
            self.notify("Name the collection to ingest into.", timeout=4)
            return
        globs = split_patterns(self.query_one("#add-glob", Input).value)
        patterns = split_patterns(self.query_one("#add-exclude", Input).value)
        # a name excludes files and folders of that name, as the tree shows it, also
        # when the folders are expanded to globs (discovery matches a glob's files by
        # name and full path only)
        exclude = [*patterns, *(f"*/{p}/*" for p in patterns if "/" not in p)]
        self.dismiss(AddRequest(name, with_globs(paths, globs), exclude))

    def action_cancel(self) -> None:
        self.dismiss(None)
