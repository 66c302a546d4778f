"""The chat list's keys act on a highlighted chat (issue 13, defect 4): entering the list
while the current chat is new highlights one, and a rename keeps the highlight."""

from __future__ import annotations

import pytest
from tui_fakes import ScriptedEngine, factory_for

from h2otui.app import make_app
from h2otui.screens.text_prompt import TextPromptScreen
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_list import ChatList, ChatListItem


async def two_saved_chats(pilot) -> ChatList:  # type: ignore[no-untyped-def]
    app = pilot.app
    for question in ("Older chat", "Newer chat"):
        app.query_one(ChatInput).focus()
        await pilot.press(*question, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("ctrl+n")  # the current chat is a new, unsaved one
    await pilot.pause()
    chat_list = app.query_one(ChatList)
    assert [i.title for i in chat_list.query(ChatListItem)] == ["Newer chat", "Older chat"]
    return chat_list


@pytest.mark.parametrize("key", ["ctrl+l", "ctrl+b"])
async def test_entering_the_list_highlights_a_chat_the_keys_act_on(settings, isolated_env, key):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine(["ok"])))
    async with app.run_test(size=(80, 24)) as pilot:  # 80 columns: the list starts hidden
        chat_list = await two_saved_chats(pilot)
        assert chat_list.index is None  # nothing is current: nothing highlighted
        await pilot.press(key)
        await pilot.pause()
        assert chat_list.has_focus
        assert chat_list.highlighted_child is not None
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, TextPromptScreen)
        assert app.screen.query_one("Input").value == "Newer chat"


async def test_a_rename_keeps_the_highlight_on_the_renamed_chat(settings, isolated_env):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine(["ok"])))
    async with app.run_test(size=(120, 30)) as pilot:
        chat_list = await two_saved_chats(pilot)
        await pilot.press("ctrl+l")
        chat_list.index = 1
        await pilot.pause()
        item = chat_list.highlighted_child
        assert isinstance(item, ChatListItem) and item.title == "Older chat"
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("ctrl+u", *"Renamed", "enter")
        await pilot.pause()
        assert [i.title for i in chat_list.query(ChatListItem)] == ["Newer chat", "Renamed"]
        assert chat_list.has_focus
        item = chat_list.highlighted_child
        assert isinstance(item, ChatListItem) and item.title == "Renamed"
        await pilot.press("r")  # and the keys still act on it
        await pilot.pause()
        assert isinstance(app.screen, TextPromptScreen)
        assert app.screen.query_one("Input").value == "Renamed"
