"""The chat screen at every terminal size: side panels yield to the chat, nothing crashes
on a resize (issue 13, defects 1 and 2). Waits are on workers and events, never the clock."""

from __future__ import annotations

import pytest
from tui_fakes import ScriptedEngine, factory_for

from h2otui.app import make_app
from h2otui.screens.chat import CHAT_MIN_WIDTH, MIN_HEIGHT, MIN_WIDTH, TOO_SMALL, ChatScreen
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_view import AssistantMessage
from h2otui.widgets.sources_panel import DocumentsPanel


def chat_screen(app) -> ChatScreen:  # type: ignore[no-untyped-def]
    screen = app.screen
    assert isinstance(screen, ChatScreen), screen
    return screen


SIZES = [(60, 20), (50, 20), (40, 12), (MIN_WIDTH, MIN_HEIGHT), (20, 5), (10, 3), (1, 1)]


async def test_resizing_small_with_every_panel_open_while_streaming_never_crashes(
    settings, isolated_env
):
    engine = ScriptedEngine(["word "], endless=True, gate_after=5, delay=0.001)
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+b")
        await pilot.press("ctrl+g")
        await pilot.pause()
        app.query_one(ChatInput).focus()
        await pilot.press(*"Talk", "enter")
        await engine.reached.wait()
        engine.gate.set()  # it streams on while the terminal shrinks
        for width, height in SIZES:
            await pilot.resize_terminal(width, height)
            await pilot.pause()
            assert app.is_running and app.return_code is None, (width, height)
            screen = chat_screen(app)
            too_small = width < MIN_WIDTH or height < MIN_HEIGHT
            assert screen.has_class("-too-small") is too_small
            notice = screen.query_one("#too-small")
            assert notice.display is too_small
            if too_small:
                assert str(notice.render()) == TOO_SMALL
        # the placeholder of an empty box at width 0 (the original crash) still renders
        await pilot.press("ctrl+b", "ctrl+g")
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert chat_screen(app).query_one(ChatInput).region.width > 0
        assert app.focused is not None  # the notice took the focus; it came back
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.query_one(AssistantMessage).status == "stopped"
        assert app.is_running


async def test_an_empty_input_squeezed_to_no_width_renders(settings, isolated_env):
    """The original crash: the placeholder wrapped at content width 0."""
    engine = ScriptedEngine()
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        box = app.query_one(ChatInput)
        box.styles.width = 4  # border + padding leave no room for text
        await pilot.pause()
        assert box.content_size.width == 0
        assert box.render_line(0).cell_length == 0
        assert app.is_running


@pytest.mark.parametrize("width", [80, 60, 50])
async def test_side_panels_yield_to_the_chat(settings, isolated_env, width):
    engine = ScriptedEngine()
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(width, 24)) as pilot:
        screen = chat_screen(app)
        await pilot.press("ctrl+b")
        await pilot.press("ctrl+g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        main = screen.query_one("#main")
        assert main.region.width >= min(CHAT_MIN_WIDTH, width), main.region
        # the panel opened last is the one shown
        assert screen.query_one("#side-panel").has_class("-visible")
        assert screen.query_one("#side-panel").region.width > 0
        await pilot.press("ctrl+b")  # the chat list again: it comes forward
        await pilot.pause()
        assert screen.query_one("#sidebar").display
        assert screen.query_one("#main").region.width >= min(CHAT_MIN_WIDTH, width)
        await pilot.press("ctrl+e")  # back to the question box
        await pilot.pause()
        # a panel floating over the chat is a drawer: it closed; nothing covers the chat
        visible = [screen.query_one("#sidebar").display]
        visible.append(screen.query_one("#side-panel").has_class("-visible"))
        if width < 70:
            assert not any(visible)
        covered = sum(w.region.width for w in screen.query("#sidebar, #side-panel") if w.display)
        assert screen.query_one("#main").region.width + covered <= width
        assert screen.query_one("#main").region.width >= CHAT_MIN_WIDTH


async def test_both_panels_show_when_the_terminal_is_wide(settings, isolated_env):
    engine = ScriptedEngine()
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = chat_screen(app)
        await pilot.press("ctrl+g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.query_one("#sidebar").display
        assert screen.query_one("#side-panel").has_class("-visible")
        assert not screen.has_class("-overlay")
        assert screen.query_one("#main").region.width >= CHAT_MIN_WIDTH


async def test_the_documents_panel_hides_and_keeps_its_collection(settings, isolated_env):
    engine = ScriptedEngine()
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = chat_screen(app)
        panel = app.query_one(DocumentsPanel)
        await pilot.press("ctrl+g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        panel._set_collections([("Facts", 3)])
        panel.select_collection("Facts")
        await pilot.pause()
        assert panel.collection == "Facts"
        await pilot.press("ctrl+g")  # again, in the panel: hide it
        await pilot.pause()
        assert not screen.query_one("#side-panel").has_class("-visible")
        assert app.query_one(ChatInput).has_focus
        assert panel.collection == "Facts"
        assert "docs: Facts" in str(screen.query_one("#model-info").render())


async def test_a_crash_exits_1(settings, isolated_env):
    """An unhandled exception ends the app with return code 1, and `h2otui` exits with it
    (it exited 0: ``run()`` returns ``None`` after a crash)."""
    from h2otui.commands.launch import exit_code

    def boom() -> None:
        raise RuntimeError("boom")

    engine = ScriptedEngine()
    app = make_app(settings, engine_factory=factory_for(engine))
    with pytest.raises(RuntimeError, match="boom"):
        async with app.run_test(size=(80, 24)) as pilot:
            app.call_later(boom)
            await pilot.pause()
    assert app.return_code == 1
    assert exit_code(app.return_value, app.return_code) == 1
    assert exit_code(None, 0) == 0 and exit_code(3, 0) == 3


async def test_shrinking_while_in_the_chat_does_not_cover_it(settings, isolated_env):
    engine = ScriptedEngine()
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = chat_screen(app)
        await pilot.press("ctrl+g")
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert screen.query_one("#side-panel").has_class("-visible")  # fits beside at 80
        await pilot.resize_terminal(50, 20)
        await pilot.pause()
        # it would float over the chat the user is typing in: it closed instead
        assert not screen.query_one("#side-panel").has_class("-visible")
        assert app.query_one(ChatInput).has_focus
        await pilot.press("ctrl+g")  # and opens again, over the chat, on demand
        await pilot.pause()
        assert screen.query_one("#side-panel").has_class("-visible")
        assert screen.has_class("-overlay")


async def test_an_answer_streaming_when_the_app_crashes_is_left_interrupted(settings, isolated_env):
    """A crash is not the user pressing Esc: the answer stays ``partial`` (shown as
    interrupted), as when the process is killed, not ``stopped``."""
    import sqlite3

    def boom() -> None:
        raise RuntimeError("boom")

    engine = ScriptedEngine(["word "], endless=True, gate_after=5, delay=0.001)
    app = make_app(settings, engine_factory=factory_for(engine))
    with pytest.raises(RuntimeError, match="boom"):
        async with app.run_test(size=(80, 24)) as pilot:
            app.query_one(ChatInput).focus()
            await pilot.press(*"Talk", "enter")
            await engine.reached.wait()
            engine.gate.set()
            app.call_later(boom)
            await pilot.pause()
    assert app.return_code == 1
    with sqlite3.connect(isolated_env / "chats.sqlite3") as db:
        role, status, content = db.execute(
            "SELECT role, status, content FROM messages ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert (role, status) == ("assistant", "partial")
    assert content.startswith("word " * 5)
