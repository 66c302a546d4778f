"""Settings, layered: built-in defaults < project config (``config.toml`` in the current
directory, or ``--config FILE`` / ``$H2OTUI_CONFIG``) < the user's config file
(``<user config dir>/h2otui/config.toml``) < ``H2OTUI_*`` environment variables <
command-line flags.

Every layer is validated against the same pydantic models with ``extra="forbid"``; a bad
value or an unknown key raises :class:`ConfigError` naming the key, the layer it came
from (file path or environment variable) and what was expected. Nothing falls back
silently.

Environment variables map onto keys with ``__`` between sections:
``H2OTUI_DEFAULT_MODEL=foo``, ``H2OTUI_GENERATION__MAX_NEW_TOKENS=512``. A few names
are reserved for locations rather than settings: ``H2OTUI_HOME`` (the data dir),
``H2OTUI_CONFIG`` (the project config file) and ``H2OTUI_USER_CONFIG`` (the user config
file).

``[[models]]`` lists are merged by model ``name`` across layers (a later layer replaces
an entry of the same name and appends new ones), so a user adds a model without having
to repeat the built-in ones.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "H2OTUI_"
RESERVED_ENV = {"HOME", "CONFIG", "USER_CONFIG"}
EMBEDDED_MODEL_NAME = "gemma3-270m"
EMBEDDED_MODEL_PATH = "embedded:gemma3-270m-q4_k_m"


class ConfigError(Exception):
    """A settings problem, with a message naming the key and where it came from."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class GenerationSettings(_Section):
    """Defaults for generation; each can be changed per request (CLI flags, the TUI)."""

    max_new_tokens: int = Field(256, ge=1, description="Most tokens to generate per answer.")
    temperature: float = Field(0.0, ge=0.0, le=5.0, description="0 = greedy decoding.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling cut-off.")
    top_k: int = Field(40, ge=0, description="Sample from the k likeliest tokens; 0 = off.")
    repetition_penalty: float = Field(1.0, gt=0.0, le=5.0, description="1.0 = off.")
    seed: int | None = Field(None, description="Random seed for sampling; unset = random.")
    do_sample: bool = Field(False, description="Sample; false = greedy, reproducible.")
    stop: list[str] = Field(default_factory=list, description="Extra stop sequences.")
    system_prompt: str = Field(
        "auto", description="System prompt; 'auto' = the prompt type's default, '' = none."
    )


class ModelEntry(_Section):
    """One configured model, shaped like an h2oGPT ``model_lock`` item."""

    name: str = Field(min_length=1, description="How the model is referred to (--model NAME).")
    engine: Literal["llamacpp", "transformers", "tgi", "openai", "gradio"] | None = Field(
        None, description="Backend; inferred from model_path / inference_server when unset."
    )
    model_path: str | None = Field(
        None, description="GGUF file or HF checkpoint dir (local path), or 'embedded:...'."
    )
    base_model: str | None = Field(
        None, description="Model id (h2oGPT's base_model); picks a prompt type when unset."
    )
    inference_server: str | list[str] | None = Field(
        None, description="h2oGPT server string(s) for remote engines."
    )
    prompt_type: str | None = Field(
        None, description="h2oGPT prompt type; unset = model's chat template or a default."
    )
    prompt_dict: dict[str, Any] | str | None = Field(
        None, description="For prompt_type='custom': h2oGPT prompt_dict keys."
    )
    system_prompt: str | None = Field(None, description="Overrides generation.system_prompt.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Engine options (validated by the engine)."
    )

    def resolved_engine(self) -> str:
        if self.engine:
            return self.engine
        if self.inference_server:
            return "remote"
        if self.model_path and (
            self.model_path.startswith("embedded:") or self.model_path.lower().endswith(".gguf")
        ):
            return "llamacpp"
        if self.model_path or self.base_model:
            return "transformers"
        raise ConfigError(
            f"model '{self.name}': set model_path (a .gguf file) or inference_server, "
            "or name the engine"
        )


def _embedded_entry() -> ModelEntry:
    return ModelEntry(
        name=EMBEDDED_MODEL_NAME,
        engine="llamacpp",
        model_path=EMBEDDED_MODEL_PATH,
        prompt_type="plain_qa",
        options={"n_ctx": 8192},
    )


class UiSettings(_Section):
    """The terminal UI (``h2otui`` with no command)."""

    theme: str = Field("textual-dark", description="Textual theme name (e.g. nord, gruvbox).")
    sidebar: Literal["auto", "show", "hide"] = Field(
        "auto", description="Chat list: auto = shown when the terminal is 100+ columns wide."
    )
    save_chats: bool = Field(True, description="Save conversations to the chat history.")


class Settings(_Section):
    """All h2otui settings. ``config.toml`` at the repo root documents each one."""

    default_model: str = Field(EMBEDDED_MODEL_NAME, description="Model used when none is named.")
    data_dir: str | None = Field(
        None, description="Where collections, chats and models live; $H2OTUI_HOME wins."
    )
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    models: list[ModelEntry] = Field(default_factory=lambda: [_embedded_entry()])

    @field_validator("models")
    @classmethod
    def _unique_names(cls, models: list[ModelEntry]) -> list[ModelEntry]:
        seen: set[str] = set()
        for m in models:
            if m.name in seen:
                raise ValueError(f"model name '{m.name}' appears twice")
            seen.add(m.name)
        return models

    # --- helpers -----------------------------------------------------------------

    def model(self, name: str | None = None) -> ModelEntry:
        wanted = name or self.default_model
        for m in self.models:
            if m.name == wanted:
                return m
        known = ", ".join(m.name for m in self.models)
        raise ConfigError(f"no model named '{wanted}' (configured: {known})")

    @property
    def data_path(self) -> Path:
        return data_dir(self)


