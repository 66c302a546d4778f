"""``h2otui config``: see every setting with where it comes from, and change the user
config file (``show``, ``set``, ``unset``, ``path``).

Changes go through :class:`h2otui.user_config.UserConfig`, the same writer the settings
screen uses: validated as loading validates, comments kept, atomic, 0600. Secrets are
masked in ``show`` (text and JSON alike).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from h2otui.commands.exit_codes import EXIT_OK

if TYPE_CHECKING:
    from h2otui.config import Settings


def _shown(value: object) -> str:
    import json

    return "(unset)" if value is None else json.dumps(value, ensure_ascii=False)


def run_show(settings: Settings, *, as_json: bool) -> int:
    """Effective settings, each with its layer and source; then the models."""
    from h2otui.user_config import UserConfig, describe_model_entries, describe_settings

    rows = describe_settings(settings)
    models = describe_model_entries(settings)
    if as_json:
        import json

        out = {
            "user_config": str(UserConfig().path),
            "settings": {
                r["key"]: {k: r[k] for k in ("value", "default", "layer", "source")} for r in rows
            },
            "models": models,
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return EXIT_OK

    from rich.console import Console
    from rich.table import Table

    from h2otui.commands.ingest import cell

    def where(row: dict[str, str]) -> str:
        # files are long: named once above the table; variables and flags name themselves
        return row["layer"] if row["layer"] in ("default", "project", "user") else row["source"]

    console = Console()
    files = {r["layer"]: r["source"] for r in [*rows, *models] if r["layer"] in ("project", "user")}
    files.setdefault("user", str(UserConfig().path))
    for layer in ("project", "user"):
        if layer in files:
            console.print(cell(f"{layer} config: {files[layer]}", "dim"), soft_wrap=True)
    table = Table(box=None, pad_edge=False)
    for col in ("setting", "value", "from"):
        table.add_column(col, overflow="fold")
    for r in rows:
        style = "dim" if r["layer"] == "default" else ""
        table.add_row(cell(r["key"], style), cell(_shown(r["value"]), style), cell(where(r), style))
    console.print(table)
    models_table = Table(box=None, pad_edge=False, title="models", title_justify="left")
    for col in ("name", "engine", "location", "from"):
        models_table.add_column(col, overflow="fold")
    for m in models:
        models_table.add_row(
            cell(m["name"]), cell(m["engine"]), cell(m["location"]), cell(where(m))
        )
    console.print(models_table)
    return EXIT_OK


def _env_note(settings: Settings, key: str) -> str | None:
    from h2otui.config import Layer

    origin = settings.origin(key)
    if origin.layer in (Layer.ENV, Layer.FLAG):
        return (
            f"note: {key} is set by {origin.source}, which overrides the user config: "
            "the new value takes effect once that is removed"
        )
    return None


def run_set(settings: Settings, key: str, raw: str) -> int:
    from h2otui.safe_text import visible
    from h2otui.user_config import UserConfig, masked, parse_cli_value

    writer = UserConfig()
    new = writer.set(key, parse_cli_value(raw), base=settings)
    print(visible(f"{key} = {_shown(masked(key, writer.get(key)))}  saved to {writer.path}"))
    note = _env_note(new, key)
    if note:
        import sys

        print(visible(note), file=sys.stderr)
    return EXIT_OK


def run_unset(settings: Settings, key: str) -> int:
    from h2otui.safe_text import visible
    from h2otui.user_config import UserConfig, masked

    writer = UserConfig()
    new = writer.unset(key, base=settings)
    origin = new.origin(key)
    print(
        visible(
            f"{key} = {_shown(masked(key, new.value(key)))}  (from {origin.layer.value}: "
            f"{origin.source})"
        )
    )
    return EXIT_OK


def run_path() -> int:
    from h2otui.safe_text import visible
    from h2otui.user_config import UserConfig

    print(visible(str(UserConfig().path)))
    return EXIT_OK
