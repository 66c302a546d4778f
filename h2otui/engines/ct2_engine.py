"""Hugging Face models in-process through CTranslate2 (int8 on the CPU, int8_float16 on a GPU).

CTranslate2 (already installed for faster-whisper) runs its own model format. The engine
converts the model directory once into ``<data dir>/models/ct2/`` -- quantized with
``options.quantization`` (int8 by default) -- and reuses the conversion afterwards:

* the converted folder's name holds a fingerprint of the source (its config, the names,
  sizes and modification times of its weight files), the quantization and the
  CTranslate2 version, so a changed model or an upgrade converts afresh;
* conversion writes into a temporary folder, renamed into place once complete, under a
  file lock: a process killed half-way, or two processes converting at once, never leave
  a broken model behind; a folder without its ``h2otui-ct2.json`` marker is not used.

Tokens stream from ``Generator.generate_tokens`` on the engine's worker thread; the
engine's stop flag is also CTranslate2's per-step callback, and the iterator is closed on
every exit path, which joins CTranslate2's own decoding thread: nothing keeps generating.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from h2otui.engines.base import Capabilities, EngineConfigError, EngineError, FinishReason
from h2otui.engines.hf_common import (
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

MARKER = "h2otui-ct2.json"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".json", ".model", ".txt")


class CT2Options(HFOptions):
    """Options of the CTranslate2 engine."""

    quantization: Literal["auto", "int8", "int8_float16", "int8_bfloat16", "float16", "float32"] = (
        Field(
            "auto",
            description="Weights as converted and run; 'auto' = int8 (int8_float16 on a GPU).",
        )
    )
    intra_threads: int = Field(
        0, ge=0, description="CTranslate2's name for n_threads; 0 = unset (its default)."
    )

    @model_validator(mode="after")
    def _one_thread_count(self) -> CT2Options:
        if self.n_threads and self.intra_threads and self.n_threads != self.intra_threads:
            raise ValueError(
                f"n_threads = {self.n_threads} and intra_threads = {self.intra_threads} "
                "disagree; set one of them"
            )
        return self

    @property
    def threads(self) -> int:
        """CTranslate2's ``intra_threads`` (0 = its default)."""
        return self.n_threads or self.intra_threads


