"""The chat screen's remaining friction (issue 13): the footer at 80 columns and below,
dialogs with their own keys, the options' effective system prompt, Tab from the input,
Markdown line breaks (test_markdown_blocks), error toasts. Scripted engine throughout."""

from __future__ import annotations

from itertools import pairwise

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Checkbox, Footer, Label, Static, TextArea
from tui_fakes import ScriptedEngine, factory_for

from h2otui.app import make_app
from h2otui.engines.base import EngineError
from h2otui.qa.citations import Passage
from h2otui.screens.chat_options import ChatOptionsScreen
from h2otui.screens.confirm import ConfirmScreen
from h2otui.screens.source_view import SourceScreen
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_list import ChatList
from h2otui.widgets.chat_view import AssistantMessage
from h2otui.widgets.sources_panel import DocumentsPanel


def footer_keys(app) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    """(key, first column, column after) of every key the active screen's footer shows."""
    footer = app.screen.query_one(Footer)
    return sorted(
        (key.key, key.region.x, key.region.right)
        for key in footer.query("FooterKey")
        if key.display and key.region.width
    )


def assert_fits(keys: list[tuple[str, int, int]], width: int) -> None:
    spans = sorted((start, end, key) for key, start, end in keys)
    for (_, end, key), (start, _, nxt) in pairwise(spans):
        assert end <= start, f"{key} overlaps {nxt}: {spans}"
    assert all(end <= width for _, end, _ in spans), spans


@pytest.mark.parametrize("width", [80, 50])
async def test_the_footer_fits_the_terminal_also_while_answering(settings, isolated_env, width):
    engine = ScriptedEngine(["word "], endless=True, gate_after=3)
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        idle = footer_keys(app)
        assert_fits(idle, width)
        # the least important keys give way first; Send and Options stay
        wanted = {"enter", "ctrl+n", "ctrl+o", "ctrl+b", "ctrl+g"} if width >= 60 else set()
        assert {"enter", "ctrl+o"} | wanted <= {k for k, _, _ in idle}
        await pilot.press(*"hi", "enter")
        await engine.reached.wait()
        await pilot.pause()
        answering = footer_keys(app)
        assert_fits(answering, width)
        assert "escape" in {k for k, _, _ in answering}  # Stop, the key that matters now
        if width >= 80:  # room for all of it, the palette key included
            assert {"ctrl+y", "ctrl+p"} <= {k for k, _, _ in answering}
        await pilot.resize_terminal(width - 10, 24)  # re-fitted on a resize
        await pilot.pause()
        assert_fits(footer_keys(app), width - 10)
        assert "escape" in {k for k, _, _ in footer_keys(app)}
        await pilot.press("escape")
        await app.workers.wait_for_complete()


async def test_dialogs_show_their_own_keys_not_the_chats(settings, isolated_env):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, ChatOptionsScreen)
        keys = {k for k, _, _ in footer_keys(app)}
        assert {"escape", "ctrl+s"} <= keys
        assert not keys & {"ctrl+n", "ctrl+b", "ctrl+g", "enter"}
        await pilot.press("escape")
        await pilot.pause()
        app.push_screen(ConfirmScreen("Sure?"))
        await pilot.pause()
        keys = {k for k, _, _ in footer_keys(app)}
        assert "y" in keys and "ctrl+n" not in keys


class PromptTypedEngine(ScriptedEngine):
    """A scripted engine whose prompt type has a default system prompt."""

    def default_system_prompt(self) -> str | None:
        return "You are a careful assistant."


async def test_options_show_the_default_system_prompt_not_auto(settings, isolated_env):
    assert settings.generation.system_prompt == "auto"
    app = make_app(settings, engine_factory=factory_for(PromptTypedEngine()))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()  # the model is loaded: its prompt type known
        await pilot.press("ctrl+o")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ChatOptionsScreen)
        box = dialog.query_one("#system-prompt", TextArea)
        assert box.text == "You are a careful assistant."
        assert "auto" not in box.text
        # unticked but unchanged: still the default ("auto"), following the model
        dialog.query_one("#use-default", Checkbox).value = False
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        session = app.screen.session
        assert session.options.system_prompt is None
        # edited: the chat's own
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#use-default", Checkbox).value = False
        await pilot.pause()
        app.screen.query_one("#system-prompt", TextArea).text = "Answer in French."
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.session.options.system_prompt == "Answer in French."


