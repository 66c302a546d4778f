"""What every in-process engine that generates in a thread shares (llama.cpp; transformers next).

Model libraries generate with blocking calls. :class:`ThreadedEngine` runs them in **one
persistent worker thread** per engine and hands the text to the event loop through a
queue, so a subclass supplies only:

* :meth:`ThreadedEngine._load_model` -- load the weights (blocking; runs on the worker);
* :meth:`ThreadedEngine.tokenize_prompt` and :meth:`Engine.count_tokens`;
* :meth:`ThreadedEngine._generate` -- a blocking loop that calls ``emit(text)`` for each
  piece of text and checks :attr:`ThreadedEngine.abort_requested` between steps.

Why one persistent thread: model runtimes keep per-thread state (llama.cpp's OpenMP
thread team belongs to the calling thread, so a fresh thread per request builds a new
team each time), and a model object is rarely thread-safe: requests to one engine are
serialised by a lock.

Closing never waits for a load: quitting the app right after it started, while the
model is still loading, must be instant. The worker is a **daemon** thread (a
``ThreadPoolExecutor``'s threads are joined when the interpreter exits, which held a quit
up for the whole load), :meth:`ThreadedEngine.aclose` waits only for a generation to stop
(that is prompt, see below), and a load that finishes after the engine was closed frees
the model it made instead of keeping it.

Cancellation (the engine contract in :mod:`h2otui.engines.base`): whether the stream ends
normally, its consumer is cancelled or it is closed early, the cleanup path sets the
abort flag, **joins the worker** and clears the flag, so nothing keeps generating in the
background. The flag is a two-byte ctypes buffer -- a NUL-terminated string that is
empty when generation may go on -- so that C code can poll it too: llama.cpp's abort
callback is libc's ``strlen`` on it (see ``LlamaCppEngine._install_abort_callback``).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import ctypes
import queue
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, ClassVar

from h2otui.engines.base import (
    EngineError,
    EngineRequestError,
    Event,
    Finished,
    FinishReason,
    GenerationRequest,
    SamplingParams,
    StopWatch,
    TextDelta,
)
from h2otui.engines.prompting import PromptingEngine

_DONE = object()
_STOP = object()


class DaemonWorker:
    """One daemon thread running submitted calls in order (a one-thread executor whose
    thread the interpreter does not join at exit, unlike ``ThreadPoolExecutor``'s)."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._jobs.put((fn, future))
        return future

    def stop(self) -> None:
        """End the thread once the calls already submitted have run (does not wait)."""
        self._jobs.put(_STOP)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not _STOP:
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn()
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
            del job, fn, future  # the worker must not keep a finished job's result alive


def run_in_daemon_thread(fn: Callable[..., Any], *args: Any) -> Future[Any]:
    """Run ``fn(*args)`` on a new daemon thread (``asyncio.to_thread`` uses the loop's
    default executor, which ``asyncio.run`` joins on exit): for work a quit must not wait
    for, such as importing a model library. Await it with ``asyncio.wrap_future``."""
    future: Future[Any] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name=getattr(fn, "__name__", "task"), daemon=True).start()
    return future


@dataclass(frozen=True, slots=True)
class GenerationJob:
    """One generation, ready for the worker: the prompt's tokens and how to sample."""

    prompt_tokens: list[int]
    params: SamplingParams
    #: ``params.max_new_tokens``, shrunk to the room left in the context
    max_new_tokens: int
    #: the prompt type's stop sequences and the request's own, merged
    stops: list[str]


