"""The Gradio engine against a real Gradio app exposing h2oGPT's ``/submit_nochat_api``.

Two servers run for the module (tests/servers/h2ogpt_gradio.py): one requiring an
h2ogpt_key, one also behind Gradio's login (h2oGPT's ``host:port:user:password`` form).
A stall mid-answer, cancellation and secrets are in tests/test_engine_contract.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from h2otui.config import load_settings
from h2otui.engines import create_engine
from h2otui.engines.base import (
    EngineAuthError,
    FinishReason,
    GenerationRequest,
    Message,
    SamplingParams,
    TextDelta,
    collect,
)
from tests.servers.h2ogpt_gradio import GradioServer

pytestmark = pytest.mark.slow

KEY = "h2ogpt-KEY-51d2"
PASSWORD = "gr-PASS-7e3a"


@pytest.fixture(scope="module")
def gradio_servers():
    # started together: each takes a few seconds to import gradio
    open_server = GradioServer("--key", KEY)
    login_server = GradioServer("--key", KEY, "--auth", f"alice:{PASSWORD}")
    try:
        yield open_server.wait(), login_server.wait()
    finally:
        open_server.stop()
        login_server.stop()


@pytest.fixture(autouse=True)
def h2ogpt_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("H2OGPT_KEY", KEY)


def make_engine(server: str, **options: Any):
    entry = {"name": "g", "inference_server": server, "options": options}
    settings = load_settings(overrides={"models": [entry]})
    return create_engine(settings.model("g"), settings)


def conversation(question: str, **params: Any) -> GenerationRequest:
    params.setdefault("max_new_tokens", 64)
    return GenerationRequest(
        [
            Message("system", "Be brief."),
            Message("user", "Hi"),
            Message("assistant", "Hello!"),
            Message("user", question),
        ],
        SamplingParams(**params),
    )


async def test_streams_the_answer_and_reads_sources(gradio_servers) -> None:
    server, _ = gradio_servers
    engine = make_engine(f"gradio:{server.url}")
    deltas: list[str] = []
    try:
        await engine.load()
        async for event in engine.stream(conversation("What is h2oGPT?")):
            if isinstance(event, TextDelta):
                deltas.append(event.text)
    finally:
        await engine.aclose()
    text = "".join(deltas)
    assert (
        text
        == "Echo: What is h2oGPT? [langchain_mode=LLM history=1 max_new_tokens=64 system=Be brief.]"
    )
    assert len(deltas) > 3  # partial outputs streamed
    assert engine.last_sources and engine.last_sources[0]["source"] == "user_guide.pdf"
    assert KEY not in text


async def test_langchain_mode_and_max_new_tokens_reach_the_server(gradio_servers) -> None:
    server, _ = gradio_servers
    engine = make_engine(f"gradio:{server.url}", langchain_mode="UserData", stream=False)
    try:
        done = await collect(engine, conversation("Q", max_new_tokens=5))
    finally:
        await engine.aclose()
    assert done.text == "Echo: Q [langchain_mode=UserData history=1 max_new_tokens=5"  # 5 words
    assert done.finish_reason is FinishReason.STOP


async def test_plain_url_is_detected_as_gradio_like_h2ogpt(gradio_servers) -> None:
    server, _ = gradio_servers
    engine = make_engine(server.url)  # no prefix: parsed as TGI, found to be Gradio on connect
    try:
        await engine.load()
        done = await collect(engine, conversation("SAY: detected"))
    finally:
        await engine.aclose()
    assert done.text == "detected"
    assert engine.engine_name == "gradio"


async def test_login_with_h2ogpt_user_password_form(gradio_servers) -> None:
    _, server = gradio_servers
    host = server.url.removeprefix("http://")
    engine = make_engine(f"http://{host}:alice:{PASSWORD}")
    try:
        done = await collect(engine, conversation("SAY: logged in"))
    finally:
        await engine.aclose()
    assert done.text == "logged in"
    bad = make_engine(f"http://{host}:alice:wrong-{PASSWORD}", retries=0)
    with pytest.raises(EngineAuthError) as err:
        try:
            await bad.load()
        finally:
            await bad.aclose()
    assert PASSWORD not in str(err.value)


async def test_wrong_h2ogpt_key_is_an_auth_error(gradio_servers, monkeypatch) -> None:
    server, _ = gradio_servers
    monkeypatch.setenv("H2OGPT_KEY", "wrong-" + KEY)
    engine = make_engine(f"gradio:{server.url}")
    with pytest.raises(EngineAuthError, match="h2ogpt key") as err:
        try:
            await collect(engine, conversation("hello"))
        finally:
            await engine.aclose()
    assert KEY not in str(err.value)


async def test_client_side_stop_sequence(gradio_servers) -> None:
    server, _ = gradio_servers
    engine = make_engine(f"gradio:{server.url}")
    try:
        done = await collect(engine, conversation("SAY: one two END three", stop=["END"]))
    finally:
        await engine.aclose()
    assert done.text == "one two " and done.finish_reason is FinishReason.STOP
