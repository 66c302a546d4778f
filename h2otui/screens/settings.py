"""Every setting and every configured model, where each value comes from, and editing
that writes to the user config file.

The list groups the settings by section (``config.toml``'s sections, then ``models``);
the panel under it shows the highlighted one: its description (the field's
``description``, the text ``config.toml`` documents it with), current value, default, and
the layer that set it. Enter edits (:class:`~h2otui.screens.setting_edit.SettingEditScreen`),
``r`` resets to the default. Every change goes through :class:`h2otui.user_config.UserConfig`
-- validated as loading validates, nothing written on error -- and then through the app's
one path for new settings, ``apply_settings``. A value set by an ``H2OTUI_*`` variable or
a flag is read-only here: the file would not win over it, and saying "saved" would be a lie.

Secrets never reach the screen: values go through :func:`h2otui.user_config.masked`, server
strings through :func:`h2otui.servers.redact_server`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from h2otui.config import ConfigError, Layer, Settings
from h2otui.messages import SettingsChanged
from h2otui.safe_text import visible
from h2otui.user_config import (
    UserConfig,
    describe_model_entries,
    describe_settings,
    masked,
)

if TYPE_CHECKING:
    from h2otui.app import H2oTuiApp

SECTIONS = ("general", "generation", "ingest", "embedding", "remote", "ui", "qa")
ADD_MODEL = "add-model"

#: what a change of a key (or of every key in a section) does in the running app
_EFFECTS: dict[str, str] = {
    "ui": "applied now",
    "generation": "applied now: new chats use it (an open chat keeps its options, Ctrl+O)",
    "qa": "applied now: the next question from a collection uses it",
    "remote": "applied now: remote models reconnect on their next use (model reload)",
    "default_model": "applied now: new chats use it",
    "ingest": "used by the next ingest",
    "embedding": "used by the next ingest and question (restart h2otui for open collections)",
    "data_dir": "needs a restart of h2otui (collections and models stay where they are)",
    "model_lock": "applied now: models reload on their next use",
}


def effect_of(key: str) -> str:
    """What changing ``key`` does while the app runs (shown after a change)."""
    return _EFFECTS.get(key) or _EFFECTS.get(key.split(".")[0], "applied now")


def read_only_reason(settings: Settings, key: str) -> str | None:
    """Why ``key`` cannot be changed from the screen, or None when it can."""
    origin = settings.origin(key)
    if origin.layer is Layer.ENV:
        return (
            f"set by the environment variable {origin.source}, which wins over the user "
            "config: unset it (and restart) to change this here"
        )
    if origin.layer is Layer.FLAG:
        return (
            "set by a command-line flag for this run, which wins over the user config: "
            "start h2otui without it to change this here"
        )
    return None


def shown(value: Any) -> str:
    """A value as the list shows it (TOML-ish, one line)."""
    import json

    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = (
        json.dumps(value, ensure_ascii=False) if not isinstance(value, int | float) else str(value)
    )
    return visible(text.replace("\n", "⏎"))


class SettingsScreen(Screen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "edit", "Edit", show=True),
        Binding("r", "reset", "Reset to default"),
        Binding("a", "add_model", "Add model"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._rows: dict[str, dict[str, Any]] = {}
        self._models: dict[str, dict[str, Any]] = {}

    @property
    def h2o(self) -> H2oTuiApp:
        return cast("H2oTuiApp", self.app)

    @property
    def settings(self) -> Settings:
        return self.h2o.settings

    def compose(self) -> ComposeResult:
        with Vertical(id="settings-body"):
            yield Label("", id="settings-title")
            yield OptionList(id="settings-list")
            yield Static("", id="settings-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_list()
        self.query_one("#settings-list", OptionList).focus()

    def on_resize(self) -> None:
        # on a short terminal the list keeps most of the rows; the panel shows its start
        detail = self.query_one("#settings-detail", Static)
        detail.styles.max_height = 8 if self.size.height >= 20 else 3

    def on_settings_changed(self, event: SettingsChanged) -> None:
        self.refresh_list()

    # --- the list -----------------------------------------------------------------------

    def refresh_list(self) -> None:
        settings = self.settings
        title = Text("Settings", style="bold")
        title.append(f"  user config: {visible(str(UserConfig().path))}", style="dim")
        self.query_one("#settings-title", Label).update(title)
        rows = describe_settings(settings)
        self._rows = {r["key"]: r for r in rows}
        self._models = {m["name"]: m for m in describe_model_entries(settings)}
        for model in self._models.values():
            model["status"] = self._model_status(settings, model["name"])
        options: list[Option | None] = []
        for section in SECTIONS:
            in_section = [r for r in rows if r["section"] == section]
            if not in_section:
                continue
            options.append(Option(Text(section, style="bold reverse"), disabled=True))
            for r in in_section:
                options.append(Option(self._row_text(r), id=f"key:{r['key']}"))
        extra = sorted({r["section"] for r in rows} - set(SECTIONS))
        for section in extra:  # a section added to config.py later still shows
            options.append(Option(Text(section, style="bold reverse"), disabled=True))
            for r in rows:
                if r["section"] == section:
                    options.append(Option(self._row_text(r), id=f"key:{r['key']}"))
        options.append(Option(Text("models", style="bold reverse"), disabled=True))
        for m in self._models.values():
            options.append(Option(self._model_text(m), id=f"model:{m['name']}"))
        options.append(Option(Text("+ Add a model (a)", style="italic"), id=ADD_MODEL))
        option_list = self.query_one("#settings-list", OptionList)
        highlighted = option_list.highlighted
        current = (
            option_list.get_option_at_index(highlighted).id if highlighted is not None else None
        )
        option_list.clear_options()
        option_list.add_options(options)
        if current is not None:
            try:
                option_list.highlighted = option_list.get_option_index(current)
            except Exception:
                option_list.highlighted = None
        if option_list.highlighted is None:
            option_list.action_first()
        self._show_detail()

    @staticmethod
    def _row_text(row: dict[str, Any]) -> Text:
        name = row["key"].rsplit(".", 1)[-1]
        text = Text(f"  {name}", style="bold" if row["layer"] != "default" else "")
        text.append(" = ")
        value = shown(row["value"])
        # one line per setting: a long prompt text is cut here (the panel shows it whole)
        text.append(value if len(value) <= 48 else value[:47] + "…")
        if row["layer"] != "default":
            text.append(f"  [{row['layer']}]", style="italic")
        return text

    @staticmethod
    def _model_status(settings: Settings, name: str) -> str:
        """A local model: is its file there; a remote one: not contacted until "Test"."""
        entry = settings.model(name)
        if entry.inference_server:
            return "remote: Enter, then Test to check it"
        from h2otui.engines.check import local_status

        try:
            return local_status(entry, settings)[1]
        except Exception as exc:  # a status line must never take the list down
            return str(exc)

    @staticmethod
    def _model_text(model: dict[str, Any]) -> Text:
        text = Text(f"  {visible(model['name'])}", style="bold")
        text.append(f"  {visible(str(model['engine']))}  ")
        text.append(visible(str(model["location"])), style="dim")
        text.append(f"  [{model['layer']}]", style="italic")
        return text

    def _selected(self) -> str | None:
        option_list = self.query_one("#settings-list", OptionList)
        index = option_list.highlighted
        if index is None:
            return None
        return option_list.get_option_at_index(index).id

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_detail()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_edit()

    def _show_detail(self) -> None:
        detail = self.query_one("#settings-detail", Static)
        selected = self._selected() or ""
        text = Text()
        if selected.startswith("key:"):
            key = selected[4:]
            row = self._rows[key]
            text.append(key, style="bold")
            text.append(f"\n{row['description']}\n")
            text.append(f"value: {shown(row['value'])}   default: {shown(row['default'])}\n")
            text.append(f"from: {row['layer']}")
            if row["layer"] != "default":
                text.append(f" ({visible(row['source'])})")
            reason = read_only_reason(self.settings, key)
            if reason:
                text.append(f"\nread-only: {reason}", style="bold")
            else:
                text.append("\nEnter edits, r resets to the default", style="dim")
        elif selected.startswith("model:"):
            model = self._models[selected[6:]]
            text.append(visible(model["name"]), style="bold")
            text.append(f"\nengine: {visible(str(model['engine']))}")
            text.append(f"\nwhere: {visible(str(model['location']))}")
            text.append(f"\nstatus: {visible(str(model['status']))}")
            text.append(f"\ndefined in: {model['layer']} ({visible(model['source'])})")
            text.append("\nEnter: details, test, edit", style="dim")
        elif selected == ADD_MODEL:
            text.append("Add a GGUF file, a model directory or a server (h2oGPT's server strings)")
        detail.update(text)

    # --- actions ------------------------------------------------------------------------

    def action_edit(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        if selected == ADD_MODEL:
            self.action_add_model()
        elif selected.startswith("model:"):
            self.open_model(selected[6:])
        elif selected.startswith("key:"):
            self.edit_setting(selected[4:])

    def edit_setting(self, key: str) -> None:
        reason = read_only_reason(self.settings, key)
        if reason:
            self.notify(visible(f"{key} is {reason}"), title="Read-only", severity="warning")
            return
        from h2otui.screens.setting_edit import SettingEditScreen

        choices = sorted(self.app.available_themes) if key == "ui.theme" else None
        self.app.push_screen(
            SettingEditScreen(
                key,
                self.settings.value(key),
                Settings.default_value(key),
                self._rows[key]["description"],
                save=partial_save(self, key),
                choices=choices,
            )
        )

    def save_setting(self, key: str, value: Any) -> str | None:
        """Write ``key`` and apply it; returns the error message (nothing written) or None."""
        try:
            if value is None:  # an optional setting emptied: unset it
                new = UserConfig().unset(key, base=self.settings)
            else:
                new = UserConfig().set(key, value, base=self.settings)
        except (ConfigError, OSError) as exc:
            return str(exc)
        self.h2o.apply_settings(new)
        self.notify(
            visible(f"{key} = {shown(masked(key, new.value(key)))} saved: {effect_of(key)}."),
            title="Settings",
        )
        return None

    def action_reset(self) -> None:
        selected = self._selected() or ""
        if not selected.startswith("key:"):
            return
        key = selected[4:]
        reason = read_only_reason(self.settings, key)
        if reason:
            self.notify(visible(f"{key} is {reason}"), title="Read-only", severity="warning")
            return
        default = Settings.default_value(key)
        try:
            new = UserConfig().unset(key, base=self.settings)
            if new.value(key) != default and default is not None:
                # a project config sets it: the default goes in the user config instead
                new = UserConfig().set(key, default, base=new)
        except (ConfigError, OSError) as exc:
            self.notify(visible(str(exc)), title="Not reset", severity="error")
            return
        self.h2o.apply_settings(new)
        note = "" if new.value(key) == default else f" (still {shown(new.value(key))}: see 'from')"
        self.notify(
            visible(f"{key} reset to {shown(default)}{note}: {effect_of(key)}."),
            title="Settings",
        )

    # --- models -------------------------------------------------------------------------

    def action_add_model(self) -> None:
        self.open_model(None)

    def open_model(self, name: str | None) -> None:
        from h2otui.screens.model_edit import ModelEditScreen

        entry = self.settings.model(name) if name else None
        origin = self.settings.model_origin(name) if name else None
        read_only = None
        if entry is not None and _has_controls(entry.model_dump(mode="json")):
            read_only = "it holds control characters: edit it in the user config file"
        elif origin is not None and origin.layer is not Layer.USER:
            read_only = (
                f"defined in {origin.layer.value} ({origin.source}): change it there"
                if origin.layer is not Layer.DEFAULT
                else "built in: always available"
            )
        self.app.push_screen(ModelEditScreen(entry, read_only=read_only))

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return [
            (
                "Edit the highlighted setting",
                "Change it in the user config (Enter)",
                self.action_edit,
            ),
            (
                "Reset the highlighted setting",
                "Back to its default, in the user config (r)",
                self.action_reset,
            ),
            (
                "Add a model",
                "A GGUF file, a model directory or a server string (a)",
                self.action_add_model,
            ),
        ]


def _has_controls(value: Any) -> bool:
    """Text an input box would show raw (control characters): never put in one."""
    if isinstance(value, str):
        return visible(value) != value
    if isinstance(value, dict):
        return any(_has_controls(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_controls(v) for v in value)
    return False


def partial_save(screen: SettingsScreen, key: str) -> Callable[[Any], str | None]:
    def save(value: Any) -> str | None:
        return screen.save_setting(key, value)

    return save
