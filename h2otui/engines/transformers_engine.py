"""Hugging Face models in-process through ``transformers`` (h2oGPT's own way of running them).

A model entry names a local model directory (safetensors) or a GGUF file (transformers
dequantizes it into a torch model; needs ``gguf``), and the h2oGPT loading options:
``device`` / ``use_gpu_id``, ``torch_dtype``, ``load_8bit``, ``load_4bit`` (bitsandbytes
NF4 / FP4 and its compute dtype), ``load_gptq`` / ``load_awq`` (or simply a checkpoint
whose ``quantization_config`` says so; loaded through ``gptqmodel``), ``max_seq_len``,
``rope_scaling`` and ``trust_remote_code`` (off unless set, and a warning when set).

Generation runs ``model.generate`` on the engine's one worker thread. Tokens come out of
it through a streamer whose ``put`` runs *on that thread*, right after each step (no
second thread or queue, unlike ``TextIteratorStreamer``), and a stopping criterion checks
the engine's stop flag and the stop sequences after every step: a cancel stops the model
within one forward pass, and the cleanup path joins the worker, so nothing keeps
generating.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from h2otui.engines.base import (
    Capabilities,
    EngineConfigError,
    EngineError,
    FinishReason,
)
from h2otui.engines.hf_common import (
    INPROCESS_EXTRA,
    HFOptions,
    HFTokenizerEngine,
    IncrementalDecoder,
    StopText,
    is_out_of_memory,
    resolve_device,
    resolve_model_source,
    unsupported_arch_error,
    warn_remote_code,
)
from h2otui.engines.threaded import GenerationJob

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings

DType = Literal["auto", "float32", "float16", "bfloat16"]

#: checkpoint quantization methods -> the Python package that loads them
_QUANT_PACKAGES = {
    "gptq": "gptqmodel",
    "awq": "gptqmodel",
    "bitsandbytes": "bitsandbytes",
}


class TransformersOptions(HFOptions):
    """Options of the transformers engine (h2oGPT's model_lock names)."""

    torch_dtype: DType = Field(
        "auto", description="Weights' dtype; 'auto' = float16 on a GPU, float32 on the CPU."
    )
    load_half: bool | None = Field(
        None, description="h2oGPT's switch for float16 weights (same as torch_dtype='float16')."
    )
    load_8bit: bool = Field(False, description="bitsandbytes 8-bit weights.")
    load_4bit: bool = Field(False, description="bitsandbytes 4-bit weights.")
    bnb_4bit_quant_type: Literal["nf4", "fp4"] = Field("nf4", description="4-bit data type.")
    bnb_4bit_compute_dtype: DType = Field(
        "auto", description="4-bit compute dtype; 'auto' = the weights' dtype."
    )
    load_gptq: bool | str = Field(
        False, description="A GPTQ checkpoint (h2oGPT's value may be a file name: any = on)."
    )
    load_awq: bool | str = Field(False, description="An AWQ checkpoint (loaded by gptqmodel).")
    gptq_backend: str | None = Field(
        None, description="gptqmodel kernel; unset = 'torch' on the CPU, its own choice on a GPU."
    )
    rope_scaling: dict[str, Any] | None = Field(
        None, description="RoPE scaling, e.g. {type = 'linear', factor = 2.0} (h2oGPT's dict)."
    )
    attn_implementation: str | None = Field(
        None, description="'sdpa', 'eager', ...; unset = transformers' default."
    )

    @model_validator(mode="after")
    def _one_quantization(self) -> TransformersOptions:
        chosen = [
            name
            for name, on in (
                ("load_8bit", self.load_8bit),
                ("load_4bit", self.load_4bit),
                ("load_gptq", bool(self.load_gptq)),
                ("load_awq", bool(self.load_awq)),
            )
            if on
        ]
        if len(chosen) > 1:
            raise ValueError(f"choose one quantization, not {' and '.join(chosen)}")
        return self


class TransformersEngine(HFTokenizerEngine):
    engine_name = "transformers"
    Options = TransformersOptions
    capabilities = Capabilities(chat_messages=False, raw_prompt=True, local=True)

    def __init__(
        self,
        model_dir: Path,
        *,
        model_name: str,
        options: TransformersOptions,
        gguf_file: str | None = None,
        prompt_type: str | None = None,
        prompt_dict: dict[str, Any] | str | None = None,
        base_model: str | None = None,
        system_prompt: str | None = None,
    ) -> None:
        super().__init__(
            prompt_type=prompt_type,
            prompt_dict=prompt_dict,
            base_model=base_model,
            system_prompt=system_prompt,
        )
        self.model_dir = model_dir
        self.gguf_file = gguf_file
        self.model_name = model_name
        self.options = options
        self.device = "cpu"
        self.quantization: str | None = None

    def __repr__(self) -> str:
        return f"TransformersEngine({self.model_name!r}, {self.model_dir})"

    @classmethod
    def from_entry(cls, entry: ModelEntry, settings: Settings) -> TransformersEngine:
        options = cls.parse_options(entry.options, model_name=entry.name)
        assert isinstance(options, TransformersOptions)
        model_dir, gguf_file = resolve_model_source(entry, settings, allow_gguf=True)
        cls.check_prompt_type(entry)
        return cls(
            model_dir,
            model_name=entry.name,
            options=options,
            gguf_file=gguf_file,
            **cls.prompt_settings(entry),
        )

    # --- loading (on the worker thread) ----------------------------------------------

    def _checkpoint_quantization(self) -> str | None:
        """The checkpoint's own quant method (config.json ``quantization_config``)."""
        if self.gguf_file:
            return None
        try:
            config = json.loads((self.model_dir / "config.json").read_text())
        except (OSError, ValueError):
            return None
        method = (config.get("quantization_config") or {}).get("quant_method")
        return str(method).lower() if method else None

    def _quantization_config(self, dtype: Any) -> Any:
        import torch

        opts = self.options
        method = self._checkpoint_quantization()
        asked = (
            "bitsandbytes-8bit"
            if opts.load_8bit
            else "bitsandbytes-4bit"
            if opts.load_4bit
            else "gptq"
            if opts.load_gptq
            else "awq"
            if opts.load_awq
            else None
        )
        if asked in ("gptq", "awq") and method != asked:
            raise EngineConfigError(
                f"model '{self.model_name}': load_{asked} is set but {self.model_dir} is not a "
                f"{asked.upper()} checkpoint (its config.json quantization_config says "
                f"{method or 'nothing'}); quantize it first or drop load_{asked}"
            )
        if method and asked and asked.startswith("bitsandbytes"):
            raise EngineConfigError(
                f"model '{self.model_name}': the checkpoint is already quantized ({method}); "
                f"drop load_8bit / load_4bit"
            )
        self.quantization = asked or method
        package = _QUANT_PACKAGES.get(
            "bitsandbytes" if asked and asked.startswith("bitsandbytes") else (method or "")
        )
        if package:
            import importlib.util

            missing = [p for p in (package, "optimum") if importlib.util.find_spec(p) is None]
            if package != "gptqmodel":
                missing = [p for p in missing if p != "optimum"]
            if missing:
                what = asked or f"a {method} checkpoint"
                raise EngineConfigError(
                    f"model '{self.model_name}': {what} needs {' and '.join(missing)}, which "
                    f"is not installed: {INPROCESS_EXTRA}"
                )
        from transformers import BitsAndBytesConfig

        if opts.load_8bit:
            return BitsAndBytesConfig(load_in_8bit=True)
        if opts.load_4bit:
            compute = (
                dtype
                if opts.bnb_4bit_compute_dtype == "auto"
                else getattr(torch, opts.bnb_4bit_compute_dtype)
            )
            return BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type=opts.bnb_4bit_quant_type,
                bnb_4bit_compute_dtype=compute,
            )
        if method in ("gptq", "awq") and (os.cpu_count() or 1) < 3:
            # gptqmodel 7.6 gives its CPU pool half the CPUs (1 here) but asks 2 for its
            # model loader: a ValueError on a 1-2 CPU machine unless the pool size is set
            os.environ.setdefault("GPTQMODEL_CPU_WORKERS", "2")
        if method in ("gptq", "awq"):
            backend = opts.gptq_backend or ("torch" if self.device == "cpu" else None)
            if backend is None:
                return None  # the checkpoint's own config; gptqmodel picks the kernel
            from transformers import AwqConfig, GPTQConfig

            config = json.loads((self.model_dir / "config.json").read_text())
            q = config["quantization_config"]
            if method == "gptq":
                return GPTQConfig(bits=int(q.get("bits", 4)), backend=backend)
            return AwqConfig(bits=int(q.get("bits", 4)), backend=backend)
        return None

    def _dtype(self) -> Any:
        import torch

        opts = self.options
        name = opts.torch_dtype
        if name == "auto" and opts.load_half is not None:
            name = "float16" if opts.load_half else "float32"
        if name == "auto":
            return torch.float16 if self.device.startswith("cuda") else torch.float32
        return getattr(torch, name)

    def _load_model(self) -> Any:
        try:
            import torch  # noqa: F401  (missing: the clear error below, not a traceback)
            from transformers import AutoConfig, AutoModelForCausalLM
        except ImportError as exc:
            raise EngineConfigError(
                f"the transformers engine needs {exc.name}, which is not installed: "
                f"{INPROCESS_EXTRA}"
            ) from None
        opts = self.options
        warn_remote_code(opts, self.model_name)
        self.device = resolve_device(opts, self.model_name)
        if self.gguf_file:
            for needed in ("gguf", "accelerate"):
                import importlib.util

                if importlib.util.find_spec(needed) is None:
                    raise EngineConfigError(
                        f"model '{self.model_name}': loading a GGUF file with transformers needs "
                        f"{needed}, which is not installed: {INPROCESS_EXTRA}"
                    )
        where = self.model_dir / self.gguf_file if self.gguf_file else self.model_dir
        common: dict[str, Any] = {
            "trust_remote_code": opts.trust_remote_code,
            "local_files_only": True,
        }
        if self.gguf_file:
            common["gguf_file"] = self.gguf_file
        try:
            config = AutoConfig.from_pretrained(str(self.model_dir), **common)
        except Exception as exc:
            raise unsupported_arch_error(exc, self.model_name, where) or EngineError(
                f"model '{self.model_name}': cannot read the model config in {where}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if opts.rope_scaling:
            _apply_rope_scaling(config, opts.rope_scaling)
        dtype = self._dtype()
        quant = self._quantization_config(dtype)
        kwargs: dict[str, Any] = {**common, "config": config, "dtype": dtype}
        if quant is not None:
            kwargs["quantization_config"] = quant
        if opts.attn_implementation:
            kwargs["attn_implementation"] = opts.attn_implementation
        # bitsandbytes and gptqmodel place the weights themselves (device_map); a plain
        # model is loaded on the CPU and moved, which needs no accelerate
        if quant is not None or self.quantization:
            kwargs["device_map"] = {"": self.device}
        try:
            self.tokenizer = self._load_tokenizer(
                self.model_dir, self.gguf_file, opts.trust_remote_code
            )
            model = AutoModelForCausalLM.from_pretrained(str(self.model_dir), **kwargs)
            if "device_map" not in kwargs and self.device != "cpu":
                model = model.to(self.device)
        except EngineError:
            raise
        except Exception as exc:
            if is_out_of_memory(exc):
                raise EngineError(
                    f"model '{self.model_name}': not enough memory to load it on {self.device} "
                    f"({type(exc).__name__}); try load_4bit / load_8bit, a smaller model, or "
                    "another device"
                ) from None
            if isinstance(exc, ImportError):
                raise EngineConfigError(
                    f"model '{self.model_name}': loading it needs a package that is not "
                    f"installed ({exc}): {INPROCESS_EXTRA}"
                ) from None
            raise unsupported_arch_error(exc, self.model_name, where) or EngineError(
                f"model '{self.model_name}': cannot load {where}: {type(exc).__name__}: {exc}"
            ) from None
        model.eval()
        self._context_length = self._model_context(model.config, opts)
        self._choose_prompt_type()
        return model

    def _close_model(self, model: Any) -> None:
        import gc

        del model
        self.tokenizer = None
        gc.collect()
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    # --- generation (on the worker thread) ---------------------------------------------

    def generate_kwargs(self, job: GenerationJob) -> dict[str, Any]:
        """``model.generate`` arguments for a job's sampling parameters (the benchmark
        calls ``generate`` directly with these, to compare like with like)."""
        params = job.params
        eos = self._model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = eos[0] if isinstance(eos, list) else eos
        kwargs: dict[str, Any] = {
            "max_new_tokens": job.max_new_tokens,
            "eos_token_id": eos,
            "pad_token_id": pad,
            "repetition_penalty": params.repetition_penalty,
        }
        if params.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(
                do_sample=True,
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=params.top_k or None,
            )
        return kwargs

    def _generate(self, job: GenerationJob, emit: Callable[[str], None]) -> FinishReason:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList
        from transformers.generation.streamers import BaseStreamer

        params = job.params.for_request()
        if params.seed is not None and not params.greedy:
            torch.manual_seed(params.seed)  # one worker thread: the global generator is ours
        engine = self
        decoder = IncrementalDecoder(self.tokenizer)
        stop_text = StopText(job.stops)
        state = {"prompt_seen": False, "generated": 0, "eos": False}
        eos_ids = _eos_ids(self._model, self.tokenizer)

        class Streamer(BaseStreamer):
            def put(self, value: Any) -> None:
                if not state["prompt_seen"]:  # generate() puts the prompt first
                    state["prompt_seen"] = True
                    return
                for token in value.reshape(-1).tolist():
                    state["generated"] += 1
                    if token in eos_ids:
                        state["eos"] = True
                        continue
                    shown = stop_text.feed(decoder.push(token))
                    if shown:
                        emit(shown)

            def end(self) -> None:
                return None

        class Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                done = engine.abort_requested or stop_text.stopped
                return torch.full((input_ids.shape[0],), done, dtype=torch.bool)

        input_ids = torch.tensor([job.prompt_tokens], device=self._model.device)
        self._last_generated = 0
        try:
            with torch.inference_mode(), _torch_threads(self.options.n_threads):
                self._model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    streamer=Streamer(),
                    stopping_criteria=StoppingCriteriaList([Stop()]),
                    **self.generate_kwargs(job),
                )
        finally:
            self._last_generated = state["generated"]
        if self.abort_requested:
            return FinishReason.CANCELLED
        rest = stop_text.flush()
        if rest:
            emit(rest)
        if stop_text.stopped or state["eos"]:
            return FinishReason.STOP
        return (
            FinishReason.LENGTH if state["generated"] >= job.max_new_tokens else FinishReason.STOP
        )

    def _completion_tokens(self, job: GenerationJob, emitted: int) -> int:
        return int(getattr(self, "_last_generated", emitted))


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """``n`` intra-op threads for torch on this (the engine's) thread, for one generation.

    torch's thread count is per thread for threads that already ran torch code (OpenMP's
    setting belongs to the calling thread) but also the default of threads that have not
    yet: restoring it afterwards keeps the embedding model and other threads as they were.
    """
    if not n:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        return set()
    return {int(e) for e in (eos if isinstance(eos, list) else [eos])}


def _apply_rope_scaling(config: Any, scaling: dict[str, Any]) -> None:
    """h2oGPT's ``rope_scaling`` ({"type": "linear", "factor": 2}) on a transformers 5
    config, whose RoPE settings live in ``rope_parameters`` (with ``rope_type``)."""
    scaling = dict(scaling)
    if "type" in scaling and "rope_type" not in scaling:
        scaling["rope_type"] = scaling.pop("type")
    current = getattr(config, "rope_parameters", None)
    if isinstance(current, dict):
        config.rope_parameters = {**current, **scaling}
    else:
        config.rope_scaling = scaling
