"""A temperature set in the chat options samples, as ``--temperature`` does (issue 13,
defect 7): there is no second switch to forget."""

from __future__ import annotations

from tui_fakes import ScriptedEngine, factory_for

from h2otui.app import make_app
from h2otui.screens.chat import ChatScreen
from h2otui.screens.chat_options import ChatOptionsScreen
from h2otui.widgets.chat_input import ChatInput


async def set_temperature(pilot, value: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+o")
    await pilot.pause()
    dialog = pilot.app.screen
    assert isinstance(dialog, ChatOptionsScreen)
    dialog.query_one("#temperature").value = value
    await pilot.press("ctrl+s")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ChatScreen)


async def test_a_temperature_above_zero_samples_and_zero_is_greedy(settings, isolated_env):
    engine = ScriptedEngine(["ok"])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await set_temperature(pilot, "0.7")
        app.query_one(ChatInput).focus()
        await pilot.press(*"Hi", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        sent = engine.requests[-1].params
        assert sent.temperature == 0.7 and sent.do_sample and not sent.greedy
        assert "temp 0.7" in str(app.screen.query_one("#model-info").render())

        await set_temperature(pilot, "0")
        app.query_one(ChatInput).focus()
        await pilot.press(*"Again", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert engine.requests[-1].params.greedy
        assert "greedy" in str(app.screen.query_one("#model-info").render())
