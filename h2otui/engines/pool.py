"""Engines by model name, shared by every view of one process (chat, compare, batch).

Each configured model gets one engine, built on first use and loaded once; closing the
pool closes them all. Views never build engines themselves: two views asking for the
same model share its weights (a second llama.cpp copy of a model would double memory).

The pool always reads the app's current settings: :meth:`EnginePool.apply_settings`
swaps them and drops exactly the engines built from something that changed (their model
entry, the data dir, or ``[remote]`` for a model that talks to a server); the next use
builds them afresh, and an unchanged model keeps its loaded weights.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings
    from h2otui.engines.base import Engine

#: builds an engine for a model entry; tests pass a scripted one
EngineFactory = Callable[["ModelEntry", "Settings"], "Engine"]


def built_from(settings: Settings, name: str) -> tuple[Any, ...] | None:
    """What an engine for model ``name`` reads from ``settings`` (None: no such model).

    Engines read their model entry, the data dir (where model files live) and, when they
    talk to a server, the ``[remote]`` section; nothing else, so a change elsewhere (a
    QA prompt, the theme) keeps a loaded model loaded."""
    entry = next((m for m in settings.models if m.name == name), None)
    if entry is None:
        return None
    remote = settings.remote if entry.inference_server else None
    return (entry, settings.data_dir, remote)


class EnginePool:
    """Engines by model name: built on first use, loaded once, closed together."""

    def __init__(self, settings: Settings, factory: EngineFactory | None = None) -> None:
        self.settings = settings
        self._factory = factory
        self._engines: dict[str, Engine] = {}
        self._loaded: set[str] = set()
        #: dropped by apply_settings, not yet closed (close_retired / aclose close them)
        self._retired: list[Engine] = []

    def _create(self, entry: ModelEntry) -> Engine:
        if self._factory is not None:
            return self._factory(entry, self.settings)
        from h2otui.engines import create_engine

        return create_engine(entry, self.settings)

    def get(self, name: str) -> Engine:
        """The engine for a configured model (raises ConfigError / EngineError)."""
        engine = self._engines.get(name)
        if engine is None:
            engine = self._create(self.settings.model(name))
            self._engines[name] = engine
        return engine

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded

    async def load(self, name: str) -> Engine:
        engine = self.get(name)
        if name not in self._loaded:
            await engine.load()
            if self._engines.get(name) is engine:  # not dropped by a settings change meanwhile
                self._loaded.add(name)
        return engine

    def apply_settings(self, new: Settings) -> list[str]:
        """Use ``new`` from now on; returns the names of the engines it made stale.

        Stale engines leave the pool at once (the next :meth:`get` builds a fresh one) but
        are closed later, by :meth:`close_retired`: closing waits for an answer that is
        still streaming from the engine, and a settings change must not wait for that."""
        old, self.settings = self.settings, new
        stale = [name for name in self._engines if built_from(old, name) != built_from(new, name)]
        for name in stale:
            self._retired.append(self._engines.pop(name))
            self._loaded.discard(name)
        return stale

    async def close_retired(self) -> None:
        """Close the engines :meth:`apply_settings` dropped."""
        while self._retired:
            engine = self._retired.pop(0)
            with contextlib.suppress(Exception):  # best effort: the engine is gone either way
                await engine.aclose()

    async def aclose(self) -> None:
        engines, self._engines = self._engines, {}
        self._loaded.clear()
        self._retired.extend(engines.values())
        await self.close_retired()
