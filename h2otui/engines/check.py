"""``h2otui models --check``: is every configured model usable right now?

Remote models: every endpoint is contacted (concurrently, each within the connect
timeout): reachable or not, latency, the model id it serves, its context limits. Local
models: whether the model file is there. Nothing secret is ever in a row: endpoints are
shown through :func:`h2otui.servers.redact_server` and errors are scrubbed.
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
    from h2otui.servers import redact_server

    servers = entry.inference_server
    listed = servers if isinstance(servers, list) else [servers] if servers else []
    base = {"name": entry.name, "engine": "?"}
    try:
        base["engine"] = resolve_engine_name(entry)
        engine = create_engine(entry, settings)
    except Exception as exc:
        from h2otui.servers import scrub

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


def local_status(entry: ModelEntry, settings: Settings) -> tuple[str, str]:
    """(where the model file is, whether it is there) for an in-process model."""
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
    if not p.exists():
        return str(p), f"missing: {p} does not exist"
    if p.is_dir() and not (p / "config.json").is_file():
        # a Hugging Face checkpoint (transformers, ct2) always has one
        return str(p), f"not a model directory: {p} has no config.json"
    return str(p), "ready"


def _check_local(entry: ModelEntry, settings: Settings) -> list[dict[str, Any]]:
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
    location, status = local_status(entry, settings)
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