# --- locations -----------------------------------------------------------------------


def data_dir(settings: Settings | None = None) -> Path:
    """The one directory that holds all user data."""
    env = os.environ.get(ENV_PREFIX + "HOME")
    if env:
        path = Path(env).expanduser()
    elif settings is not None and settings.data_dir:
        path = Path(settings.data_dir).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("h2otui", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_config_path() -> Path:
    env = os.environ.get(ENV_PREFIX + "USER_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("h2otui", appauthor=False)) / "config.toml"


def project_config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """``--config FILE``, else ``$H2OTUI_CONFIG``, else ``./config.toml`` if present."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    env = os.environ.get(ENV_PREFIX + "CONFIG")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (from ${ENV_PREFIX}CONFIG)")
        return path
    local = Path("config.toml")
    return local if local.is_file() else None


# --- layering ------------------------------------------------------------------------


class _Layer:
    def __init__(self, label: str, data: dict[str, Any], env_names: dict[str, str] | None = None):
        self.label = label
        self.data = data
        #: dotted key -> environment variable it came from (env layer only)
        self.env_names = env_names or {}

    def describe(self, dotted: str) -> str:
        if dotted in self.env_names:
            return f"environment variable {self.env_names[dotted]}"
        return self.label


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _parse_env_value(raw: str) -> Any:
    stripped = raw.strip()
    if stripped[:1] in ("[", "{", '"'):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def _env_layer(environ: Mapping[str, str]) -> _Layer:
    data: dict[str, Any] = {}
    names: dict[str, str] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :]
        if key in RESERVED_ENV:
            continue
        parts = [p.lower() for p in key.split("__")]
        if not all(parts):
            raise ConfigError(f"environment variable {name}: malformed name")
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment variable {name}: '{part}' is not a section")
            node = child
        node[parts[-1]] = _parse_env_value(raw)
        names[".".join(parts)] = name
    return _Layer("environment", data, names)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if key == "models" and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = _merge_models(out[key], value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _merge_models(base: list[Any], over: list[Any]) -> list[Any]:
    merged = list(base)
    index = {m.get("name"): i for i, m in enumerate(merged) if isinstance(m, dict)}
    for entry in over:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name is not None and name in index:
            merged[index[name]] = entry
        else:
            if name is not None:
                index[name] = len(merged)
            merged.append(entry)
    return merged


def _expected(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    names = {
        "int_parsing": "an integer",
        "int_type": "an integer",
        "float_parsing": "a number",
        "float_type": "a number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "a string",
        "list_type": "a list",
        "dict_type": "a table",
        "literal_error": "one of the listed values",
        "extra_forbidden": "no such key",
    }
    return names.get(kind, "")


def _locate(layers: list[_Layer], loc: tuple[Any, ...]) -> tuple[str, str]:
    """Dotted key for a pydantic error location, and which layer set it."""
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int) and parts and parts[-1] == "models":
            parts[-1] = f"models[{p}]"
        else:
            parts.append(str(p))
    dotted = ".".join(parts)
    plain = [str(p) for p in loc if not isinstance(p, int)]
    for layer in reversed(layers):
        node: Any = layer.data
        found = True
        for p in loc:
            if isinstance(p, int):
                # model list indices refer to the merged list; fall back to "has models"
                if not isinstance(node, list):
                    found = False
                    break
                node = node[p] if p < len(node) else None
                if node is None:
                    found = False
                    break
            elif isinstance(node, dict) and p in node:
                node = node[p]
            else:
                found = False
                break
        if found:
            return dotted, layer.describe(".".join(plain))
    return dotted, "built-in defaults"


def _model_entry_from_literal(item: Any, index: int, source: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ConfigError(f"{source}: model_lock item {index} must be a dict, got {item!r}")
    entry = dict(item)
    entry.setdefault(
        "name",
        entry.get("visible_models")
        or entry.get("base_model")
        or (entry.get("inference_server") if isinstance(entry.get("inference_server"), str) else None)
        or f"model{index}",
    )
    return entry


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build :class:`Settings` from every layer. Raises :class:`ConfigError`."""
    environ = os.environ if environ is None else environ
    layers: list[_Layer] = []

    project = project_config_path(config_file)
    if project is not None:
        layers.append(_Layer(str(project), _read_toml(project)))
    user = user_config_path()
    if user.is_file():
        layers.append(_Layer(str(user), _read_toml(user)))
    layers.append(_env_layer(environ))
    if overrides:
        layers.append(_Layer("command-line flags", overrides))

    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _merge(merged, layer.data)
    if "models" in merged:
        # the embedded model is always available unless a layer redefines it by name
        merged["models"] = _merge_models([_embedded_entry().model_dump()], merged["models"])

    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            dotted, where = _locate(layers, tuple(err["loc"]))
            expected = _expected(err)
            value = err.get("input")
            shown = "" if isinstance(value, dict | list) or value is None else f" = {value!r}"
            detail = err["msg"] if not expected else f"{err['msg']} (expected {expected})"
            if err.get("type") == "extra_forbidden":
                detail = "unknown setting (see config.toml for every setting)"
            lines.append(f"{dotted}{shown} in {where}: {detail}")
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None


def parse_model_lock(text: str, source: str = "--model-lock") -> list[dict[str, Any]]:
    """Parse h2oGPT's ``--model_lock`` literal (Python or JSON list of dicts)."""
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}: not a Python/JSON list of dicts: {exc}") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"{source}: expected a list of dicts, got {type(value).__name__}")
    return [_model_entry_from_literal(item, i, source) for i, item in enumerate(value)]
