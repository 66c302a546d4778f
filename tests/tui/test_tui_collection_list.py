"""The collection selector while the list of collections loads (issue 13, defect 3): it
says so, keeps the selection, and opens only when the list is there."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import Select
from textual.widgets._select import SelectOverlay
from tui_fakes import ScriptedEngine, factory_for

from h2otui.app import make_app
from h2otui.qa import collection as qa_collection
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.sources_panel import LOADING, NO_COLLECTION, DocumentsPanel


@pytest.fixture
def slow_listing(monkeypatch):  # type: ignore[no-untyped-def]
    """list_collections waits for ``release`` (a slow LanceDB import, on demand)."""
    release = threading.Event()

    def list_collections(settings):  # type: ignore[no-untyped-def]
        release.wait(timeout=30)
        return [("Facts", 12), ("Papers", 40)]

    monkeypatch.setattr(qa_collection, "list_collections", list_collections)
    return release


def shown(select: Select) -> str:  # type: ignore[type-arg]
    return str(select.query_one("SelectCurrent #label").render())


async def test_enter_while_the_list_loads_opens_it_once_loaded(
    settings, isolated_env, slow_listing
):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(120, 30)) as pilot:
        panel = app.query_one(DocumentsPanel)
        select = panel.query_one("#qa-collection", Select)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert select.has_focus
        assert LOADING in shown(select)
        await pilot.press("enter")  # within a second of opening the panel
        await pilot.pause()
        assert not select.expanded, "the list opened before the collections were read"
        assert panel.collection is None
        slow_listing.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        # now it opens, with every collection and the highlight on what is selected
        assert select.expanded
        overlay = select.query_one(SelectOverlay)
        assert overlay.option_count == 3
        assert overlay.highlighted == 0
        await pilot.press("down", "enter")
        await pilot.pause()
        assert panel.collection == "Facts"
        assert "docs: Facts" in str(app.screen.query_one("#model-info").render())


async def test_a_selected_collection_stays_selected_while_the_list_reloads(
    settings, isolated_env, slow_listing
):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(120, 30)) as pilot:
        panel = app.query_one(DocumentsPanel)
        select = panel.query_one("#qa-collection", Select)
        slow_listing.set()
        await pilot.press("ctrl+g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        panel.select_collection("Papers")
        await pilot.pause()
        await pilot.press("ctrl+g")  # hide the panel: Papers stays selected
        await pilot.pause()
        slow_listing.clear()
        await pilot.press("ctrl+g")  # open it again: the list is re-read
        await pilot.pause()
        assert LOADING in shown(select) and "Papers" in shown(select)
        # what a question would be answered with, while the list loads
        assert panel.collection == "Papers"
        assert "docs: Papers" in str(app.screen.query_one("#model-info").render())
        slow_listing.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert panel.collection == "Papers" and select.value == "Papers"
        assert LOADING not in shown(select)
        app.query_one(ChatInput).focus()


async def test_a_failed_listing_keeps_the_selector_usable(settings, isolated_env, monkeypatch):
    def broken(settings):  # type: ignore[no-untyped-def]
        raise OSError("disk on fire")

    monkeypatch.setattr(qa_collection, "list_collections", broken)
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(120, 30)) as pilot:
        select = app.query_one(DocumentsPanel).query_one("#qa-collection", Select)
        await pilot.press("ctrl+g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert select.value == NO_COLLECTION and LOADING not in shown(select)
        await pilot.press("enter")
        await pilot.pause()
        assert select.expanded
