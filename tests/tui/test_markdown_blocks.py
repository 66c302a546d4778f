"""The conversation's Markdown: lists and tables as single widgets (h2otui.widgets.markdown).

Rendered in a real headless app and read back from the screen; compared with Textual's own
Markdown where the two must agree (lists), checked for fit where they differ (tables).
"""

from __future__ import annotations

import random

import pytest
from textual.app import App
from textual.widgets import Markdown
from tui_fakes import ScrollApp

from h2otui.widgets.markdown import (
    ChatMarkdown,
    FlatBulletList,
    FlatOrderedList,
    FlatTable,
    fit_columns,
)
from h2otui.widgets.textual_compat import MarkdownBulletList, MarkdownParagraph

LISTS = """Intro with `code` and **bold**.

- first item with quite a long text that must wrap onto the next line because it is long
- second *item*
  - nested one
  - nested two with more words to wrap around the edge of the screen
- third

3. three
4. four with a long line that wraps wraps wraps wraps wraps wraps wraps wraps
5. five

After the lists.
"""

TABLE = """| name | description | n |
|---|---|---|
| alpha | a short one | 1 |
| beta | a very long description, much wider than the terminal, so it wraps in its column | 22 |
| gamma | | 333 |
"""

LIST_WITH_CODE = """- item with code:

  ```python
  x = 1
  ```
- after
"""


def screen_lines(app: App[None]) -> list[str]:
    """The screen's text, one string per row, right-stripped."""
    from rich.console import Console

    console = Console(width=app.size.width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(app.screen._compositor.render_update(full=True))
    return [line.rstrip() for line in console.export_text().splitlines()]


BLOCKS: dict[int, list[tuple[type, int]]] = {}
"""The blocks of each rendered Markdown widget as (class, number of children)."""


async def render(markdown: Markdown, width: int, height: int = 60) -> list[str]:
    app = ScrollApp(markdown)
    async with app.run_test(size=(width, height)) as pilot:
        await pilot.pause()
        await pilot.pause()
        lines = screen_lines(app)
        BLOCKS[id(markdown)] = [(type(w), len(w.children)) for w in markdown.walk_children()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def blocks_of(markdown: Markdown, kind: type) -> list[tuple[type, int]]:
    return [(cls, n) for cls, n in BLOCKS[id(markdown)] if issubclass(cls, kind)]


@pytest.mark.parametrize("width", [40, 80])
async def test_lists_look_like_textuals_but_are_one_widget_each(width):
    ours = ChatMarkdown(LISTS)
    theirs = Markdown(LISTS)
    assert await render(ours, width) == await render(theirs, width)
    lists = blocks_of(ours, MarkdownBulletList)
    # one widget, no row/bullet/column/paragraph widgets inside
    assert lists == [(FlatBulletList, 0)]
    assert [cls for cls, _ in BLOCKS[id(ours)]] == [
        MarkdownParagraph,
        FlatBulletList,
        FlatOrderedList,
        MarkdownParagraph,
    ]


async def test_a_list_holding_a_code_block_keeps_textuals_widgets():
    ours = ChatMarkdown(LIST_WITH_CODE)
    lines = await render(ours, 50)
    assert any("x = 1" in line for line in lines)
    ((_, children),) = blocks_of(ours, MarkdownBulletList)
    assert children  # drawn by Textual's own blocks
    assert await render(Markdown(LIST_WITH_CODE), 50) == lines


@pytest.mark.parametrize("width", [30, 50, 100])
async def test_a_table_fits_the_width_and_keeps_every_word(width):
    table = ChatMarkdown(TABLE)
    lines = await render(table, width)
    assert max(len(line) for line in lines) <= width
    shown = [c for line in lines for c in line if c.isalnum()]
    cells = [c for line in TABLE.splitlines() if "---" not in line for c in line if c.isalnum()]
    assert sorted(shown) == sorted(cells)  # every letter of every cell, nothing else
    words = {word for line in lines for word in line.replace("│", " ").split()}
    if width >= 40:  # room for every column's longest word: no word is broken
        assert {"name", "description", "alpha", "beta", "gamma", "333", "22"} <= words
    assert BLOCKS[id(table)] == [(FlatTable, 0)]
    box = [line.strip() for line in lines if line.strip()]
    assert box[0].startswith("┌") and box[-1].startswith("└")
    (rule,) = [i for i, line in enumerate(box) if line.startswith("├")]  # under the header
    assert "name" in box[1] and "alpha" in box[rule + 1]
    widths = {len(line) for line in box}
    assert len(widths) == 1  # every row as wide as the box


async def test_a_wide_table_wraps_cells_inside_their_column():
    lines = await render(ChatMarkdown(TABLE), 40)
    rows = [line.strip() for line in lines if line.strip().startswith("│")]
    # the long description wraps onto continuation rows with empty first cells
    assert sum(1 for row in rows if row.split("│")[1].strip() == "") >= 2


async def test_streamed_lists_and_tables_end_as_if_parsed_whole():
    """Appended in random fragments (as a stream does), the blocks are updated in place
    and the final screen equals the document rendered in one go."""
    document = LISTS + "\n" + TABLE + "\nThe end.\n"
    rng = random.Random(7)
    streamed = ChatMarkdown()
    app = ScrollApp(streamed)
    async with app.run_test(size=(60, 80)) as pilot:
        i = 0
        while i < len(document):
            n = rng.randint(1, 12)
            await streamed.append(document[i : i + n])
            i += n
        await pilot.pause()
        await pilot.pause()
        lines = screen_lines(app)
    while lines and not lines[-1]:
        lines.pop()
    assert lines == await render(ChatMarkdown(document), 60, 80)


def test_fit_columns_narrows_the_widest_first_and_keeps_words_whole_if_it_can():
    assert fit_columns([5, 10, 3], 30) == [5, 10, 3]
    assert fit_columns([5, 40, 3], 20) == [5, 12, 3]
    assert fit_columns([30, 40, 50], 60) == [20, 20, 20]
    # the first column's longest word (25) stays whole; the others share the rest
    assert fit_columns([30, 40, 50], 60, [25, 5, 5]) == [25, 18, 17]
    # floors that cannot all fit are dropped
    assert fit_columns([30, 40, 50], 60, [30, 30, 30]) == [20, 20, 20]
    assert fit_columns([4, 4], 1) == [1, 1]


BROKEN_LINES = """Dear team,
the report is due Friday.
Regards

- one
  continued on its own line
"""


async def test_single_line_breaks_are_kept_as_the_cli_keeps_them():
    """CommonMark joins lines split by one newline; an answer's lines stay lines."""
    lines = [line.strip() for line in await render(ChatMarkdown(BROKEN_LINES), 60) if line]
    assert lines[:3] == ["Dear team,", "the report is due Friday.", "Regards"]
    assert lines[3].endswith("one") and lines[4] == "continued on its own line"
    # Textual's own Markdown joins them: what this widget changes
    theirs = [line.strip() for line in await render(Markdown(BROKEN_LINES), 60) if line]
    assert theirs[0] == "Dear team, the report is due Friday. Regards"
