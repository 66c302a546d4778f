"""Long streamed answers: cut into Markdown chunks at safe places, and folded out of the
widget tree when far from view, without losing or reordering a character."""

from __future__ import annotations

import random

import pytest
from paths import PYTHONPATH
from textual.widget import Widget
from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownParagraph
from tui_fakes import ScriptedEngine, ScrollApp, factory_for

from h2otui.app import make_app
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_view import (
    AssistantMessage,
    ConversationView,
    FoldedChunk,
    MarkdownChunker,
)

DOC = (
    "# Title\n\nFirst paragraph line one\nline two\n\n"
    "```python\nx = 1\n\n\ny = 2\n```\n\n"
    "- item\n\n    continued item paragraph\n\n"
    "~~~\nfence with ``` inside\n\n~~~\n\n"
    "Last paragraph.\n"
) * 6


def test_chunks_join_back_and_never_cut_inside_fences_or_before_indents():
    pieces = MarkdownChunker.split(DOC, max_lines=3)
    assert "".join(pieces) == DOC
    assert len(pieces) > 5
    for piece in pieces[1:]:
        assert not piece[0].isspace(), repr(piece[:20])  # no cut before an indented line
    for piece in pieces:
        # every chunk opens and closes its fences
        fences = [ln.strip()[:3] for ln in piece.splitlines() if ln.strip()[:3] in ("```", "~~~")]
        opened: list[str] = []
        for f in fences:
            if opened and f == opened[-1]:
                opened.pop()
            elif not opened:
                opened.append(f)
        assert not opened, piece


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_feeding_in_random_fragments_cuts_at_the_same_places(seed):
    rng = random.Random(seed)
    chunker = MarkdownChunker(max_lines=3)
    chunks = [""]
    i = 0
    while i < len(DOC):
        n = rng.randint(1, 12)
        for k, piece in enumerate(chunker.feed(DOC[i : i + n])):
            if k:
                chunks.append("")
            chunks[-1] += piece
        i += n
    assert chunks == MarkdownChunker.split(DOC, max_lines=3)


@pytest.mark.parametrize("per_update", [1, 2, 5])
async def test_every_streamed_paragraph_is_on_screen_whatever_the_update_boundaries(
    per_update,
):
    """Updates ending right after a paragraph, at the start of a new chunk, once made
    Textual overwrite that paragraph with the next (the source stayed right)."""
    paragraphs = [f"Paragraph {i}: some words here.\n\n" for i in range(60)]
    answer = AssistantMessage("fake", status="streaming")
    app = ScrollApp(answer)
    async with app.run_test(size=(80, 24)) as pilot:
        answer.start_stream()
        for i in range(0, len(paragraphs), per_update):
            for paragraph in paragraphs[i : i + per_update]:
                await answer.write(paragraph)
            await answer._flush()  # one update, ending after a blank line
        await answer.end_stream()
        await pilot.pause()
        chunks = answer.query(Markdown)
        assert len(chunks) > 3
        shown = [p._content.plain for c in chunks for p in c.query_children(MarkdownParagraph)]
        assert shown == [p.strip() for p in paragraphs]


async def test_streaming_on_into_an_answer_that_holds_text_keeps_that_text():
    answer = AssistantMessage("fake", "Paragraph A.\n\nParagraph B.\n\n")
    app = ScrollApp(answer)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        answer.start_stream()
        await answer.write("Paragraph C.\n\n")
        await answer.end_stream()
        await pilot.pause()
        shown = [p._content.plain for p in answer.query(MarkdownParagraph)]
        assert shown == ["Paragraph A.", "Paragraph B.", "Paragraph C."]
        assert answer.rendered_source == answer.text


async def settle(pilot, view: ConversationView) -> None:
    """Wait (a bounded number of frames) until no fold pass is running or due."""
    for _ in range(100):
        await pilot.pause()
        if not view.folding:
            await pilot.pause()  # the last pass's changes laid out
            return
    raise AssertionError("the fold passes never settled")


