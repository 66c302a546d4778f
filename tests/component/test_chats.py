"""Chat history (SQLite), context fitting, the `h2otui chats` commands, and the layering
rule for the non-UI modules of the chat."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from tui_fakes import ScriptedEngine
from typer.testing import CliRunner

from h2otui.chat.session import (
    ChatOptions,
    ChatSession,
    ContextTooLongError,
    Turn,
    fit_context,
    turns_from_messages,
)
from h2otui.cli import app as cli_app
from h2otui.engines.base import SamplingParams
from h2otui.store.chats import (
    ChatNotFoundError,
    ChatStore,
    ChatStoreError,
    export_json,
    export_markdown,
    title_from_question,
)


@pytest.fixture
def store(isolated_env):  # type: ignore[no-untyped-def]
    with ChatStore.open(isolated_env) as s:
        yield s


def test_chats_are_titled_by_their_first_question_and_listed_newest_first(store):
    a = store.create_chat("m1")
    b = store.create_chat("m2", system_prompt="Be kind.", params={"temperature": 0.5})
    store.add_message(a.id, "user", "\n  How do I parse TOML?\nwith details")
    store.add_message(a.id, "user", "A second question does not retitle")
    store.add_message(b.id, "user", "x" * 100)
    chats = store.list_chats()
    assert [c.id for c in chats] == [b.id, a.id]
    assert chats[1].title == "How do I parse TOML?"
    assert chats[0].title == title_from_question("x" * 100)
    assert len(chats[0].title) == 60 and chats[0].title.endswith("…")
    # activity moves a chat to the top
    store.add_message(a.id, "assistant", "Use tomllib.")
    assert [c.id for c in store.list_chats()] == [a.id, b.id]
    got = store.get_chat(b.id)
    assert (got.model, got.system_prompt, got.params) == ("m2", "Be kind.", {"temperature": 0.5})
    assert store.get_chat(a.id).message_count == 3


def test_rename_delete_and_missing_chats(store):
    chat = store.create_chat("m")
    store.add_message(chat.id, "user", "q")
    store.rename_chat(chat.id, "  My   chat ")
    assert store.get_chat(chat.id).title == "My chat"
    with pytest.raises(ChatStoreError):
        store.rename_chat(chat.id, "   ")
    store.delete_chat(chat.id)
    assert store.list_chats() == []
    with pytest.raises(ChatNotFoundError, match="no chat with id"):
        store.get_chat(chat.id)
    with pytest.raises(ChatNotFoundError):
        store.delete_chat(chat.id)
    # messages went with the chat
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0


def test_a_streaming_answer_is_visible_to_another_connection_as_partial(store):
    chat = store.create_chat("m")
    store.add_message(chat.id, "user", "q")
    mid = store.add_message(chat.id, "assistant", "", status="partial", model="m")
    store.update_message(mid, "half an ans", status="partial")
    # another process (a crash leaves exactly this on disk)
    with ChatStore(store.path) as other:
        (_q, a) = other.messages(chat.id)
        assert (a.status, a.content, a.model) == ("partial", "half an ans", "m")
    store.update_message(mid, "half an answer", status="stopped", stats={"completion_tokens": 3})
    a = store.messages(chat.id)[1]
    assert (a.status, a.content, a.stats) == ("stopped", "half an answer", {"completion_tokens": 3})


def test_a_corrupt_history_file_is_a_clear_error(isolated_env):
    path = isolated_env / "chats.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ChatStoreError, match=r"chats\.sqlite3.*move the file away"):
        ChatStore(path)


def test_exports(store):
    chat = store.create_chat("gemma3-270m", system_prompt="Be brief.")
    store.add_message(chat.id, "user", "What is 2+2?")
    store.add_message(
        chat.id, "assistant", "4", model="gemma3-270m", stats={"completion_tokens": 1}
    )
    store.add_message(chat.id, "user", "And 3+3?")
    store.add_message(chat.id, "assistant", "It is", status="stopped", model="gemma3-270m")
    md = export_markdown(store.export(chat.id))
    assert md.startswith("# What is 2+2?\n")
    assert "> **System:** Be brief." in md
    assert md.index("## You\n\nWhat is 2+2?") < md.index("## gemma3-270m\n\n4")
    assert "## gemma3-270m (stopped)\n\nIt is" in md
    data = json.loads(export_json(store.export(chat.id)))
    assert data["chat"]["title"] == "What is 2+2?"
    assert [(m["role"], m["content"], m["status"]) for m in data["messages"]] == [
        ("user", "What is 2+2?", "complete"),
        ("assistant", "4", "complete"),
        ("user", "And 3+3?", "complete"),
        ("assistant", "It is", "stopped"),
    ]


def test_cli_chats_list_and_export(isolated_env, tmp_path):
    with ChatStore.open(isolated_env) as store:
        chat = store.create_chat("gemma3-270m")
        store.add_message(chat.id, "user", "Hello from the CLI test")
        store.add_message(chat.id, "assistant", "Hi!", model="gemma3-270m")
    runner = CliRunner()
    result = runner.invoke(cli_app, ["chats", "list"])
    assert result.exit_code == 0, result.output
    assert "Hello from the CLI test" in result.output and str(chat.id) in result.output
    result = runner.invoke(cli_app, ["chats", "list", "--json"])
    assert json.loads(result.output)[0]["messages"] == 2
    result = runner.invoke(cli_app, ["chats", "export", str(chat.id), "--format", "md"])
    assert result.exit_code == 0 and "## You\n\nHello from the CLI test" in result.output
    out = tmp_path / "chat.json"
    result = runner.invoke(cli_app, ["chats", "export", str(chat.id), "-f", "json", "-o", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text())["messages"][1]["content"] == "Hi!"
    result = runner.invoke(cli_app, ["chats", "export", "999"])
    assert result.exit_code == 2 and "no chat with id 999" in result.output
    result = runner.invoke(cli_app, ["chats", "export", str(chat.id), "--format", "txt"])
    assert result.exit_code == 2 and "--format must be one of md, json" in result.output


def test_cli_chats_list_when_empty(isolated_env):
    result = CliRunner().invoke(cli_app, ["chats", "list"])
    assert result.exit_code == 0 and "No saved chats yet" in result.output


# --- context fitting -----------------------------------------------------------------------


def _linear_fit(engine, system, history, question, max_new):  # type: ignore[no-untyped-def]
    """The obvious rule, for comparison: drop the oldest until it fits."""
    for keep in range(len(history), -1, -1):
        turns = history[len(history) - keep :]
        msgs = [("system", system)]
        for t in turns:
            msgs += [("user", t.question), ("assistant", t.answer)]
        msgs.append(("user", question))
        text = "\n".join(f"{r}: {c}" for r, c in msgs)
        if engine.count_tokens(text) + max_new <= engine.context_length:
            return keep
    return None


@pytest.mark.parametrize("context", [30, 45, 60, 100, 400])
def test_fit_context_keeps_the_most_recent_turns_that_fit(context):
    engine = ScriptedEngine(context=context)
    history = [
        Turn(f"question {i} " + "q " * i, f"answer {i} " + "a " * (i % 3)) for i in range(12)
    ]
    expected = _linear_fit(engine, "sys prompt", history, "new question", 10)
    if expected is None:
        with pytest.raises(ContextTooLongError, match="shorten the question"):
            fit_context(engine, "sys prompt", history, "new question", 10)
        return
    plan = fit_context(engine, "sys prompt", history, "new question", 10)
    assert plan.kept_turns == expected
    assert plan.dropped_turns == len(history) - expected
    assert plan.messages[0].content == "sys prompt"
    assert plan.messages[-1].content == "new question"
    assert plan.prompt_tokens + 10 <= context
    assert plan.prompt_tokens == engine.count_tokens(engine.render_prompt(plan.messages))


def test_history_from_saved_messages_skips_failed_answers():
    from h2otui.store.chats import StoredMessage

    def m(role, content, status="complete"):  # type: ignore[no-untyped-def]
        return StoredMessage(0, 1, role, content, status, None, None, None, 0.0)

    msgs = [
        m("user", "q1"),
        m("assistant", "a1"),
        m("user", "q2"),
        m("assistant", "", "error"),
        m("user", "q3"),
        m("assistant", "part", "stopped"),
        m("user", "q4"),
    ]
    assert turns_from_messages(msgs) == [Turn("q1", "a1"), Turn("q3", "part")]


def test_session_without_a_store_still_keeps_context(settings):
    session = ChatSession(settings, None, ChatOptions("gemma3-270m", "S", SamplingParams()))
    session.record_question("q1")
    record = session.begin_answer("gemma3-270m")
    assert not record.due() and not record.progress("x")
    session.complete_turn("a1")
    plan = session.plan(ScriptedEngine(), "q2")
    assert [m.content for m in plan.messages] == ["S", "q1", "a1", "q2"]


def test_chat_logic_and_store_never_import_textual():
    code = (
        "import sys, h2otui.chat.session, h2otui.chat.runner, h2otui.chat.events, "
        "h2otui.store.chats, h2otui.commands.chats, h2otui.commands.chat; "
        "print([m for m in sys.modules if m.split('.')[0] in ('textual', 'llama_cpp')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_app_needs_a_terminal_and_says_what_to_use_instead(isolated_env):
    result = CliRunner().invoke(cli_app, [])
    assert result.exit_code == 2
    assert "needs a terminal" in result.output and "h2otui chat --plain" in result.output
    result = CliRunner().invoke(cli_app, ["chat", "--model", "nope"])
    assert result.exit_code == 2 and "no model named 'nope'" in result.output
