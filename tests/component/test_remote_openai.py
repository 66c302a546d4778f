"""The OpenAI-compatible engine against llama-cpp-python's real server on loopback.

The server (``python -m llama_cpp.server``) serves the embedded Gemma 3 270M GGUF and
requires an API key, so authentication is real too. Answers are compared with the
``openai`` SDK called directly with the same request: h2otui must not change them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from h2otui.config import load_settings
from h2otui.engines import create_engine
from h2otui.engines.base import (
    EngineAuthError,
    EngineRequestError,
    FinishReason,
    GenerationRequest,
    Message,
    ModelNotFoundError,
    SamplingParams,
    TextDelta,
    collect,
)
from tests.servers.llama_server import LlamaServer, embedded_model_path

pytestmark = pytest.mark.slow

KEY = "sk-test-4a6c1e0d9b"
KEY_ENV = "LLAMA_SERVER_TEST_KEY"
QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def llama(shared_models_dir: Path):
    server = LlamaServer(embedded_model_path(shared_models_dir), api_key=KEY, n_ctx=512).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)


def host(server: LlamaServer) -> str:
    return server.url.removeprefix("http://")


def make_engine(server: str, prompt_type: str | None = None, **options: Any):
    options.setdefault("api_key_env", KEY_ENV)
    entry: dict[str, Any] = {"name": "o", "inference_server": server, "options": options}
    if prompt_type:
        entry["prompt_type"] = prompt_type
    settings = load_settings(overrides={"models": [entry]})
    return create_engine(settings.model("o"), settings)


def request(text: str = QUESTION, **params: Any) -> GenerationRequest:
    params.setdefault("max_new_tokens", 10)
    return GenerationRequest([Message("user", text)], SamplingParams(**params))


async def streamed(engine, req: GenerationRequest) -> tuple[list[str], Any]:
    deltas: list[str] = []
    try:
        await engine.load()
        done = await collect(engine, req)
        async for event in engine.stream(req):
            if isinstance(event, TextDelta):
                deltas.append(event.text)
    finally:
        await engine.aclose()
    return deltas, done


def direct_completion(server: LlamaServer, prompt: str, max_tokens: int, stop: list[str]) -> str:
    from openai import OpenAI

    client = OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    out = client.completions.create(
        model="gemma3-270m",
        prompt=prompt,
        max_tokens=max_tokens,
        temperature=0.0,
        stop=stop or None,
    )
    client.close()
    return out.choices[0].text


async def test_completions_stream_matches_the_sdk(llama: LlamaServer) -> None:
    engine = make_engine(f"vllm:{host(llama)}", prompt_type="plain")
    text = "The capital of France is Paris. The capital of Germany is"
    req = request(text, max_new_tokens=10)
    deltas, done = await streamed(engine, req)
    assert engine.served_model == "gemma3-270m"  # discovered from /v1/models
    assert engine.prompt_type == "plain"
    assert done.text and "".join(deltas) == done.text  # greedy: the same answer twice
    assert len(deltas) > 1  # streamed, not delivered at once
    assert done.usage is not None and done.usage.completion_tokens >= len(deltas)
    expected = direct_completion(llama, engine.render(req)[0], 10, [])
    assert done.text == expected.lstrip()
    assert done.finish_reason is (FinishReason.LENGTH if len(deltas) >= 10 else FinishReason.STOP)


async def test_prompt_type_frames_the_question(llama: LlamaServer) -> None:
    engine = make_engine(f"vllm:{host(llama)}", prompt_type="plain_qa")
    try:
        done = await collect(engine, request(max_new_tokens=10))
    finally:
        await engine.aclose()
    prompt = "Question: " + QUESTION + "\nAnswer:"
    expected = direct_completion(llama, prompt, 10, ["\nQuestion:", "\n\n\n", "Question:"])
    assert done.text == expected.strip() and "Question:" not in done.text


async def test_chat_completions_stream(llama: LlamaServer) -> None:
    engine = make_engine(f"vllm_chat:{host(llama)}")
    req = GenerationRequest(
        [Message("system", "You are terse."), Message("user", QUESTION)],
        SamplingParams(max_new_tokens=8),
    )
    try:
        done = await collect(engine, req)
    finally:
        await engine.aclose()
    assert engine.prompt_type == "openai_chat"
    from openai import OpenAI

    client = OpenAI(base_url=llama.url + "/v1", api_key=KEY, max_retries=0)
    direct = client.chat.completions.create(
        model="gemma3-270m",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": QUESTION},
        ],
        max_tokens=8,
        temperature=0.0,
    )
    client.close()
    assert done.text == (direct.choices[0].message.content or "").lstrip()
    assert done.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)


async def test_stop_sequence_cuts_the_answer(llama: LlamaServer) -> None:
    engine = make_engine(f"vllm:{host(llama)}", prompt_type="plain")
    text = "The capital of France is Paris. The capital of Germany is"
    try:
        full = await collect(engine, request(text, max_new_tokens=12))
        assert len(full.text) >= 8, full.text
        middle = len(full.text) // 2
        stop = full.text[middle : middle + 3]
        cut = await collect(engine, request(text, max_new_tokens=12, stop=[stop]))
    finally:
        await engine.aclose()
    assert cut.text == full.text[: full.text.index(stop)]
    assert cut.finish_reason is FinishReason.STOP


async def test_wrong_api_key_is_an_auth_error_without_the_key(
    llama: LlamaServer, monkeypatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-wrong-SECRET-77")
    engine = make_engine(f"vllm_chat:{host(llama)}")
    with pytest.raises(EngineAuthError) as err:
        try:
            await engine.load()
        finally:
            await engine.aclose()
    assert "401" in str(err.value) and "sk-wrong-SECRET-77" not in str(err.value)
    # the key in h2oGPT's server-string form works as well
    engine = make_engine(f"vllm_chat:http://{host(llama)}:/v1:{KEY}", api_key_env="")
    try:
        await engine.load()
    finally:
        await engine.aclose()
    assert engine.served_model == "gemma3-270m"


async def test_wrong_path_is_model_not_found(llama: LlamaServer) -> None:
    engine = make_engine(f"vllm_chat:http://{host(llama)}/nope/v1", model="gemma3-270m")
    with pytest.raises(ModelNotFoundError, match="404"):
        try:
            await collect(engine, request())
        finally:
            await engine.aclose()


async def test_prompt_beyond_the_context_is_a_request_error(llama: LlamaServer) -> None:
    engine = make_engine(f"vllm:{host(llama)}", prompt_type="plain")
    with pytest.raises(EngineRequestError, match="400"):
        try:
            await collect(engine, request("many words " * 400))
        finally:
            await engine.aclose()


def test_ask_cli_with_h2ogpt_model_lock(llama: LlamaServer) -> None:
    lock = (
        f"[{{'inference_server': 'vllm:{host(llama)}', 'base_model': 'gemma3-270m', "
        f"'prompt_type': 'plain_qa', 'options': {{'api_key_env': '{KEY_ENV}'}}}}]"
    )
    env = {k: v for k, v in os.environ.items() if k != "REQUEST_TIMEOUT"}
    proc = subprocess.run(
        [sys.executable, "-m", "h2otui", "--model-lock", lock, "ask", QUESTION, "--json",
         "--max-new-tokens", "8"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["model"] == "gemma3-270m" and result["answer"]
    assert result["prompt_type"] == "plain_qa"
    assert KEY not in proc.stdout + proc.stderr