class ThreadedEngine(PromptingEngine):
    """Base of in-process engines whose model runs blocking calls on one worker thread."""

    #: where to raise the context length, for the "prompt too long" error
    context_option: ClassVar[str] = "the model's context length"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._model: Any = None
        self._load_lock = threading.Lock()
        #: guards ``_model`` and ``_closed`` between a finishing load and aclose()
        self._state_lock = threading.Lock()
        self._closed = False
        self._gen_lock = asyncio.Lock()
        # the one stop flag, read by the worker between steps (and by C code: see above)
        self._abort_flag = ctypes.create_string_buffer(2)
        self._worker: DaemonWorker | None = None
        self._running: Any = None

    # --- what a subclass supplies -------------------------------------------------------

    @abc.abstractmethod
    def _load_model(self) -> Any:
        """Load and return the model (blocking). Called once, under a lock."""

    def _close_model(self, model: Any) -> None:
        """Free the model's resources (called from :meth:`aclose`)."""
        close = getattr(model, "close", None)
        if close is not None:
            close()

    @abc.abstractmethod
    def tokenize_prompt(self, text: str) -> list[int]:
        """The tokens the model sees for a rendered prompt (special tokens parsed)."""

    @abc.abstractmethod
    def _generate(self, job: GenerationJob, emit: Callable[[str], None]) -> FinishReason:
        """Generate (blocking, on the worker thread), calling ``emit`` with each piece of
        text. Check :attr:`abort_requested` between steps and return ``CANCELLED`` when it
        is set; return ``STOP`` / ``LENGTH`` otherwise. Raise on failure."""

    def _completion_tokens(self, job: GenerationJob, emitted: int) -> int:
        """Tokens generated (run on the worker after :meth:`_generate`, even after a
        failure); ``emitted`` counts the ``emit`` calls."""
        return emitted

    # --- the worker thread and the stop flag ---------------------------------------------

    def _pool(self) -> DaemonWorker:
        if self._worker is None:
            self._worker = DaemonWorker(f"{self.engine_name}-{self.model_name}")
        return self._worker

    def _set_abort(self, value: bool) -> None:
        self._abort_flag[0] = b"\x01" if value else b"\x00"

    @property
    def abort_requested(self) -> bool:
        """True once the current generation should stop (cancel, close, early end)."""
        return self._abort_flag[0] != b"\x00"

    @property
    def generating(self) -> bool:
        """True while a generation is still running in the engine's thread."""
        return self._running is not None and not self._running.done()

    # --- loading and closing ---------------------------------------------------------

    def _closed_error(self) -> EngineError:
        return EngineError(f"model '{self.model_name}' was closed")

    def _load_sync(self) -> Any:
        """The loaded model, loading it now if needed (blocking; idempotent). Raises
        :class:`EngineError` once the engine is closed; a load that ends after
        :meth:`aclose` frees its model."""
        with self._load_lock:
            model = self._model
            if model is not None:
                return model
            if self._closed:
                raise self._closed_error()
            model = self._load_model()
            with self._state_lock:
                closed = self._closed
                if not closed:
                    self._model = model
            if closed:
                with contextlib.suppress(Exception):
                    self._close_model(model)
                raise self._closed_error()
            return model

    async def load(self) -> None:
        if self._model is None:
            if self._closed:
                raise self._closed_error()
            # a cancelled await leaves the load running on the worker; it finishes there
            await asyncio.wrap_future(self._pool().submit(self._load_sync))

    async def aclose(self) -> None:
        """Free the model. Waits for a generation in progress to stop (the stream's
        cleanup stops it within the cancellation contract), never for a load: that one
        finishes on the daemon worker and frees what it loaded."""
        async with self._gen_lock:
            with self._state_lock:
                self._closed = True
                model, self._model = self._model, None
            if model is not None:
                with contextlib.suppress(Exception):
                    self._close_model(model)
            worker, self._worker = self._worker, None
            if worker is not None:
                worker.stop()

    # --- generation ------------------------------------------------------------------

    def _prepare(self, request: GenerationRequest) -> GenerationJob:
        """Render and tokenize the request; raise (before any thread work) if it cannot fit."""
        prompt_text, stops = self.prompt_and_stops(request)
        tokens = self.tokenize_prompt(prompt_text)
        n_ctx = self.context_length
        if len(tokens) >= n_ctx:
            # the request is at fault, as when a server answers 400: ask exits 2 for it
            raise EngineRequestError(
                f"the prompt is {len(tokens)} tokens but model '{self.model_name}' has a context "
                f"of {n_ctx}; shorten the input or raise {self.context_option}"
            )
        max_new = min(request.params.max_new_tokens, n_ctx - len(tokens))
        return GenerationJob(tokens, request.params, max_new, stops)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Event]:
        await self.load()
        # aclosing: when the consumer closes this stream early, the inner generator's
        # cleanup (stop + wait for the worker) must run now, not at garbage collection
        async with self._gen_lock, contextlib.aclosing(self._stream_locked(request)) as events:
            async for event in events:
                yield event

    async def _stream_locked(self, request: GenerationRequest) -> AsyncIterator[Event]:
        if self._model is None:
            raise self._closed_error()
        job = self._prepare(request)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._set_abort(False)
        watch = StopWatch()
        state: dict[str, Any] = {"finish": None, "error": None, "completion_tokens": 0}

        def emit(text: str) -> None:
            state["emitted"] = state.get("emitted", 0) + 1
            loop.call_soon_threadsafe(queue.put_nowait, text)

        def work() -> None:
            try:
                state["finish"] = self._generate(job, emit)
            except Exception as exc:
                if self.abort_requested:
                    state["finish"] = FinishReason.CANCELLED
                else:
                    state["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                with contextlib.suppress(Exception):
                    state["completion_tokens"] = self._completion_tokens(
                        job, state.get("emitted", 0)
                    )
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

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
        yield watch.usage(len(job.prompt_tokens), state["completion_tokens"])
        if state["error"]:
            if not produced:
                raise EngineError(f"model '{self.model_name}' failed: {state['error']}")
            yield Finished(FinishReason.ERROR, state["error"])
        else:
            yield Finished(state["finish"] or FinishReason.STOP)