async def test_a_long_answer_folds_out_of_view_and_unfolds_when_scrolled_back(
    settings, isolated_env
):
    paragraphs = [f"Paragraph {i}: " + "some words here " * 8 + "\n\n" for i in range(120)]
    engine = ScriptedEngine(paragraphs)
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        box = app.query_one(ChatInput)
        box.text = "Write a lot"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        view = app.query_one(ConversationView)
        await settle(pilot, view)
        answer = app.query_one(AssistantMessage)
        assert answer.status == "complete"
        assert answer.rendered_source == answer.text == "".join(paragraphs)
        # everything above the screen is folded into one placeholder of the same height
        chunks = [c for c in answer.children if isinstance(c, Markdown | FoldedChunk)]
        folded = [c for c in chunks if isinstance(c, FoldedChunk)]
        assert len(folded) == 1 and chunks[0] is folded[0], chunks
        assert len(folded[0].pieces) > 5
        assert folded[0].region.height == sum(p.height for p in folded[0].pieces)
        # the last chunk, at the bottom, is live Markdown on screen
        assert isinstance(chunks[-1], Markdown)
        height = view.virtual_size.height
        answer_height = answer.outer_size.height
        view.scroll_home(animate=False)
        await settle(pilot, view)
        chunks = [c for c in answer.children if isinstance(c, Markdown | FoldedChunk)]
        assert isinstance(chunks[0], Markdown)
        assert chunks[0].source.startswith("Paragraph 0:")
        assert isinstance(chunks[-1], FoldedChunk)
        assert answer.rendered_source == answer.text
        # folding and unfolding never changed the answer's height (nothing moved)
        assert answer.outer_size.height == answer_height
        # in the middle: live chunks between two placeholders, nothing lost or repeated
        view.scroll_to(y=height // 2, animate=False)
        await settle(pilot, view)
        kinds = [type(c) for c in answer.children if isinstance(c, Markdown | FoldedChunk)]
        assert kinds[0] is FoldedChunk and kinds[-1] is FoldedChunk
        assert any(issubclass(kind, Markdown) for kind in kinds)
        assert kinds.count(FoldedChunk) == 2
        assert answer.rendered_source == answer.text
        assert answer.outer_size.height == answer_height


async def test_a_long_answer_draws_only_the_lines_on_screen(settings, isolated_env):
    """The answer (a container) and its placeholders draw blank lines one at a time, the
    same lines Textual would draw, without rendering their whole height on each resize."""
    paragraphs = [f"Paragraph {i}: " + "some words here " * 8 + "\n\n" for i in range(120)]
    engine = ScriptedEngine(paragraphs)
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(ChatInput).text = "Write a lot"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        view = app.query_one(ConversationView)
        await settle(pilot, view)
        answer = app.query_one(AssistantMessage)
        folded = answer.query_one(FoldedChunk)
        assert answer.size.height > 300 and folded.size.height > 300
        for widget in (answer, folded, view):
            # nothing rendered ahead for lines off screen
            assert len(widget._render_cache.lines) < app.size.height, widget
        view.scroll_home(animate=False)
        await settle(pilot, view)
        for y in (0, 5, answer.size.height - 1):
            ours, textuals = answer.render_line(y), Widget.render_line(answer, y)
            assert ours.text == textuals.text and not ours.text.strip()
            # blank cells: what shows is the background
            assert {s.style.bgcolor for s in ours} == {s.style.bgcolor for s in textuals}
        assert len(answer._render_cache.lines) == answer.size.height  # Textual's way


KILLED_CHILD = r"""
import asyncio, sys
from h2otui.chat import session as chat_session
from h2otui.app import make_app
from h2otui.config import load_settings
from h2otui.widgets.chat_input import ChatInput
from tui_fakes import ScriptedEngine, ScrollApp, factory_for

chat_session.PARTIAL_SAVE_INTERVAL_S = 0.0

async def main():
    engine = ScriptedEngine(["Half ", "of ", "an ", "answer ", "never finished"], gate_after=4)
    app = make_app(load_settings(), engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(ChatInput).text = "Will you finish?"
        await pilot.press("enter")
        await engine.reached.wait()
        await pilot.pause()
        print("streaming", flush=True)
        await asyncio.Event().wait()  # until killed

asyncio.run(main())
"""


async def test_an_answer_survives_a_killed_app_as_partial_and_the_chat_continues(
    settings, isolated_env
):
    import os
    import signal
    import subprocess
    import sys

    from h2otui.store.chats import ChatStore
    from h2otui.widgets.chat_list import ChatList

    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "streaming"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with ChatStore.open(isolated_env) as store:
        (chat,) = store.list_chats()
        rows = [(m.role, m.status, m.content) for m in store.messages(chat.id)]
    assert rows == [
        ("user", "complete", "Will you finish?"),
        ("assistant", "partial", "Half of an answer "),
    ]

    engine = ScriptedEngine(["Yes."])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(120, 30)) as pilot:
        chat_list = app.query_one(ChatList)
        chat_list.focus()
        chat_list.index = 0
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        answer = app.query_one(AssistantMessage)
        assert answer.text == "Half of an answer "
        assert "interrupted" in str(answer.query_one(".stats").render())
        box = app.query_one(ChatInput)
        box.text = "Go on"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        sent = [(m.role, m.content) for m in engine.requests[-1].messages[1:]]
        assert sent == [
            ("user", "Will you finish?"),
            ("assistant", "Half of an answer "),
            ("user", "Go on"),
        ]
