"""StreamText, the compare screen's answer view: incremental wrapping that matches a full
wrap, what is painted at any width (resizes while text arrives), following the end only
while the user has not scrolled up, hostile text shown literally, selection."""

from __future__ import annotations

import itertools
import random

from hostile import HOSTILE_TEXT, MARKUP, assert_literal, assert_terminal_safe
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.geometry import Offset
from textual.selection import Selection

from h2otui.widgets.stream_text import StatusLine, StreamText, wrap_offsets


def test_wrapping_from_the_last_line_equals_wrapping_everything() -> None:
    rng = random.Random(7)
    words = ["a", "bb", "ccc ", "  ", "x" * 30, " ", "世界", "é", " hello ", "wörld "]
    for _ in range(2000):
        width = rng.randint(1, 25)
        text = "".join(rng.choice(words) for _ in range(rng.randint(0, 30)))
        full = wrap_offsets(text, width)
        assert full[0][0] == 0 and full[-1][1] == len(text)
        assert all(b == c for (_, b), (c, _) in itertools.pairwise(full))
        for a, b in full:  # only a single wide character may exceed a 1-cell line
            line = text[a:b].rstrip()
            assert cell_len(line) <= width or len(line) == 1, (text, width, full)
        cut = rng.randint(0, len(text))
        part = wrap_offsets(text[:cut], width)
        assert part[:-1] + wrap_offsets(text, width, part[-1][0]) == full


class Host(App[None]):
    CSS = "StreamText { height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield StreamText()


def painted(view: StreamText) -> list[str]:
    """The lines on screen, as drawn (trailing spaces dropped)."""
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


async def test_streamed_text_wraps_follows_the_end_and_rewraps_on_resize() -> None:
    app = Host()
    async with app.run_test(size=(30, 10)) as pilot:
        view = app.query_one(StreamText)
        view.add_paragraph("› the question", "bold")
        view.add_paragraph("")
        words = [f"w{i} " for i in range(300)]
        for i in range(0, 300, 7):  # tokens arrive in batches
            view.append("".join(words[i : i + 7]))
        await pilot.pause()
        width = view.scrollable_content_region.width
        assert view.line_count == len(wrap_offsets("".join(words), width)) + 1
        assert view.scroll_y == view.max_scroll_y > 0  # it followed the stream
        assert painted(view)[-1].endswith("w299")
        # the user scrolls up: new text no longer drags the view down
        view.scroll_to(y=0, animate=False, immediate=True)
        view.append("more words arrive ")
        await pilot.pause()
        assert view.scroll_y == 0 and painted(view)[0] == "› the question"
        # scrolled back to the end: it follows again
        view.scroll_end(animate=False, immediate=True)
        view.append("and the end")
        await pilot.pause()
        assert " ".join(painted(view)).endswith("and the end")
        for size in ((12, 6), (60, 20), (3, 3), (30, 10)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            width = view.scrollable_content_region.width
            if width > 0:
                paras = view.plain.split("\n")
                assert view.line_count == sum(len(wrap_offsets(p, width)) for p in paras)
                assert all(cell_len(line) <= width for line in painted(view))
        assert "".join(view.plain.split()) == "".join(
            ("› the question" + "".join(words) + "more words arrive and the end").split()
        )


async def test_hostile_text_is_shown_literally_and_selection_copies_it() -> None:
    app = Host()
    async with app.run_test(size=(50, 20)) as pilot:
        view = app.query_one(StreamText)
        view.add_paragraph("answer: ")
        for i in range(0, len(HOSTILE_TEXT), 5):  # a control split across appends is safe
            view.append(HOSTILE_TEXT[i : i + 5])
        app.query_one(StatusLine).show("stats \x1b[2J [bold]x")
        await pilot.pause()
        screen = "\n".join(painted(view))
        assert_terminal_safe(screen, "StreamText")
        assert_terminal_safe(view.plain, "StreamText.plain")
        assert_literal(view.plain, MARKUP, "StreamText")
        status = app.query_one(StatusLine).plain
        assert status == "stats ␛[2J [bold]x"
        assert_terminal_safe("".join(s.text for s in app.screen._compositor.render_strips()))
        chosen = view.get_selection(Selection(None, None))
        assert chosen is not None and "Quarterly churn fell." in chosen[0]
        assert_terminal_safe(chosen[0])
        # a mouse selection of the first word is drawn in the selection style
        app.screen.selections = {view: Selection(Offset(0, 0), Offset(6, 0))}
        await pilot.pause()
        strip = view.render_line(0)
        selected = app.screen.get_component_rich_style("screen--selection")
        styled = [seg.text for seg in strip if seg.style and selected.bgcolor == seg.style.bgcolor]
        assert "".join(styled) == "answer"
        assert view.get_selection(Selection(Offset(0, 0), Offset(6, 0))) == ("answer", "\n")
