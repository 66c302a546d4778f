"""What users of peer chat apps expect (issue 13): prompt history, search across chats,
export from the app, queueing a follow-up while an answer streams. Scripted engine."""

from __future__ import annotations

import json

from textual.widgets import Input, OptionList
from tui_fakes import ScriptedEngine, factory_for

from h2otui.app import make_app
from h2otui.screens.picker import PickerScreen
from h2otui.store.chats import ChatStore
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_view import AssistantMessage, QueuedNotice, UserMessage


async def test_a_follow_up_sent_while_answering_is_queued_then_sent(settings, isolated_env):
    engine = ScriptedEngine(["word "] * 8, gate_after=3)
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"first", "enter")
        await engine.reached.wait()
        await pilot.press(*"second", "enter")
        await pilot.pause()
        (queued,) = app.screen.query(QueuedNotice)
        assert "second" in str(queued.render())
        assert app.screen.query_one(ChatInput).text == ""  # the box is free again
        assert len(engine.requests) == 1  # not sent yet
        engine.gate_after = None
        engine.gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [m.text for m in app.screen.query(UserMessage)] == ["first", "second"]
        assert [a.status for a in app.screen.query(AssistantMessage)] == ["complete"] * 2
        assert engine.requests[-1].messages[-1].content == "second"
        assert not app.screen.query(QueuedNotice)


async def test_esc_stops_the_answer_and_drops_the_queue(settings, isolated_env):
    engine = ScriptedEngine(["word "], endless=True, gate_after=2)
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"first", "enter")
        await engine.reached.wait()
        await pilot.press(*"second", "enter")
        await pilot.pause()
        assert app.screen.query(QueuedNotice)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.screen.query(QueuedNotice)
        assert [m.text for m in app.screen.query(UserMessage)] == ["first"]
        assert len(engine.requests) == 1


async def test_up_in_an_empty_input_recalls_past_questions(settings, isolated_env):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(80, 24)) as pilot:
        box = app.screen.query_one(ChatInput)
        for question in ("alpha", "beta"):
            await pilot.press(*question, "enter")
            await app.workers.wait_for_complete()
        await pilot.press("up")
        assert box.text == "beta"
        await pilot.press("up")
        assert box.text == "alpha"
        await pilot.press("up")  # the oldest stays
        assert box.text == "alpha"
        await pilot.press("down")
        assert box.text == "beta"
        await pilot.press("down")  # past the newest: the empty box back
        assert box.text == ""
        await pilot.press(*"gam", "up")  # typed text: Up moves the cursor, recalls nothing
        assert box.text == "gam"
    # a new session recalls questions saved by the last one
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("up")
        assert app.screen.query_one(ChatInput).text == "beta"


async def test_ctrl_r_searches_past_questions_into_the_input(settings, isolated_env):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        # newest first, as the store and each question sent fill it
        app.screen.query_one(ChatInput).past_questions = [
            "more about cats",
            "what is churn",
            "how do cats purr",
        ]
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        await pilot.press(*"cats")
        await pilot.pause()
        options = app.screen.query_one("#matches", OptionList)
        assert [str(options.get_option_at_index(i).prompt) for i in range(2)] == [
            "more about cats",
            "how do cats purr",
        ]
        assert options.option_count == 2
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.screen.query_one(ChatInput).text == "how do cats purr"
        assert app.focused is app.screen.query_one(ChatInput)


async def test_chats_are_searched_by_content_and_opened_from_the_list(settings, isolated_env):
    with ChatStore.open(settings.data_path) as store:  # two saved chats
        for question in ("zebra facts", "llama facts"):
            chat = store.create_chat(settings.model().name, title=question)
            store.add_message(chat.id, "user", question)
            store.add_message(chat.id, "assistant", f"Answer to {question}.")
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+l", "slash")  # "/" in the chat list
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        await pilot.press(*"answer to zebra")  # words of an answer, not the title
        await pilot.pause()
        assert app.screen.query_one("#matches", OptionList).option_count == 1
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [m.text for m in app.screen.query(UserMessage)] == ["zebra facts"]
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Search chats" in titles


async def test_export_the_current_chat_to_a_private_file(settings, isolated_env, tmp_path):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    target = tmp_path / "out.md"
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"hello there", "enter")
        await app.workers.wait_for_complete()
        screen = app.screen
        for fmt, path in (("md", target), ("json", tmp_path / "out.json")):
            screen.action_export_chat(fmt)
            await pilot.pause()
            prompt = app.screen.query_one(Input)
            assert prompt.value.endswith(f".{fmt}")  # an obvious default name
            prompt.value = str(path)
            await pilot.press("enter")
            await pilot.pause()
        assert "hello there" in target.read_text()
        assert oct(target.stat().st_mode & 0o777) == "0o600"
        data = json.loads((tmp_path / "out.json").read_text())
        assert data["messages"][0]["content"] == "hello there"
        # never overwritten: the file the user had stays
        target.write_text("mine")
        screen.action_export_chat("md")
        await pilot.pause()
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text() == "mine"


async def test_open_the_chat_in_the_editor_from_the_palette(
    settings, isolated_env, tmp_path, monkeypatch
):
    from textual.drivers.headless_driver import HeadlessDriver

    # the test's headless terminal cannot be handed over; a real one can
    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda self: True))
    copy = tmp_path / "seen.md"
    editor = tmp_path / "my editor.sh"  # a space: $EDITOR is a command line, quoted
    editor.write_text(f'#!/bin/sh\ncp "$1" "{copy}"\nstat -c %a "$1" > "{copy}.mode"\n')
    editor.chmod(0o700)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"'{editor}'")
    app = make_app(
        settings, engine_factory=factory_for(ScriptedEngine(["Purring is [b]fine[/b]."]))
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"why do cats purr?", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        (command,) = [
            c for c in app.get_system_commands(app.screen) if c.title == "Open this chat in $EDITOR"
        ]
        command.callback()
        await pilot.pause()
        text = copy.read_text()
        assert "## You\n\nwhy do cats purr?" in text and "Purring is [b]fine[/b]." in text
        assert (tmp_path / "seen.md.mode").read_text().strip() == "600"
        tmp_dir = settings.data_path / "tmp"
        assert list(tmp_dir.iterdir()) == []  # the temporary copy is gone
        assert oct(tmp_dir.stat().st_mode & 0o777) == "0o700"
        assert not [n for n in app._notifications if n.severity == "error"]

        # an editor that fails, one that is missing, none set: said, and the app goes on
        for value, expected in [
            ("false", "exited with status 1"),
            ("no-such-editor-xyz", "Could not run $EDITOR (no-such-editor-xyz)"),
            ("", "Set $VISUAL or $EDITOR"),
        ]:
            monkeypatch.setenv("EDITOR", value)
            app.screen.action_open_in_editor()
            await pilot.pause()
            assert any(expected in str(n.message) for n in app._notifications), expected
        assert list(tmp_dir.iterdir()) == []
        await pilot.press(*"still here", "enter")
        await app.workers.wait_for_complete()
        assert len(app.screen.query(UserMessage)) == 2
