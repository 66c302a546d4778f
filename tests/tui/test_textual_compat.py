"""h2otui.widgets.textual_compat: every Textual internal h2otui uses exists in the installed
Textual, and the app still renders correctly when one is gone (the fallbacks)."""

from __future__ import annotations

import pytest
from test_markdown_blocks import LISTS, TABLE, blocks_of, render
from textual.widgets import Markdown
from tui_fakes import ScrollApp

from h2otui.widgets import markdown as chat_markdown
from h2otui.widgets import textual_compat
from h2otui.widgets.markdown import ChatMarkdown


@pytest.mark.parametrize(
    ("owner", "name"), textual_compat.REQUIRED_METHODS, ids=lambda v: getattr(v, "__name__", v)
)
def test_every_internal_method_we_rely_on_exists(owner: type, name: str) -> None:
    # a Textual upgrade that renames one of these must be a decision, not a silent fallback
    assert callable(getattr(owner, name, None)), f"Textual no longer has {owner.__name__}.{name}"


async def test_every_internal_attribute_we_read_exists_on_live_widgets() -> None:
    markdown = Markdown(LISTS + "\n" + TABLE)
    seen: dict[tuple[type, str], bool] = {}

    def check(widget: object) -> None:
        for owner, name in textual_compat.REQUIRED_ATTRIBUTES:
            if isinstance(widget, owner):
                seen[owner, name] = seen.get((owner, name), True) and hasattr(widget, name)

    async with ScrollApp(markdown).run_test(size=(80, 60)) as pilot:
        await pilot.pause()
        check(pilot.app)
        check(markdown)
        for block in markdown.walk_children():
            check(block)
    assert seen == {key: True for key in textual_compat.REQUIRED_ATTRIBUTES}


def test_the_styles_cache_we_clear_is_still_an_lru_cache() -> None:
    from textual._styles_cache import StylesCache

    assert callable(getattr(StylesCache.get_inner_outer, "cache_clear", None))
    textual_compat.clear_line_cache_retention()  # and clearing it works


def words(lines: list[str]) -> set[str]:
    return {w.strip("│┌┐└┘├┤┬┴┼─•*.") for line in lines for w in line.split()} - {""}


async def test_without_the_internals_textuals_own_blocks_draw_lists_and_tables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = words(await render(ChatMarkdown(LISTS + "\n" + TABLE), 80))
    monkeypatch.setattr(chat_markdown, "child_blocks", lambda block: None)
    monkeypatch.setattr(chat_markdown, "table_headers_and_rows", lambda block: None)
    fallback = ChatMarkdown(LISTS + "\n" + TABLE)
    lines = await render(fallback, 80)
    # every word is still on screen, drawn by Textual's widgets (rows, cells) instead of ours
    assert expected <= words(lines)
    assert any(children for _, children in blocks_of(fallback, textual_compat.MarkdownBulletList))


def test_paragraph_and_block_accessors_answer_none_when_missing() -> None:
    class Bare:
        pass

    assert textual_compat.child_blocks(Bare()) is None  # type: ignore[arg-type]
    assert textual_compat.paragraph_content(Bare()) is None  # type: ignore[arg-type]
    assert textual_compat.table_headers_and_rows(Bare()) is None  # type: ignore[arg-type]


def test_an_empty_chat_does_not_import_markdown() -> None:
    # Markdown (and markdown_it) load with the first answer: not needed for the first frame
    import subprocess
    import sys

    code = (
        "import sys, h2otui.app, h2otui.screens.chat\n"
        "print(sorted(m for m in ('markdown_it', 'textual.widgets._markdown',"
        " 'h2otui.widgets.markdown') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr
