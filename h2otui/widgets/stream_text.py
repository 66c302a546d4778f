"""A scrolling plain-text view that stays cheap while long answers stream into it.

:class:`StreamText` is a Line API widget (a ``ScrollView`` that renders one line at a
time): it keeps the text as *paragraphs* (the text between newlines, each with one
style) and the wrapped lines of each paragraph for the current width. Appending text
re-wraps only from the start of the last wrapped line (greedy word wrap never moves an
earlier line break when text is added at the end), so a 5,000-token answer costs the
same per update as a 50-token one, and a refresh repaints only the lines that changed,
never the layout of the screen around it. A width change (a resize, the layout going
from stacked to side by side) re-wraps everything once.

It is what the compare screen shows four streaming answers with; Static widgets there
re-measured and re-wrapped their whole text and re-laid out the screen on every update
(``benchmarks/bench_compare.py``).

Untrusted text: everything appended goes through :func:`~h2otui.safe_text.visible` and is
drawn as literal segments, never parsed as markup. Tabs become spaces. Text selection
with the mouse works (the app's copy key copies it); :attr:`plain` is the text shown.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len, get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from h2otui.safe_text import visible
from h2otui.widgets.textual_compat import set_virtual_size_without_layout

if TYPE_CHECKING:
    from textual.selection import Selection

_WORD = re.compile(r"\S+\s*|\s+")
TAB_SIZE = 4


def wrap_offsets(text: str, width: int, start: int = 0) -> list[tuple[int, int]]:
    """Greedy word wrap of ``text[start:]`` into lines at most ``width`` cells wide.

    Returns ``(start, end)`` offsets into ``text``. Spaces after a word stay on its line
    (they may overflow; the view crops them); a word longer than a line is folded. An
    empty text is one empty line."""
    width = max(1, width)
    lines: list[tuple[int, int]] = []
    line_start = start
    used = 0
    for match in _WORD.finditer(text, start):
        word = match.group()
        w_start = match.start()
        body = word.rstrip()
        body_cells = cell_len(body)
        if used and used + body_cells > width:  # the word goes to the next line
            lines.append((line_start, w_start))
            line_start, used = w_start, 0
        if body_cells > width:  # fold a word that fits no line
            pos = w_start
            for i, ch in enumerate(body):
                size = get_character_cell_size(ch)
                if used + size > width and used:
                    lines.append((line_start, w_start + i))
                    line_start, used = w_start + i, 0
                used += size
                pos = w_start + i + 1
            used += cell_len(word[pos - w_start :])
            continue
        used += cell_len(word)
    lines.append((line_start, len(text)))
    return lines


def _style(style: Style | str | None) -> Style:
    if isinstance(style, str):
        return Style.parse(style)
    return style if style is not None else Style()


class StreamText(ScrollView, can_focus=False):
    """Plain text in styled paragraphs, wrapped to the width, appended to cheaply.

    :meth:`add_paragraph` starts a paragraph in a style; :meth:`append` adds streamed text
    to the last one. Every newline starts a new paragraph (in the same style).
    The view follows the end while it is scrolled to the end (as a log does), and stays
    where the user scrolled otherwise.
    """

    ALLOW_SELECT = True
    DEFAULT_CSS = """
    StreamText {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-gutter: stable;
    }
    """

    #: lines rendered as segments are kept for this many lines (the visible ones, twice)
    CACHE_LINES: ClassVar[int] = 512

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        #: paragraph text (sanitised, tabs expanded) and its style
        self._paras: list[str] = []
        self._styles: list[Style] = []
        #: wrapped lines for ``_wrap_width``: (paragraph, start, end)
        self._lines: list[tuple[int, int, int]] = []
        #: index in ``_lines`` of each paragraph's first line
        self._first_line: list[int] = []
        self._wrap_width = 0
        self._cache: dict[int, Strip] = {}
        #: the widget's own style (colours, background): costly to compute per line
        self._base_style: Style | None = None

    # --- content --------------------------------------------------------------------

    @property
    def plain(self) -> str:
        """Everything shown, paragraphs joined by newlines (as sanitised for display)."""
        return "\n".join(self._paras)

    @property
    def line_count(self) -> int:
        """Wrapped lines at the current width."""
        return len(self._lines)

    def clear(self) -> None:
        self._paras.clear()
        self._styles.clear()
        self._lines.clear()
        self._first_line.clear()
        self._cache.clear()
        self._set_height(follow=False)
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def add_paragraph(self, text: str, style: Style | str | None = None) -> None:
        """Start a new paragraph with ``text`` (untrusted is fine) in ``style``; a newline
        in ``text`` starts further paragraphs in the same style."""
        self._add(text, _style(style), new=True)

    def append(self, text: str) -> None:
        """Add ``text`` (untrusted is fine) to the last paragraph, in its style."""
        if text:
            self._add(text, self._styles[-1] if self._styles else Style(), new=False)

    def _add(self, text: str, style: Style, *, new: bool) -> None:
        follow = self._at_end()
        pieces = visible(text).expandtabs(TAB_SIZE).split("\n")
        first_changed = len(self._paras)
        if not new and self._paras:
            first_changed -= 1
            self._paras[-1] += pieces[0]
        else:
            self._paras.append(pieces[0])
            self._styles.append(style)
        for piece in pieces[1:]:
            self._paras.append(piece)
            self._styles.append(style)
        first_line = self._rewrap_from(first_changed)
        for y in [y for y in self._cache if y >= first_line]:
            del self._cache[y]
        scroll_y = self.scroll_offset.y
        self._set_height(follow)
        if self.scroll_offset.y == scroll_y:  # a scroll repaints the whole view anyway
            self.refresh_lines(first_line, max(1, len(self._lines) - first_line))

    # --- wrapping -------------------------------------------------------------------

    def _content_width(self) -> int:
        return self.scrollable_content_region.width

    def _rewrap_from(self, para: int) -> int:
        """Re-wrap paragraph ``para`` (from its last line) and every one after it.

        Returns the index of the first line that may have changed."""
        width = self._wrap_width
        if width <= 0:
            return 0
        if para < len(self._first_line):
            # the paragraph grew: its lines before the last one stay as they are
            last = self._last_line_of(para)
            start = self._lines[last][1]
            del self._lines[last:]
            del self._first_line[para + 1 :]
            first_changed = last
        else:
            start = 0
            first_changed = len(self._lines)
        lines = self._lines
        for p in range(para, len(self._paras)):
            if p >= len(self._first_line):
                self._first_line.append(len(lines))
                start = 0
            text = self._paras[p]
            lines.extend((p, s, e) for s, e in wrap_offsets(text, width, start))
        return first_changed

    def _last_line_of(self, para: int) -> int:
        if para + 1 < len(self._first_line):
            return self._first_line[para + 1] - 1
        return len(self._lines) - 1

    def _rewrap_all(self, width: int) -> None:
        self._wrap_width = width
        self._lines.clear()
        self._first_line.clear()
        self._cache.clear()
        if self._paras:
            self._rewrap_from(0)

    def _at_end(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1 or not self._lines

    def _set_height(self, follow: bool) -> None:
        size = Size(self._wrap_width, len(self._lines))
        if size != self.virtual_size:
            if self.is_mounted and self._wrap_width:
                set_virtual_size_without_layout(self, size)
            else:
                self.virtual_size = size
        if follow and self._wrap_width:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def on_resize(self) -> None:
        width = self._content_width()
        if width != self._wrap_width:
            follow = self._at_end()
            self._rewrap_all(width)
            self._set_height(follow)
            self.refresh()

    def on_mount(self) -> None:
        super().on_mount()
        self.on_resize()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._base_style = None

    # --- rendering ------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        base = self._base_style
        if base is None:
            base = self._base_style = self.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, base)
        selection = self.text_selection
        strip = self._cache.get(index) if selection is None else None
        if strip is None:
            para, start, end = self._lines[index]
            text = self._paras[para][start:end]
            style = base + self._styles[para]
            segments = [Segment(text, style)]
            if selection is not None and (span := selection.get_span(index)) is not None:
                a, b = span
                b = len(text) if b == -1 else b
                selected = style + self.screen.get_component_rich_style("screen--selection")
                segments = [
                    Segment(text[:a], style),
                    Segment(text[a:b], selected),
                    Segment(text[b:], style),
                ]
            strip = Strip(segments).crop_extend(0, width, base).apply_offsets(0, index)
            if selection is None:
                if len(self._cache) > self.CACHE_LINES:
                    self._cache.clear()
                self._cache[index] = strip
        return strip

    # --- selection ------------------------------------------------------------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        shown = "\n".join(self._paras[p][s:e] for p, s, e in self._lines)
        return selection.extract(shown), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._cache.clear()
        self.refresh()


class StatusLine(Widget, can_focus=False):
    """A line or two of status text that repaints in place.

    ``Static.update`` re-lays out the screen on every call; live stats change ten times
    a second, so this widget asks for a layout only when the text needs a different
    number of lines (an error message arriving), and otherwise repaints itself alone.
    Text is shown literally (no markup), through :func:`~h2otui.safe_text.visible`."""

    DEFAULT_CSS = """
    StatusLine {
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._text = Text()

    @property
    def plain(self) -> str:
        return self._text.plain

    def render(self) -> Text:
        return self._text

    def _height_for(self, text: Text) -> int:
        width = self.content_region.width
        if width <= 0 or not self.is_mounted:
            return -1
        return len(text.wrap(self.app.console, width))

    def show(self, text: str) -> None:
        """Show ``text`` (untrusted is fine)."""
        new = Text(visible(text))
        if new.plain == self._text.plain:
            return
        same_height = self._height_for(new) == self._height_for(self._text) != -1
        self._text = new
        self.refresh(layout=not same_height)
