"""Every Textual internal h2otui relies on, reached through this one module.

The chat view streams long answers fast because it works a little below Textual's public
API: it lays out Markdown lists and tables itself (from the blocks Textual parsed), asks
whether a Markdown widget is still rendering, and clears a cache that keeps removed
widgets alive. Those are private names in Textual and may change in any release. So:

* each internal is used only here, behind a function named for what it gives;
* each has a fallback that keeps the app correct when the internal is gone (slower, or
  rendered by Textual's own blocks instead of ours), never a crash;
* ``REQUIRED_METHODS`` and ``REQUIRED_ATTRIBUTES`` list them all, and a unit test checks
  each exists in the installed Textual, so an upgrade that drops one fails a test instead of silently falling back;
* ``pyproject.toml`` pins Textual to the minor series these were tested on (8.2).

Methods h2otui *overrides* (Markdown blocks' ``_update_from_block``, ``TextArea._on_key``)
are listed in ``REQUIRED_METHODS`` too: if Textual renamed them the override would simply never
be called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.screen import Screen
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.content import Content
    from textual.geometry import Size
    from textual.widgets import Markdown, Select, TextArea
    from textual.widgets.markdown import MarkdownBlock


def _common_base(a: type[Any], b: type[Any]) -> type[Any]:
    return next(cls for cls in a.__mro__ if cls in b.__mro__)


# The Markdown names below are built on first use (PEP 562 ``__getattr__``): importing
# Textual's Markdown widgets (and markdown_it) costs ~0.05 s, which the first frame of an
# empty chat does not need. The block classes come from ``Markdown.BLOCKS``, the public
# registry subclasses use to swap blocks (as ChatMarkdown does), not from the private
# ``textual.widgets._markdown``.
_BLOCK_KEYS = {
    "MarkdownBulletList": "bullet_list_open",
    "MarkdownOrderedList": "ordered_list_open",
    "MarkdownParagraph": "paragraph_open",
    "MarkdownTable": "table_open",
}


def _markdown_blocks() -> dict[str, Any]:
    from textual.widgets import Markdown
    from textual.widgets.markdown import MarkdownBlock

    names: dict[str, Any] = {name: Markdown.BLOCKS[key] for name, key in _BLOCK_KEYS.items()}
    names["MarkdownListItem"] = _common_base(
        Markdown.BLOCKS["list_item_ordered_open"], Markdown.BLOCKS["list_item_unordered_open"]
    )
    return {**names, "Markdown": Markdown, "MarkdownBlock": MarkdownBlock}


def _required() -> dict[str, Any]:
    from textual.widgets import TextArea

    blocks = _markdown_blocks()
    markdown_block, table = blocks["MarkdownBlock"], blocks["MarkdownTable"]
    return {
        #: (class, method) of every internal method used here or overridden elsewhere
        "REQUIRED_METHODS": (
            (markdown_block, "_update_from_block"),
            (table, "_get_headers_and_rows"),
            (TextArea, "_on_key"),
            (TextArea, "_replace_via_keyboard"),
            (Widget, "_scroll_update"),
        ),
        #: (class, attribute) of every internal instance attribute read here
        "REQUIRED_ATTRIBUTES": (
            (markdown_block, "_blocks"),
            (blocks["MarkdownParagraph"], "_content"),
            (blocks["Markdown"], "_initial_markdown"),
            (App, "_screen_stacks"),
            (App, "_installed_screens"),
            (App, "_notifications"),
        ),
    }


#: the names built on first use, and what builds them
_LAZY_NAMES = {
    **dict.fromkeys([*_BLOCK_KEYS, "MarkdownListItem"], _markdown_blocks),
    "REQUIRED_METHODS": _required,
    "REQUIRED_ATTRIBUTES": _required,
}


def __getattr__(name: str) -> Any:
    """``MarkdownBulletList``, ``MarkdownOrderedList``, ``MarkdownParagraph``,
    ``MarkdownTable``, ``MarkdownListItem`` (Textual's Markdown block classes),
    ``REQUIRED_METHODS`` and ``REQUIRED_ATTRIBUTES`` (the internals listed above), built
    on first use."""
    build = _LAZY_NAMES.get(name)
    if build is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    values = build()
    globals().update({k: v for k, v in values.items() if k in _LAZY_NAMES})
    return values[name]


def child_blocks(block: MarkdownBlock) -> list[MarkdownBlock] | None:
    """The blocks a block composes (list items, their paragraphs), before they mount.

    None when Textual no longer keeps them: callers then let Textual render the block."""
    blocks = getattr(block, "_blocks", None)
    return blocks if isinstance(blocks, list) else None


def paragraph_content(paragraph: MarkdownBlock) -> Content | None:
    """A paragraph's styled text (None if Textual stopped keeping it)."""
    return getattr(paragraph, "_content", None)


def table_headers_and_rows(
    table: MarkdownBlock,
) -> tuple[list[Content], list[list[Content]]] | None:
    """A parsed table's header cells and rows (None if Textual renamed the helper)."""
    getter = getattr(table, "_get_headers_and_rows", None)
    return None if getter is None else getter()


def markdown_rendering_initial(markdown: Markdown) -> bool:
    """Whether a Markdown widget is still rendering the text it was created with.

    Its height is not final until then. Without the internal, the widget's update lock is
    the best public signal (it is held while blocks mount)."""
    if hasattr(markdown, "_initial_markdown"):
        return markdown._initial_markdown is not None
    return markdown.lock.is_locked


def replace_as_typed(text_area: TextArea, text: str, start: Any, end: Any) -> None:
    """Insert ``text`` over the selection as a keystroke would (undo grouping, read-only)."""
    replace = getattr(text_area, "_replace_via_keyboard", None)
    if replace is not None:
        replace(text, start, end)
    elif not text_area.read_only:
        text_area.replace(text, start, end)


def every_screen(app: App[Any]) -> list[Screen[Any]]:
    """Every screen that exists: the stacks of all modes, then installed screens.

    Textual has no public list of other modes' stacks (settings changes must reach them
    all); without the internals, the current mode's stack is what can be reached."""
    stacks: dict[str, list[Screen[Any]]] = getattr(
        app, "_screen_stacks", {app.current_mode: list(app.screen_stack)}
    )
    screens = [screen for stack in stacks.values() for screen in stack]
    installed = getattr(app, "_installed_screens", {})
    screens += [s for s in installed.values() if isinstance(s, Screen)]
    return screens


def error_toast_shown(app: App[Any]) -> bool:
    """Whether an error notification is still on screen (not yet timed out).

    Textual keeps the live notifications privately; without them, none is reported
    shown (so a repeated error is shown again rather than hidden)."""
    notifications = getattr(app, "_notifications", ())
    return any(getattr(n, "severity", None) == "error" for n in notifications)


def show_select_label(select: Select[Any], label: Any) -> None:
    """Redraw the label a Select shows for its value.

    Select redraws it only when the value changes; the collection selector changes the
    label under the same value ("Loading collections…", then the name). Its label widget
    is the private ``SelectCurrent``, reached by CSS type name (no private import); where
    it is gone the label catches up at the next value change."""
    for current in select.query("SelectCurrent"):
        update = getattr(current, "update", None)
        if callable(update):
            update(label)


def clear_line_cache_retention() -> None:
    """Clear the ``lru_cache`` of Textual 8's ``StylesCache.get_inner_outer``, which keeps
    removed widgets' rendered lines alive (why: :func:`h2otui.widgets.gc_pause.drop_removed_line_caches`).
    A no-op where the module or the cache is gone."""
    try:
        from textual._styles_cache import StylesCache
    except ImportError:
        return
    clear = getattr(getattr(StylesCache, "get_inner_outer", None), "cache_clear", None)
    if clear is not None:
        clear()


def set_virtual_size_without_layout(widget: Widget, size: Size) -> None:
    """Give a Line API widget a new scrollable size without a layout of its screen.

    Setting ``virtual_size`` asks for a layout of the whole screen, and that repaints far
    more than the widget (the compare screen's four streaming columns grow every tick).
    A fixed-size widget only needs its scrollbars updated, which the internal
    ``_scroll_update`` does (a scrollbar appearing still asks for a layout). Without it,
    the public path: a layout."""
    update = getattr(widget, "_scroll_update", None)
    if not callable(update):
        widget.virtual_size = size
        return
    widget.set_reactive(Widget.virtual_size, size)
    update(size)
