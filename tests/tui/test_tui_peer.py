"""What users of peer chat apps expect (issue 13): prompt history, search across chats,
export from the app, queueing a follow-up while an answer streams. Scripted engine."""

from __future__ import annotations

from tui_fakes import ScriptedEngine, factory_for

from h2otui.app import make_app
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_view import AssistantMessage, QueuedNotice, UserMessage


async def test_a_follow_up_sent_while_answering_is_queued_then_sent(settings, isolated_env):
    engine = ScriptedEngine(["word "] * 8, gate_after=3)
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"first", "enter")
        await engine.reached.wait()
        await pilot.press(*"second", "enter")
        await pilot.pause()
        (queued,) = app.screen.query(QueuedNotice)
        assert "second" in str(queued.render())
        assert app.screen.query_one(ChatInput).text == ""  # the box is free again
        assert len(engine.requests) == 1  # not sent yet
        engine.gate_after = None
        engine.gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [m.text for m in app.screen.query(UserMessage)] == ["first", "second"]
        assert [a.status for a in app.screen.query(AssistantMessage)] == ["complete"] * 2
        assert engine.requests[-1].messages[-1].content == "second"
        assert not app.screen.query(QueuedNotice)


async def test_esc_stops_the_answer_and_drops_the_queue(settings, isolated_env):
    engine = ScriptedEngine(["word "], endless=True, gate_after=2)
    app = make_app(settings, engine_factory=factory_for(engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"first", "enter")
        await engine.reached.wait()
        await pilot.press(*"second", "enter")
        await pilot.pause()
        assert app.screen.query(QueuedNotice)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.screen.query(QueuedNotice)
        assert [m.text for m in app.screen.query(UserMessage)] == ["first"]
        assert len(engine.requests) == 1


async def test_up_in_an_empty_input_recalls_past_questions(settings, isolated_env):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(80, 24)) as pilot:
        box = app.screen.query_one(ChatInput)
        for question in ("alpha", "beta"):
            await pilot.press(*question, "enter")
            await app.workers.wait_for_complete()
        await pilot.press("up")
        assert box.text == "beta"
        await pilot.press("up")
        assert box.text == "alpha"
        await pilot.press("up")  # the oldest stays
        assert box.text == "alpha"
        await pilot.press("down")
        assert box.text == "beta"
        await pilot.press("down")  # past the newest: the empty box back
        assert box.text == ""
        await pilot.press(*"gam", "up")  # typed text: Up moves the cursor, recalls nothing
        assert box.text == "gam"
    # a new session recalls questions saved by the last one
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("up")
        assert app.screen.query_one(ChatInput).text == "beta"
