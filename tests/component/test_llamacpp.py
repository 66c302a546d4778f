"""The llama.cpp engine on the real embedded Gemma 3 270M, greedy decoding."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from h2otui.config import load_settings
from h2otui.engines import create_engine
from h2otui.engines.base import (
    EngineConfigError,
    EngineError,
    FinishReason,
    GenerationRequest,
    Message,
    ModelNotFoundError,
    SamplingParams,
    TextDelta,
    Usage,
    collect,
)
from h2otui.engines.llamacpp import LlamaCppEngine
from h2otui.engines.threaded import GenerationJob

pytestmark = pytest.mark.slow


def ask(question: str, **params) -> GenerationRequest:
    return GenerationRequest(
        [Message("system", "auto"), Message("user", question)], SamplingParams(**params)
    )


async def test_factual_question_greedy(embedded_engine) -> None:
    assert embedded_engine.prompt_type == "plain_qa"
    result = await collect(
        embedded_engine, ask("What is the capital of France?", max_new_tokens=32)
    )
    assert result.text.strip()
    assert "Paris" in result.text
    assert result.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert result.usage is not None and result.usage.completion_tokens >= 1
    assert not embedded_engine.generating
    assert (
        result.usage.prompt_tokens
        == embedded_engine.count_tokens(
            embedded_engine.render_prompt(ask("What is the capital of France?").messages)
        )
        + 1
    )  # + BOS


async def test_greedy_is_deterministic(embedded_engine) -> None:
    # "Name a primary colour." is a near-tie for this model: a reused KV-cache prefix
    # (cache_prompt) flips it, so this catches state leaking between requests
    req = ask("Name a primary colour.", max_new_tokens=16)
    first = await collect(embedded_engine, req)
    second = await collect(embedded_engine, req)
    third = await collect(embedded_engine, req)
    assert first.text == second.text == third.text


async def test_stop_sequence_ends_generation(embedded_engine) -> None:
    counting = GenerationRequest([], SamplingParams(max_new_tokens=40), prompt="1, 2, 3, 4,")
    free = await collect(embedded_engine, counting)
    assert " 7" in free.text  # the model keeps counting without a stop
    counting.params.stop = [" 7"]
    stopped = await collect(embedded_engine, counting)
    assert stopped.finish_reason is FinishReason.STOP
    assert " 7" not in stopped.text and "6" in stopped.text


async def test_max_new_tokens_gives_length(embedded_engine) -> None:
    result = await collect(
        embedded_engine,
        GenerationRequest([], SamplingParams(max_new_tokens=3), prompt="Once upon a time"),
    )
    assert result.finish_reason is FinishReason.LENGTH
    assert result.usage is not None and result.usage.completion_tokens == 3


class WatchedLlamaCpp(LlamaCppEngine):
    """The real engine, telling the test when its worker thread starts generating."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.generation_started = threading.Event()

    def _generate(self, job: GenerationJob, emit: Callable[[str], None]) -> FinishReason:
        self.generation_started.set()
        return super()._generate(job, emit)


# cancelling mid-stream (0.5 s bound, worker joined) is in tests/test_engine_contract.py


async def test_cancel_during_long_prompt_processing(settings) -> None:
    engine = WatchedLlamaCpp.from_entry(settings.model(), settings)
    await engine.load()
    long_prompt = "The quick brown fox jumps over the lazy dog. " * 500  # ~5000 tokens
    req = GenerationRequest([], SamplingParams(max_new_tokens=8), prompt=long_prompt)
    deltas: list[str] = []

    async def consume() -> None:
        async for event in engine.stream(req):
            if isinstance(event, TextDelta):
                deltas.append(event.text)

    task = asyncio.create_task(consume())
    try:
        # the worker has taken the request; processing ~5000 prompt tokens takes seconds
        assert await asyncio.to_thread(engine.generation_started.wait, 60)
        assert deltas == []  # still inside prompt processing
        start = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        elapsed = time.perf_counter() - start
        assert elapsed < 0.5  # the bound: llama.cpp's abort callback interrupts it
        assert deltas == [] and not engine.generating
        after = await collect(engine, ask("What is the capital of France?", max_new_tokens=16))
        assert "Paris" in after.text
    finally:
        await engine.aclose()


async def test_usage_event_precedes_finished(embedded_engine) -> None:
    events = [e async for e in embedded_engine.stream(ask("Say hi.", max_new_tokens=8))]
    kinds = [type(e).__name__ for e in events]
    assert kinds[-2:] == ["Usage", "Finished"]
    usage = events[-2]
    assert isinstance(usage, Usage) and usage.time_to_first_token_s is not None


async def test_prompt_longer_than_context_is_a_clear_error(tmp_path: Path) -> None:
    settings = load_settings(
        overrides={
            "models": [
                {
                    "name": "gemma3-270m",
                    "model_path": "embedded:gemma3-270m-q4_k_m",
                    "prompt_type": "plain",
                    "options": {"n_ctx": 256},
                }
            ]
        }
    )
    engine = create_engine(settings.model(), settings)
    with pytest.raises(Exception, match=r"context of 256.*n_ctx"):
        await collect(
            engine, GenerationRequest([], SamplingParams(max_new_tokens=4), prompt="word " * 400)
        )
    await engine.aclose()


def test_missing_model_path_and_bad_options(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    settings = load_settings(overrides={"models": [{"name": "m", "model_path": str(missing)}]})
    with pytest.raises(ModelNotFoundError, match=r"nope\.gguf does not exist.*never downloads"):
        create_engine(settings.model("m"), settings)
    settings = load_settings(
        overrides={
            "models": [
                {"name": "m", "model_path": "embedded:gemma3-270m-q4_k_m", "options": {"n_ctxx": 5}}
            ]
        }
    )
    with pytest.raises(EngineConfigError, match=r"n_ctxx.*known options: .*n_ctx"):
        create_engine(settings.model("m"), settings)


def test_embedded_model_reassembles_a_corrupt_file(tmp_path: Path) -> None:
    from h2otui.engines.embedded import embedded_gguf

    data = tmp_path / "fresh-home"
    path = embedded_gguf("gemma3-270m-q4_k_m", data)
    size = path.stat().st_size
    with path.open("r+b") as fh:  # a crash mid-write or disk error
        fh.truncate(size // 2)
    again = embedded_gguf("gemma3-270m-q4_k_m", data)
    assert again == path and again.stat().st_size == size
    assert not list(again.parent.glob("*.tmp"))


GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>"
    "{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


@pytest.fixture(scope="module")
def templated_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded GGUF re-written with a chat template in its metadata (real GGUF tooling)."""
    import subprocess
    import sys

    from h2otui.engines.embedded import embedded_gguf

    work = tmp_path_factory.mktemp("tmpl")
    src = embedded_gguf("gemma3-270m-q4_k_m", work / "home")
    out = work / "gemma-with-template.gguf"
    tool = Path(sys.executable).with_name("gguf-new-metadata")
    subprocess.run(
        [str(tool), str(src), str(out), "--chat-template", GEMMA_TEMPLATE, "--force"],
        check=True,
        capture_output=True,
    )
    src.unlink()  # keep tmp small
    return out


async def test_gguf_chat_template_is_used_when_no_prompt_type(templated_gguf: Path) -> None:
    settings = load_settings(
        overrides={"models": [{"name": "t", "model_path": str(templated_gguf)}]}
    )
    engine = create_engine(settings.model("t"), settings)
    await engine.load()
    try:
        assert engine.prompt_type == "template"
        msgs = [
            Message("system", "auto"),
            Message("user", "Hi"),
            Message("assistant", "Hello!"),
            Message("user", "How are you?"),
        ]
        prompt = engine.render_prompt(msgs)
        assert prompt == (
            "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
            "<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n"
        )
        result = await collect(engine, GenerationRequest(msgs, SamplingParams(max_new_tokens=8)))
        assert result.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
        # "<bos>" in the rendered text is the BOS token itself: no second BOS is added
        assert result.usage is not None and result.usage.prompt_tokens == engine.count_tokens(
            prompt
        )
    finally:
        await engine.aclose()
    forced = load_settings(
        overrides={
            "models": [{"name": "t", "model_path": str(templated_gguf), "prompt_type": "plain_qa"}]
        }
    )
    engine = create_engine(forced.model("t"), forced)
    await engine.load()
    assert engine.prompt_type == "plain_qa"
    await engine.aclose()


async def test_gguf_file_name_picks_h2ogpt_prompt_type(settings, tmp_path: Path) -> None:
    # no chat template, no prompt_type, no base_model: h2oGPT's map by the file's name
    from h2otui.engines.embedded import resolve_model_path

    src = resolve_model_path(settings.model().model_path, settings.data_path, model_name="g")
    named = tmp_path / "zephyr-7b-beta.Q5_K_M.gguf"
    named.symlink_to(src)
    entry = {"name": "z", "model_path": str(named)}
    zephyr = load_settings(overrides={"models": [entry]})
    engine = create_engine(zephyr.model("z"), zephyr)
    await engine.load()
    try:
        assert engine.prompt_type == "zephyr"
        assert engine.render_prompt([Message("system", ""), Message("user", "Hi")]) == (
            "<|user|>\nHi</s>\n<|assistant|>\n"
        )
    finally:
        await engine.aclose()


async def test_closing_a_half_read_stream_stops_generation(embedded_engine) -> None:
    story = GenerationRequest(
        [], SamplingParams(max_new_tokens=2000), prompt="Chapter 1.\n\nIt was"
    )
    stream = embedded_engine.stream(story)
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()  # what `async for ... break` + aclosing / a UI's cancel does
    assert not embedded_engine.generating
    await embedded_engine.aclose()  # closing the model right after is safe


async def test_closing_while_the_model_loads_does_not_wait_and_frees_it(settings) -> None:
    """Quitting the app while the model still loads must be instant: aclose() returns
    without waiting for the load, the worker is a daemon thread (the interpreter does not
    join it at exit), and the load that finishes afterwards frees the model it made."""
    started, gate = threading.Event(), threading.Event()
    freed: list[Any] = []

    class HeldLoad(LlamaCppEngine):
        def _load_model(self) -> Any:
            started.set()
            assert gate.wait(60)
            return super()._load_model()

        def _close_model(self, model: Any) -> None:
            freed.append(model)
            super()._close_model(model)

    engine = HeldLoad.from_entry(settings.model(), settings)
    load = asyncio.ensure_future(engine.load())
    try:
        assert await asyncio.to_thread(started.wait, 60)
        worker = next(t for t in threading.enumerate() if t.name.startswith("llamacpp-"))
        assert worker.daemon
        await asyncio.wait_for(engine.aclose(), 5)  # the load is still held
        assert not load.done() and not freed
    finally:
        gate.set()
    with pytest.raises(EngineError, match="was closed"):
        await asyncio.wait_for(load, 60)
    assert len(freed) == 1 and type(freed[0]).__name__ == "Llama"
    await asyncio.to_thread(worker.join, 10)
    assert not worker.is_alive()  # the worker ends once the load is done
    with pytest.raises(EngineError, match="was closed"):
        await engine.load()  # a closed engine never loads again


def test_loading_never_redirects_the_process_stdio(tmp_path: Path) -> None:
    """Other threads keep writing to stderr/stdout while a model loads (the TUI draws on
    stderr; the CLI prints errors): no line may vanish into /dev/null, and nothing from
    llama.cpp may leak out."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import asyncio, sys, threading
        from h2otui.config import load_settings
        from h2otui.engines import create_engine

        settings = load_settings()
        engine = create_engine(settings.model(), settings)
        done = threading.Event()

        def load():
            asyncio.run(engine.load())
            done.set()

        threading.Thread(target=load).start()
        n = 0
        while not done.is_set() or n < 50:
            sys.stderr.write(f"line {n}\\n")
            sys.stdout.write(f"out {n}\\n")
            n += 1
        sys.stderr.write(f"total {n}\\n")
        sys.stderr.flush()
        sys.stdout.flush()
        """
    )
    err, out = tmp_path / "err.txt", tmp_path / "out.txt"
    with err.open("w") as e, out.open("w") as o:
        subprocess.run([sys.executable, "-c", script], stderr=e, stdout=o, check=True, timeout=120)
    err_lines = err.read_text().splitlines()
    total = int(err_lines[-1].split()[1])
    assert err_lines[:-1] == [f"line {i}" for i in range(total)]
    assert out.read_text().splitlines() == [f"out {i}" for i in range(total)]
