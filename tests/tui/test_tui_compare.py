"""The compare screen driven by Pilot with scripted engines: streaming columns, one column
failing, stop one / stop all, queued in-process models, the stacked layout at 80x24 and
tiny sizes with resizes while streaming, the blind arena, continue-with, reopening a saved
compare, the word diff and hostile text. Every wait is on a worker or an event."""

from __future__ import annotations

import asyncio

from compare_support import LOCAL, REMOTE, compare_settings, engines_for, factory
from hostile import HOSTILE_TEXT, MARKUP

from h2otui.app import make_app
from h2otui.engines.base import EngineError
from h2otui.screens.arena_board import LeaderboardScreen
from h2otui.screens.chat import ChatScreen
from h2otui.screens.compare import AnswerColumn, CompareScreen
from h2otui.screens.compare_diff import DiffScreen
from h2otui.screens.compare_merge import MergeScreen
from h2otui.store.arena import ArenaStore
from h2otui.store.chats import ChatStore
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_view import AssistantMessage, UserMessage


async def open_compare(pilot) -> CompareScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f3")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, CompareScreen), screen
    return screen


async def ask(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    pilot.app.screen.query_one(ChatInput).focus()
    await pilot.press(*text)
    await pilot.press("enter")
    await pilot.pause()


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    if isinstance(pilot.app.screen, CompareScreen):
        pilot.app.screen._repaint()
        await pilot.pause()


def shown(col: AnswerColumn) -> str:
    """What the column shows: every round, then the stats."""
    return col.shown


async def wait_for(cond, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(500):
        if cond():
            return
        await pilot.pause(0.01)
    raise AssertionError("condition never held")


async def test_columns_stream_at_once_with_live_stats_and_are_saved(isolated_env) -> None:
    names = [LOCAL[0], REMOTE[0], REMOTE[1]]
    engines = engines_for(names, gate_after=2)
    settings = compare_settings(compare={"models": names})
    app = make_app(settings, engine_factory=factory(engines))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_compare(pilot)
        cols = screen.columns()
        assert [c.model for c in cols] == names and not screen.stacked
        await ask(pilot, "Hello?")
        # every model is mid-answer at the same time
        await wait_for(lambda: all(e.reached.is_set() for e in engines.values()), pilot)
        screen._repaint()
        for col in cols:
            assert col.state == "streaming" and col.display
            assert "tok/s" in shown(col) and "first token" in shown(col)
        for e in engines.values():
            e.gate.set()
        await settle(pilot)
        for col in cols:
            text = shown(col)
            assert f"{col.model} says hi." in text
            assert "complete" in text and "finish: stop" in text and "3 tokens" in text
    with ChatStore.open(settings.data_path) as store:
        (chat,) = store.list_chats()
        assert chat.kind == "compare"
        answers = [m for m in store.messages(chat.id) if m.role == "assistant"]
        assert sorted(m.model for m in answers) == sorted(names)
        assert {m.status for m in answers} == {"complete"}


async def test_an_error_shows_in_its_column_while_the_others_go_on(isolated_env) -> None:
    names = [REMOTE[0], REMOTE[1]]
    engines = engines_for(names)
    engines[REMOTE[0]].fail = EngineError("cannot reach 127.0.0.1:9: connection refused")
    app = make_app(compare_settings(compare={"models": names}), engine_factory=factory(engines))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_compare(pilot)
        await ask(pilot, "Hi")
        await settle(pilot)
        bad, good = screen.columns()
        assert bad.has_class("-error") and "connection refused" in shown(bad)
        assert f"{REMOTE[1]} says hi." in shown(good) and good.state == "complete"


async def test_stop_one_then_stop_all_keep_partial_answers(isolated_env) -> None:
    names = [REMOTE[0], REMOTE[1]]
    engines = engines_for(names, gate_after=3, answer=("a ", "b ", "c ", "d "))
    settings = compare_settings(compare={"models": names})
    app = make_app(settings, engine_factory=factory(engines))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_compare(pilot)
        await ask(pilot, "Go on")
        await wait_for(lambda: all(e.reached.is_set() for e in engines.values()), pilot)
        await pilot.press("f6")  # focus the second column
        await pilot.press("ctrl+k")
        first, second = screen.columns()
        await wait_for(lambda: not second.busy, pilot)
        assert first.busy, "stopping one column stopped the other"
        assert engines[REMOTE[1]].closed.is_set() and not engines[REMOTE[0]].closed.is_set()
        await pilot.press("escape")
        await settle(pilot)
        assert first.state == second.state == "stopped"
        assert first.text and second.text
    with ChatStore.open(settings.data_path) as store:
        (chat,) = store.list_chats()
        answers = [m for m in store.messages(chat.id) if m.role == "assistant"]
        assert {m.status for m in answers} == {"stopped"}
        assert all(m.content for m in answers)


async def test_in_process_models_queue_and_say_so(isolated_env) -> None:
    engines = engines_for(LOCAL, gate_after=1)
    app = make_app(
        compare_settings(compare={"models": list(LOCAL)}), engine_factory=factory(engines)
    )
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_compare(pilot)
        await ask(pilot, "Hi")
        await wait_for(lambda: engines[LOCAL[0]].reached.is_set(), pilot)
        first, second = screen.columns()
        await wait_for(lambda: second.state.startswith("queued"), pilot)
        screen._repaint()
        assert "queued" in shown(second) and second.has_class("-queued")
        assert not engines[LOCAL[1]].requests
        engines[LOCAL[0]].gate.set()
        engines[LOCAL[1]].gate.set()
        await settle(pilot)
        assert first.state == second.state == "complete"


async def test_narrow_layout_stacks_switches_and_survives_resizes_while_streaming(
    isolated_env,
) -> None:
    names = [LOCAL[0], REMOTE[0], REMOTE[1]]
    engines = engines_for(names, gate_after=2)
    # a long answer: all of it is shown
    engines[LOCAL[0]].answer = [f"w{i} " for i in range(1500)]
    app = make_app(compare_settings(compare={"models": names}), engine_factory=factory(engines))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot)
        assert screen.stacked and screen.has_class("-stacked")
        visible_cols = [c for c in screen.columns() if c.display]
        assert [c.model for c in visible_cols] == [LOCAL[0]]
        assert LOCAL[0] in str(screen.query_one("#tabs").render())
        await ask(pilot, "Hi")
        await wait_for(lambda: engines[REMOTE[1]].reached.is_set(), pilot)
        await pilot.press("f6")
        assert [c.model for c in screen.columns() if c.display] == [REMOTE[0]]
        await pilot.press("shift+f6")
        assert [c.model for c in screen.columns() if c.display] == [LOCAL[0]]
        for size in ((40, 12), (20, 5), (200, 50), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
        assert screen.stacked
        await pilot.resize_terminal(20, 5)
        await pilot.pause()
        assert screen.has_class("-too-small")
        await pilot.resize_terminal(160, 45)
        await pilot.pause()
        assert not screen.stacked and all(c.display for c in screen.columns())
        for e in engines.values():
            e.gate.set()
        await settle(pilot)
        long = screen.columns()[0]
        assert "w0 w1" in shown(long) and "w1499" in shown(long)
        assert {c.state for c in screen.columns()} == {"complete"}


async def test_blind_arena_hides_names_until_the_vote_then_reveals(isolated_env) -> None:
    names = [REMOTE[0], REMOTE[1]]
    engines = engines_for(names)
    settings = compare_settings(compare={"models": names})
    app = make_app(settings, engine_factory=factory(engines))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_compare(pilot)
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert screen.arena
        headers = [str(c.query_one(".col-header").render()) for c in screen.columns()]
        assert headers == ["A", "B"]
        await ask(pilot, "Which is best?")
        await settle(pilot)
        assert screen.has_class("-voting")
        pairs = dict(screen._arena_pairs)
        assert sorted(pairs.values()) == sorted(names)
        await pilot.click("#vote-a")
        await pilot.pause()
        assert not screen.has_class("-voting")
        headers = [str(c.query_one(".col-header").render()) for c in screen.columns()]
        assert headers == [f"A · {pairs['A']}", f"B · {pairs['B']}"]
        await pilot.press("ctrl+l")  # the leaderboard view counts the vote
        await pilot.pause()
        board = app.screen
        assert isinstance(board, LeaderboardScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = str(board.query_one("#board").render())
        assert pairs["A"] in table and pairs["B"] in table and "1 votes" in table
    with ArenaStore.open(settings.data_path) as store:
        (vote,) = store.votes()
    assert (vote.model_a, vote.model_b, vote.verdict) == (pairs["A"], pairs["B"], "a")
    assert vote.question == "Which is best?"


async def test_continue_with_one_model_opens_a_chat_with_its_history(isolated_env) -> None:
    names = [REMOTE[0], REMOTE[1]]
    engines = engines_for(names)
    app = make_app(compare_settings(compare={"models": names}), engine_factory=factory(engines))
    async with app.run_test(size=(120, 30)) as pilot:
        await open_compare(pilot)
        await ask(pilot, "First")
        await settle(pilot)
        await ask(pilot, "Second")
        await settle(pilot)
        # the follow-up went to each model with its own history
        prompt = " ".join(m.content for m in engines[REMOTE[1]].requests[-1].messages)
        assert f"{REMOTE[1]} says hi." in prompt and f"{REMOTE[0]} says" not in prompt
        await pilot.press("f6")
        await pilot.press("ctrl+r")
        await pilot.pause()
        await settle(pilot)
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        assert chat.session is not None and chat.session.options.model == REMOTE[1]
        assert [u.text for u in chat.query(UserMessage)] == ["First", "Second"]
        assert [a.text for a in chat.query(AssistantMessage)] == [f"{REMOTE[1]} says hi."] * 2
        assert len(chat.session.turns) == 2


async def test_a_saved_compare_reopens_as_a_grid(isolated_env) -> None:
    names = [REMOTE[0], REMOTE[1]]
    engines = engines_for(names)
    settings = compare_settings(compare={"models": names})
    app = make_app(settings, engine_factory=factory(engines))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_compare(pilot)
        await ask(pilot, "Old question")
        await settle(pilot)
        chat_id = screen.session.chat_id
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert all("Old question" not in shown(c) for c in screen.columns())
        titles = [t for t, _h, _cb in screen.palette_commands()]
        assert "Open compare: Old question" in titles
        # the chat screen's list opens a compare as its grid, on the compare screen
        await pilot.press("f2")
        await pilot.pause()
        await app.screen.open_chat(chat_id)
        await pilot.pause()
        assert app.screen is screen
        screen._repaint()
        for col in screen.columns():
            assert "Old question" in shown(col) and f"{col.model} says hi." in shown(col)
            assert col.text == f"{col.model} says hi."  # the last round is current: diff, merge
        assert [len(lane.turns) for lane in screen.session.lanes.values()] == [1, 1]
        # a follow-up continues the reopened compare, the old round moves up
        await ask(pilot, "New one")
        await settle(pilot)
        first = shown(screen.columns()[0])
        assert first.index("Old question") < first.index("New one")
        assert len(engines[REMOTE[0]].requests[-1].messages) >= 3  # its history went along


async def test_word_diff_and_hostile_text_stay_literal(isolated_env) -> None:
    names = [REMOTE[0], REMOTE[1]]
    engines = engines_for(names)
    engines[REMOTE[0]].answer = ("The cat sat ", MARKUP[0], " ", HOSTILE_TEXT)
    engines[REMOTE[1]].answer = ("The dog sat ", MARKUP[1])
    app = make_app(compare_settings(compare={"models": names}), engine_factory=factory(engines))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_compare(pilot)
        await ask(pilot, "Hi")
        await settle(pilot)
        first = screen.columns()[0]
        text = shown(first)
        assert MARKUP[0] in text  # the markup shows as typed, never applied
        assert "\x1b" not in text and "\x07" not in text
        await pilot.press("ctrl+d")
        await pilot.pause()
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        rendered = diff.query_one("#diff").render()
        spans = {rendered.plain[s.start : s.end]: str(s.style) for s in rendered.spans}
        assert "strike" in spans.get("cat", "") and "bold" in spans.get("dog", "")
        assert "\x1b" not in rendered.plain
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_fewer_than_two_models_explains_what_to_do(isolated_env, settings) -> None:
    app = make_app(settings, engine_factory=factory(engines_for(["gemma3-270m"])))
    async with app.run_test(size=(80, 24)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Go to Compare" in titles  # the palette reaches it from the chat
        screen = await open_compare(pilot)
        titles = [c.title for c in app.get_system_commands(screen)]
        assert "Compare: pick models" in titles and "Compare: blind arena on/off" in titles
        assert screen.session is None
        hint = str(screen.query_one("#empty-hint").render())
        assert "2 to 4" in hint and "[[models]]" in hint
        await ask(pilot, "Hi")
        assert not screen.columns()
        await asyncio.sleep(0)


async def test_merge_has_the_focused_model_write_one_answer_from_all(isolated_env) -> None:
    names = [REMOTE[0], REMOTE[1]]
    engines = engines_for(names)
    app = make_app(compare_settings(compare={"models": names}), engine_factory=factory(engines))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_compare(pilot)
        await ask(pilot, "Pick a colour")
        await settle(pilot)
        await pilot.press("f6")
        await pilot.press("ctrl+g")
        await settle(pilot)
        merge = app.screen
        assert isinstance(merge, MergeScreen)
        assert merge.text == f"{REMOTE[1]} says hi." and merge.status.startswith("complete")
        prompt = engines[REMOTE[1]].requests[-1].messages[-1].content
        assert "Question: Pick a colour" in prompt
        assert f"{REMOTE[0]} says hi." in prompt and f"{REMOTE[1]} says hi." in prompt
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CompareScreen)
