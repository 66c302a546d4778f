"""``h2otui models [--check]``: every configured model, its engine, where it lives, and
its status; with ``--check`` every endpoint is contacted (:mod:`h2otui.engines.check`).

Secrets never appear here: server strings go through
:func:`h2otui.servers.redact_server`, and check rows are scrubbed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from h2otui.commands.exit_codes import EXIT_ERROR, EXIT_OK
from h2otui.commands.ingest import cell
from h2otui.commands.ingest import console as output_console

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings


def _prompt_type_from_base(entry: ModelEntry) -> str | None:
    """h2oGPT's prompt type for the entry's base_model (what a remote model will use)."""
    from h2otui.engines.prompts import prompt_type_for_model

    return prompt_type_for_model(entry.base_model) if entry.inference_server else None


def describe_models(settings: Settings) -> list[dict[str, Any]]:
    from h2otui.config import ConfigError
    from h2otui.engines.check import local_status

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
            from h2otui.servers import redact_server

            location = ", ".join(redact_server(s) for s in servers)
            status = "remote, not checked (use --check)"
            if engine == "remote":
                try:
                    from h2otui.engines import resolve_engine_name

                    engine = resolve_engine_name(entry)
                except Exception:
                    engine = "remote"
        else:
            location, status = local_status(entry, settings)
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
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for col in ("name", "engine", "prompt type", "location", "status"):
        table.add_column(col, overflow="fold")
    for r in rows:
        name = f"{r['name']} *" if r["name"] == default else r["name"]
        values = (name, r["engine"], r.get("prompt_type", ""), r["location"], r["status"])
        table.add_row(*(cell(v) for v in values))
    console = output_console()
    console.print(table)
    console.print("* default model", style="dim")


def print_check(rows: list[dict[str, Any]], *, default: str) -> None:
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for col in ("name", "engine", "endpoint", "status", "latency", "model", "context"):
        table.add_column(col, overflow="fold")
    for r in rows:
        name = f"{r['name']} *" if r["name"] == default else r["name"]
        # the error and the model id are what a server said: never markup, never raw
        status = (
            cell("ok", "green")
            if r.get("reachable")
            else cell(r.get("error") or "unreachable", "red")
        )
        latency = f"{r['latency_ms']:.0f} ms" if r.get("latency_ms") is not None else ""
        ctx = r.get("context_length")
        ctx_text = str(ctx) if ctx else ""
        if r.get("max_input_tokens"):
            ctx_text += f" (input {r['max_input_tokens']})"
        table.add_row(
            cell(name),
            cell(r.get("engine", "")),
            cell(r.get("endpoint", "")),
            status,
            latency,
            cell(r.get("model_id") or ""),
            ctx_text,
        )
    console = output_console()
    console.print(table)
    console.print("* default model", style="dim")


def run_models(settings: Settings, *, as_json: bool) -> int:
    """``h2otui models``: the configured models as a table or JSON."""
    rows = describe_models(settings)
    if as_json:
        import json

        print(json.dumps(rows, indent=2))
    else:
        print_models(rows, default=settings.default_model)
    return EXIT_OK


def run_check(settings: Settings, *, as_json: bool) -> int:
    """``h2otui models --check``: exit 1 when any endpoint is unreachable."""
    import asyncio
    import json

    from h2otui.engines.check import check_models

    rows = asyncio.run(check_models(settings))
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        print_check(rows, default=settings.default_model)
    return EXIT_OK if all(r.get("reachable") for r in rows) else EXIT_ERROR


def describe_prompt_types() -> list[dict[str, Any]]:
    """Every prompt type: where it comes from, the base models h2oGPT maps to it, its stop
    sequences and how a one-question conversation renders (no system prompt)."""
    from h2otui.engines.base import Message
    from h2otui.engines.prompts import PROMPT_TYPES, base_models_for, render

    example = [Message("system", ""), Message("user", "{question}")]
    return [
        {
            "name": name,
            "origin": t.origin,
            "doc": t.doc,
            "base_models": list(base_models_for(name)),
            "system_prompt": t.can_handle_system_prompt,
            "stop": t.stop_sequences(),
            "example": render(t, example).text,
        }
        for name, t in sorted(PROMPT_TYPES.items())
    ]


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def run_prompt_types(*, as_json: bool) -> int:
    """``h2otui models --prompt-types``: the names a model's ``prompt_type`` accepts."""
    rows = describe_prompt_types()
    if as_json:
        import json

        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    from rich.table import Table

    origins = {"h2ogpt": "h2oGPT", "changed": "h2oGPT*", "h2otui": "h2otui"}
    table = Table(box=None, pad_edge=False)
    for col in ("prompt type", "from", "one question renders as", "e.g. base_model"):
        table.add_column(col, overflow="fold")
    for r in rows:
        models = r["base_models"]
        more = f" (+{len(models) - 1})" if len(models) > 1 else ""
        table.add_row(
            cell(r["name"]),
            cell(origins.get(r["origin"], r["origin"])),
            cell(_escaped(r["example"])),
            cell(f"{models[0]}{more}" if models else ""),
        )
    console = output_console()
    console.print(table)
    console.print(
        "Also: custom (with prompt_dict), template (the model's chat template).  "
        "* h2oGPT's name, rendered differently on purpose (README, Prompt types).",
        style="dim",
    )
    return EXIT_OK
