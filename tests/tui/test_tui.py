"""The TUI driven by Pilot: real embedded model for the happy path, a scripted engine for
the states a real model cannot be made to hit on demand. Every wait is on a worker or an
event, never on the clock."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from textual import events
from tui_fakes import ScriptedEngine, factory_for

from h2otui.app import make_app
from h2otui.chat import session as chat_session
from h2otui.config import load_settings
from h2otui.engines.base import ModelNotFoundError
from h2otui.messages import SettingsChanged
from h2otui.screens.chat import ChatScreen
from h2otui.screens.chat_options import ChatOptionsScreen
from h2otui.screens.confirm import ConfirmScreen
from h2otui.store.chats import ChatStore
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_list import ChatList, ChatListItem
from h2otui.widgets.chat_view import AssistantMessage, ConversationView, Notice, UserMessage


def chat_screen(app) -> ChatScreen:  # type: ignore[no-untyped-def]
    screen = app.screen
    assert isinstance(screen, ChatScreen), screen
    return screen


async def type_and_send(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    pilot.app.query_one(ChatInput).focus()
    await pilot.press(*text)
    await pilot.press("enter")


async def wait_answered(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait for the generation (and any model load) to finish, then for a repaint."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def markdown_source(answer: AssistantMessage) -> str:
    """The Markdown the answer's widgets hold (live chunks and folded ones)."""
    return answer.rendered_source


def db_rows(home) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with sqlite3.connect(home / "chats.sqlite3") as db:
        return db.execute("SELECT role, status, content FROM messages ORDER BY id").fetchall()


# --- the real model -------------------------------------------------------------------------


@pytest.mark.slow
async def test_real_model_answer_streams_onto_the_screen(settings, isolated_env):
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "What is the capital of France?")
        await wait_answered(pilot)
        view = app.query_one(ConversationView)
        question = view.query_one(UserMessage)
        assert question.text == "What is the capital of France?"
        answer = view.query_one(AssistantMessage)
        assert answer.status == "complete"
        assert answer.text.strip(), "the model produced no text"
        # what streamed is what the Markdown widget shows and what was saved
        assert markdown_source(answer) == answer.text
        stats = str(answer.query_one(".stats").render())
        assert "tokens" in stats and "first token" in stats
        assert app.query_one(ChatInput).text == ""
    rows = db_rows(isolated_env)
    assert rows == [
        ("user", "complete", "What is the capital of France?"),
        ("assistant", "complete", answer.text),
    ]


# --- streaming, stopping, saving --------------------------------------------------------------


async def test_answer_streams_and_is_saved_as_partial_while_streaming(
    settings, isolated_env, monkeypatch
):
    monkeypatch.setattr(chat_session, "PARTIAL_SAVE_INTERVAL_S", 0.0)
    engine = ScriptedEngine(["One ", "two ", "three ", "four."], gate_after=3)
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "Count")
        await engine.reached.wait()
        await pilot.pause()
        answer = app.query_one(AssistantMessage)
        assert answer.text == "One two three "
        # the partial answer is on disk already: a killed app keeps it
        assert db_rows(isolated_env)[-1] == ("assistant", "partial", "One two three ")
        assert chat_screen(app).generating
        engine.gate.set()
        await wait_answered(pilot)
        assert answer.text == "One two three four."
        assert markdown_source(answer) == "One two three four."
        assert db_rows(isolated_env)[-1] == ("assistant", "complete", "One two three four.")


async def test_escape_stops_a_long_answer_and_keeps_it(settings, isolated_env):
    engine = ScriptedEngine(["word "], endless=True, gate_after=20, delay=0.001)
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "Talk forever")
        await engine.reached.wait()
        engine.gate.set()  # let it run on, endlessly
        await pilot.press("escape")
        await wait_answered(pilot)
        assert engine.closed.is_set(), "the engine stream was not closed"
        answer = app.query_one(AssistantMessage)
        assert answer.status == "stopped"
        assert answer.text.startswith("word " * 20)
        assert "stopped" in str(answer.query_one(".stats").render())
        assert not chat_screen(app).generating
        role, status, content = db_rows(isolated_env)[-1]
        assert (role, status, content) == ("assistant", "stopped", answer.text)
        # the app is usable again: a new question gets an answer
        engine.endless, engine.gate_after, engine.answer = False, None, ["Fine."]
        await type_and_send(pilot, "Short one")
        await wait_answered(pilot)
        assert app.query(AssistantMessage).last().text == "Fine."


# --- errors ----------------------------------------------------------------------------------


async def test_engine_failure_notifies_and_input_stays_usable(settings, isolated_env):
    engine = ScriptedEngine(["Back ", "again."])
    engine.fail = ModelNotFoundError("model 'fake': /models/missing.gguf does not exist")
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "Hello?")
        await wait_answered(pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "missing.gguf does not exist" in errors[-1].message
        assert "Traceback" not in errors[-1].message
        answer = app.query_one(AssistantMessage)
        assert answer.status == "error"
        assert app.focused is app.query_one(ChatInput)
        engine.fail = None
        await type_and_send(pilot, "Now?")
        await wait_answered(pilot)
        assert app.query(AssistantMessage).last().text == "Back again."
        # the failed exchange is not used as context for the next question
        assert [m.content for m in engine.requests[-1].messages if m.role == "user"] == ["Now?"]


async def test_missing_model_file_is_a_readable_error(isolated_env, tmp_path):
    settings = load_settings(
        overrides={
            "models": [{"name": "ghost", "model_path": str(tmp_path / "ghost.gguf")}],
            "default_model": "ghost",
        }
    )
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_answered(pilot)  # the background preload fails first
        await type_and_send(pilot, "Anyone there?")
        await wait_answered(pilot)
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors and all("ghost" in m for m in errors)
        assert app.query_one(AssistantMessage).status == "error"
        await pilot.press("x")
        assert app.query_one(ChatInput).text == "x"


# --- history ---------------------------------------------------------------------------------


def two_model_settings():  # type: ignore[no-untyped-def]
    return load_settings(
        overrides={"models": [{"name": "other", "engine": "llamacpp", "model_path": "x.gguf"}]}
    )


async def test_chat_survives_a_restart_and_continues_with_its_history(isolated_env):
    settings = two_model_settings()
    first = ScriptedEngine(lambda r: ["Answer ", str(len(r.messages))])
    app = make_app(settings, engine_factory=factory_for(first))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = chat_screen(app)
        options = screen.session.options.copy()
        options.model = "other"
        options.system_prompt = "You are terse."
        options.params.max_new_tokens = 77
        screen.session.set_options(options)
        await type_and_send(pilot, "First question")
        await wait_answered(pilot)
        first_answer = app.query_one(AssistantMessage).text

    second = ScriptedEngine(["Continued."])
    app = make_app(settings, engine_factory=factory_for(second))
    async with app.run_test(size=(120, 30)) as pilot:
        chat_list = app.query_one(ChatList)
        items = list(chat_list.query(ChatListItem))
        assert [i.title for i in items] == ["First question"]
        chat_list.focus()
        chat_list.index = 0
        await pilot.press("enter")
        await wait_answered(pilot)
        screen = chat_screen(app)
        view = app.query_one(ConversationView)
        assert [m.text for m in view.messages()] == ["First question", first_answer]
        assert screen.session.options.model == "other"
        assert screen.session.options.system_prompt == "You are terse."
        assert screen.session.options.params.max_new_tokens == 77
        await type_and_send(pilot, "Second question")
        await wait_answered(pilot)
        sent = second.requests[-1]
        assert [(m.role, m.content) for m in sent.messages] == [
            ("system", "You are terse."),
            ("user", "First question"),
            ("assistant", first_answer),
            ("user", "Second question"),
        ]
        assert sent.params.max_new_tokens == 77
    with ChatStore.open(isolated_env) as store:
        (chat,) = store.list_chats()
        assert [m.content for m in store.messages(chat.id)] == [
            "First question",
            first_answer,
            "Second question",
            "Continued.",
        ]


async def test_chats_list_newest_first_rename_and_delete_with_confirmation(settings, isolated_env):
    engine = ScriptedEngine(["ok"])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(120, 30)) as pilot:
        for q in ("Older chat", "Newer chat"):
            await type_and_send(pilot, q)
            await wait_answered(pilot)
            await pilot.press("ctrl+n")
        chat_list = app.query_one(ChatList)
        assert [i.title for i in chat_list.query(ChatListItem)] == ["Newer chat", "Older chat"]

        chat_list.focus()
        chat_list.index = 1
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("ctrl+u", *"Renamed", "enter")
        await pilot.pause()
        assert [i.title for i in chat_list.query(ChatListItem)] == ["Newer chat", "Renamed"]

        chat_list.index = 0
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # said no: nothing is deleted
        await pilot.pause()
        assert [i.title for i in chat_list.query(ChatListItem)] == ["Newer chat", "Renamed"]

        chat_list.focus()
        chat_list.index = 0
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert [i.title for i in chat_list.query(ChatListItem)] == ["Renamed"]
    with ChatStore.open(isolated_env) as store:
        assert [c.title for c in store.list_chats()] == ["Renamed"]


