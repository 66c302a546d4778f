"""A documents chat reopened from the history goes on from its collection, with its
action and every answer's sources (issue 13, defect 8); exports carry them too."""

from __future__ import annotations

import json

import pytest
from qa_support import facts_corpus, write_collection
from textual.widgets import OptionList, Select, Static
from tui_fakes import ScriptedEngine, factory_for

from h2otui.app import make_app
from h2otui.commands.chats import export_chat
from h2otui.store.chats import ChatStore
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_list import ChatList
from h2otui.widgets.chat_view import AssistantMessage
from h2otui.widgets.sources_panel import DocumentsPanel

pytestmark = pytest.mark.slow


async def ask_from(pilot, collection: str | None, question: str) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    panel = app.query_one(DocumentsPanel)
    panel.refresh_collections()
    await app.workers.wait_for_complete()
    await pilot.pause()
    panel.select_collection(collection)
    await pilot.pause()
    app.query_one(ChatInput).focus()
    await pilot.press(*question, "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_a_reopened_documents_chat_keeps_its_collection_and_sources(
    settings, isolated_env, capsys
) -> None:
    write_collection(isolated_env, "Facts", facts_corpus())
    first = ScriptedEngine(["Dr. Okafor led it [1]."])
    app = make_app(settings, engine_factory=factory_for(first))
    async with app.run_test(size=(150, 40)) as pilot:
        await ask_from(pilot, "Facts", "Who led the Zephyr project?")
        assert app.query_one(AssistantMessage).status == "complete"
        await ask_from(pilot, None, "And a plain question")  # a plain answer in between
        await ask_from(pilot, "Facts", "Where is the fleet parked?")

    # a new app, as after a restart: the panel starts on plain chat
    engine = ScriptedEngine(["follow-up answer"])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(150, 40)) as pilot:
        panel = app.query_one(DocumentsPanel)
        assert panel.collection is None
        await pilot.press("ctrl+l")
        await pilot.pause()
        chat_list = app.query_one(ChatList)
        chat_list.index = 0
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert panel.collection == "Facts" and panel.action == "query"
        assert "docs: Facts · query" in str(app.query_one("#model-info", Static).render())
        select = panel.query_one("#qa-collection", Select)
        assert not select.listing and select.value == "Facts"

        # each answer shows its own sources when focused; the plain one has none
        answers = list(app.query(AssistantMessage))
        assert len(answers) == 3
        answers[0].focus()
        await pilot.pause()
        assert any("Amara Okafor" in p.text for p in panel.sources)
        first_label = str(panel.query_one("#qa-sources", OptionList).get_option_at_index(0).prompt)
        assert first_label.startswith("[1] ")
        answers[2].focus()
        await pilot.pause()
        assert any("Rotterdam" in p.text for p in panel.sources)

        # a follow-up is answered from the collection, not as plain chat
        app.query_one(ChatInput).focus()
        await pilot.press(*"Which vans?", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        prompt = "\n".join(m.content for m in engine.requests[-1].messages)
        assert "Rotterdam" in prompt or "Okafor" in prompt
        assert panel.sources

    with ChatStore.open(settings.data_path) as store:
        (chat,) = store.list_chats()
        assert chat.meta == {"collection": "Facts", "action": "query"}
    export_chat(settings, chat.id, "json")
    exported = json.loads(capsys.readouterr().out)
    assert exported["chat"]["meta"]["collection"] == "Facts"
    metas = [m["meta"] for m in exported["messages"] if m["role"] == "assistant"]
    assert metas[1] is None  # the plain answer
    assert any("Amara Okafor" in s["text"] for s in metas[0]["sources"])
    export_chat(settings, chat.id, "md")
    markdown = capsys.readouterr().out
    assert "documents: Facts (query)" in markdown
    assert "**Sources**" in markdown and "- [1] report.pdf p.3 (score " in markdown


async def test_a_reopened_chat_whose_collection_is_gone_falls_back_to_plain_chat(
    settings, isolated_env
) -> None:
    write_collection(isolated_env, "Gone", facts_corpus())
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine(["ok"])))
    async with app.run_test(size=(120, 30)) as pilot:
        await ask_from(pilot, "Gone", "Who led the Zephyr project?")
        chat_id = app.screen.session.chat_id
        await pilot.press("ctrl+n")
        await pilot.pause()
        from h2otui.store.collections import CollectionStore

        CollectionStore(isolated_env).delete("Gone")
        await app.screen.open_chat(chat_id)
        await app.workers.wait_for_complete()
        await pilot.pause()
        panel = app.query_one(DocumentsPanel)
        assert panel.collection is None  # never answered from a collection that is gone
        assert any("Gone is gone" in n.message for n in app._notifications)
