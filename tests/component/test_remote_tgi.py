"""The TGI engine against a loopback server speaking TGI's HTTP API (tests/servers).

Covers streaming, parameter mapping (the server validates like TGI's router does),
stop sequences beyond the server's limit, special tokens, basic auth, the stall timeout
through keep-alive comments, error events, each error status, TLS, and that no secret
reaches any CLI output. What every engine shares (setup failures, partial answers,
cancellation, secrets) and what remote engines share (retries, failover, round robin,
stalls and disconnects mid-stream) is in tests/test_engine_contract.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from h2otui.config import load_settings
from h2otui.engines import create_engine
from h2otui.engines.base import (
    EngineAuthError,
    EngineConnectionError,
    EngineRequestError,
    FinishReason,
    GenerationRequest,
    Message,
    ModelNotFoundError,
    SamplingParams,
    TextDelta,
    collect,
)
from tests.servers.tgi_server import MODEL_ID, FakeTGI, free_port

SECRET = "pw-S3CRET-9f8e"


@pytest.fixture(scope="module")
def servers():
    a, b = FakeTGI().start(), FakeTGI().start()
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture
def tgi(servers):
    a, b = servers
    a.reset()
    b.reset()
    return a


def make_engine(servers: Any, model: str = "t", **options: Any):
    entry: dict[str, Any] = {"name": model, "inference_server": servers, "options": options}
    settings = load_settings(overrides={"models": [entry]})
    return create_engine(settings.model(model), settings)


def ask(text: str, **params: Any) -> GenerationRequest:
    params.setdefault("max_new_tokens", 20)  # fits next to the prompt (max_total_tokens 256)
    return GenerationRequest([Message("user", text)], SamplingParams(**params))


async def run(engine, request: GenerationRequest):
    try:
        return await collect(engine, request)
    finally:
        await engine.aclose()


async def test_streams_tokens_and_learns_the_server(tgi: FakeTGI) -> None:
    engine = make_engine(tgi.url)
    await engine.load()
    assert engine.served_model == MODEL_ID
    assert engine.context_length == tgi.max_total_tokens
    assert engine.prompt_type == "human_bot"  # h2oGPT's type for the served model
    deltas = []
    async for event in engine.stream(ask("SAY: Paris is the capital of France", max_new_tokens=30)):
        if isinstance(event, TextDelta):
            deltas.append(event.text)
    await engine.aclose()
    assert "".join(deltas) == "Paris is the capital of France"
    assert len(deltas) > 3  # streamed token by token, the special </s> skipped
    sent = tgi.requests[-1]
    assert sent["inputs"] == "<human>: SAY: Paris is the capital of France\n<bot>:"
    assert sent["parameters"]["do_sample"] is False and "temperature" not in sent["parameters"]
    assert tgi.paths[-1] == "/generate_stream"


async def test_generate_without_streaming(tgi: FakeTGI) -> None:
    done = await run(
        make_engine(tgi.url, stream=False), ask("SAY: one answer END more", stop=["END"])
    )
    assert done.text == "one answer "
    assert done.finish_reason is FinishReason.STOP
    assert tgi.paths[-1] == "/generate" and "</s>" not in done.text


async def test_sampling_parameters_are_mapped_for_tgi(tgi: FakeTGI) -> None:
    engine = make_engine(tgi.url, truncate=100)
    params = dict(
        max_new_tokens=7,
        temperature=0.7,
        top_p=0.9,
        top_k=5,
        repetition_penalty=1.1,
        seed=3,
        do_sample=True,
    )
    done = await run(engine, ask("SAY: a b c d e f g h i j", **params))
    assert done.text == "a b c d e f g" and done.finish_reason is FinishReason.LENGTH
    p = tgi.requests[-1]["parameters"]
    assert {k: p[k] for k in ("max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed", "do_sample", "truncate")} == {
        "max_new_tokens": 7, "temperature": 0.7, "top_p": 0.9, "top_k": 5,
        "repetition_penalty": 1.1, "seed": 3, "do_sample": True, "truncate": 100,
    }  # fmt: skip
    assert done.usage is not None and done.usage.completion_tokens == 7
    # temperature 0 with do_sample is greedy; top_p 1 / top_k 0 are left out (TGI rejects them)
    engine = make_engine(tgi.url)
    done = await run(engine, ask("SAY: ok", temperature=0.0, top_p=1.0, top_k=0, do_sample=True))
    assert done.text == "ok"


async def test_stop_sequences_beyond_the_servers_limit_apply_client_side(tgi: FakeTGI) -> None:
    settings = load_settings(
        overrides={"models": [{"name": "t", "inference_server": tgi.url, "prompt_type": "plain"}]}
    )
    engine = create_engine(settings.model("t"), settings)
    stops = ["AAA", "BBB", "CCC", "DDD", "EEE", "###"]
    done = await run(engine, ask("SAY: one two ### three four", stop=stops, max_new_tokens=20))
    assert done.text == "one two "
    assert done.finish_reason is FinishReason.STOP
    assert tgi.requests[-1]["parameters"]["stop"] == stops[: tgi.max_stop_sequences]
    # a stop the server does handle: its text (TGI leaves it in) is not shown either
    engine = create_engine(settings.model("t"), settings)
    done = await run(engine, ask("SAY: one two AAA three", stop=["AAA"], max_new_tokens=20))
    assert done.text == "one two " and done.finish_reason is FinishReason.STOP


async def test_basic_auth_four_space_form(tgi: FakeTGI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tgi.basic_auth = ("bob", SECRET)
    done = await run(make_engine(f"{tgi.url}    bob    {SECRET}"), ask("SAY: authorised"))
    assert done.text == "authorised"
    with pytest.raises(EngineAuthError) as err:
        await run(make_engine(f"{tgi.url}    bob    wrong-{SECRET}"), ask("SAY: x"))
    assert "401" in str(err.value) and SECRET not in str(err.value)
    assert "bob    ***" in str(err.value)
    assert SECRET not in caplog.text


async def test_forbidden_is_an_auth_error_and_not_retried(tgi: FakeTGI) -> None:
    engine = make_engine(tgi.url, retries=3, backoff=0.01)
    await engine.load()
    tgi.fail_statuses[:] = [403]
    with pytest.raises(EngineAuthError, match=r"denied access \(HTTP 403\): Forbidden"):
        await run(engine, ask("SAY: x"))
    assert tgi.paths.count("/generate_stream") == 1


async def test_429_without_retries_says_overloaded(tgi: FakeTGI) -> None:
    # retried 429 / 503, failover, round robin, stalls and disconnects mid-stream and
    # cancellation: tests/test_engine_contract.py (shared with the other engines)
    engine = make_engine(tgi.url, retries=0)
    await engine.load()
    tgi.fail_statuses[:] = [429]
    with pytest.raises(EngineConnectionError, match=r"overloaded \(HTTP 429\)"):
        await run(engine, ask("SAY: x"))


async def test_stall_is_detected_through_keepalive_comments(tgi: FakeTGI) -> None:
    engine = make_engine(tgi.url, stall_timeout=0.5, retries=0)
    await engine.load()
    tgi.stall_after = 2
    tgi.keepalive_every = 0.1  # the connection stays busy, but no token comes
    done = await asyncio.wait_for(run(engine, ask("SAY: one two three four")), 30)
    assert done.text == "one two"
    assert done.finish_reason is FinishReason.ERROR and "stall" in (done.error or "")


async def test_stall_before_any_token_is_an_error(tgi: FakeTGI) -> None:
    engine = make_engine(tgi.url, stall_timeout=0.3, retries=1, backoff=0.01)
    await engine.load()
    tgi.stall_after = 0
    with pytest.raises(EngineConnectionError, match="stall"):
        await run(engine, ask("SAY: never"))
    assert tgi.paths.count("/generate_stream") == 2  # retried once, then gave up


async def test_error_event_mid_stream(tgi: FakeTGI) -> None:
    engine = make_engine(tgi.url)
    await engine.load()
    tgi.error_after = 2
    done = await run(engine, ask("SAY: alpha beta gamma"))
    assert done.text == "alpha beta"
    assert done.finish_reason is FinishReason.ERROR and "CUDA out of memory" in (done.error or "")


async def test_too_many_input_tokens_is_a_request_error(tgi: FakeTGI) -> None:
    with pytest.raises(EngineRequestError) as err:
        await run(make_engine(tgi.url), ask("word " * 210, max_new_tokens=20))
    message = str(err.value)
    assert "422" in message and "`inputs` must have less than 200 tokens" in message


async def test_max_new_tokens_shrinks_to_the_room_the_server_reports(tgi: FakeTGI) -> None:
    prompt = "SAY: " + "w " * 140  # the answer is longer than the room left
    done = await run(make_engine(tgi.url), ask(prompt, max_new_tokens=200))
    first, second = tgi.requests[-2:]
    assert first["parameters"]["max_new_tokens"] == 200
    n_inputs = len(second["inputs"].split())
    assert second["parameters"]["max_new_tokens"] == tgi.max_total_tokens - n_inputs
    assert done.finish_reason is FinishReason.LENGTH
    assert len(done.text.split()) == tgi.max_total_tokens - n_inputs


async def test_wrong_path_is_model_not_found(tgi: FakeTGI) -> None:
    with pytest.raises(ModelNotFoundError, match="404"):
        await run(make_engine(tgi.url + "/nope"), ask("SAY: x"))


async def test_messages_api(tgi: FakeTGI) -> None:
    engine = make_engine(tgi.url, messages_api=True)
    done = await run(engine, ask("SAY: via the messages API"))
    assert done.text == "via the messages API"
    assert engine.prompt_type == "openai_chat"
    assert tgi.paths[-1] == "/v1/chat/completions"
    assert tgi.requests[-1]["messages"][-1] == {
        "role": "user",
        "content": "SAY: via the messages API",
    }


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


async def test_tls_verified_by_default_with_ca_bundle_and_insecure_options(self_signed) -> None:
    cert, key = self_signed
    server = FakeTGI(ssl_certfile=cert, ssl_keyfile=key).start()
    try:
        with pytest.raises(EngineConnectionError, match="certificate is not trusted"):
            await run(make_engine(server.url), ask("SAY: x"))
        done = await run(make_engine(server.url, ca_bundle=cert), ask("SAY: trusted"))
        assert done.text == "trusted"
        done = await run(make_engine(server.url, verify_tls=False), ask("SAY: insecure"))
        assert done.text == "insecure"
    finally:
        server.stop()


def test_no_secret_in_cli_output(tgi: FakeTGI, tmp_path: Path) -> None:
    tgi.basic_auth = ("bob", SECRET)
    config = tmp_path / "config.toml"
    config.write_text(
        'default_model = "good"\n'
        "[[models]]\n"
        'name = "good"\n'
        f'inference_server = "{tgi.url}    bob    {SECRET}"\n'
        "[[models]]\n"
        'name = "badpw"\n'
        f'inference_server = "{tgi.url}    bob    x{SECRET}"\n'
        "[[models]]\n"
        'name = "vllm"\n'
        f'inference_server = "vllm_chat:http://127.0.0.1:{free_port()}:/v1:{SECRET}"\n'
    )
    runs = {
        "models": ["models", "--json"],
        "table": ["models"],
        "check": ["models", "--check", "--json"],
        "check-table": ["models", "--check"],
        "ask-ok": ["ask", "SAY: fine", "--json"],
        "ask-bad": ["ask", "SAY: x", "--json", "--model", "badpw"],
        "ask-vllm": ["ask", "SAY: x", "--model", "vllm"],
    }
    out: dict[str, subprocess.CompletedProcess[str]] = {}
    for label, args in runs.items():
        proc = subprocess.run(
            [sys.executable, "-m", "h2otui", "--config", str(config), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={
                **_env(),
                "H2OTUI_REMOTE__RETRIES": "0",
                "H2OTUI_GENERATION__MAX_NEW_TOKENS": "20",
            },
        )
        out[label] = proc
        assert SECRET not in proc.stdout + proc.stderr, label
        assert "Traceback" not in proc.stderr, (label, proc.stderr)
    assert json.loads(out["ask-ok"].stdout)["answer"] == "fine"
    rows = {r["name"]: r for r in json.loads(out["check"].stdout)}
    assert rows["good"]["reachable"] and rows["good"]["model_id"] == MODEL_ID
    assert not rows["badpw"]["reachable"] and "401" in rows["badpw"]["error"]
    assert not rows["vllm"]["reachable"] and out["check"].returncode == 1
    assert out["ask-bad"].returncode == 1 and "401" in out["ask-bad"].stderr
    assert out["ask-vllm"].returncode == 1 and "cannot connect" in out["ask-vllm"].stderr


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("REQUEST_TIMEOUT")}
