"""The engine contract (h2otui/engines/base.py), held against every engine.

Each case runs on the embedded llama.cpp model in-process and on each remote engine
against its loopback server: TGI (tests/servers/tgi_server.py), OpenAI-compatible
(the same server's ``/v1/chat/completions``, which has the fault knobs llama-cpp-python's
server lacks) and h2oGPT Gradio (tests/servers/h2ogpt_gradio.py).

* setup failures raise an :class:`EngineError` subclass from the first ``__anext__``
  with a message a user can act on;
* a failure after text was produced ends with ``Finished(ERROR)`` and keeps the text;
* cancelling the consumer stops generation within 0.5 s and nothing keeps generating;
* secrets (passwords, tokens, API keys) never reach an error, ``Finished.error``, a
  ``repr`` or anything printed or logged.

Remote engines share more (retries, failover); those cases run over TGI and OpenAI.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from h2otui.config import load_settings
from h2otui.engines import create_engine
from h2otui.engines.base import (
    Engine,
    EngineAuthError,
    EngineConnectionError,
    EngineError,
    Finished,
    FinishReason,
    GenerationRequest,
    Message,
    SamplingParams,
    TextDelta,
    collect,
)
from h2otui.engines.llamacpp import LlamaCppEngine
from h2otui.engines.threaded import GenerationJob
from tests.servers.h2ogpt_gradio import GradioServer
from tests.servers.tgi_server import MODEL_ID, FakeTGI, free_port

CANCEL_BOUND_S = 0.5  # the bound: cancellation is a correctness property
PASSWORD = "pw-CONTRACT-5b1d"
API_KEY = "sk-CONTRACT-8e2f"
H2OGPT_KEY = "h2ogpt-CONTRACT-KEY-77"

ENGINES = [
    pytest.param("llamacpp", marks=pytest.mark.slow),
    pytest.param("transformers", marks=pytest.mark.slow),
    pytest.param("ct2", marks=pytest.mark.slow),
    "tgi",
    "openai",
    pytest.param("gradio", marks=pytest.mark.slow),
]


# --- servers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tgi_server():
    server = FakeTGI().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tgi_server_b():
    server = FakeTGI().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gradio_server():
    server = GradioServer("--key", H2OGPT_KEY, "--auth", f"alice:{PASSWORD}").wait()
    yield server
    server.stop()


# --- one harness per engine: how to make it work, fail and hang ------------------------


def _engine(entry: dict[str, Any]) -> Engine:
    settings = load_settings(overrides={"models": [entry]})
    return create_engine(settings.model(entry["name"]), settings)


class FaultyLlamaCpp(LlamaCppEngine):
    """The real llama.cpp engine whose generation loop fails after a few pieces of text,
    as a model runtime does when it runs out of memory mid-answer."""

    fail_after = 3

    def _generate(self, job: GenerationJob, emit: Callable[[str], None]) -> FinishReason:
        emitted = 0

        def counting_emit(text: str) -> None:
            nonlocal emitted
            emit(text)
            emitted += 1
            if emitted == self.fail_after:
                raise RuntimeError("simulated fault: out of memory")

        return super()._generate(job, counting_emit)


@dataclass
class Harness:
    name: str
    #: a working engine (options passed to it)
    make: Callable[..., Engine]
    #: an engine whose setup fails, and a fragment of the message that says what to do
    make_broken: Callable[[], tuple[Engine, str]]
    #: arranges a failure after some text; returns (engine, request, expected partial text
    #: or None when any non-empty text will do, fragment of the error)
    failing_midway: Callable[[], tuple[Engine, GenerationRequest, str | None, str]]
    #: an engine and a request that keeps generating until cancelled, then a request
    #: the same engine must answer right after the cancel, and a fragment of its answer
    long_running: Callable[[], tuple[Engine, GenerationRequest, GenerationRequest, str]]
    #: after a cancel: waits until the backend has stopped (True) or gives up (False)
    backend_stopped: Callable[[Engine], Any]
    #: before the cancel: is the backend generating? (proves backend_stopped can fail)
    backend_busy: Callable[[Engine], bool]
    #: credentials the engine holds, which must never be shown
    secrets: list[str] = field(default_factory=list)
    #: an engine whose credentials the server refuses (None: the engine takes none)
    make_refused: Callable[[], Engine] | None = None


def ask(text: str, **params: Any) -> GenerationRequest:
    params.setdefault("max_new_tokens", 20)
    return GenerationRequest([Message("user", text)], SamplingParams(**params))


def _llamacpp(request: pytest.FixtureRequest) -> Harness:
    tmp: Path = request.getfixturevalue("tmp_path")
    embedded = {"name": "gemma3-270m", "model_path": "embedded:gemma3-270m-q4_k_m"}

    def broken() -> tuple[Engine, str]:
        bad = tmp / "not-a-model.gguf"
        bad.write_bytes(b"GGUF" + b"\0" * 64)
        return _engine({"name": "bad", "model_path": str(bad)}), "Is it a valid GGUF file?"

    def failing() -> tuple[Engine, GenerationRequest, str | None, str]:
        settings = load_settings()
        engine = FaultyLlamaCpp.from_entry(settings.model(), settings)
        story = GenerationRequest([], SamplingParams(max_new_tokens=200), prompt="Once upon a time")
        return engine, story, None, "RuntimeError: simulated fault: out of memory"

    def long_running() -> tuple[Engine, GenerationRequest, GenerationRequest, str]:
        story = GenerationRequest(
            [], SamplingParams(max_new_tokens=2000), prompt="Chapter 1.\n\nIt was"
        )
        paris = GenerationRequest(
            [Message("system", "auto"), Message("user", "What is the capital of France?")],
            SamplingParams(max_new_tokens=16),
        )
        settings = load_settings()
        return create_engine(settings.model(), settings), story, paris, "Paris"

    async def stopped(engine: Engine) -> bool:
        assert isinstance(engine, LlamaCppEngine)
        return not engine.generating  # the worker was joined: no wait needed

    def busy(engine: Engine) -> bool:
        assert isinstance(engine, LlamaCppEngine)
        return engine.generating

    return Harness(
        "llamacpp", lambda **o: _engine({**embedded, "options": o}), broken, failing,
        long_running, stopped, busy,
    )  # fmt: skip


def _tgi_like(request: pytest.FixtureRequest, kind: str) -> Harness:
    server: FakeTGI = request.getfixturevalue("tgi_server")
    server.reset()
    server.basic_auth = ("bob", PASSWORD)
    host = server.url.removeprefix("http://")

    def entry(server_string: str, **options: Any) -> dict[str, Any]:
        return {"name": kind, "inference_server": server_string, "options": options}

    def string(where: str) -> str:
        return string_with(where, PASSWORD)

    def string_with(where: str, password: str) -> str:
        if kind == "tgi":
            return f"http://{where}    bob    {password}"
        return f"vllm_chat:{where}    bob    {password}"  # no scheme: /v1 is added

    def make(**options: Any) -> Engine:
        return _engine(entry(string(host), **options))

    def broken() -> tuple[Engine, str]:
        dead = f"127.0.0.1:{free_port()}"
        return _engine(entry(string(dead), retries=0)), "cannot connect"

    def failing() -> tuple[Engine, GenerationRequest, str | None, str]:
        server.drop_after = 2
        return make(retries=2), ask("SAY: alpha beta gamma delta"), "alpha beta", "incomplete"

    def long_running() -> tuple[Engine, GenerationRequest, GenerationRequest, str]:
        server.stall_after = 2  # two words, then the server keeps the stream open
        return make(), ask("SAY: one two three four"), ask("SAY: again"), "again"

    async def stopped(engine: Engine) -> bool:
        return await asyncio.to_thread(server.wait_streams_closed, 10)

    def refused() -> Engine:
        return _engine(entry(string_with(host, "wrong-" + PASSWORD), retries=0))

    return Harness(
        kind, make, broken, failing, long_running, stopped,
        lambda _engine: server.open_streams == 1, [PASSWORD], refused,
    )  # fmt: skip


def _gradio(request: pytest.FixtureRequest) -> Harness:
    server: GradioServer = request.getfixturevalue("gradio_server")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("H2OGPT_KEY", H2OGPT_KEY)
    host = server.url.removeprefix("http://")

    def make(**options: Any) -> Engine:
        return _engine(
            {"name": "g", "inference_server": f"http://{host}:alice:{PASSWORD}", "options": options}
        )

    def broken() -> tuple[Engine, str]:
        dead = f"http://127.0.0.1:{free_port()}:alice:{PASSWORD}"
        engine = _engine({"name": "g", "inference_server": dead, "options": {"retries": 0}})
        return engine, "cannot connect"

    def failing() -> tuple[Engine, GenerationRequest, str | None, str]:
        # the server hangs after its first word: the stall timeout ends the answer
        engine = make(stall_timeout=1.0, retries=0)
        return engine, ask("STALL please", max_new_tokens=64), "Echo:", "stall"

    def long_running() -> tuple[Engine, GenerationRequest, GenerationRequest, str]:
        return make(), ask("STALL please", max_new_tokens=64), ask("SAY: next"), "next"

    async def stopped(engine: Engine) -> bool:
        # the Gradio job runs in the server's worker thread, out of h2otui's sight: the
        # engine asked the server to cancel it; the follow-up answer shows nothing blocks
        return True

    def refused() -> Engine:
        wrong = f"http://{host}:alice:wrong-{PASSWORD}"
        return _engine({"name": "g", "inference_server": wrong, "options": {"retries": 0}})

    return Harness(
        "gradio", make, broken, failing, long_running, stopped, lambda _engine: True,
        [PASSWORD, H2OGPT_KEY], refused,
    )  # fmt: skip


def _inprocess(request: pytest.FixtureRequest, kind: str) -> Harness:
    """The transformers and ct2 engines on SmolLM2-135M-Instruct (tests/inproc_support.py)."""
    from h2otui.engines.ct2_engine import CT2Engine
    from h2otui.engines.threaded import ThreadedEngine
    from h2otui.engines.transformers_engine import TransformersEngine
    from tests.inproc_support import smollm2_dir

    tmp: Path = request.getfixturevalue("tmp_path")
    model = smollm2_dir()
    base = {"name": "smol", "engine": kind, "model_path": str(model)}
    faulty_base = TransformersEngine if kind == "transformers" else CT2Engine

    class Faulty(faulty_base):  # type: ignore[valid-type, misc]
        """The real engine whose generation fails after a few pieces (an OOM mid-answer)."""

        def _generate(self, job: GenerationJob, emit: Callable[[str], None]) -> FinishReason:
            emitted = 0

            def counting_emit(text: str) -> None:
                nonlocal emitted
                emit(text)
                emitted += 1
                if emitted == 3:
                    raise RuntimeError("simulated fault: out of memory")

            return super()._generate(job, counting_emit)

    def broken() -> tuple[Engine, str]:
        odd = tmp / "odd-model"
        odd.mkdir(exist_ok=True)
        (odd / "config.json").write_text('{"model_type": "no-such-arch-xyz"}')
        return _engine({**base, "model_path": str(odd)}), "upgrade transformers"

    def failing() -> tuple[Engine, GenerationRequest, str | None, str]:
        settings = load_settings(overrides={"models": [base]})
        engine = Faulty.from_entry(settings.model("smol"), settings)
        story = GenerationRequest([], SamplingParams(max_new_tokens=200), prompt="Once upon a time")
        return engine, story, None, "RuntimeError: simulated fault: out of memory"

    def long_running() -> tuple[Engine, GenerationRequest, GenerationRequest, str]:
        story = GenerationRequest(
            [], SamplingParams(max_new_tokens=2000), prompt="Chapter 1.\n\nIt was"
        )
        # a follow-up every quantization answers alike (int8 ct2 drifts on trivia)
        count = GenerationRequest([], SamplingParams(max_new_tokens=8), prompt="1, 2, 3, 4,")
        return _engine(base), story, count, "5"

    async def stopped(engine: Engine) -> bool:
        assert isinstance(engine, ThreadedEngine)
        return not engine.generating  # the worker was joined: no wait needed

    def busy(engine: Engine) -> bool:
        assert isinstance(engine, ThreadedEngine)
        return engine.generating

    return Harness(
        kind, lambda **o: _engine({**base, "options": o}), broken, failing, long_running,
        stopped, busy,
    )  # fmt: skip


@pytest.fixture(params=ENGINES)
def contract(request: pytest.FixtureRequest) -> Harness:
    name = request.param
    if name == "llamacpp":
        return _llamacpp(request)
    if name in ("transformers", "ct2"):
        return _inprocess(request, name)
    if name == "gradio":
        return _gradio(request)
    return _tgi_like(request, name)


# --- (a) setup failures ------------------------------------------------------------------


async def test_setup_failure_raises_from_the_first_event(contract: Harness) -> None:
    engine, advice = contract.make_broken()
    stream = engine.stream(ask("hello"))
    try:
        with pytest.raises(EngineError) as err:
            await asyncio.wait_for(anext(stream), 60)
    finally:
        await stream.aclose()
        await engine.aclose()
    assert advice in str(err.value)
    for secret in contract.secrets:
        assert secret not in str(err.value)


# --- (b) failure after text was produced -----------------------------------------------


async def test_failure_after_text_keeps_the_partial_answer(contract: Harness) -> None:
    engine, request, partial, error = contract.failing_midway()
    try:
        events = [e async for e in _bounded(engine.stream(request), 60)]
    finally:
        await engine.aclose()
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    finished = events[-1]
    assert isinstance(finished, Finished), events[-3:]
    assert finished.reason is FinishReason.ERROR
    assert error in (finished.error or "")
    assert text.strip()
    if partial is not None:
        assert text == partial


async def _bounded(stream: AsyncIterator[Any], seconds: float) -> AsyncIterator[Any]:
    async with asyncio.timeout(seconds):
        async for event in stream:
            yield event


# --- (c) cancellation ---------------------------------------------------------------------


async def test_cancel_stops_generation_promptly(contract: Harness) -> None:
    engine, request, follow_up, expected = contract.long_running()
    got: list[str] = []
    started = asyncio.Event()

    async def consume() -> None:
        async for event in engine.stream(request):
            if isinstance(event, TextDelta):
                got.append(event.text)
                if len(got) >= 2 or (contract.name == "gradio" and got):
                    started.set()

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(started.wait(), 60)
        assert contract.backend_busy(engine)
        start = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        elapsed = time.perf_counter() - start
        assert elapsed < CANCEL_BOUND_S, f"{contract.name}: cancel took {elapsed:.3f} s"
        assert await contract.backend_stopped(engine), "the backend kept generating"
        if contract.name in ("tgi", "openai"):
            assert "".join(got) == "one two"
        # the engine is usable right away (for llama.cpp: the same greedy answer as ever)
        again = await asyncio.wait_for(collect(engine, follow_up), 60)
        assert expected in again.text
        if contract.name == "gradio":
            # the stopped job's reader thread ends too: gradio_client's own iterator spun
            # forever on a cancelled job, burning CPU for the life of the process
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and _gradio_threads():
                await asyncio.sleep(0.05)
            assert not _gradio_threads()
    finally:
        await engine.aclose()


def _gradio_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith("gradio-")]


# --- (d) secrets --------------------------------------------------------------------------


async def test_secrets_never_shown(
    contract: Harness, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    if not contract.secrets:
        pytest.skip(f"the {contract.name} engine takes no credentials")
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    engine, _advice = contract.make_broken()
    with pytest.raises(EngineError) as err:
        await asyncio.wait_for(collect(engine, ask("hello")), 60)
    shown += [str(err.value), repr(err.value), repr(engine), repr(engine.options)]
    shown += [repr(s) for s in getattr(engine, "specs", [])]
    await engine.aclose()
    # a working engine too: its repr, and an answer cut short by a failure
    engine, request, _partial, _error = contract.failing_midway()
    try:
        done = await asyncio.wait_for(collect(engine, request), 60)
    finally:
        await engine.aclose()
    shown += [done.error or "", repr(engine), repr(engine.options), repr(done)]
    shown += [repr(s) for s in getattr(engine, "specs", [])]
    if contract.make_refused is not None:
        # wrong credentials: the refusal names the problem, never the secret
        wrong = contract.make_refused()
        with pytest.raises(EngineAuthError) as auth:
            try:
                await asyncio.wait_for(collect(wrong, ask("SAY: x")), 60)
            finally:
                await wrong.aclose()
        shown += [str(auth.value), repr(wrong), repr(wrong.options)]
    out = capsys.readouterr()
    shown += [out.out, out.err, caplog.text]
    for secret in contract.secrets:
        for text in shown:
            assert secret not in text


# --- what the remote engines share: retries and failover before the first token -------

REMOTE = ["tgi", "openai"]


@pytest.fixture(params=REMOTE)
def remote(request: pytest.FixtureRequest, tgi_server: FakeTGI, tgi_server_b: FakeTGI):
    kind = request.param
    tgi_server.reset()
    tgi_server_b.reset()

    def make(urls: list[str], **options: Any) -> Engine:
        strings = (
            urls if kind == "tgi" else [f"vllm_chat:{u.removeprefix('http://')}" for u in urls]
        )
        return _engine({"name": kind, "inference_server": strings, "options": options})

    path = "/generate_stream" if kind == "tgi" else "/v1/chat/completions"
    return make, path, tgi_server, tgi_server_b


async def test_served_model_is_discovered_and_the_answer_streamed(remote) -> None:
    make, path, server, _ = remote
    engine = make([server.url])
    try:
        await engine.load()
        assert engine.served_model == MODEL_ID  # type: ignore[attr-defined]
        done = await collect(engine, ask("SAY: hello from the server"))
    finally:
        await engine.aclose()
    assert done.text == "hello from the server" and done.finish_reason is FinishReason.STOP
    assert server.paths[-1] == path
    if path == "/v1/chat/completions":
        assert server.requests[-1]["model"] == MODEL_ID and server.requests[-1]["stream"] is True


async def test_stall_mid_stream_keeps_the_partial_answer(remote) -> None:
    make, _path, server, _ = remote
    engine = make([server.url], stall_timeout=0.5, retries=0)
    await engine.load()
    server.stall_after = 2
    try:
        done = await collect(engine, ask("SAY: one two three four"))
    finally:
        await engine.aclose()
    assert done.text == "one two"
    assert done.finish_reason is FinishReason.ERROR
    assert "stall" in (done.error or "") and "incomplete" in (done.error or "")


async def test_disconnect_mid_stream_is_never_retried(remote) -> None:
    make, path, server, _ = remote
    engine = make([server.url], retries=3)
    await engine.load()
    server.drop_after = 3
    try:
        done = await collect(engine, ask("SAY: alpha beta gamma delta epsilon"))
    finally:
        await engine.aclose()
    assert done.text == "alpha beta gamma"
    assert done.finish_reason is FinishReason.ERROR and "incomplete" in (done.error or "")
    assert server.paths.count(path) == 1  # never retried after output


async def test_429_and_503_are_retried_before_the_first_token(remote) -> None:
    make, path, server, _ = remote
    engine = make([server.url], retries=2, backoff=0.01)
    await engine.load()
    server.fail_statuses[:] = [429, 503]
    try:
        done = await collect(engine, ask("SAY: third time lucky"))
    finally:
        await engine.aclose()
    assert done.text == "third time lucky"
    assert server.paths.count(path) == 3


async def test_failover_and_round_robin(remote) -> None:
    make, path, a, b = remote
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    engine = make([a.url, dead, b.url], retries=0)
    try:
        for i in range(4):
            done = await collect(engine, ask(f"SAY: reply {i}", max_new_tokens=10))
            assert done.text == f"reply {i}" and done.finish_reason is FinishReason.STOP
        dead_endpoint = engine.pool.endpoints[1]  # type: ignore[attr-defined]
        assert dead_endpoint.failures >= 1 and "cannot connect" in (dead_endpoint.last_error or "")
    finally:
        await engine.aclose()
    assert a.paths.count(path) == 2 and b.paths.count(path) == 2


async def test_every_endpoint_down_is_a_connection_error(remote) -> None:
    make, _path, _a, _b = remote
    engine = make([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"])
    with pytest.raises(EngineConnectionError, match="no endpoint answered"):
        try:
            await collect(engine, ask("SAY: x"))
        finally:
            await engine.aclose()
