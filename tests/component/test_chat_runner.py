"""The answer runner (h2otui.chat.runner) on its own, without any view: the events it
yields and in what order, what it saves and when, how it stops and fails. A scripted
engine drives the states a real model cannot be made to hit on demand; the real embedded
model and a real collection check the rest. Waits are on events, never on the clock."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest
from tui_fakes import ScriptedEngine, factory_for

from h2otui.chat import session as chat_session
from h2otui.chat.events import (
    AnswerFinished,
    ContextTrimmed,
    EngineReady,
    HistoryError,
    Loading,
    QuestionSaved,
    SourcesFound,
    TextDelta,
)
from h2otui.chat.runner import AnswerRunner
from h2otui.chat.session import ChatSession
from h2otui.engines.base import ModelNotFoundError
from h2otui.engines.pool import EnginePool
from h2otui.qa.collection import CollectionCache
from h2otui.store.chats import ChatStore


@pytest.fixture
def store(isolated_env):  # type: ignore[no-untyped-def]
    with ChatStore.open(isolated_env) as s:
        yield s


def rows(store: ChatStore, session: ChatSession) -> list[tuple[str, str, str]]:
    assert session.chat_id is not None
    return [(m.role, m.status, m.content) for m in store.messages(session.chat_id)]


async def collect(runner: AnswerRunner) -> list[object]:
    async with aclosing(runner.events()) as events:
        return [event async for event in events]


# --- plain chat ------------------------------------------------------------------------------


async def test_events_come_in_order_and_the_answer_is_saved_and_remembered(settings, store):
    engine = ScriptedEngine(["Hello", " world."])
    pool = EnginePool(settings, factory_for(engine))
    session = ChatSession.new(settings, store)
    runner = AnswerRunner(session, pool, "Say hello")
    events = await collect(runner)
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "QuestionSaved",
        "Loading",
        "EngineReady",
        "TextDelta",
        "TextDelta",
        "AnswerFinished",
    ]
    saved = events[0]
    assert isinstance(saved, QuestionSaved) and saved.chat_id == session.chat_id
    assert saved.title == "Say hello"
    finished = events[-1]
    assert isinstance(finished, AnswerFinished) and finished is runner.finished
    assert (finished.status, finished.text, finished.error) == ("complete", "Hello world.", None)
    assert finished.stats["completion_tokens"] == 2 and finished.stats["prompt_tokens"] > 0
    assert "2 tokens" in finished.stats_line()
    assert rows(store, session) == [
        ("user", "complete", "Say hello"),
        ("assistant", "complete", "Hello world."),
    ]
    assert store.messages(session.chat_id)[1].stats == finished.stats  # type: ignore[arg-type]
    assert [(t.question, t.answer) for t in session.turns] == [("Say hello", "Hello world.")]

    # the next answer: the model is loaded already, the history is in the prompt
    events = await collect(AnswerRunner(session, pool, "Again"))
    assert not any(isinstance(e, Loading) for e in events)
    assert [(m.role, m.content) for m in engine.requests[-1].messages[1:]] == [
        ("user", "Say hello"),
        ("assistant", "Hello world."),
        ("user", "Again"),
    ]
    with pytest.raises(RuntimeError, match="one answer"):
        runner.events()


async def test_a_streaming_answer_is_saved_as_partial_then_complete(settings, store, monkeypatch):
    monkeypatch.setattr(chat_session, "PARTIAL_SAVE_INTERVAL_S", 0.0)
    engine = ScriptedEngine(["One ", "two ", "three."], gate_after=2)
    session = ChatSession.new(settings, store)
    runner = AnswerRunner(session, EnginePool(settings, factory_for(engine)), "Count")
    task = asyncio.ensure_future(collect(runner))
    await engine.reached.wait()
    assert rows(store, session)[-1] == ("assistant", "partial", "One two ")
    assert runner.text == "One two " and runner.finished is None
    engine.gate.set()
    await task
    assert rows(store, session)[-1] == ("assistant", "complete", "One two three.")


async def test_cancelling_the_consumer_stops_the_engine_and_saves_the_partial_answer(
    settings, store
):
    engine = ScriptedEngine(["word "], endless=True, gate_after=5, delay=0.001)
    session = ChatSession.new(settings, store)
    runner = AnswerRunner(session, EnginePool(settings, factory_for(engine)), "Talk")
    task = asyncio.ensure_future(collect(runner))
    await engine.reached.wait()
    engine.gate.set()  # let it run on, endlessly
    while engine.produced < 20:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert engine.closed.is_set(), "the engine stream was not closed"
    finished = runner.finished
    assert finished is not None
    assert (finished.status, finished.finish_reason) == ("stopped", "cancelled")
    assert finished.text.startswith("word " * 20)
    assert rows(store, session)[-1] == ("assistant", "stopped", finished.text)
    # a stopped answer is still context for the next question
    assert session.turns[-1].answer == finished.text


async def test_closing_the_stream_early_stops_the_answer_the_same_way(settings, store):
    engine = ScriptedEngine(["a ", "b ", "c ", "d "], endless=True)
    session = ChatSession.new(settings, store)
    runner = AnswerRunner(session, EnginePool(settings, factory_for(engine)), "Letters")
    async with aclosing(runner.events()) as events:
        async for event in events:
            if isinstance(event, TextDelta) and runner.text == "a b c ":
                break
    assert engine.closed.is_set()
    assert runner.finished is not None and runner.finished.status == "stopped"
    assert rows(store, session)[-1] == ("assistant", "stopped", "a b c ")


async def test_an_engine_error_before_any_text_is_an_error_outcome_not_an_exception(
    settings, store
):
    engine = ScriptedEngine(["unused"])
    engine.fail = ModelNotFoundError("model 'fake': /models/missing.gguf does not exist")
    session = ChatSession.new(settings, store)
    events = await collect(AnswerRunner(session, EnginePool(settings, factory_for(engine)), "Hi"))
    finished = events[-1]
    assert isinstance(finished, AnswerFinished)
    assert finished.status == "error" and finished.text == ""
    assert finished.error == "model 'fake': /models/missing.gguf does not exist"
    assert "missing.gguf" in finished.stats_line()
    (message,) = [m for m in store.messages(session.chat_id) if m.role == "assistant"]  # type: ignore[arg-type]
    assert (message.status, message.error) == ("error", finished.error)
    assert session.turns == []  # a failed exchange is not context


async def test_an_unknown_model_and_a_missing_collection_read_as_errors_too(settings, store):
    session = ChatSession.new(settings, store)
    session.options.model = "no-such-model"
    events = await collect(AnswerRunner(session, EnginePool(settings), "Hi"))
    finished = events[-1]
    assert isinstance(finished, AnswerFinished) and finished.status == "error"
    assert "no-such-model" in (finished.error or "")

    engine = ScriptedEngine(["unused"])
    session = ChatSession.new(settings, store)
    runner = AnswerRunner(
        session, EnginePool(settings, factory_for(engine)), "Hi", collection="Nope"
    )
    events = await collect(runner)
    finished = events[-1]
    assert isinstance(finished, AnswerFinished) and finished.status == "error"
    assert "Nope" in (finished.error or "")
    assert engine.requests == []  # nothing was generated


async def test_old_turns_left_out_are_announced_before_the_text(settings):
    engine = ScriptedEngine(["w " * 10], context=60)
    session = ChatSession.new(settings, None)  # history off: the session still has context
    session.options.system_prompt = "Be brief."
    session.options.params.max_new_tokens = 10
    pool = EnginePool(settings, factory_for(engine))
    for i in range(3):
        await collect(AnswerRunner(session, pool, f"question number {i}"))
    events = await collect(AnswerRunner(session, pool, "question number 3"))
    trimmed = [e for e in events if isinstance(e, ContextTrimmed)]
    assert len(trimmed) == 1 and trimmed[0].dropped_turns >= 1
    assert events.index(trimmed[0]) < next(
        i for i, e in enumerate(events) if isinstance(e, TextDelta)
    )
    assert "left out to fit the 60-token context" in trimmed[0].describe()
    finished = events[-1]
    assert isinstance(finished, AnswerFinished)
    assert finished.dropped_turns == trimmed[0].dropped_turns
    assert finished.stats["dropped_turns"] == trimmed[0].dropped_turns
    assert session.chat_id is None


async def test_a_failing_store_is_reported_and_the_answer_still_streams(settings, store):
    engine = ScriptedEngine(["Still ", "here."])
    session = ChatSession.new(settings, store)
    store.close()  # every write now fails
    events = await collect(AnswerRunner(session, EnginePool(settings, factory_for(engine)), "Hi"))
    assert any(isinstance(e, HistoryError) for e in events)
    finished = events[-1]
    assert isinstance(finished, AnswerFinished)
    assert (finished.status, finished.text) == ("complete", "Still here.")


async def test_two_answers_run_side_by_side(settings):
    engines = [ScriptedEngine(["left"], delay=0.001), ScriptedEngine(["right"], delay=0.001)]
    runners = [
        AnswerRunner(ChatSession.new(settings, None), EnginePool(settings, factory_for(e)), "Q")
        for e in engines
    ]
    await asyncio.gather(*(collect(r) for r in runners))
    assert [r.finished.text for r in runners if r.finished] == ["left", "right"]


# --- the real model -------------------------------------------------------------------------


def _real_pool(settings, engine):  # type: ignore[no-untyped-def]
    return EnginePool(settings, lambda entry, s: engine)


@pytest.mark.slow
async def test_real_model_answer_stops_promptly_and_is_saved(settings, store, embedded_engine):
    session = ChatSession.new(settings, store)
    session.options.params.max_new_tokens = 400
    runner = AnswerRunner(
        session, _real_pool(settings, embedded_engine), "Write a long story about a dragon."
    )
    got_text = asyncio.Event()

    async def consume() -> None:
        async with aclosing(runner.events()) as events:
            async for event in events:
                if isinstance(event, TextDelta) and len(runner.text) > 20:
                    got_text.set()

    task = asyncio.ensure_future(consume())
    await asyncio.wait(
        [task, asyncio.ensure_future(got_text.wait())], return_when="FIRST_COMPLETED"
    )
    assert got_text.is_set(), "the model finished before it could be stopped"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    finished = runner.finished
    assert finished is not None and finished.status == "stopped"
    assert rows(store, session)[-1] == ("assistant", "stopped", finished.text)
    # the engine is free again: the next answer runs to the end
    events = await collect(
        AnswerRunner(session, _real_pool(settings, embedded_engine), "What is 2+2?")
    )
    last = events[-1]
    assert isinstance(last, AnswerFinished) and last.status == "complete"
    assert rows(store, session)[-1] == ("assistant", "complete", last.text)


@pytest.mark.slow
async def test_collection_answer_yields_sources_before_text(
    settings, store, isolated_env, embedded_engine
):
    from qa_support import facts_corpus, write_collection

    write_collection(isolated_env, "Facts", facts_corpus())
    session = ChatSession.new(settings, store)
    runner = AnswerRunner(
        session,
        _real_pool(settings, embedded_engine),
        "Who led the Zephyr project?",
        collection="Facts",
    )
    events = await collect(runner)
    kinds = [type(e) for e in events]
    assert kinds[:3] == [QuestionSaved, Loading, EngineReady] or kinds[:2] == [
        QuestionSaved,
        EngineReady,
    ]
    found = next(e for e in events if isinstance(e, SourcesFound))
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert events.index(found) < first_text
    assert found.passages[0].source.endswith("report.pdf")
    finished = events[-1]
    assert isinstance(finished, AnswerFinished) and finished.status == "complete"
    assert "Okafor" in finished.text
    assert finished.qa_result is not None and finished.sources == finished.qa_result.sources
    assert finished.stats["prompt_tokens"] > 0
    assert rows(store, session)[-1] == ("assistant", "complete", finished.text)
    assert session.turns[-1].question == "Who led the Zephyr project?"


@pytest.mark.slow  # the embedding model
async def test_collection_answer_with_a_scripted_model_sends_sources_then_text(
    settings, store, isolated_env
):
    from qa_support import facts_corpus, write_collection

    write_collection(isolated_env, "Facts", facts_corpus())
    engine = ScriptedEngine(["Dr. ", "Okafor."])
    session = ChatSession.new(settings, store)
    pool = EnginePool(settings, factory_for(engine))
    cache = CollectionCache()
    events = await collect(
        AnswerRunner(
            session, pool, "Who led the Zephyr project?", collection="Facts", collections=cache
        )
    )
    kinds = [type(e).__name__ for e in events]
    assert kinds[:4] == ["QuestionSaved", "Loading", "EngineReady", "SourcesFound"]
    assert kinds[4:] == ["TextDelta", "TextDelta", "AnswerFinished"]
    found = events[3]
    assert isinstance(found, SourcesFound)
    assert any("Okafor" in p.text for p in found.passages)
    # the retrieved passage is in the prompt the model got
    assert "Amara Okafor" in "\n".join(m.content for m in engine.requests[-1].messages)
    finished = events[-1]
    assert isinstance(finished, AnswerFinished) and finished.status == "complete"
    assert finished.qa_result is not None and finished.sources == finished.qa_result.sources
    assert rows(store, session)[-1] == ("assistant", "complete", "Dr. Okafor.")
    # the next question from the collection has the first turn as history
    await collect(
        AnswerRunner(
            session, pool, "And who joined in 2019?", collection="Facts", collections=cache
        )
    )
    sent = "\n".join(m.content for m in engine.requests[-1].messages)
    assert "Who led the Zephyr project?" in sent and "Dr. Okafor." in sent
