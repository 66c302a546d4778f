"""GGUF models in-process through llama-cpp-python.

Generation runs in the engine's one worker thread and hands tokens to the event loop
through a queue (:class:`~h2otui.engines.threaded.ThreadedEngine`). Cancelling the
consumer sets a stop flag that the thread checks between tokens *and* that llama.cpp's
abort callback checks between batches of prompt processing, so even a long prompt stops
promptly; the cleanup path then joins the thread, so nothing keeps generating in the
background.

A ``Llama`` object is not thread-safe: requests to one engine are serialised.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from h2otui.engines.base import (
    Capabilities,
    EngineError,
    EngineOptions,
    FinishReason,
    Message,
)
from h2otui.engines.prompts import TEMPLATE
from h2otui.engines.threaded import GenerationJob, ThreadedEngine

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings


class LlamaCppOptions(EngineOptions):
    """Options for the llama.cpp engine (h2oGPT's ``llamacpp_dict`` names)."""

    n_ctx: int = Field(4096, ge=0, description="Context length; 0 = the model's own.")
    n_threads: int | None = Field(
        None, ge=1, description="CPU threads; unset = half the logical CPUs (~physical cores)."
    )
    n_batch: int = Field(512, ge=1, description="Prompt tokens processed per batch.")
    n_gpu_layers: int = Field(0, ge=-1, description="Layers offloaded to the GPU; -1 = all.")
    use_mmap: bool = True
    use_mlock: bool = False
    cache_prompt: bool = Field(
        False,
        description=(
            "Reuse the KV cache of the previous request's matching prefix (faster multi-turn "
            "chat on big models). Off by default: llama.cpp's logits depend slightly on how a "
            "prompt was batched, so reuse can change a greedy answer to the same question."
        ),
    )


class LlamaCppEngine(ThreadedEngine):
    engine_name = "llamacpp"
    Options = LlamaCppOptions
    capabilities = Capabilities(chat_messages=False, raw_prompt=True, local=True)
    default_prompt_type = "plain_qa"
    context_option = "options.n_ctx"

    def __init__(
        self,
        model_path: Path,
        *,
        model_name: str,
        options: LlamaCppOptions,
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
        self.model_path = model_path
        self.model_name = model_name
        self.options = options
        self._chat_formatter: Any = None
        self._bos_text = ""

    # --- construction ------------------------------------------------------------

    @classmethod
    def from_entry(cls, entry: ModelEntry, settings: Settings) -> LlamaCppEngine:
        from h2otui.engines.embedded import resolve_model_path

        options = cls.parse_options(entry.options, model_name=entry.name)
        if not entry.model_path:
            raise EngineError(
                f"model '{entry.name}': the llamacpp engine needs model_path (a .gguf file)"
            )
        path = resolve_model_path(entry.model_path, settings.data_path, model_name=entry.name)
        if path.is_dir():
            raise EngineError(
                f"model '{entry.name}': model_path {path} is a directory, not a .gguf file"
            )
        cls.check_prompt_type(entry)
        assert isinstance(options, LlamaCppOptions)
        return cls(path, model_name=entry.name, options=options, **cls.prompt_settings(entry))

    # --- loading -----------------------------------------------------------------

    @property
    def _llm(self) -> Any:
        """The loaded ``Llama`` (None before :meth:`load` and after :meth:`aclose`)."""
        return self._model

    def _load_model(self) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise EngineError(
                "llama-cpp-python is not installed: pip install llama-cpp-python"
            ) from None
        opts = self.options
        threads = opts.n_threads or _default_threads()
        _silence_llama_logs()
        try:
            # verbose=True, on purpose: verbose=False makes llama-cpp-python silence
            # loading by pointing the process's fds 1 and 2 at /dev/null (and swapping
            # sys.stdout / sys.stderr) for the duration. Process-wide, that blanks the
            # TUI (Textual draws on stderr), swallows other threads' messages, and two
            # concurrent loads can leave the fds redirected for good. llama.cpp's own
            # logs already go to our callback; its Python-side chatter is muted below.
            llm = Llama(
                model_path=str(self.model_path),
                n_ctx=opts.n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=opts.n_batch,
                n_gpu_layers=opts.n_gpu_layers,
                use_mmap=opts.use_mmap,
                use_mlock=opts.use_mlock,
                verbose=True,
            )
            llm.verbose = False  # no per-request timing prints
        except (ValueError, RuntimeError) as exc:
            raise EngineError(
                f"model '{self.model_name}': llama.cpp could not load {self.model_path}: {exc}. "
                "Is it a valid GGUF file?"
            ) from None
        self._install_abort_callback(llm)
        self._resolve_prompt_type(llm)
        return llm

    def _install_abort_callback(self, llm: Any) -> None:
        """Let llama.cpp stop mid-prompt-processing when the request is cancelled.

        ggml polls the abort callback for every graph node on every thread -- hundreds of
        calls per token -- so a Python callback (GIL round trip each time) costs ~25% of
        generation speed. Instead the callback is libc's ``strlen`` on the engine's
        two-byte abort flag buffer (:class:`ThreadedEngine`): it returns 1 (abort) once the
        flag's first byte is non-zero, 0 otherwise. The caller reads only the low bits of
        the return register for a ``bool``, on x86-64 and AArch64 alike, so this is a
        zero-overhead C-level poll. Where libc can't be found we fall back to a Python
        callback reading the same flag.
        """
        try:
            import llama_cpp
        except ImportError:  # pragma: no cover
            return
        setter = getattr(llama_cpp, "llama_set_abort_callback", None)
        cb_type = getattr(llama_cpp, "ggml_abort_callback", None)
        ctx = getattr(getattr(llm, "_ctx", None), "ctx", None)
        if setter is None or cb_type is None or ctx is None:
            return
        try:
            strlen = ctypes.CDLL(None).strlen
            self._abort_cb = cb_type(ctypes.cast(strlen, ctypes.c_void_p).value)
            data = ctypes.cast(self._abort_flag, ctypes.c_void_p)
        except (OSError, AttributeError, TypeError):
            self._abort_cb = cb_type(lambda _data: self.abort_requested)
            data = None
        setter(ctx, self._abort_cb, data)

    def _resolve_prompt_type(self, llm: Any) -> None:
        metadata: dict[str, str] = getattr(llm, "metadata", {}) or {}
        template = metadata.get("tokenizer.chat_template")
        try:
            bos_id = llm.token_bos()
            self._bos_text = (
                llm.detokenize([bos_id], special=True).decode("utf-8", "ignore")
                if bos_id >= 0
                else ""
            )
        except Exception:
            self._bos_text = ""
        # no base_model: h2oGPT also tries the GGUF's file name (zephyr-7b-beta.Q5_K_M.gguf)
        ptype = self.resolve_prompt_type(str(self.model_path), has_template=bool(template))
        if ptype == TEMPLATE:
            if not template:
                raise EngineError(
                    f"model '{self.model_name}': prompt_type 'template' but the GGUF has no chat template"
                )
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "ignore")
            self._chat_formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=eos,
                bos_token=self._bos_text,
                add_generation_prompt=True,
            )
        self.prompt_type = ptype

    # --- prompts and tokens --------------------------------------------------------

    def render_messages(self, messages: Sequence[Message]) -> tuple[str, list[str]]:
        self._load_sync()  # the prompt type depends on the model's metadata
        if self.prompt_type != TEMPLATE:
            return super().render_messages(messages)
        # "auto" / "" mean: no system message (the template applies its own default)
        chat = [
            {"role": m.role, "content": m.content}
            for m in self._with_system(messages)
            if m.role != "system" or m.content not in ("", "auto")
        ]
        response = self._chat_formatter(messages=chat)
        stop = (
            response.stop
            if isinstance(response.stop, list)
            else ([response.stop] if response.stop else [])
        )
        return response.prompt, stop

    def tokenize_prompt(self, text: str) -> list[int]:
        llm = self._load_sync()
        add_bos = not (self._bos_text and text.startswith(self._bos_text))
        tokens: list[int] = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        return tokens

    def count_tokens(self, text: str) -> int:
        llm = self._load_sync()
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    @property
    def context_length(self) -> int:
        if self._model is not None:
            return int(self._model.n_ctx())
        return self.options.n_ctx or 2048

    # --- generation (on the worker thread) ---------------------------------------------

    def _generate(self, job: GenerationJob, emit: Callable[[str], None]) -> FinishReason:
        llm = self._model
        # a request without a seed still gets a random one (llama.cpp would reuse its
        # model-wide default and repeat the same "random" answer every run)
        params = job.params.for_request()
        if not self.options.cache_prompt:
            llm.reset()
        gen = llm.create_completion(
            job.prompt_tokens,
            max_tokens=job.max_new_tokens,
            temperature=0.0 if params.greedy else params.temperature,
            top_p=params.top_p,
            top_k=params.top_k,
            repeat_penalty=params.repetition_penalty,
            stop=job.stops or None,
            seed=params.seed,
            stream=True,
        )
        finish = FinishReason.STOP
        try:
            for chunk in gen:
                if self.abort_requested:
                    return FinishReason.CANCELLED
                choice = chunk["choices"][0]
                if choice.get("text"):
                    emit(choice["text"])
                if choice.get("finish_reason"):
                    finish = (
                        FinishReason.LENGTH
                        if choice["finish_reason"] == "length"
                        else FinishReason.STOP
                    )
        finally:
            with contextlib.suppress(Exception):
                gen.close()
        return finish

    def _completion_tokens(self, job: GenerationJob, emitted: int) -> int:
        # the last sampled token is never evaluated, hence + 1
        return max(0, self._model.n_tokens - len(job.prompt_tokens) + 1)