async def test_options_say_when_the_models_template_decides(settings, isolated_env):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert app.screen.query_one("#system-prompt", TextArea).text == ""
        note = str(app.screen.query_one("#default-note", Label).render())
        assert "model's own" in note


async def test_an_error_toast_names_the_model_once_and_leaves_the_input_clear(
    settings, isolated_env
):
    engine = ScriptedEngine()
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await app.workers.wait_for_complete()
        model = app.screen.session.options.model
        engine.fail = EngineError(f"model '{model}': the server at 127.0.0.1 refused")
        for question in ("one", "two"):  # the same error twice: one toast
            await pilot.press(*question, "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.pause()
        toasts = list(app.screen.query("Toast"))
        assert len(toasts) == 1
        (toast,) = toasts
        text = str(toast.render())
        assert text.count(model) == 1, text
        assert "The server at 127.0.0.1 refused" in text
        box = app.screen.query_one(ChatInput).region
        assert not toast.region.overlaps(box), (toast.region, box)


async def test_tab_from_the_input_goes_to_the_latest_answer_then_the_panels(settings, isolated_env):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(80, 24)) as pilot:
        box = app.screen.query_one(ChatInput)
        for question in ("first", "second"):
            await pilot.press(*question, "enter")
            await app.workers.wait_for_complete()
        await pilot.pause()
        answers = list(app.screen.query(AssistantMessage))
        assert len(answers) == 2 and app.focused is box
        await pilot.press("tab")
        assert app.focused is answers[-1]  # the newest, not the oldest message
        await pilot.press("tab")  # no panel open at 80 columns: back to the input
        assert app.focused is box
        await pilot.press("ctrl+b", "ctrl+e", "tab", "tab")
        assert isinstance(app.focused, ChatList)
        await pilot.press("tab")
        assert app.focused is box
        await pilot.press("ctrl+g", "ctrl+e", "tab", "tab")  # the list gave way to it
        assert app.focused is app.screen.query_one("#qa-collection")


FILLER = " ".join(f"Line {i} of the preface says nothing of note." for i in range(40))
CHUNK = f"{FILLER} The churn rate in 2023 rose to 12 percent. After that, more filler."


async def test_a_source_quote_shows_the_part_that_matched_the_question(settings, isolated_env):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("ctrl+g")
        await pilot.pause()
        panel = app.screen.query_one(DocumentsPanel)
        answer = AssistantMessage("fake", "It rose to 12 percent.", status="complete")
        panel.record(
            answer, [Passage(CHUNK, "report.pdf", page=3)], [], "What was the churn rate in 2023?"
        )
        await pilot.pause()
        await pilot.pause()
        quote = panel.query_one("#qa-quote", Static).render()
        # the matched sentence, and only it, is styled (bold reverse: MATCH_STYLE)
        (match,) = [quote.plain[span.start : span.end] for span in quote.spans]
        assert match == "The churn rate in 2023 rose to 12 percent."
        box = panel.query_one("#qa-quote-box", VerticalScroll)
        assert box.scroll_y > 0  # scrolled past the preface to the match
        assert any("churn rate" in line for line in screen_text(app)), (
            "the matched sentence is on screen"
        )
        panel.open_source(0)
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, SourceScreen)
        assert app.screen.query_one("#source-scroll", VerticalScroll).scroll_y > 0
        assert any("churn rate" in line for line in screen_text(app))


def screen_text(app) -> list[str]:  # type: ignore[no-untyped-def]
    from rich.console import Console

    console = Console(width=app.size.width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text().splitlines()
