"""Edit one setting: the editor fits its type (a switch for true / false, a list of the
allowed values for a choice, one line per item for a list, a text box otherwise).

The dialog does not judge the value itself: ``save`` (the settings screen's writer) does,
with the same rules and messages as loading. An error is shown in the dialog, which stays
open with what was typed; nothing was written.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, Switch, TextArea

from h2otui.safe_text import visible
from h2otui.user_config import field_info, parse_cli_value

Kind = Literal["bool", "choice", "int", "float", "list", "string"]


def editor_kind(key: str) -> tuple[Kind, tuple[str, ...], bool]:
    """(editor, choices, optional) for a setting, from its declared type."""
    annotation = field_info(key).annotation
    optional = False
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        optional = type(None) in args
        rest = [a for a in args if a is not type(None)]
        annotation = rest[0] if len(rest) == 1 else str
        args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return "bool", (), optional
    if origin is Literal:
        return "choice", tuple(str(a) for a in args), optional
    if annotation is int:
        return "int", (), optional
    if annotation is float:
        return "float", (), optional
    if origin in (tuple, list):
        return "list", (), optional
    return "string", (), optional


class SettingEditScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(
        self,
        key: str,
        value: Any,
        default: Any,
        description: str,
        *,
        save: Callable[[Any], str | None],
        choices: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.key = key
        self.value = value
        self.default = default
        self.description = description
        self.save = save
        self.kind, declared, self.optional = editor_kind(key)
        self.choices = tuple(choices) if choices else declared
        if choices:
            self.kind = "choice"
        #: what the editor starts with; untrusted text (control characters) is shown made
        #: visible, and saved unchanged when it is not edited
        self._initial = self._editor_text(value)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(self.key, style="bold"), id="title")
            yield Static(Text(visible(self.description)), id="description")
            yield Label(Text(f"default: {self._plain(self.default)}"), id="default")
            if self.kind == "bool":
                yield Switch(bool(self.value), id="editor")
            elif self.kind == "choice":
                options = list(self.choices)
                if self.value is not None and str(self.value) not in options:
                    options.insert(0, str(self.value))
                yield Select(
                    [(Text(visible(c)), c) for c in options],
                    value=str(self.value) if self.value is not None else options[0],
                    allow_blank=False,
                    id="editor",
                )
            elif self.kind == "list":
                yield Label("One item per line:", classes="muted")
                yield TextArea(self._initial, id="editor")
            else:
                yield Input(
                    self._initial,
                    placeholder="empty = unset" if self.optional else "",
                    id="editor",
                )
            yield Label("", id="error")
            with Horizontal(id="buttons"):
                yield Button("Cancel (Esc)", id="cancel", compact=True)
                yield Button("Save (Ctrl+S)", id="save", variant="primary", compact=True)

    @staticmethod
    def _plain(value: Any) -> str:
        if value is None:
            return "(unset)"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple | list):
            return "[" + ", ".join(visible(repr(str(v))) for v in value) + "]"
        return visible(str(value))

    def _editor_text(self, value: Any) -> str:
        if self.kind == "list":
            return "\n".join(visible(str(v)).replace("\n", "⏎") for v in value or ())
        return "" if value is None else visible(str(value))

    def _unchanged(self) -> bool:
        editor = self.query_one("#editor")
        if isinstance(editor, TextArea):
            return editor.text == self._initial
        if isinstance(editor, Input):
            return editor.value == self._initial
        return False

    def on_mount(self) -> None:
        self.query_one("#editor").focus()

    def read_value(self) -> Any:
        """What the editor holds, in the shape the writer validates; None = unset."""
        editor = self.query_one("#editor")
        if isinstance(editor, Switch):
            return editor.value
        if isinstance(editor, Select):
            return editor.value
        if isinstance(editor, TextArea):
            return [line for line in editor.text.splitlines() if line.strip()]
        assert isinstance(editor, Input)
        raw = editor.value
        if not raw.strip() and self.optional:
            return None
        if self.kind == "string" and self.key != "model_lock":
            return raw  # a string setting takes the text as typed
        return parse_cli_value(raw)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        if self._unchanged() and self.kind in ("list", "string", "int", "float"):
            self.dismiss(None)  # nothing to write (and shown text may differ from the value)
            return
        error = self.save(self.read_value())
        if error:
            self.query_one("#error", Label).update(Text(visible(error)))
            return
        self.dismiss(None)
