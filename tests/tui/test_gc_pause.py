"""Keeping full garbage-collection passes short: what they walk stays small."""

from __future__ import annotations

import gc
import weakref

from textual.app import App
from textual.widgets import Static

from h2otui.widgets.gc_pause import drop_removed_line_caches, freeze_startup_objects


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


async def test_a_removed_widgets_rendered_lines_are_let_go():
    app = App[None]()
    async with app.run_test(size=(40, 10)) as pilot:
        widget = Static("hello\nworld")
        await app.mount(widget)
        await pilot.pause()
        assert widget._styles_cache._cache, "the widget was never drawn"
        gone = weakref.ref(widget)
        lines = weakref.ref(widget._styles_cache)
        await widget.remove()
        del widget
        await app.mount(Static("next"))  # a new layout lets go of the old placement
        await pilot.pause()
        gc.collect()
        assert gone() is None
        drop_removed_line_caches()  # the removed widget's lines (Textual kept them)
        gc.collect()
        assert lines() is None


def test_startup_objects_are_frozen_out_of_full_passes():
    before = gc.get_freeze_count()
    try:
        survivor = [Node() for _ in range(100)]
        freeze_startup_objects()
        assert gc.get_freeze_count() >= before + 100
        # frozen objects are out of every generation a pass walks
        assert not any(o is survivor[0] for o in gc.get_objects())
    finally:
        gc.unfreeze()
