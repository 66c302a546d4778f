"""Settings change through one path: ``H2oTuiApp.apply_settings`` swaps the value, the
engine pool drops only the engines the change made stale, and every screen hears about it.

Engines are the scripted fake (tests/tui_fakes.py) with a recorded ``aclose``; the app
runs under Pilot with its real screens."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static
from tui_fakes import ScriptedEngine

from h2otui.app import make_app
from h2otui.config import TEXTUAL_THEMES, ConfigError, Settings, load_settings
from h2otui.engines.pool import EnginePool
from h2otui.messages import SettingsChanged


class ClosingEngine(ScriptedEngine):
    """The scripted engine, remembering whether the pool closed it."""

    def __init__(self, name: str) -> None:
        super().__init__(model_name=name)
        self.aclosed = asyncio.Event()

    async def aclose(self) -> None:
        self.aclosed.set()


class Builds:
    """An engine factory that keeps every engine it built, by model name."""

    def __init__(self) -> None:
        self.built: dict[str, list[ClosingEngine]] = {}

    def __call__(self, entry, settings) -> ClosingEngine:  # type: ignore[no-untyped-def]
        engine = ClosingEngine(entry.name)
        self.built.setdefault(entry.name, []).append(engine)
        return engine


class Probe(Screen[None]):
    """A screen that records the SettingsChanged messages it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[SettingsChanged] = []
        self.received = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield Static("probe")

    def on_settings_changed(self, message: SettingsChanged) -> None:
        self.seen.append(message)
        self.received.set()


@pytest.fixture
def two_models() -> Settings:
    return load_settings(
        overrides={
            "default_model": "local",
            "models": [
                {"name": "local", "model_path": "/models/local.gguf"},
                {"name": "served", "inference_server": "http://127.0.0.1:9"},
            ],
        }
    )


async def test_the_pool_drops_only_engines_built_from_what_changed(two_models) -> None:
    builds = Builds()
    pool = EnginePool(two_models, builds)
    local, served = await pool.load("local"), await pool.load("served")
    await pool.load("gemma3-270m")

    # a change no engine reads keeps every engine loaded
    assert pool.apply_settings(two_models.with_changes({"qa": {"top_k_docs": 7}})) == []
    assert pool.settings.qa.top_k_docs == 7  # the pool reads the current settings
    assert pool.get("local") is local and pool.is_loaded("local")

    # [remote] matters only to a model that talks to a server
    assert pool.apply_settings(pool.settings.replace("remote.retries", 5)) == ["served"]
    assert pool.get("local") is local and pool.is_loaded("local")
    assert not pool.is_loaded("served")
    assert pool.get("served") is not served and builds.built["served"][1] is pool.get("served")

    # a changed model entry drops that model's engine only
    changed = pool.settings.with_changes(
        {"models": [{"name": "local", "model_path": "/models/local-q8.gguf"}]}
    )
    assert pool.apply_settings(changed) == ["local"]
    assert not local.aclosed.is_set()  # closing waits for close_retired
    await pool.close_retired()
    assert local.aclosed.is_set() and served.aclosed.is_set()
    fresh = pool.get("local")
    assert fresh is builds.built["local"][1] and fresh is not local
    assert pool.is_loaded("gemma3-270m") and not builds.built["gemma3-270m"][0].aclosed.is_set()

    await pool.aclose()
    assert all(e.aclosed.is_set() for engines in builds.built.values() for e in engines)


async def test_a_load_finishing_after_its_engine_was_dropped_does_not_count(two_models) -> None:
    builds = Builds()
    pool = EnginePool(two_models, builds)
    engine = pool.get("local")
    gate = asyncio.Event()

    async def slow_load() -> None:
        await gate.wait()

    engine.load = slow_load  # type: ignore[method-assign]
    loading = asyncio.create_task(pool.load("local"))
    await asyncio.sleep(0)
    pool.apply_settings(
        two_models.with_changes({"models": [{"name": "local", "model_path": "/m2.gguf"}]})
    )
    gate.set()
    await loading
    assert not pool.is_loaded("local")  # the loaded engine was the dropped one
    assert pool.get("local") is not engine
    await pool.aclose()


async def test_apply_settings_updates_the_pool_and_tells_every_screen(two_models) -> None:
    builds = Builds()
    app = make_app(two_models, engine_factory=builds)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()  # the chat screen preloads the default model
        local = await app.engines.load("local")
        served = await app.engines.load("served")
        chat_screen = app.screen

        # one probe in another mode's stack, one pushed on the chat mode, one installed
        elsewhere = Probe()
        app.add_mode("elsewhere", lambda: elsewhere)
        await app.switch_mode("elsewhere")
        await pilot.pause()
        await app.switch_mode("chat")
        installed = Probe()
        app.install_screen(installed, "probe")
        on_top = Probe()
        await app.push_screen(on_top)
        await pilot.pause()

        old = app.settings
        new = old.with_changes(
            {
                "models": [{"name": "served", "inference_server": "http://127.0.0.1:10"}],
                "ui": {"theme": "nord"},
            }
        )
        app.apply_settings(new)
        assert app.settings is new and app.engines.settings is new
        for probe in (on_top, elsewhere):
            await asyncio.wait_for(probe.received.wait(), timeout=10)
        # an installed screen not shown yet hears of the change when it starts
        assert not installed.is_running
        await app.push_screen("probe")
        await asyncio.wait_for(installed.received.wait(), timeout=10)
        for probe in (on_top, elsewhere, installed):
            (message,) = probe.seen
            assert message.old is old and message.new is new
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert served.aclosed.is_set(), "the engine of the changed model was not closed"
        assert app.engines.get("served") is not served
        assert not local.aclosed.is_set() and app.engines.get("local") is local
        assert app.engines.is_loaded("local")
        assert app.theme == "nord"
        assert chat_screen in app.screen_stack

        # the same value again changes nothing and says nothing
        app.apply_settings(new)
        await pilot.pause()
        assert len(on_top.seen) == 1

        # an unknown theme never gets this far: settings reject it, naming the choices
        with pytest.raises(ConfigError, match=r"unknown theme .*nord"):
            new.replace("ui.theme", "no-such-theme")
        assert app.theme == "nord"
        # the settings know exactly the themes the app has
        assert set(app.available_themes) == TEXTUAL_THEMES


async def test_turning_chat_history_on_opens_the_store(isolated_env) -> None:
    settings = load_settings(overrides={"ui": {"save_chats": False}})
    app = make_app(settings, engine_factory=Builds())
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.store is None
        app.apply_settings(settings.replace("ui.save_chats", True))
        await pilot.pause()
        assert app.store is not None and app.store.path == isolated_env / "chats.sqlite3"
