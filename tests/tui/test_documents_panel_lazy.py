"""The documents panel is built just after the chat screen's first frame (first paint,
issue 13); before that it answers as an empty panel and keeps what it is given."""

from __future__ import annotations

from textual.widgets import Select
from tui_fakes import ScriptedEngine, factory_for

from h2otui.app import make_app
from h2otui.widgets.sources_panel import DocumentsPanel


def test_an_unbuilt_panel_answers_as_an_empty_one_and_keeps_a_restore() -> None:
    panel = DocumentsPanel(id="documents")
    assert not panel.built
    assert (panel.collection, panel.action, panel.describe()) == (None, "query", "")
    panel.forget_sources()
    panel.restore("Reports", "summarize")
    assert (panel.collection, panel.action) == ("Reports", "summarize")
    assert panel.describe() == "docs: Reports · summarize"
    panel.restore("Reports", "no such action")  # ignored, as by a built panel
    assert panel.action == "summarize"


async def test_the_panel_is_built_after_the_first_frame(settings) -> None:
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine(["ok"])))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.screen.query_one(DocumentsPanel)
        await pilot.pause()
        assert panel.built
        assert panel.query_one("#qa-action", Select).value == "query"
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert panel.query_one("#qa-collection").has_focus