_LOG_CALLBACK: Any = None


def _silence_llama_logs() -> None:
    """Route llama.cpp's own log lines to Python logging (debug) instead of stderr.

    llama-cpp-python prints some of them even with verbose=False, which garbles the
    terminal; failures still surface as exceptions.
    """
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import ctypes
    import logging

    import llama_cpp

    log = logging.getLogger("h2otui.llamacpp")

    @llama_cpp.llama_log_callback  # type: ignore[misc]
    def callback(level: int, text: bytes, user_data: Any) -> None:
        log.debug("%s", text.decode("utf-8", "replace").rstrip())

    _LOG_CALLBACK = callback
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))

    # Llama(verbose=True) prints system info and model metadata while it loads; shadow
    # `print` in that one module (a module global, so no process-wide stream swapping)
    import llama_cpp.llama as llama_module

    def quiet_print(*args: Any, **kwargs: Any) -> None:
        log.debug("%s", " ".join(str(a) for a in args).rstrip())

    llama_module.print = quiet_print  # type: ignore[attr-defined]


def _default_threads() -> int:
    """Default thread count: about the number of physical cores, never all logical CPUs.

    llama.cpp's OpenMP threads spin-wait on each other, so one more thread than there
    are free cores stalls them all: on a 2-CPU machine with anything else running, 2
    threads generated at 20 tokens/s where 1 thread made 46 (benchmarks/bench_ask.py
    era measurements). Half the usable logical CPUs approximates the physical cores on
    SMT machines and leaves headroom elsewhere, like llama.cpp's own default.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, n // 2)
