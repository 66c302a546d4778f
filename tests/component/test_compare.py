"""Compare, below the screen: ``h2otui compare`` and :class:`CompareSession` with scripted
engines (the states: concurrency, queueing, one failing model, follow-ups, history,
continue-with), retrieval once from a real LanceDB collection, and two real endpoints
(the embedded model in-process and llama-cpp-python's server on loopback)."""

from __future__ import annotations

import asyncio
import io
import json
import time
from contextlib import aclosing

import pytest
from compare_support import LOCAL, REMOTE, compare_settings, engines_for, factory
from tui_fakes import ScriptedEngine

from h2otui.chat.compare import CompareError, CompareSession, Queued, rounds_from_messages
from h2otui.chat.events import AnswerFinished, SourcesFound
from h2otui.commands.compare import run_compare
from h2otui.commands.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from h2otui.engines.base import EngineError
from h2otui.engines.pool import EnginePool
from h2otui.store.chats import ChatStore


class TimedEngine(ScriptedEngine):
    """Records when each stream ran, to check which answers overlapped."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.spans: list[tuple[float, float]] = []

    async def stream(self, request):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            async for event in super().stream(request):
                yield event
        finally:
            self.spans.append((start, time.perf_counter()))


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def cli(settings, question, models, engines, **kwargs):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    code = run_compare(
        settings, question, models=models, engine_factory=factory(engines), out=out, **kwargs
    )
    return code, out.getvalue()


def test_cli_json_has_an_entry_per_model_with_usage_and_timings() -> None:
    settings = compare_settings()
    names = [LOCAL[0], LOCAL[1], REMOTE[0]]
    engines = {n: TimedEngine((f"{n}", " says", " hi."), model_name=n, delay=0.02) for n in names}
    code, out = cli(settings, "Hello?", names, engines, as_json=True)
    assert code == EXIT_OK
    obj = json.loads(out)
    assert obj["question"] == "Hello?" and obj["sources"] == []
    assert [a["model"] for a in obj["answers"]] == names
    for a in obj["answers"]:
        assert a["answer"] == f"{a['model']} says hi."
        assert a["status"] == "complete" and a["finish_reason"] == "stop"
        assert a["usage"]["completion_tokens"] == 3 and a["usage"]["prompt_tokens"] > 0
        assert a["timings"]["time_to_first_token_s"] is not None
        assert a["timings"]["tokens_per_s"] > 0
    # in-process models took turns (local_concurrency = 1); the remote one ran alongside
    (a,), (b,), (c,) = (engines[n].spans for n in names)
    assert not overlap(a, b)
    assert overlap(c, a) or overlap(c, b)
    queued = {x["model"]: x["timings"]["queued_s"] for x in obj["answers"]}
    assert queued[LOCAL[1]] > 0 and queued[REMOTE[0]] == 0


def test_local_concurrency_lets_local_models_run_at_once() -> None:
    settings = compare_settings(compare={"local_concurrency": 2})
    engines = {n: TimedEngine(("x",) * 5, model_name=n, delay=0.02) for n in LOCAL}
    code, _ = cli(settings, "Hi", list(LOCAL), engines, as_json=True)
    assert code == EXIT_OK
    assert overlap(engines[LOCAL[0]].spans[0], engines[LOCAL[1]].spans[0])


def test_cli_text_prints_the_answers_one_after_another_in_order() -> None:
    settings = compare_settings()
    names = [REMOTE[1], LOCAL[0]]
    code, out = cli(settings, "Hello?", names, engines_for(names))
    assert code == EXIT_OK
    first, second = out.index(f"=== {REMOTE[1]} ==="), out.index(f"=== {LOCAL[0]} ===")
    assert first < out.index(f"{REMOTE[1]} says hi.") < second < out.index(f"{LOCAL[0]} says hi.")
    assert "3 tokens" in out


def test_one_failing_model_does_not_stop_the_others() -> None:
    settings = compare_settings()
    names = [LOCAL[0], REMOTE[0], REMOTE[1]]
    engines = engines_for(names)
    engines[REMOTE[0]].fail = EngineError("server at 127.0.0.1:9 refused the connection")
    code, out = cli(settings, "Hello?", names, engines, as_json=True)
    assert code == EXIT_ERROR
    answers = {a["model"]: a for a in json.loads(out)["answers"]}
    assert answers[REMOTE[0]]["status"] == "error"
    assert "refused" in answers[REMOTE[0]]["error"]
    assert answers[LOCAL[0]]["answer"] == f"{LOCAL[0]} says hi."
    assert answers[REMOTE[1]]["status"] == "complete"


@pytest.mark.parametrize(
    "models",
    [[LOCAL[0]], [LOCAL[0], LOCAL[0]], [LOCAL[0], "nope"], [*LOCAL, *REMOTE, "gemma3-270m"]],
)
def test_bad_model_lists_are_usage_errors(models, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out = cli(compare_settings(), "Hi", models, {})
    assert code == EXIT_USAGE and out == ""
    assert "--models" in capsys.readouterr().err


async def run_all(session: CompareSession, runners) -> dict[str, list]:  # type: ignore[no-untyped-def]
    got: dict[str, list] = {}

    async def one(model: str) -> None:
        async with aclosing(session.lane_events(runners[model])) as events:
            got[model] = [e async for e in events]

    await asyncio.gather(*(one(m) for m in runners))
    return got


async def test_saved_as_one_compare_chat_follow_ups_use_each_models_history(
    isolated_env,
) -> None:
    settings = compare_settings()
    names = [LOCAL[0], REMOTE[0]]
    engines = engines_for(names)
    pool = EnginePool(settings, factory(engines))
    store = ChatStore.open(settings.data_path)
    session = CompareSession(settings, store, names)
    got = await run_all(session, session.ask(pool, "First?"))
    assert isinstance(got[LOCAL[0]][-1], AnswerFinished)
    await run_all(session, session.ask(pool, "Second?"))
    # each model's follow-up carries its own first answer, not the other's
    for n in names:
        prompt = " ".join(m.content for m in engines[n].requests[-1].messages)
        assert f"{n} says hi." in prompt
        other = next(o for o in names if o != n)
        assert f"{other} says" not in prompt
    chats = store.list_chats()
    assert [c.kind for c in chats] == ["compare"]
    assert chats[0].meta["models"] == names and chats[0].title == "First?"
    rounds = rounds_from_messages(store.messages(chats[0].id))
    assert [r.question for r in rounds] == ["First?", "Second?"]
    assert all(set(r.answers) == set(names) for r in rounds)
    assert rounds[0].answers[REMOTE[0]].meta["params"]["max_new_tokens"] > 0

    # reopened: the grid's rounds and each model's history come back
    again, rounds2, warnings = CompareSession.restore(settings, store, chats[0].id)
    assert warnings == [] and again.models == names
    assert [t.answer for t in again.lanes[LOCAL[0]].turns] == [f"{LOCAL[0]} says hi."] * 2
    assert len(rounds2) == 2

    # continue with one model: a normal chat holding that model's side only
    chat_id = again.continue_with(REMOTE[0])
    assert chat_id is not None
    chat = store.get_chat(chat_id)
    assert chat.kind == "chat" and chat.model == REMOTE[0]
    contents = [(m.role, m.content) for m in store.messages(chat_id)]
    assert contents == [
        ("user", "First?"),
        ("assistant", f"{REMOTE[0]} says hi."),
        ("user", "Second?"),
        ("assistant", f"{REMOTE[0]} says hi."),
    ]
    await pool.aclose()
    store.close()


async def test_stopped_and_queued_lanes(isolated_env) -> None:
    """Cancelling a streaming lane keeps its partial answer as ``stopped``; a lane
    cancelled while queued never starts and saves nothing."""
    settings = compare_settings()
    engines = engines_for(LOCAL, endless=True, delay=0.01)
    pool = EnginePool(settings, factory(engines))
    store = ChatStore.open(settings.data_path)
    session = CompareSession(settings, store, list(LOCAL))
    runners = session.ask(pool, "Go")
    seen: dict[str, list] = {m: [] for m in LOCAL}

    async def one(model: str) -> None:
        async with aclosing(session.lane_events(runners[model])) as events:
            async for e in events:
                seen[model].append(e)

    tasks = {m: asyncio.ensure_future(one(m)) for m in LOCAL}
    while engines[LOCAL[0]].produced < 3:
        await asyncio.sleep(0.01)
    assert any(isinstance(e, Queued) for e in seen[LOCAL[1]])
    for t in tasks.values():
        t.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    assert runners[LOCAL[0]].finished.status == "stopped"
    assert runners[LOCAL[1]].finished is None
    answers = [m for m in store.messages(session.chat_id) if m.role == "assistant"]
    assert [(m.model, m.status) for m in answers] == [(LOCAL[0], "stopped")]
    assert answers[0].content
    await pool.aclose()
    store.close()


async def test_chats_export_writes_every_answer_with_its_status(isolated_env) -> None:
    from h2otui.commands.chats import export_chat

    settings = compare_settings()
    names = [LOCAL[0], REMOTE[0], REMOTE[1]]
    engines = engines_for(names)
    engines[REMOTE[1]].fail = EngineError("server gone")
    pool = EnginePool(settings, factory(engines))
    with ChatStore.open(settings.data_path) as store:
        session = CompareSession(settings, store, names)
        await run_all(session, session.ask(pool, "Export me?"))
        chat_id = session.chat_id
    await pool.aclose()
    md, js = io.StringIO(), io.StringIO()
    assert export_chat(settings, chat_id, "md", out=md) == 0
    assert export_chat(settings, chat_id, "json", out=js) == 0
    text = md.getvalue()
    assert f"*Compare: {', '.join(names)}" in text
    assert f"## {LOCAL[0]}\n\n{LOCAL[0]} says hi." in text
    assert f"## {REMOTE[1]} (error)" in text and "server gone" in text
    exported = json.loads(js.getvalue())
    assert exported["chat"]["kind"] == "compare"
    answers = [m for m in exported["messages"] if m["role"] == "assistant"]
    question = next(m for m in exported["messages"] if m["role"] == "user")
    assert sorted(a["model"] for a in answers) == sorted(names)
    assert {a["reply_to"] for a in answers} == {question["id"]}


def test_a_missing_collection_is_one_usage_error(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out = cli(compare_settings(), "Hi", list(REMOTE), {}, collection="nope")
    assert code == EXIT_USAGE and out == ""
    err = capsys.readouterr().err
    assert err.count("nope") >= 1 and err.count("error:") == 1


def test_compare_session_rejects_bad_models() -> None:
    with pytest.raises(CompareError, match="2 to 4"):
        CompareSession(compare_settings(), None, [LOCAL[0]])


@pytest.mark.slow
async def test_retrieval_runs_once_and_every_model_gets_the_same_sources(isolated_env) -> None:
    from qa_support import facts_corpus, write_collection

    settings = compare_settings()
    write_collection(settings.data_path, "facts", facts_corpus())
    names = [LOCAL[0], REMOTE[0], REMOTE[1]]
    pool = EnginePool(settings, factory(engines_for(names)))
    session = CompareSession(settings, None, names, collection="facts")
    got = await run_all(session, session.ask(pool, "How many electric vans does the fleet have?"))
    found = [next(e for e in got[n] if isinstance(e, SourcesFound)) for n in names]
    texts = [[p.text for p in f.passages] for f in found]
    assert texts[0] and texts[0] == texts[1] == texts[2]
    assert "42 electric vans" in texts[0][0]
    (shared,) = session.collections._shared.values()
    assert shared.searches == 1
    await pool.aclose()

    # the CLI: the sources once at the top, the same in every model's entry
    code, out = await asyncio.to_thread(
        cli, settings, "How many electric vans?", names, engines_for(names),
        collection="facts", as_json=True,
    )  # fmt: skip
    assert code == EXIT_OK
    obj = json.loads(out)
    assert obj["collection"] == "facts" and "42 electric vans" in obj["sources"][0]["text"]
    assert all(a["sources"] == obj["sources"] for a in obj["answers"])


@pytest.mark.slow
def test_two_real_endpoints_answer_one_question(shared_models_dir, isolated_env) -> None:
    """The embedded model in-process and llama-cpp-python's server on loopback."""
    from tests.servers.llama_server import LlamaServer, embedded_model_path

    server = LlamaServer(embedded_model_path(shared_models_dir), n_ctx=512).start()
    try:
        from h2otui.config import load_settings

        remote = {
            "name": "served",
            "inference_server": f"vllm:{server.url.removeprefix('http://')}",
            "base_model": "gemma3-270m",
            "prompt_type": "plain_qa",
        }
        settings = load_settings(
            overrides={"models": [remote], "generation": {"max_new_tokens": 8}}
        )
        out = io.StringIO()
        code = run_compare(
            settings,
            "What is the capital of France?",
            models=["gemma3-270m", "served"],
            as_json=True,
            out=out,
        )
    finally:
        server.stop()
    assert code == EXIT_OK, out.getvalue()
    answers = json.loads(out.getvalue())["answers"]
    assert [a["model"] for a in answers] == ["gemma3-270m", "served"]
    for a in answers:
        assert a["status"] == "complete" and a["answer"].strip()
        assert a["usage"]["completion_tokens"] > 0
