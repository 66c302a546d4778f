"""GGUF models in-process through llama-cpp-python.

Generation runs in one worker thread per request and hands tokens to the event loop
through a queue. Cancelling the consumer sets a stop flag that the thread checks between
tokens *and* that llama.cpp's abort callback checks between batches of prompt
processing, so even a long prompt stops promptly; the cleanup path then joins the
thread, so nothing keeps generating in the background.

A ``Llama`` object is not thread-safe: requests to one engine are serialised.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from h2otui.engines.base import (
    Capabilities,
    Engine,
    EngineError,
    EngineOptions,
    Event,
    Finished,
    FinishReason,
    GenerationRequest,
    Message,
    StopWatch,
    TextDelta,
)
from h2otui.engines.prompts import (
    TEMPLATE,
    get_template,
    prompt_type_for_model,
    render,
)

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


_DONE = object()


class LlamaCppEngine(Engine):
    engine_name = "llamacpp"
    Options = LlamaCppOptions
    capabilities = Capabilities(chat_messages=False, raw_prompt=True, local=True)

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
        self.model_path = model_path
        self.model_name = model_name
        self.options = options
        self._forced_prompt_type = prompt_type
        self._prompt_dict = prompt_dict
        self._base_model = base_model
        self.system_prompt = system_prompt
        self.prompt_type = prompt_type or ""
        self._llm: Any = None
        self._load_lock = threading.Lock()
        self._gen_lock = asyncio.Lock()
        # The one stop flag: a NUL-terminated byte, read by the worker between tokens and
        # by llama.cpp's abort callback inside prompt processing (see _install_abort_callback)
        self._abort_flag = ctypes.create_string_buffer(2)
        self._chat_formatter: Any = None
        self._bos_text = ""
        # One persistent thread runs all of this engine's llama.cpp calls: llama.cpp
        # parallelises with OpenMP, whose thread team belongs to the calling thread, so a
        # fresh thread per request would build a new team each time.
        self._executor: Any = None
        self._running: Any = None

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
        if entry.prompt_type and entry.prompt_type != TEMPLATE:
            get_template(entry.prompt_type, entry.prompt_dict)  # a bad type fails here, early
        assert isinstance(options, LlamaCppOptions)
        return cls(
            path,
            model_name=entry.name,
            options=options,
            prompt_type=entry.prompt_type,
            prompt_dict=entry.prompt_dict,
            base_model=entry.base_model,
            system_prompt=entry.system_prompt,
        )

    # --- loading -----------------------------------------------------------------

    def _load_sync(self) -> Any:
        with self._load_lock:
            if self._llm is not None:
                return self._llm
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
            self._llm = llm
            return llm

    def _install_abort_callback(self, llm: Any) -> None:
        """Let llama.cpp stop mid-prompt-processing when the request is cancelled.

        ggml polls the abort callback for every graph node on every thread -- hundreds of
        calls per token -- so a Python callback (GIL round trip each time) costs ~25% of
        generation speed. Instead the callback is libc's ``strlen`` on a two-byte flag
        buffer: it returns 1 (abort) once we write a non-zero first byte, 0 otherwise. The
        caller reads only the low bits of the return register for a ``bool``, on x86-64
        and AArch64 alike, so this is a zero-overhead C-level poll. Where libc can't be
        found we fall back to a Python callback reading the same flag.
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
            self._abort_cb = cb_type(lambda _data: self._stop_requested)
            data = None
        setter(ctx, self._abort_cb, data)

    def _set_abort(self, value: bool) -> None:
        self._abort_flag[0] = b"\x01" if value else b"\x00"

    @property
    def _stop_requested(self) -> bool:
        return self._abort_flag[0] != b"\x00"

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
        ptype = self._forced_prompt_type
        if ptype is None and template:
            ptype = TEMPLATE
        if ptype is None:
            ptype = prompt_type_for_model(self._base_model) or "plain_qa"
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

    def _pool(self) -> Any:
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"llamacpp-{self.model_name}")
        return self._executor

    @property
    def generating(self) -> bool:
        """True while a generation is still running in the engine's thread."""
        return self._running is not None and not self._running.done()

    async def load(self) -> None:
        if self._llm is None:
            await asyncio.get_running_loop().run_in_executor(self._pool(), self._load_sync)

    async def aclose(self) -> None:
        async with self._gen_lock:
            llm, self._llm = self._llm, None
            if llm is not None:
                with contextlib.suppress(Exception):
                    llm.close()
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None

    # --- prompts and tokens --------------------------------------------------------

    def _with_system(self, messages: Sequence[Message]) -> list[Message]:
        msgs = list(messages)
        if self.system_prompt is not None and not (msgs and msgs[0].role == "system"):
            msgs.insert(0, Message("system", self.system_prompt))
        return msgs

    def render(self, messages: Sequence[Message]) -> tuple[str, list[str]]:
        self._load_sync()  # the prompt type depends on the model's metadata
        msgs = self._with_system(messages)
        if self.prompt_type == TEMPLATE:
            # "auto" / "" mean: no system message (the template applies its own default)
            chat = [
                {"role": m.role, "content": m.content}
                for m in msgs
                if m.role != "system" or m.content not in ("", "auto")
            ]
            response = self._chat_formatter(messages=chat)
            stop = (
                response.stop
                if isinstance(response.stop, list)
                else ([response.stop] if response.stop else [])
            )
            return response.prompt, stop
        rendered = render(get_template(self.prompt_type, self._prompt_dict), msgs)
        return rendered.text, rendered.stop

    def render_prompt(self, messages: Sequence[Message]) -> str:
        return self.render(messages)[0]

    def _tokenize_prompt(self, text: str) -> list[int]:
        llm = self._load_sync()
        add_bos = not (self._bos_text and text.startswith(self._bos_text))
        tokens: list[int] = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        return tokens

    def count_tokens(self, text: str) -> int:
        llm = self._load_sync()
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    @property
    def context_length(self) -> int:
        if self._llm is not None:
            return int(self._llm.n_ctx())
        return self.options.n_ctx or 2048

    # --- generation --------------------------------------------------------------

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Event]:
        await self.load()
        # aclosing: when the consumer closes this stream early, the inner generator's
        # cleanup (stop + wait for the worker) must run now, not at garbage collection
        async with self._gen_lock, contextlib.aclosing(self._stream_locked(request)) as events:
            async for event in events:
                yield event

    async def _stream_locked(self, request: GenerationRequest) -> AsyncIterator[Event]:
        llm = self._llm
        if llm is None:
            raise EngineError(f"model '{self.model_name}' was closed")
        if request.prompt is not None:
            prompt_text, stops = request.prompt, []
        else:
            prompt_text, stops = self.render(request.messages)
        params = request.params
        stops = [s for s in dict.fromkeys([*stops, *params.stop]) if s]
        tokens = self._tokenize_prompt(prompt_text)
        n_ctx = llm.n_ctx()
        if len(tokens) >= n_ctx:
            raise EngineError(
                f"the prompt is {len(tokens)} tokens but model '{self.model_name}' has a context of "
                f"{n_ctx}; shorten the input or raise options.n_ctx"
            )
        max_tokens = min(params.max_new_tokens, n_ctx - len(tokens))

        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._set_abort(False)
        watch = StopWatch()
        state: dict[str, Any] = {"finish": None, "error": None, "completion_tokens": 0}

        def put(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            gen = None
            try:
                if not self.options.cache_prompt:
                    llm.reset()
                gen = llm.create_completion(
                    tokens,
                    max_tokens=max_tokens,
                    temperature=0.0 if params.greedy else params.temperature,
                    top_p=params.top_p,
                    top_k=params.top_k,
                    repeat_penalty=params.repetition_penalty,
                    stop=stops or None,
                    seed=params.seed,
                    stream=True,
                )
                for chunk in gen:
                    if self._stop_requested:
                        state["finish"] = FinishReason.CANCELLED
                        break
                    choice = chunk["choices"][0]
                    if choice.get("text"):
                        put(choice["text"])
                    if choice.get("finish_reason"):
                        state["finish"] = (
                            FinishReason.LENGTH
                            if choice["finish_reason"] == "length"
                            else FinishReason.STOP
                        )
            except Exception as exc:
                if self._stop_requested:
                    state["finish"] = FinishReason.CANCELLED
                else:
                    state["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                if gen is not None:
                    with contextlib.suppress(Exception):
                        gen.close()
                # the last sampled token is never evaluated, hence + 1
                state["completion_tokens"] = max(0, llm.n_tokens - len(tokens) + 1)
                put(_DONE)

        future = self._pool().submit(work)
        self._running = future
        produced = False
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                watch.mark_token()
                if not produced:
                    # the space models emit after "Answer:" / "ASSISTANT:" is not part of the answer
                    item = item.lstrip()
                    if not item:
                        continue
                produced = True
                yield TextDelta(item)
        finally:
            # runs on normal end, on cancellation and on aclose(): never leave the thread running
            self._set_abort(True)
            future.result()  # work() never raises; this waits for it to return
            self._set_abort(False)
        completion = state["completion_tokens"]
        yield watch.usage(len(tokens), completion)
        if state["error"]:
            if not produced:
                raise EngineError(f"model '{self.model_name}' failed: {state['error']}")
            yield Finished(FinishReason.ERROR, state["error"])
        else:
            yield Finished(state["finish"] or FinishReason.STOP)


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