# --- context ---------------------------------------------------------------------------------


async def test_old_turns_are_dropped_to_fit_the_context_and_the_user_is_told(
    settings, isolated_env
):
    # one "token" per word; 10 words per answer; a context that holds about two turns
    engine = ScriptedEngine(["w " * 10], context=60)
    app = make_app(settings, engine_factory=factory_for(engine))
    screen = None
    async with app.run_test(size=(100, 40)) as pilot:
        screen = chat_screen(app)
        opts = screen.session.options.copy()
        opts.params.max_new_tokens = 10
        opts.system_prompt = "Be brief."
        screen.session.set_options(opts)
        for i in range(4):
            await type_and_send(pilot, f"question number {i}")
            await wait_answered(pilot)
        sent = engine.requests[-1].messages
        assert sent[0].content == "Be brief."
        assert sent[-1].content == "question number 3"
        users = [m.content for m in sent if m.role == "user"]
        assert "question number 0" not in users  # the oldest went first
        assert users[-2] == "question number 2"  # the newest were kept
        prompt = engine.render_prompt(sent)
        assert engine.count_tokens(prompt) + 10 <= 60
        notices = [str(n.render()) for n in app.query(Notice)]
        assert notices and "left out" in notices[-1]


# --- input, copy, options, palette -----------------------------------------------------------


async def test_multiline_input_newline_key_and_paste(settings, isolated_env):
    engine = ScriptedEngine(["ok"])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        box = app.query_one(ChatInput)
        box.focus()
        await pilot.press(*"line one", "ctrl+j", *"line two")
        assert box.text == "line one\nline two"
        app.post_message(events.Paste("\npasted a\npasted b"))  # as a terminal sends it
        await pilot.pause()
        assert box.text == "line one\nline two\npasted a\npasted b"
        await pilot.press("enter")
        await wait_answered(pilot)
        assert engine.requests[-1].messages[-1].content == "line one\nline two\npasted a\npasted b"
        assert box.text == ""
        # Enter on an empty box sends nothing
        await pilot.press("enter")
        await wait_answered(pilot)
        assert len(engine.requests) == 1


async def test_enter_in_a_burst_of_typed_keys_sends_everything_typed_before_it(
    settings, isolated_env
):
    # a terminal delivers fast typing (or tmux send-keys) as one burst of key events
    engine = ScriptedEngine(["ok"])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(ChatInput).focus()
        await pilot.pause()
        for ch in "What is 2+2?":
            app.post_message(events.Key("space" if ch == " " else ch, ch))
        app.post_message(events.Key("enter", "\r"))
        await pilot.pause()
        await wait_answered(pilot)
        assert [m.content for m in engine.requests[-1].messages if m.role == "user"] == [
            "What is 2+2?"
        ]


async def test_copy_last_answer_and_a_selected_message(settings, isolated_env):
    engine = ScriptedEngine(["The ", "answer."])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+y")
        assert any(n.severity == "warning" for n in app._notifications)
        await type_and_send(pilot, "Question?")
        await wait_answered(pilot)
        await pilot.press("ctrl+y")
        assert app.clipboard == "The answer."
        assert "Copied the last answer" in list(app._notifications)[-1].message
        app.query_one(UserMessage).focus()
        await pilot.press("c")
        assert app.clipboard == "Question?"


async def test_options_dialog_changes_model_params_and_rejects_bad_values(isolated_env):
    settings = two_model_settings()
    engine = ScriptedEngine(["ok"])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ChatOptionsScreen)
        dialog.query_one("#max_new_tokens").value = "0"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is dialog  # stays open with the reason
        assert "max new tokens" in str(dialog.query_one("#error").render()).lower()
        dialog.query_one("#max_new_tokens").value = "42"
        dialog.query_one("#model").value = "other"
        dialog.query_one("#use-default").value = False
        dialog.query_one("#system-prompt").text = "Answer in French."
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = chat_screen(app)
        assert screen.session.options.model == "other"
        await type_and_send(pilot, "Bonjour")
        await wait_answered(pilot)
        sent = engine.requests[-1]
        assert sent.params.max_new_tokens == 42
        assert sent.messages[0].content == "Answer in French."
        assert app.query_one(AssistantMessage).model == "other"


async def test_every_chat_action_is_in_the_command_palette(settings, isolated_env):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(80, 24)):
        screen = chat_screen(app)
        titles = {c.title for c in app.get_system_commands(screen)}
        for action in (
            "New chat",
            "Stop the answer",
            "Copy the last answer",
            "Delete this chat",
            "Rename this chat",
            "Chat options: model, system prompt, sampling",
        ):
            assert action in titles
        bound = {b.action for b in screen.BINDINGS}  # type: ignore[union-attr]
        callbacks = {getattr(cb, "__name__", "") for _t, _h, cb in screen.palette_commands()}
        assert {f"action_{a}" for a in bound} <= callbacks


