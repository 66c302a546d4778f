"""The one writer of the user config file (``h2otui config set``, the settings screen, the
theme picked in the command palette).

Every change is a read-modify-write of the file as a tomlkit document, so the user's
comments, ordering and formatting survive; only the key changed is touched. In order:

1. an exclusive lock (:mod:`h2otui.locking`, a ``.lock`` file next to the config) keeps
   two h2otui processes from losing each other's change: the second waits, then
   re-reads the file the first wrote;
2. the changed document is validated with the same rules and messages as loading
   (:meth:`~h2otui.config.Settings.with_user_config`) -- nothing is written on error;
3. the new text goes to a temp file in the same directory (created 0600), is fsynced, and
   replaces the old file with one ``rename``: a crash leaves the old file or the new one,
   never half of either. The directory is created 0700, the file is 0600 (it may hold a
   server password or an API key).

Values are written typed (``512``, not ``"512"``): the value pydantic validated is what
goes into the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.config import ConfigError, Settings, load_settings, user_config_path
from h2otui.locking import exclusive
from h2otui.privacy import PRIVATE_DIR, PRIVATE_FILE

if TYPE_CHECKING:
    import tomlkit.toml_document


def parse_cli_value(raw: str) -> Any:
    """A value typed on the command line or in the settings screen, read like an
    ``H2OTUI_*`` environment variable: JSON for lists, tables and quoted strings
    (``["a", "b"]``, ``"007"``), otherwise the text itself, which validation converts
    (``512`` for an integer setting, ``true`` for a boolean)."""
    stripped = raw.strip()
    if stripped[:1] in ("[", "{", '"'):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def _to_toml(value: Any) -> Any:
    """A validated value as TOML can hold it (tuples become arrays; ``None`` cannot be
    written: it means *unset*)."""
    if isinstance(value, tuple | list):
        return [_to_toml(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_toml(v) for k, v in value.items() if v is not None}
    return value


class UserConfig:
    """The user config file at ``path`` (default: :func:`user_config_path`)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else user_config_path()

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    # --- reading --------------------------------------------------------------------

    def read(self) -> tomlkit.toml_document.TOMLDocument:
        import tomlkit
        from tomlkit.exceptions import ParseError

        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return tomlkit.document()
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot read: {exc.strerror}") from None
        try:
            return tomlkit.parse(text)
        except ParseError as exc:
            raise ConfigError(f"{self.path}: not valid TOML: {exc}") from None

    def get(self, key: str) -> Any:
        """The value ``key`` has in the file (None when the file does not set it)."""
        node: Any = self.read().unwrap()
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    # --- changing -------------------------------------------------------------------

    def set(self, key: str, value: Any, base: Settings | None = None) -> Settings:
        """Write one dotted setting (a :meth:`Settings.leaf_keys` key); returns the new
        effective settings (``base`` with the new user layer)."""
        _check_key(key)

        def change(doc: Any, check: Callable[[Any], Settings]) -> None:
            table = _table_for(doc, key)
            leaf = key.rsplit(".", 1)[-1]
            table[leaf] = _to_toml(value) if not isinstance(value, str) else value
            alone = check(doc)  # validated on its own: the typed value goes in the file
            typed = alone.value(key)
            if typed is None:
                raise ConfigError(f"{key}: use `h2otui config unset {key}` to unset it")
            table[leaf] = _to_toml(typed)
            check(doc)  # the settings returned hold what the file now holds

        return self._update(change, base, changed=(key,))

    def unset(self, key: str, base: Settings | None = None) -> Settings:
        """Remove one dotted setting from the user config (its value falls back to the
        lower layers); a section left empty goes too."""
        _check_key(key)

        def change(doc: Any, check: Callable[[Any], Settings]) -> None:
            *sections, leaf = key.split(".")
            parents: list[Any] = [doc]
            node: Any = doc
            for part in sections:
                if part not in node:
                    return
                node = node[part]
                parents.append(node)
            if leaf in node:
                del node[leaf]
            for depth in range(len(sections), 0, -1):
                if len(parents[depth]) == 0:
                    del parents[depth - 1][sections[depth - 1]]
            check(doc)

        return self._update(change, base, changed=(key,))

    def set_model(self, entry: dict[str, Any], base: Settings | None = None) -> Settings:
        """Add a ``[[models]]`` entry to the user config, or replace the one with the same
        name there."""
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError("a model needs a name")

        def change(doc: Any, check: Callable[[Any], Settings]) -> None:
            import tomlkit

            table = tomlkit.table()
            for k, v in entry.items():
                if v is None or v == {} or v == "":
                    continue
                table[k] = tomlkit.inline_table() if k == "options" else _to_toml(v)
                if k == "options":
                    table[k].update(_to_toml(v))
            models = doc.get("models")
            if models is None:
                doc["models"] = tomlkit.aot()
                models = doc["models"]
            for i, item in enumerate(models):
                if item.get("name") == name:
                    models[i] = table
                    break
            else:
                models.append(table)
            check(doc)

        return self._update(change, base, changed=())

    def remove_model(self, name: str, base: Settings | None = None) -> Settings:
        """Remove the user config's ``[[models]]`` entry ``name``; an entry from another
        layer is an error that says where it is defined."""

        def change(doc: Any, check: Callable[[Any], Settings]) -> None:
            models = doc.get("models")
            index = next((i for i, m in enumerate(models or []) if m.get("name") == name), None)
            if index is None:
                raise ConfigError(f"model '{name}' is not defined in {self.path}")
            del models[index]
            if len(models) == 0:
                del doc["models"]
            check(doc)

        return self._update(change, base, changed=())

    # --- the one write path ---------------------------------------------------------

    def _update(
        self,
        change: Callable[[Any, Callable[[Any], Settings]], None],
        base: Settings | None,
        *,
        changed: tuple[str, ...],
    ) -> Settings:
        import tomlkit

        result: list[Settings] = []
        with self._locked():
            doc = self.read()  # fresh, inside the lock: another writer may have just saved
            before = tomlkit.dumps(doc)
            base = base if base is not None else load_settings()
            source = str(self.path)

            def check(document: Any) -> Settings:
                data = document.unwrap()
                new = base.with_user_config(data, source, changed=changed)
                result[:] = [new]
                return Settings().with_user_config(data, source)

            change(doc, check)
            if not result:  # nothing to change (unsetting a key the file lacks)
                check(doc)
            text = tomlkit.dumps(doc)
            if text != before or (text and not self.path.exists()):
                self._write_atomic(text)
        return result[0]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        with exclusive(self.lock_path):
            yield

    def _write_atomic(self, text: str) -> None:
        # a config kept in a dotfiles repo is often a symlink: replace the file it points
        # to, not the link
        target = self.path.resolve() if self.path.is_symlink() else self.path
        directory = target.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                os.fchmod(fh.fileno(), PRIVATE_FILE)
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a crash
        finally:
            os.close(dir_fd)


