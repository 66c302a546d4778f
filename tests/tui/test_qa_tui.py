"""Document QA in the chat screen, driven by Pilot with the real embedded model."""

from __future__ import annotations

import pytest
from qa_support import facts_corpus, write_collection
from textual.widgets import OptionList, Select, Static

from h2otui.app import make_app
from h2otui.screens.source_view import SourceScreen
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_view import AssistantMessage
from h2otui.widgets.sources_panel import DocumentsPanel

pytestmark = pytest.mark.slow


async def test_collection_answer_shows_its_sources_and_opens_a_chunk(
    settings, isolated_env
) -> None:
    write_collection(isolated_env, "Facts", facts_corpus())
    app = make_app(settings)
    async with app.run_test(size=(150, 40)) as pilot:
        await pilot.press("ctrl+g")
        await app.workers.wait_for_complete()  # the collection list loads in a worker
        await pilot.pause()
        panel = app.query_one(DocumentsPanel)
        assert app.query_one("#side-panel").has_class("-visible")
        collection = panel.query_one("#qa-collection", Select)
        assert collection.has_focus
        # pick the collection with the keyboard: open the list, move down, choose
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
        assert panel.collection == "Facts"
        assert "docs: Facts · query" in str(app.query_one("#model-info", Static).render())

        app.query_one(ChatInput).focus()
        await pilot.press(*"Who led the Zephyr project?")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()

        answer = app.query_one(AssistantMessage)
        assert answer.status == "complete"
        assert "Okafor" in answer.text
        sources = panel.query_one("#qa-sources", OptionList)
        first = str(sources.get_option_at_index(0).prompt)
        assert first.startswith("[1] report.pdf p.3 (score ")
        quote = str(panel.query_one("#qa-quote", Static).render())
        assert "The Zephyr project was led by Dr. Amara Okafor" in quote

        # a key opens the full chunk
        sources.focus()
        sources.highlighted = 0
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SourceScreen)
        assert app.screen.text == panel.sources[0].text
        assert "report.pdf p.3" in app.screen.label
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SourceScreen)


async def test_plain_chat_is_unchanged_when_no_collection_is_chosen(settings, isolated_env) -> None:
    from tui_fakes import ScriptedEngine, factory_for

    engine = ScriptedEngine(["plain ", "answer"])
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(120, 30)) as pilot:
        assert app.query_one(DocumentsPanel).collection is None
        app.query_one(ChatInput).focus()
        await pilot.press(*"hello")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.query_one(AssistantMessage).text == "plain answer"
        assert not app.query_one("#side-panel").has_class("-visible")


async def test_the_panel_shows_the_sources_the_runner_found_and_stopping_keeps_them(
    settings, isolated_env
):
    from tui_fakes import ScriptedEngine, factory_for

    write_collection(isolated_env, "Facts", facts_corpus())
    engine = ScriptedEngine(["Okafor "], endless=True, gate_after=3)
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(150, 40)) as pilot:
        panel = app.query_one(DocumentsPanel)
        panel.refresh_collections()
        await app.workers.wait_for_complete()
        await pilot.pause()
        panel.select_collection("Facts")
        await pilot.pause()
        app.query_one(ChatInput).focus()
        await pilot.press(*"Who led the Zephyr project?", "enter")
        await engine.reached.wait()
        await pilot.pause()
        # the sources are on screen while the answer is still streaming
        sources = panel.query_one("#qa-sources", OptionList)
        assert sources.option_count > 0
        assert any("Amara Okafor" in p.text for p in panel.sources)
        engine.gate.set()
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        answer = app.query_one(AssistantMessage)
        assert answer.status == "stopped" and answer.text.startswith("Okafor " * 3)
        assert sources.option_count == len(panel.sources) > 0
