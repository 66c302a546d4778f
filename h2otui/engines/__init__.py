"""Model backends. Each engine lives in its own module, imported only when used.

Engines are found through :mod:`h2otui.engine_registry`: built-ins and plugins register
the same way (:func:`register_engine`, or an entry point in the ``h2otui.engines``
group). :func:`create_engine` turns a configured :class:`ModelEntry` into a
ready-to-load :class:`Engine`, converting a missing optional package into a readable
:class:`EngineConfigError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from h2otui.engine_registry import engine_names, load_engine_class, register_engine
from h2otui.engines.base import Engine, EngineConfigError

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings

__all__ = [
    "create_engine",
    "engine_class",
    "engine_names",
    "register_engine",
    "resolve_engine_name",
]


def engine_class(name: str) -> type[Engine]:
    """The engine class registered as ``name`` (imported now, on first use)."""
    cls = load_engine_class(name)
    if not issubclass(cls, Engine):
        raise EngineConfigError(
            f"engine '{name}': {cls.__module__}.{cls.__qualname__} is not an h2otui Engine "
            "(subclass h2otui.engines.base.Engine)"
        )
    return cls


def resolve_engine_name(entry: ModelEntry) -> str:
    """The engine that serves ``entry``: its own, or the one its server string implies."""
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
