"""Model backends. Each engine lives in its own module, imported only when used.

Built-in engines register here the same way a plugin would: a name mapped to
``"module:Class"``. :func:`create_engine` turns a configured :class:`ModelEntry` into a
ready-to-load :class:`Engine`, converting a missing optional package into a readable
:class:`EngineConfigError`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from h2otui.engines.base import EngineConfigError

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings
    from h2otui.engines.base import Engine

#: engine name -> "module:Class", and the pip extra that provides its packages
ENGINES: dict[str, tuple[str, str]] = {
    "llamacpp": ("h2otui.engines.llamacpp:LlamaCppEngine", "llama-cpp-python"),
    # remote engines (issue #6); h2oGPT server strings pick one (h2otui.servers)
    "tgi": ("h2otui.engines.tgi:TGIEngine", "httpx"),
    "openai": ("h2otui.engines.openai_engine:OpenAIEngine", "openai"),
    "gradio": ("h2otui.engines.gradio_engine:GradioEngine", "gradio-client"),
}


def register_engine(name: str, target: str, package_hint: str = "") -> None:
    """Register an engine class by import path (used by built-ins and plugins)."""
    ENGINES[name] = (target, package_hint)


def engine_class(name: str) -> type[Engine]:
    try:
        target, hint = ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise EngineConfigError(f"unknown engine '{name}' (known: {known})") from None
    module_name, _, cls_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EngineConfigError(
            f"engine '{name}' needs a package that is not installed ({exc.name or exc}); "
            f"install it with: pip install {hint or exc.name}"
        ) from None
    cls: type[Engine] = getattr(module, cls_name)
    return cls


def resolve_engine_name(entry: ModelEntry) -> str:
    name = entry.resolved_engine()
    if name == "remote":
        # inference_server strings pick their own engine (tgi / openai / gradio)
        from h2otui.servers import engine_for_server

        servers = entry.inference_server
        first = servers[0] if isinstance(servers, list) else servers
        name = engine_for_server(str(first))
    return name


def create_engine(entry: ModelEntry, settings: Settings) -> Engine:
    """Build (not load) the engine for a configured model."""
    return engine_class(resolve_engine_name(entry)).from_entry(entry, settings)