class CT2Engine(HFTokenizerEngine):
    engine_name = "ct2"
    Options = CT2Options
    capabilities = Capabilities(chat_messages=False, raw_prompt=True, local=True)

    def __init__(
        self,
        model_dir: Path,
        *,
        model_name: str,
        options: CT2Options,
        cache_root: Path,
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
        self.model_name = model_name
        self.options = options
        self.cache_root = cache_root
        self.device = "cpu"
        self.converted: Path | None = None

    def __repr__(self) -> str:
        return f"CT2Engine({self.model_name!r}, {self.model_dir})"

    @classmethod
    def from_entry(cls, entry: ModelEntry, settings: Settings) -> CT2Engine:
        options = cls.parse_options(entry.options, model_name=entry.name)
        assert isinstance(options, CT2Options)
        model_dir, _gguf = resolve_model_source(entry, settings, allow_gguf=False)
        cls.check_prompt_type(entry)
        return cls(
            model_dir,
            model_name=entry.name,
            options=options,
            cache_root=settings.data_path / "models" / "ct2",
            **cls.prompt_settings(entry),
        )

    # --- conversion --------------------------------------------------------------------

    def quantization(self) -> str:
        q = self.options.quantization
        if q == "auto":
            return "int8_float16" if self.device.startswith("cuda") else "int8"
        return q

    def fingerprint(self) -> str:
        """What the conversion depends on: the source's files, the quantization, ct2."""
        import ctranslate2

        digest = hashlib.sha256()
        digest.update(f"{ctranslate2.__version__}|{self.quantization()}".encode())
        for path in sorted(self.model_dir.iterdir()):
            if path.is_file() and path.name.endswith(_WEIGHT_SUFFIXES):
                st = path.stat()
                digest.update(f"|{path.name}:{st.st_size}:{st.st_mtime_ns}".encode())
        digest.update((self.model_dir / "config.json").read_bytes())
        return digest.hexdigest()[:16]

    def convert(self) -> Path:
        """The converted model folder, converting now if needed (blocking; idempotent)."""
        from h2otui.engines.embedded import _file_lock
        from h2otui.privacy import PRIVATE_DIR, tighten_tree

        fp = self.fingerprint()
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.model_dir.name)
        target = self.cache_root / f"{safe}-{self.quantization()}-{fp}"
        if _valid(target, fp):
            return target
        self.cache_root.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        with _file_lock(self.cache_root / f".{target.name}.lock"):
            if _valid(target, fp):  # another process converted it meanwhile
                return target
            from ctranslate2.converters import TransformersConverter

            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=self.cache_root))
            try:
                converter = TransformersConverter(
                    str(self.model_dir),
                    low_cpu_mem_usage=True,
                    trust_remote_code=self.options.trust_remote_code,
                )
                converter.convert(str(tmp), quantization=self.quantization(), force=True)
                (tmp / MARKER).write_text(
                    json.dumps({"fingerprint": fp, "source": str(self.model_dir)})
                )
                tighten_tree(tmp)  # private whatever the umask (0700 dirs, 0600 files)
                if target.exists():  # a stale folder without a valid marker
                    shutil.rmtree(target)
                tmp.rename(target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return target

    # --- loading (on the worker thread) ----------------------------------------------

    def _load_model(self) -> Any:
        try:
            import ctranslate2
        except ImportError:
            raise EngineConfigError(
                "the ct2 engine needs ctranslate2, which is not installed: pip install ctranslate2"
            ) from None
        opts = self.options
        warn_remote_code(opts, self.model_name)
        self.device = resolve_device(opts, self.model_name)
        try:
            self.converted = self.convert()
        except EngineError:
            raise
        except Exception as exc:
            if is_out_of_memory(exc):
                raise EngineError(
                    f"model '{self.model_name}': not enough memory to convert {self.model_dir} "
                    "for CTranslate2"
                ) from None
            arch = unsupported_arch_error(exc, self.model_name, self.model_dir)
            if arch is not None:
                raise arch from None
            if isinstance(exc, NotImplementedError | ValueError):
                raise EngineConfigError(
                    f"model '{self.model_name}': CTranslate2 {ctranslate2.__version__} cannot "
                    f"convert {self.model_dir}: {exc}; use the transformers engine for it"
                ) from None
            raise EngineError(
                f"model '{self.model_name}': converting {self.model_dir} for CTranslate2 failed: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        device, _, index = self.device.partition(":")
        try:
            generator = ctranslate2.Generator(
                str(self.converted),
                device=device,
                device_index=int(index or 0),
                compute_type=self.quantization(),
                intra_threads=opts.threads,
            )
        except Exception as exc:
            if is_out_of_memory(exc):
                raise EngineError(
                    f"model '{self.model_name}': not enough memory to load it on {self.device}"
                ) from None
            raise EngineError(
                f"model '{self.model_name}': CTranslate2 cannot load {self.converted}: {exc}"
            ) from None
        self.tokenizer = self._load_tokenizer(self.model_dir, None, opts.trust_remote_code)
        from transformers import AutoConfig

        with contextlib.suppress(Exception):
            config = AutoConfig.from_pretrained(
                str(self.model_dir), local_files_only=True, trust_remote_code=opts.trust_remote_code
            )
            self._context_length = self._model_context(config, opts)
        self._choose_prompt_type()
        return generator

    def _close_model(self, model: Any) -> None:
        del model
        self.tokenizer = None

    # --- generation (on the worker thread) ---------------------------------------------

    def _generate(self, job: GenerationJob, emit: Callable[[str], None]) -> FinishReason:
        import ctranslate2

        params = job.params.for_request()
        if params.seed is not None and not params.greedy:
            ctranslate2.set_random_seed(params.seed)
        tokens = self.tokenizer.convert_ids_to_tokens(job.prompt_tokens)
        sampling: dict[str, Any] = (
            {"sampling_topk": 1}
            if params.greedy
            else {
                "sampling_topk": params.top_k,
                "sampling_topp": params.top_p,
                "sampling_temperature": params.temperature,
            }
        )
        end = _end_tokens(self.tokenizer, self.model_dir)
        end_ids = {int(i) for i in self.tokenizer.convert_tokens_to_ids(end) if i is not None}
        decoder = IncrementalDecoder(self.tokenizer)
        stop_text = StopText(job.stops)
        self._last_generated = 0
        steps = self._model.generate_tokens(
            tokens,
            max_length=job.max_new_tokens,
            repetition_penalty=params.repetition_penalty,
            end_token=end or None,
            callback=lambda _step: self.abort_requested,
            **sampling,
        )
        hit_end = False
        try:
            for step in steps:
                self._last_generated += 1
                if self.abort_requested:
                    return FinishReason.CANCELLED
                if step.token_id in end_ids:
                    hit_end = True
                    break
                shown = stop_text.feed(decoder.push(step.token_id))
                if shown:
                    emit(shown)
                if stop_text.stopped:
                    return FinishReason.STOP
        finally:
            steps.close()  # stops and joins CTranslate2's decoding thread
        if self.abort_requested:
            return FinishReason.CANCELLED
        rest = stop_text.flush()
        if rest:
            emit(rest)
        if hit_end or self._last_generated < job.max_new_tokens:
            return FinishReason.STOP
        return FinishReason.LENGTH

    def _completion_tokens(self, job: GenerationJob, emitted: int) -> int:
        return int(getattr(self, "_last_generated", emitted))


def _valid(target: Path, fingerprint: str) -> bool:
    try:
        marker = json.loads((target / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("fingerprint") == fingerprint and (target / "model.bin").is_file()


def _end_tokens(tokenizer: Any, model_dir: Path) -> list[str]:
    """The tokens that end an answer: the generation config's EOS ids (chat models list
    their end-of-turn token there) and the tokenizer's EOS."""
    ids: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        gen = json.loads((model_dir / "generation_config.json").read_text())
        eos = gen.get("eos_token_id")
        ids += eos if isinstance(eos, list) else ([eos] if eos is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    tokens = tokenizer.convert_ids_to_tokens(list(dict.fromkeys(int(i) for i in ids)))
    return [t for t in tokens if t]
