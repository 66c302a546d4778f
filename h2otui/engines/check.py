"""``h2otui models --check``: is every configured model usable right now?

Remote models: every endpoint is contacted (concurrently, each within the connect
timeout): reachable or not, latency, the model id it serves, its context limits. Local
models: whether the model file is there. Nothing secret is ever in a row: endpoints are
shown through :func:`h2otui.engines.servers.redact_server` and errors are scrubbed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings


async def _check_remote(entry: ModelEntry, settings: Settings) -> list[dict[str, Any]]:
    from h2otui.engines import create_engine, resolve_engine_name
    from h2otui.engines.base import EngineError
    from h2otui.engines.remote import RemoteEngine
    from h2otui.engines.servers import redact_server

    servers = entry.inference_server
    listed = servers if isinstance(servers, list) else [servers] if servers else []
    base = {"name": entry.name, "engine": "?"}
    try:
        base["engine"] = resolve_engine_name(entry)
        engine = create_engine(entry, settings)
    except Exception as exc:
        from h2otui.engines.servers import scrub

        secrets = [str(v) for k, v in (entry.options or {}).items() if "key" in k or "pass" in k]
        return [
            {
                **base,
                "endpoint": ", ".join(redact_server(str(s)) for s in listed),
                "reachable": False,
                "latency_ms": None,
                "model_id": None,
                "context_length": None,
                "error": scrub(str(exc), secrets),
            }
        ]
    assert isinstance(engine, RemoteEngine)
    try:
        report = await engine.check()
    except EngineError as exc:
        report = {"endpoints": [{"endpoint": "", "reachable": False, "error": str(exc)}]}
    finally:
        await engine.aclose()
    rows = []
    for r in report["endpoints"]:
        kind = r.get("kind")
        rows.append(
            {
                **base,
                "engine": "gradio" if kind == "gradio" else base["engine"],
                "endpoint": r.get("endpoint", ""),
                "reachable": bool(r.get("reachable")),
                "latency_ms": r.get("latency_ms"),
                "model_id": r.get("model_id") or engine.options.model or entry.base_model,
                "context_length": r.get("context_length") or engine.options.context_length,
                "max_input_tokens": r.get("max_input_tokens"),
                "error": r.get("error"),
            }
        )
    return rows


def _check_local(entry: ModelEntry, settings: Settings) -> list[dict[str, Any]]:
    from h2otui.model_info import _local_status

    try:
        engine = entry.resolved_engine()
    except Exception as exc:
        return [
            {
                "name": entry.name,
                "engine": "?",
                "endpoint": "",
                "reachable": False,
                "error": str(exc),
            }
        ]
    location, status = _local_status(entry, settings)
    ok = status.startswith(("ready", "embedded"))
    ctx = (entry.options or {}).get("n_ctx")
    return [
        {
            "name": entry.name,
            "engine": engine,
            "endpoint": location,
            "reachable": ok,
            "latency_ms": None,
            "model_id": entry.base_model,
            "context_length": ctx or None,
            "max_input_tokens": None,
            "error": None if ok else status,
        }
    ]


async def check_models(settings: Settings, names: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per endpoint of every configured model (or of ``names``)."""
    entries = [m for m in settings.models if not names or m.name in names]
    tasks = []
    for entry in entries:
        if entry.inference_server or entry.engine in ("tgi", "openai", "gradio"):
            tasks.append(_check_remote(entry, settings))
        else:
            tasks.append(asyncio.to_thread(_check_local, entry, settings))
    results = await asyncio.gather(*tasks)
    return [row for rows in results for row in rows]


def print_check(rows: list[dict[str, Any]], *, default: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for col in ("name", "engine", "endpoint", "status", "latency", "model", "context"):
        table.add_column(col, overflow="fold")
    for r in rows:
        name = f"{r['name']} *" if r["name"] == default else r["name"]
        status = (
            "[green]ok[/]" if r.get("reachable") else f"[red]{r.get('error') or 'unreachable'}[/]"
        )
        latency = f"{r['latency_ms']:.0f} ms" if r.get("latency_ms") is not None else ""
        ctx = r.get("context_length")
        ctx_text = str(ctx) if ctx else ""
        if r.get("max_input_tokens"):
            ctx_text += f" (input {r['max_input_tokens']})"
        table.add_row(
            name,
            str(r.get("engine", "")),
            str(r.get("endpoint", "")),
            status,
            latency,
            str(r.get("model_id") or ""),
            ctx_text,
        )
    console = Console()
    console.print(table, markup=True)
    console.print("* default model", style="dim")