def _check_key(key: str) -> None:
    if key not in Settings.leaf_keys():
        raise ConfigError(f"unknown setting '{key}' (see config.toml for every setting)")


def _table_for(doc: Any, key: str) -> Any:
    import tomlkit

    node = doc
    for part in key.split(".")[:-1]:
        if part not in node:
            node[part] = tomlkit.table()
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"'{part}' in the user config is not a section")
    return node


# --- what the settings screen and `h2otui config show` display --------------------------

#: a setting or model option whose value is a secret (shown as ***): the whole name or its
#: last part (``api_key``, ``h2ogpt_key``, ``password``); ``api_key_env`` names a variable
_SECRET_NAME = re.compile(r"(^|_)(key|password|passwd|secret|token|auth|authorization)$", re.I)
MASK = "***"


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name.rsplit(".", 1)[-1]))


def masked(name: str, value: Any) -> Any:
    """``value`` as it may be shown: secrets as ``***``, server strings redacted."""
    if value is None:
        return None
    if is_secret_name(name):
        return MASK
    if name == "model_lock":
        # h2oGPT's list may hold server strings with passwords: shown entry by entry
        from h2otui.config import parse_model_lock

        try:
            entries = parse_model_lock(value) if isinstance(value, str) else list(value)
        except (ConfigError, TypeError):
            return MASK
        return [masked("entry", e) if isinstance(e, dict) else MASK for e in entries]
    if name.rsplit(".", 1)[-1] == "inference_server":
        from h2otui.servers import redact_server

        if isinstance(value, list | tuple):
            return [redact_server(str(v)) for v in value]
        return redact_server(str(value))
    if isinstance(value, dict):
        return {k: masked(k, v) for k, v in value.items()}
    if isinstance(value, tuple):
        return list(value)
    return value


def field_info(key: str) -> Any:
    """The pydantic ``FieldInfo`` of one dotted setting."""
    _check_key(key)
    model: Any = Settings
    *sections, leaf = key.split(".")
    for part in sections:
        model = model.model_fields[part].annotation
    return model.model_fields[leaf]


def describe_settings(settings: Settings) -> list[dict[str, Any]]:
    """Every setting: key, section, value and default (secrets masked), the layer and
    source it came from, its description."""
    rows = []
    for key in Settings.leaf_keys():
        origin = settings.origin(key)
        section = key.split(".")[0] if "." in key else "general"
        rows.append(
            {
                "key": key,
                "section": section,
                "value": masked(key, settings.value(key)),
                "default": masked(key, Settings.default_value(key)),
                "layer": origin.layer.value,
                "source": origin.source,
                "description": field_info(key).description or "",
            }
        )
    return rows


def describe_model_entries(settings: Settings) -> list[dict[str, Any]]:
    """Every configured model: name, engine, where it runs (server strings redacted), the
    layer and source that defined it, and its entry with secrets masked."""
    rows = []
    for entry in settings.models:
        origin = settings.model_origin(entry.name)
        try:
            engine = entry.resolved_engine()
            if engine == "remote":
                from h2otui.servers import engine_for_server

                servers = entry.inference_server
                first = servers[0] if isinstance(servers, list) else servers
                engine = engine_for_server(str(first))
        except Exception:
            engine = entry.engine or "?"
        where = masked("inference_server", entry.inference_server) or entry.model_path or ""
        rows.append(
            {
                "name": entry.name,
                "engine": engine,
                "location": ", ".join(where) if isinstance(where, list) else where,
                "layer": origin.layer.value,
                "source": origin.source,
                "entry": {
                    k: masked(k, v)
                    for k, v in entry.model_dump(mode="json", exclude_none=True).items()
                },
            }
        )
    return rows
