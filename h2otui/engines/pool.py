"""Engines by model name, shared by every view of one process (chat, compare, batch).

Each configured model gets one engine, built on first use and loaded once; closing the
pool closes them all. Views never build engines themselves: two views asking for the
same model share its weights (a second llama.cpp copy of a model would double memory).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings
    from h2otui.engines.base import Engine

#: builds an engine for a model entry; tests pass a scripted one
EngineFactory = Callable[["ModelEntry", "Settings"], "Engine"]


class EnginePool:
    """Engines by model name: built on first use, loaded once, closed together."""

    def __init__(self, settings: Settings, factory: EngineFactory | None = None) -> None:
        self.settings = settings
        self._factory = factory
        self._engines: dict[str, Engine] = {}
        self._loaded: set[str] = set()

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
            self._loaded.add(name)
        return engine

    async def aclose(self) -> None:
        engines, self._engines = self._engines, {}
        self._loaded.clear()
        for engine in engines.values():
            with contextlib.suppress(Exception):  # closing is best effort at shutdown
                await engine.aclose()