async def test_palette_switches_the_model_of_the_chat(isolated_env):
    settings = two_model_settings()
    engine = ScriptedEngine(["ok"])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = chat_screen(app)
        commands = {t: cb for t, _h, cb in screen.palette_commands()}
        assert "Use model gemma3-270m" not in commands  # the current one
        commands["Use model other"]()
        await type_and_send(pilot, "Hi")
        await wait_answered(pilot)
        assert app.query_one(AssistantMessage).model == "other"
        assert "other" in str(screen.query_one("#model-info").render())


async def test_history_can_be_turned_off(isolated_env):
    settings = load_settings(overrides={"ui": {"save_chats": False}})
    engine = ScriptedEngine(["ok"])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "Not saved")
        await wait_answered(pilot)
        assert app.query_one(AssistantMessage).text == "ok"
        assert "history is off" in str(app.screen.query_one("#sidebar-help").render())
    assert not (isolated_env / "chats.sqlite3").exists()


# --- layout ----------------------------------------------------------------------------------


LONG_ANSWER = [
    "Here is a long line that goes on and on " * 6,
    "\n\n```python\nprint('a very long line of code that is wider than eighty columns for sure, yes')\n```\n",
    "\n| a | b |\n|---|---|\n| 1 | 2 |\n",
]


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_renders_without_overflow(settings, isolated_env, size):
    engine = ScriptedEngine(LONG_ANSWER)
    app = make_app(settings, engine_factory=factory_for(engine))
    width, height = size
    async with app.run_test(size=size) as pilot:
        await type_and_send(pilot, "A question that is also rather long " * 4)
        await wait_answered(pilot)
        screen = chat_screen(app)
        for widget in screen.query("*"):
            if not widget.display or widget.region.area == 0:
                continue
            if any(a.styles.overflow_x in ("auto", "scroll") for a in widget.ancestors):
                continue  # inside a code block that scrolls sideways on purpose
            r = widget.region
            assert r.x >= 0 and r.right <= width, (widget, r)
            scrolled = any(isinstance(a, ConversationView) for a in widget.ancestors)
            if not scrolled:  # messages scroll vertically; everything else must fit
                assert r.y >= 0 and r.bottom <= height, (widget, r)
        view = app.query_one(ConversationView)
        assert view.virtual_size.width <= view.content_region.width  # no sideways scrolling
        box = app.query_one(ChatInput)
        assert box.region.height >= 3 and box.region.bottom <= height - 1  # footer below
        sidebar = screen.query_one("#sidebar")
        assert sidebar.display is (width >= 100)
        # the toolbar shows the model on one line
        assert "fake" in str(screen.query_one("#model-info").render()) or "gemma" in str(
            screen.query_one("#model-info").render()
        )


async def test_first_model_load_shows_progress(settings, isolated_env):
    engine = ScriptedEngine(["ok"])
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow_load() -> None:
        started.set()
        await release.wait()

    engine.load = slow_load  # type: ignore[method-assign]
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await started.wait()
        await pilot.pause()
        progress = app.query_one("#load-progress")
        assert progress.display and progress.region.height == 1
        assert "Loading" in str(progress.query_one(".what").render())
        await pilot.press(*"typing works while loading")
        assert app.query_one(ChatInput).text == "typing works while loading"
        release.set()
        await wait_answered(pilot)
        assert progress.region.height == 0


# --- settings ----------------------------------------------------------------------------------


async def test_new_settings_reach_the_chat_screen_and_its_session(isolated_env):
    settings = two_model_settings()
    engine = ScriptedEngine(["Arr."])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = chat_screen(app)
        session = screen.session
        assert screen.query_one("#sidebar").display
        new = load_settings(
            overrides={
                "models": [{"name": "other", "engine": "llamacpp", "model_path": "x.gguf"}],
                "generation": {"system_prompt": "Speak like a pirate."},
                "ui": {"sidebar": "hide"},
            }
        )
        screen.post_message(SettingsChanged(settings, new))
        await pilot.pause()
        # the same conversation, answering with the new settings; the layout followed
        assert screen.session is session and session.settings is new
        assert not screen.query_one("#sidebar").display
        await type_and_send(pilot, "Hello")
        await wait_answered(pilot)
        assert engine.requests[-1].messages[0].content == "Speak like a pirate."
