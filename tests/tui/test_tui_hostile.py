"""Issue 12 in the TUI: a model answer, file names, document text and chat titles from
the hostile corpus are shown as plain text with every control made visible -- nothing
reaches the terminal raw, nothing is parsed as markup, nothing crashes."""

from __future__ import annotations

import pytest
from hostile import (
    ATTACKS,
    HOSTILE_NAMES,
    HOSTILE_TEXT,
    MARKUP,
    OSC52_CLIPBOARD,
    assert_terminal_safe,
)
from qa_support import Chunk, write_collection
from textual.widgets import Label, OptionList, Select, Static

from h2otui.app import make_app
from h2otui.screens.source_view import SourceScreen
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_list import ChatList
from h2otui.widgets.chat_view import AssistantMessage
from h2otui.widgets.sources_panel import DocumentsPanel

pytestmark = pytest.mark.slow


def shown(widget: Static | Label) -> str:
    return str(widget.render())


async def test_hostile_answer_sources_and_titles(settings, isolated_env) -> None:
    from tui_fakes import ScriptedEngine, factory_for

    from h2otui.store.chats import ChatStore

    write_collection(
        isolated_env,
        "Hostile",
        [
            Chunk(f"/docs/{name}", f"{HOSTILE_TEXT} churn {n}")
            for n, name in enumerate(HOSTILE_NAMES)
        ],
    )
    with ChatStore.open(isolated_env) as store:
        for title in MARKUP:
            store.create_chat("fake", title=f"{title} {OSC52_CLIPBOARD}")
    engine = ScriptedEngine([f"{a} " for a in ATTACKS] + [f"{m} " for m in MARKUP])
    # every document in the prompt, so every hostile name is in the sources list
    settings = settings.model_copy(update={"qa": settings.qa.model_copy(update={"top_k_docs": -1})})
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("ctrl+g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        panel = app.query_one(DocumentsPanel)
        panel.query_one("#qa-collection", Select).value = "Hostile"
        await pilot.pause()
        assert panel.collection == "Hostile"

        app.query_one(ChatInput).focus()
        await pilot.press(*"What about churn? [bold red]x.txt")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()

        answer = app.query_one(AssistantMessage)
        assert answer.status == "complete", answer.text
        assert_terminal_safe(answer.text, "answer")
        assert "␛]52;c;ZWNobyBwd25lZA==␇" in answer.rendered_source
        assert "[link=https:evil.example]clickme.txt" in answer.rendered_source

        # the sources list: file names with markup are shown literally (this crashed)
        sources = panel.query_one("#qa-sources", OptionList)
        prompts = [str(sources.get_option_at_index(i).prompt) for i in range(len(panel.sources))]
        assert len(prompts) == len(HOSTILE_NAMES)
        for prompt in prompts:
            assert_terminal_safe(prompt, "source label")
        for name in MARKUP:
            assert any(name in p for p in prompts), (name, prompts)
        assert any("title␛]0;pwned␇.txt" in p for p in prompts)
        quote = shown(panel.query_one("#qa-quote", Static))
        assert_terminal_safe(quote, "quote")
        assert "␛]52;c;" in quote

        # the chat list and the toolbar: titles from the user's words and the store
        titles = [shown(label) for label in app.query_one(ChatList).query(".title")]
        for title in titles:
            assert_terminal_safe(title, "chat list")
        for name in MARKUP:
            assert any(name in t for t in titles), (name, titles)
        assert "[bold red]x.txt" in shown(app.query_one("#chat-title", Label))

        # the full source dialog
        sources.focus()
        sources.highlighted = 0
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SourceScreen)
        for widget_id in ("#source-label", "#source-path", "#source-text"):
            assert_terminal_safe(shown(app.screen.query_one(widget_id, Static)), widget_id)
        await pilot.press("escape")
        await pilot.pause()

        # what would be painted on the terminal: no raw control anywhere on screen
        assert_terminal_safe(app.export_screenshot(), "screen")


async def test_a_model_error_notification_is_plain_text(settings, isolated_env) -> None:
    from tui_fakes import ScriptedEngine, factory_for

    from h2otui.engines.base import EngineError

    engine = ScriptedEngine(["x"])
    engine.fail = EngineError(f"server said [link=https:evil.example]boom[/link] {OSC52_CLIPBOARD}")
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(120, 30)) as pilot:
        app.query_one(ChatInput).focus()
        await pilot.press(*"hi")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        notes = [str(n.message) for n in app._notifications]
        assert any("[link=https:evil.example]boom[/link]" in n for n in notes), notes
        for note in notes:
            assert_terminal_safe(note, "notification")
        assert_terminal_safe(app.export_screenshot(), "screen")


def test_the_real_terminal_never_receives_the_hostile_sequences(isolated_env, tmp_path) -> None:
    """The app on a pseudo-terminal: a saved chat whose title, model id and answer are
    hostile is listed and opened; the bytes the terminal receives hold none of the
    sequences (the visible forms are painted instead)."""
    import fcntl
    import os
    import select
    import struct
    import subprocess
    import sys
    import termios
    import time

    from h2otui.store.chats import ChatStore

    model_id = "[link=https:evil.example]evil\x1b]0;pwned-model\x07"
    with ChatStore.open(isolated_env) as store:
        chat = store.create_chat(model_id, title=f"[bold red]x.txt {OSC52_CLIPBOARD}")
        store.add_message(chat.id, "user", "what?")
        store.add_message(chat.id, "assistant", HOSTILE_TEXT, model=model_id)

    main, sub = os.openpty()
    fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "h2otui"],
        stdin=sub, stdout=sub, stderr=sub, start_new_session=True,
        env={**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"},
    )  # fmt: skip
    os.close(sub)
    data = b""

    def read_until(marker: bytes, timeout: float = 90) -> bool:
        nonlocal data
        deadline = time.monotonic() + timeout
        while marker not in data and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    data += os.read(main, 65536)
                except OSError:
                    return False
        return marker in data

    try:
        assert read_until(b"[bold red]x.txt"), data[-2000:]
        for key in (b"\x0c", b"\x1b[B", b"\r"):  # Ctrl+L (the chat list), Down, Enter
            time.sleep(1)
            os.write(main, key)
        assert read_until(b"Quarterly churn"), data[-2000:]
        time.sleep(1)
        read_until(b"\x00", timeout=1)  # whatever else was painted
        os.write(main, b"\x11")  # Ctrl+Q
        read_until(b"\x00", timeout=5)
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=30)
        os.close(main)

    painted = data.decode("utf-8", "replace")
    assert "␛]52;c;ZWNobyBwd25lZA==␇" in painted  # the answer was shown, made visible
    for attack in (b"\x1b]52;", b"\x1b]0;pwned", b"\x1b]8;;https://evil", "\x9b".encode()):
        assert attack not in data, attack
    assert "\u202e" not in painted
