"""Add, edit, test or remove one configured model.

Three kinds: a GGUF file (llama.cpp, in-process), a model directory (an in-process
checkpoint), or a server (h2oGPT's server strings as-is: ``http://host:8080``,
``vllm:host:5000``, ``vllm_chat:...``, ``gradio:...``, ``openai_chat``).

Secrets are typed into masked inputs and never shown again: a basic-auth password goes
into the server string (h2oGPT's ``URL    USER    PASSWORD`` form) and an API key into
``options.api_key``, both in the 0600 user config; or the key stays in the environment and
only the variable's name is stored (``options.api_key_env``). Editing a saved model leaves
the secret fields empty: left empty, the saved secret is kept.

"Test" runs the check ``h2otui models --check`` runs (:mod:`h2otui.engines.check`) on the
model as typed, before anything is saved. Only models defined in the user config can be
changed or removed here; for the others the dialog says where they are defined.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from h2otui.config import ConfigError, ModelEntry
from h2otui.safe_text import visible
from h2otui.user_config import UserConfig, masked

if TYPE_CHECKING:
    from h2otui.app import H2oTuiApp

KINDS = (
    ("server", "Server (h2oGPT server string)"),
    ("gguf", "GGUF file (llama.cpp)"),
    ("dir", "Model directory (in-process)"),
)
#: h2oGPT's separator between URL, user and password in a server string
_AUTH_SPLIT = re.compile(r" {4,}|\t+")
KEPT = "saved; leave empty to keep"


def split_server(server: str) -> tuple[str, str, str]:
    """``URL    USER    PASSWORD`` -> (URL, USER, PASSWORD); other forms -> (server, '', '')."""
    parts = _AUTH_SPLIT.split(server.strip())
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return server.strip(), "", ""


class ModelEditScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+t", "test", "Test"),
        Binding("ctrl+o", "browse", "Pick a GGUF file"),
    ]

    def __init__(self, entry: ModelEntry | None, *, read_only: str | None = None) -> None:
        super().__init__()
        self.entry = entry
        self.read_only = read_only
        server = entry.inference_server if entry is not None else None
        self._server = server if isinstance(server, str) else None
        url, user, password = split_server(self._server) if self._server else ("", "", "")
        #: the saved password / API key, kept when their inputs are left empty
        self._saved_password = password
        self._saved_key = str((entry.options or {}).get("api_key") or "") if entry else ""
        #: what the location input shows: never a secret (the colon forms are redacted)
        self._shown_url = masked("inference_server", url) if url else ""
        self._url = url
        self._user = user
        #: several servers (replicas): shown redacted, kept as they are unless retyped
        self._servers = server if isinstance(server, list) else None
        self._servers_shown = (
            ", ".join(masked("inference_server", server)) if isinstance(server, list) else ""
        )

    @property
    def h2o(self) -> H2oTuiApp:
        return cast("H2oTuiApp", self.app)

    def _kind(self) -> str:
        entry = self.entry
        if entry is None or entry.inference_server:
            return "server"
        if entry.model_path and (
            entry.model_path.lower().endswith(".gguf") or entry.model_path.startswith("embedded:")
        ):
            return "gguf"
        return "dir"

    def compose(self) -> ComposeResult:
        entry = self.entry
        options = (entry.options or {}) if entry else {}
        title = "Add a model" if entry is None else f"Model {visible(entry.name)}"
        with Vertical(id="dialog"):
            yield Label(Text(title, style="bold"), id="title")
            if self.read_only:
                yield Label(Text(visible(f"read-only: {self.read_only}")), id="read-only")
            with VerticalScroll(id="fields"), Grid(id="grid"):
                yield Label("Name")
                yield Input(visible(entry.name) if entry else "", id="name", compact=True)
                yield Label("Kind")
                yield Select(
                    [(Text(label), kind) for kind, label in KINDS],
                    value=self._kind(),
                    allow_blank=False,
                    id="kind",
                    compact=True,
                )
                yield Label("Server / path")
                location = self._shown_url if self._kind() == "server" else ""
                if entry is not None and self._kind() != "server":
                    location = entry.model_path or ""
                elif self._servers_shown:
                    location = self._servers_shown
                yield Input(
                    visible(location),
                    placeholder="http://host:8080, vllm:host:5000, /models/x.gguf",
                    id="location",
                    compact=True,
                )
                yield Label("User (basic auth)")
                yield Input(visible(self._user), id="user", compact=True)
                yield Label("Password")
                yield Input(
                    "",
                    password=True,
                    placeholder=KEPT if self._saved_password else "",
                    id="password",
                    compact=True,
                )
                yield Label("API key env var")
                yield Input(
                    visible(str(options.get("api_key_env") or "")),
                    placeholder="name of the variable holding the key",
                    id="api-key-env",
                    compact=True,
                )
                yield Label("API key (0600 file)")
                yield Input(
                    "",
                    password=True,
                    placeholder=KEPT if self._saved_key else "",
                    id="api-key",
                    compact=True,
                )
                yield Label("Prompt type")
                yield Input(
                    visible(entry.prompt_type or "") if entry else "",
                    placeholder="auto",
                    id="prompt-type",
                    compact=True,
                )
            yield Static("", id="result")
            with Horizontal(id="buttons"):
                yield Button("Close (Esc)", id="cancel", compact=True)
                yield Button("Test (Ctrl+T)", id="test", compact=True)
                if not self.read_only:
                    yield Button("Browse (Ctrl+O)", id="browse", compact=True)
                if not self.read_only:
                    if self.entry is not None:
                        yield Button("Remove", id="remove", variant="error", compact=True)
                    yield Button("Save (Ctrl+S)", id="save", variant="primary", compact=True)

    def on_mount(self) -> None:
        if self.read_only:
            for widget in self.query(Input):
                widget.disabled = True
            self.query_one("#kind", Select).disabled = True
            self.query_one("#test", Button).focus()
        else:
            self.query_one("#name", Input).focus()

    # --- the entry the form describes ---------------------------------------------------

    def read_entry(self) -> dict[str, Any]:
        """The model entry the form holds (raises ValueError with a readable message)."""
        if self.read_only and self.entry is not None:
            return self.entry.model_dump(mode="json", exclude_none=True)

        def text(widget_id: str) -> str:
            return self.query_one(f"#{widget_id}", Input).value.strip()

        name = text("name")
        if not name:
            raise ValueError("Name: give the model a name")
        kind = self.query_one("#kind", Select).value
        location = text("location")
        if not location:
            raise ValueError("Server / path: give a server string or a file path")
        base = self.entry.model_dump(mode="json", exclude_none=True) if self.entry else {}
        entry: dict[str, Any] = {
            k: v for k, v in base.items() if k not in ("inference_server", "model_path", "engine")
        }
        entry["name"] = name
        options = dict(entry.get("options") or {})
        if kind == "server" and self._servers and location == self._servers_shown:
            entry["inference_server"] = self._servers
        elif kind == "server":
            url = self._url if location == self._shown_url and self._server else location
            user = text("user")
            password = self.query_one("#password", Input).value or (
                self._saved_password if user == self._user else ""
            )
            if bool(user) != bool(password):
                raise ValueError("Basic auth: give both the user and the password (or neither)")
            if user and _AUTH_SPLIT.search(url):
                raise ValueError("Server: give the URL alone; user and password go below")
            server = f"{url}    {user}    {password}" if user else url
            from h2otui.errors import EngineConfigError
            from h2otui.servers import parse_server

            try:
                parse_server(server)
            except EngineConfigError as exc:
                raise ValueError(str(exc)) from None
            entry["inference_server"] = server
        else:
            path = Path(location).expanduser()
            if kind == "gguf" and not location.startswith("embedded:"):
                if not path.is_file():
                    raise ValueError(f"GGUF file: {visible(str(path))} does not exist")
                if path.suffix.lower() != ".gguf":
                    raise ValueError(f"GGUF file: {visible(str(path))} is not a .gguf file")
            if kind == "dir" and not path.is_dir():
                raise ValueError(f"Model directory: {visible(str(path))} is not a directory")
            entry["model_path"] = location if location.startswith("embedded:") else str(path)
            if kind == "gguf":
                entry["engine"] = "llamacpp"
        key_env = text("api-key-env")
        key = self.query_one("#api-key", Input).value or self._saved_key
        if key_env and self.query_one("#api-key", Input).value:
            raise ValueError("API key: give the variable's name or the key, not both")
        options.pop("api_key_env", None)
        options.pop("api_key", None)
        if key_env:
            options["api_key_env"] = key_env
        elif key:
            options["api_key"] = key
        entry["options"] = options
        prompt_type = text("prompt-type")
        if prompt_type:
            entry["prompt_type"] = prompt_type
        else:
            entry.pop("prompt_type", None)
        return entry

    def _show(self, text: str, style: str = "") -> None:
        self.query_one("#result", Static).update(Text(visible(text), style=style))

    # --- actions ------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions = {
            "save": self.action_save,
            "test": self.action_test,
            "remove": self.action_remove,
            "cancel": self.action_cancel,
            "browse": self.action_browse,
        }
        actions[event.button.id or "cancel"]()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_browse(self) -> None:
        """Pick a GGUF file, starting from the folder the path box names (else home)."""
        if self.read_only:
            return
        from h2otui.screens.file_picker import FilePickerScreen

        typed = Path(self.query_one("#location", Input).value.strip() or "~").expanduser()
        start = typed if typed.is_dir() else typed.parent if typed.parent.is_dir() else None
        self.app.push_screen(FilePickerScreen(start or Path.home()), callback=self._picked)

    def _picked(self, path: str | None) -> None:
        if path is None:
            return
        self.query_one("#location", Input).value = visible(path)
        self.query_one("#kind", Select).value = "gguf"
        if not self.query_one("#name", Input).value.strip():
            self.query_one("#name", Input).value = visible(Path(path).stem)

    def action_save(self) -> None:
        if self.read_only:
            self._show(f"Not saved: {self.read_only}", "bold")
            return
        try:
            entry = self.read_entry()
            writer = UserConfig()
            settings = self.h2o.settings
            if self.entry is not None and entry["name"] != self.entry.name:
                settings = writer.remove_model(self.entry.name, base=settings)
            new = writer.set_model(entry, base=settings)
        except (ValueError, ConfigError, OSError) as exc:
            self._show(str(exc), "bold red")
            return
        self.h2o.apply_settings(new)
        self.app.notify(
            visible(f"Model {entry['name']} saved to {writer.path}: used from its next load."),
            title="Models",
        )
        self.dismiss(None)

    def action_remove(self) -> None:
        if self.read_only or self.entry is None:
            return
        try:
            new = UserConfig().remove_model(self.entry.name, base=self.h2o.settings)
        except (ConfigError, OSError) as exc:
            self._show(str(exc), "bold red")
            return
        self.h2o.apply_settings(new)
        self.app.notify(visible(f"Model {self.entry.name} removed."), title="Models")
        self.dismiss(None)

    def action_test(self) -> None:
        try:
            entry = self.read_entry()
            candidate = self.h2o.settings.with_changes({"models": [entry]})
        except (ValueError, ConfigError) as exc:
            self._show(str(exc), "bold red")
            return
        self._show("Testing...")
        self.run_worker(self._test(candidate, entry["name"]), group="model-test", exclusive=True)

    async def _test(self, settings: Any, name: str) -> None:
        from h2otui.engines.check import check_models

        try:
            rows = await check_models(settings, [name])
        except Exception as exc:  # a check must never take the dialog down
            self._show(f"Test failed: {exc}", "bold red")
            return
        lines = []
        for row in rows:
            if row.get("reachable"):
                line = f"ok  {row.get('endpoint') or ''}"
                if row.get("latency_ms") is not None:
                    line += f"  {row['latency_ms']:.0f} ms"
                if row.get("model_id"):
                    line += f"  model {row['model_id']}"
                if row.get("context_length"):
                    line += f"  context {row['context_length']}"
                if row.get("max_input_tokens"):
                    line += f" (input {row['max_input_tokens']})"
            else:
                line = f"FAILED  {row.get('endpoint') or ''}  {row.get('error') or 'unreachable'}"
            lines.append(line)
        ok = rows and all(r.get("reachable") for r in rows)
        missing = self._missing_engine(settings.model(name))
        if missing:
            lines.append(missing)
            ok = False
        self._show("\n".join(lines) or "nothing to check", "green" if ok else "bold red")

    @staticmethod
    def _missing_engine(entry: ModelEntry) -> str | None:
        """The entry's engine is not installed: say so (the file check alone passes)."""
        from h2otui.engine_registry import is_registered

        try:
            engine = entry.resolved_engine()
        except ConfigError as exc:
            return str(exc)
        if engine != "remote" and not is_registered(engine):
            return (
                f"no '{engine}' engine is installed in this h2otui: the model cannot be "
                "loaded (use a GGUF file or a server)"
            )
        return None
