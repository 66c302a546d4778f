"""What `h2otui models` shows: every configured model, its engine, where it lives, status.

Secrets never appear here: server strings go through
:func:`h2otui.engines.servers.redact_server`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings


def _prompt_type_from_base(entry: ModelEntry) -> str | None:
    """h2oGPT's prompt type for the entry's base_model (what a remote model will use)."""
    from h2otui.engines.prompts import prompt_type_for_model

    return prompt_type_for_model(entry.base_model) if entry.inference_server else None


def _local_status(entry: ModelEntry, settings: Settings) -> tuple[str, str]:
    from pathlib import Path

    path = entry.model_path or ""
    if path.startswith("embedded:"):
        from h2otui.engines.embedded import EMBEDDED_MODELS

        name = path.removeprefix("embedded:")
        if name not in EMBEDDED_MODELS:
            return path, f"unknown embedded model '{name}'"
        assembled = any((settings.data_path / "models").glob("*.gguf.verified"))
        return path, "embedded, ready" if assembled else "embedded, assembles on first use"
    if not path:
        return entry.base_model or "", "no model_path"
    p = Path(path).expanduser()
    return str(p), "ready" if p.exists() else f"missing: {p} does not exist"


def describe_models(settings: Settings) -> list[dict[str, Any]]:
    from h2otui.config import ConfigError

    rows: list[dict[str, Any]] = []
    for entry in settings.models:
        try:
            engine = entry.resolved_engine()
        except ConfigError as exc:
            rows.append({"name": entry.name, "engine": "?", "location": "", "status": str(exc)})
            continue
        if entry.inference_server:
            servers = entry.inference_server
            servers = servers if isinstance(servers, list) else [servers]
            from h2otui.engines.servers import redact_server

            location = ", ".join(redact_server(s) for s in servers)
            status = "remote, not checked (use --check)"
            if engine == "remote":
                try:
                    from h2otui.engines import resolve_engine_name

                    engine = resolve_engine_name(entry)
                except Exception:
                    engine = "remote"
        else:
            location, status = _local_status(entry, settings)
        rows.append(
            {
                "name": entry.name,
                "engine": engine,
                "location": location,
                "prompt_type": entry.prompt_type or _prompt_type_from_base(entry) or "auto",
                "status": status,
                "default": entry.name == settings.default_model,
            }
        )
    return rows


def print_models(rows: list[dict[str, Any]], *, default: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for col in ("name", "engine", "prompt type", "location", "status"):
        table.add_column(col, overflow="fold")
    for r in rows:
        name = f"{r['name']} *" if r["name"] == default else r["name"]
        table.add_row(name, r["engine"], r.get("prompt_type", ""), r["location"], r["status"])
    console = Console()
    console.print(table)
    console.print("* default model", style="dim")
