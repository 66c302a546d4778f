"""The OpenAI-compatible engine when the server misbehaves.

llama-cpp-python's server cannot be told to stall or drop a stream, so these run against
the loopback TGI server's OpenAI-style messages API (``/v1/chat/completions``, which real
TGI serves too), whose knobs can.
"""

from __future__ import annotations

from typing import Any

import pytest

from h2otui.config import load_settings
from h2otui.engines import create_engine
from h2otui.engines.base import (
    EngineConnectionError,
    FinishReason,
    GenerationRequest,
    Message,
    SamplingParams,
    collect,
)
from tests.servers.tgi_server import MODEL_ID, FakeTGI, free_port


@pytest.fixture(scope="module")
def servers():
    a, b = FakeTGI().start(), FakeTGI().start()
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture
def tgi(servers):
    for s in servers:
        s.reset()
    return servers[0]


def make_engine(servers: Any, **options: Any):
    if isinstance(servers, str):
        servers = [servers]
    listed = [f"vllm_chat:{s.removeprefix('http://')}" for s in servers]
    entry = {"name": "o", "inference_server": listed, "options": options}
    settings = load_settings(overrides={"models": [entry]})
    return create_engine(settings.model("o"), settings)


def ask(text: str) -> GenerationRequest:
    return GenerationRequest([Message("user", text)], SamplingParams(max_new_tokens=20))


async def run(engine, request: GenerationRequest):
    try:
        return await collect(engine, request)
    finally:
        await engine.aclose()


async def test_served_model_discovered_and_chat_streamed(tgi: FakeTGI) -> None:
    engine = make_engine(tgi.url)
    done = await run(engine, ask("SAY: hello from chat"))
    assert engine.served_model == MODEL_ID
    assert done.text == "hello from chat" and done.finish_reason is FinishReason.STOP
    assert tgi.requests[-1]["model"] == MODEL_ID and tgi.requests[-1]["stream"] is True


async def test_stall_mid_stream_keeps_the_partial_answer(tgi: FakeTGI) -> None:
    engine = make_engine(tgi.url, stall_timeout=0.5, retries=0)
    await engine.load()
    tgi.stall_after = 2
    done = await run(engine, ask("SAY: one two three four"))
    assert done.text == "one two"
    assert done.finish_reason is FinishReason.ERROR
    assert "stall" in (done.error or "") and "incomplete" in (done.error or "")


async def test_disconnect_mid_stream_keeps_the_partial_answer(tgi: FakeTGI) -> None:
    engine = make_engine(tgi.url, retries=2)
    await engine.load()
    tgi.drop_after = 2
    done = await run(engine, ask("SAY: alpha beta gamma delta"))
    assert done.text == "alpha beta"
    assert done.finish_reason is FinishReason.ERROR and "incomplete" in (done.error or "")
    assert tgi.paths.count("/v1/chat/completions") == 1  # never retried after output


async def test_429_and_503_retried_then_answered(tgi: FakeTGI) -> None:
    engine = make_engine(tgi.url, retries=2, backoff=0.01)
    await engine.load()
    tgi.fail_statuses[:] = [429, 503]
    done = await run(engine, ask("SAY: third time"))
    assert done.text == "third time"
    assert tgi.paths.count("/v1/chat/completions") == 3


async def test_failover_and_round_robin(servers) -> None:
    a, b = servers
    for s in servers:
        s.reset()
    dead = f"http://127.0.0.1:{free_port()}"
    engine = make_engine([a.url, dead, b.url], retries=0)
    for i in range(4):
        done = await collect(engine, ask(f"SAY: reply {i}"))
        assert done.text == f"reply {i}"
    await engine.aclose()
    assert a.paths.count("/v1/chat/completions") == 2
    assert b.paths.count("/v1/chat/completions") == 2


async def test_every_endpoint_down_is_a_connection_error() -> None:
    engine = make_engine([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"])
    with pytest.raises(EngineConnectionError, match="no endpoint answered"):
        await run(engine, ask("SAY: x"))
