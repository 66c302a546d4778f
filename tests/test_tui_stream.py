"""Long streamed answers: cut into Markdown chunks at safe places, and folded out of the
widget tree when far from view, without losing or reordering a character."""

from __future__ import annotations

import random

import pytest
from textual.widgets import Markdown
from tui_fakes import ScriptedEngine, factory_for

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
        await pilot.pause()
        answer = app.query_one(AssistantMessage)
        assert answer.status == "complete"
        assert answer.rendered_source == answer.text == "".join(paragraphs)
        folded = list(answer.query_children(FoldedChunk))
        assert folded, "nothing was folded out of view"
        # the last chunk, at the bottom, is live Markdown on screen
        chunks = [c for c in answer.children if isinstance(c, Markdown | FoldedChunk)]
        assert isinstance(chunks[-1], Markdown)
        view = app.query_one(ConversationView)
        view.scroll_home(animate=False)
        await pilot.pause()
        await pilot.pause()
        chunks = [c for c in answer.children if isinstance(c, Markdown | FoldedChunk)]
        assert isinstance(chunks[0], Markdown)
        assert chunks[0].source.startswith("Paragraph 0:")
        assert answer.rendered_source == answer.text
