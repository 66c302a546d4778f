"""The compare screen's collection and action pickers: the list loads in the background
with a visible loading state, the selection stays put when it arrives or reloads, and a
question goes with the collection and action the bar shows. The merged answer (Ctrl+G)
is saved with the compare, shown again on reopen and exported. An arena question before
the vote is a follow-up to the same hidden pair, in the same compare."""

from __future__ import annotations

import io
import json
import threading

import pytest
from compare_support import REMOTE, compare_settings, engines_for, factory
from textual.widgets import Select
from textual.widgets._select import SelectOverlay

from h2otui.app import make_app
from h2otui.commands.chats import export_chat
from h2otui.qa import collection as qa_collection
from h2otui.screens.compare import CompareScreen
from h2otui.store.chats import ChatStore
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.collection_bar import CollectionBar
from h2otui.widgets.sources_panel import LOADING


@pytest.fixture
def slow_listing(monkeypatch):  # type: ignore[no-untyped-def]
    """list_collections waits for ``release`` (a slow LanceDB import, on demand)."""
    release = threading.Event()

    def list_collections(settings):  # type: ignore[no-untyped-def]
        release.wait(timeout=30)
        return [("Facts", 12), ("Papers", 40)]

    monkeypatch.setattr(qa_collection, "list_collections", list_collections)
    return release


def label(select: Select) -> str:  # type: ignore[type-arg]
    return str(select.query_one("SelectCurrent #label").render())


async def open_compare(pilot) -> CompareScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f3")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, CompareScreen), screen
    return screen


async def test_the_collection_picker_loads_keeps_its_choice_and_decides_the_mode(
    isolated_env, slow_listing
) -> None:
    names = [REMOTE[0], REMOTE[1]]
    engines = engines_for(names)
    app = make_app(compare_settings(compare={"models": names}), engine_factory=factory(engines))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot)
        bar = screen.query_one(CollectionBar)
        select = bar.select
        assert not bar.listed  # opening the screen reads nothing
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert select.has_focus and LOADING in label(select)
        assert not select.expanded, "opened before the collections were read"
        slow_listing.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert select.expanded  # it opens once the list is there, on "none"
        overlay = select.query_one(SelectOverlay)
        assert overlay.option_count == 3 and overlay.highlighted == 0
        await pilot.press("down", "enter")
        await pilot.pause()
        assert screen.collection == "Facts"
        screen.set_action("summarize")
        await pilot.pause()
        assert screen.action == "summarize"
        assert "Facts · summarize" in str(screen.query_one("#compare-info").render())
        # the list reloads (slowly): the choice stays, and says it is loading
        slow_listing.clear()
        bar.refresh_collections()
        await pilot.pause()
        assert bar.collection == "Facts" and "Facts" in label(select)
        assert LOADING in label(select)
        # a question sent now goes in the mode the bar shows: from Facts, summarized
        screen.query_one(ChatInput).focus()
        await pilot.press(*"Sum it up", "enter")
        await pilot.pause()
        session = screen.session
        assert session is not None
        assert (session.collection, session.action) == ("Facts", "summarize")
        slow_listing.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen._repaint()
        assert bar.collection == "Facts" and LOADING not in label(select)
        # "Facts" does not exist on disk (the listing was faked): each column says so
        for col in screen.columns():
            assert col.done and "Facts" in col.shown
    assert not [e for e in engines.values() if e.requests], "answered without the collection"


async def test_a_merged_answer_is_saved_reopened_and_exported(isolated_env) -> None:
    names = [REMOTE[0], REMOTE[1]]
    engines = engines_for(names)
    settings = compare_settings(compare={"models": names})
    app = make_app(settings, engine_factory=factory(engines))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_compare(pilot)
        screen.query_one(ChatInput).focus()
        await pilot.press(*"Pick a colour", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("f6", "ctrl+g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        screen._repaint()
        assert f"Merged by {REMOTE[1]}" in screen.columns()[1].shown  # shown at once
        chat_id = screen.session.chat_id
        assert chat_id is not None
        merged = f"{REMOTE[1]} says hi."  # the scripted merge model's answer
        with ChatStore.open(settings.data_path) as store:
            kept = [m for m in store.messages(chat_id) if (m.meta or {}).get("merged")]
        assert [(m.model, m.content, m.status) for m in kept] == [(REMOTE[1], merged, "complete")]
        # reopened (after a new compare): the merge shows under its round
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not any("Merged" in c.shown for c in screen.columns())
        await screen.open_compare(chat_id)
        await pilot.pause()
        screen._repaint()
        first, second = screen.columns()  # under the answer of the model that merged
        assert f"Merged by {REMOTE[1]}" in second.shown and "Merged" not in first.shown
        assert second.shown.index("says hi.") < second.shown.index("Merged by")
        assert [c.text for c in screen.columns()] == [f"{m} says hi." for m in names]
    # `h2otui chats export` writes it, marked as the merge
    md, js = io.StringIO(), io.StringIO()
    export_chat(settings, chat_id, "md", out=md)
    export_chat(settings, chat_id, "json", out=js)
    assert f"## Merged by {REMOTE[1]}\n\n{merged}" in md.getvalue()
    (saved,) = [m for m in json.loads(js.getvalue())["messages"] if (m["meta"] or {}).get("merged")]
    assert saved["content"] == merged and saved["meta"]["merged_from"] == names


async def test_an_arena_follow_up_goes_to_the_same_hidden_pair_in_the_same_compare(
    isolated_env,
) -> None:
    from h2otui.store.arena import ArenaStore

    names = [REMOTE[0], REMOTE[1]]
    engines = engines_for(names)
    settings = compare_settings(compare={"models": names})
    app = make_app(settings, engine_factory=factory(engines))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_compare(pilot)
        await pilot.press("ctrl+b")
        await pilot.pause()
        pairs = dict(screen._arena_pairs)
        for question in ("First?", "And then?"):
            screen.query_one(ChatInput).focus()
            await pilot.press(*question, "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert screen._arena_pairs == pairs and screen.has_class("-voting")
            if question == "First?":
                chat_id = screen.session.chat_id
        assert screen.session.chat_id == chat_id  # one compare, not two
        headers = [str(c.query_one(".col-header").render()) for c in screen.columns()]
        assert headers == ["A", "B"]  # still blind
        for model in names:  # each answered the follow-up with its own first answer
            prompt = " ".join(m.content for m in engines[model].requests[-1].messages)
            assert f"{model} says hi." in prompt and "First?" in prompt
        screen.vote("tie")
        await pilot.pause()
        assert not screen.has_class("-voting")
        # after the vote, the next question is a new blind round
        screen.query_one(ChatInput).focus()
        await pilot.press(*"New one", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.session.chat_id != chat_id and screen._arena_pairs
    with ArenaStore.open(settings.data_path) as store:
        (vote,) = store.votes()
    assert (vote.verdict, vote.question, vote.chat_id) == ("tie", "And then?", chat_id)
