"""An h2oGPT Gradio server, through ``gradio_client``.

h2oGPT's stable API for programs is ``/submit_nochat_api``: one string argument, the
``str()`` of a dict of h2oGPT parameters (``instruction_nochat``, ``h2ogpt_key``,
``langchain_mode``, ``max_new_tokens``, ``temperature``, ..., ``stream_output``); it
returns (and, when streaming, repeatedly yields) the ``str()`` of a dict with
``response``, ``sources``, ``error`` and ``save_dict``. The server applies its own
model's prompt type, so h2otui sends the plain question, the system prompt and the
earlier turns (``chat_conversation``).

``gradio_client`` is synchronous: each request runs in a worker thread that hands the
growing response to the event loop; cancelling the consumer cancels the Gradio job.
Sources of the last answer are kept in :attr:`GradioEngine.last_sources`.

Privacy: ``gradio_client`` would send the user's Hugging Face token to any server and
report the server address to Hugging Face's telemetry; both are switched off here. The
result's ``save_dict`` echoes the h2ogpt key back and is never shown.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from h2otui.engines.base import (
    Capabilities,
    EngineAuthError,
    EngineConfigError,
    EngineError,
    Event,
    Finished,
    FinishReason,
    GenerationRequest,
    ModelNotFoundError,
    StopWatch,
    TextDelta,
)
from h2otui.engines.prompting import merge_stops
from h2otui.engines.remote import (
    Endpoint,
    RemoteEngine,
    RemoteOptions,
    StallError,
    StopScanner,
    TransientError,
    estimate_tokens,
)
from h2otui.servers import scrub

API_NAME = "/submit_nochat_api"
_INVALID_KEY = "invalid access key"


class GradioOptions(RemoteOptions):
    """Options for h2oGPT Gradio servers (on top of the shared remote options)."""

    h2ogpt_key: str | None = Field(
        None, repr=False, description="h2oGPT API key (prefer h2ogpt_key_env)."
    )
    h2ogpt_key_env: str = Field("H2OGPT_KEY", description="Environment variable holding the key.")
    langchain_mode: str = Field(
        "LLM", description="h2oGPT langchain_mode: LLM (no documents) or a server collection."
    )
    visible_models: str | int | None = Field(
        None, description="Which of the server's models answers (name or index)."
    )
    api_name: str = Field(API_NAME, description="The server's string-of-dict API.")
    stream: bool = Field(True, description="Stream partial answers (stream_output).")
    extra: dict[str, Any] = Field(
        default_factory=dict, description="More h2oGPT parameters sent as-is."
    )


_DONE = object()
#: how often a job's new outputs are read (and a stop is noticed) by its worker thread
_POLL_S = 0.01


class GradioEngine(RemoteEngine):
    engine_name = "gradio"
    Options = GradioOptions
    capabilities = Capabilities(
        chat_messages=True, raw_prompt=False, stop_sequences=True, seed=True, local=False
    )

    options: GradioOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[str, Any] = {}
        self._client_lock = threading.Lock()
        #: sources of the last answer, as the server sent them (list of dicts or strings)
        self.last_sources: list[Any] = []

    @property
    def _h2ogpt_key(self) -> str | None:
        if self.options.h2ogpt_key:
            return self.options.h2ogpt_key
        name = self.options.h2ogpt_key_env
        return (os.environ.get(name) or os.environ.get("H2OGPT_H2OGPT_KEY")) if name else None

    @property
    def secrets(self) -> list[str]:
        key = self._h2ogpt_key
        return [*super().secrets, *([key] if key else [])]

    # --- the gradio client (sync, built in a thread) --------------------------------------

    def _client_sync(self, endpoint: Endpoint) -> Any:
        with self._client_lock:
            client = self._clients.get(endpoint.spec.base_url)
            if client is not None:
                return client
            try:
                from gradio_client import Client
            except ImportError:
                raise EngineConfigError(
                    "the gradio engine needs gradio_client: pip install gradio-client"
                ) from None
            # no telemetry (it would report the server address to Hugging Face)
            os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
            os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
            spec = endpoint.spec
            auth = (spec.username, spec.password or "") if spec.username is not None else None
            headers = dict(self.options.headers)
            if spec.auth_header:
                headers["Authorization"] = spec.auth_header
            cfg = self.config
            import httpx

            timeout = httpx.Timeout(
                connect=cfg.connect_timeout,
                read=max(cfg.stall_timeout, 30.0),  # Gradio's heartbeat comes every 15 s
                write=cfg.stall_timeout,
                pool=cfg.connect_timeout,
            )
            where = self.where(endpoint)
            try:
                client = Client(
                    spec.base_url,
                    token=False,  # type: ignore[arg-type]  # never send the user's HF token
                    verbose=False,
                    auth=auth,
                    headers=headers or None,
                    download_files=False,
                    ssl_verify=cfg.ssl_verify(),  # type: ignore[arg-type]  # httpx takes a context
                    httpx_kwargs={"timeout": timeout},
                    analytics_enabled=False,
                )
            except Exception as exc:
                raise self._map_error(exc, where) from None
            self._clients[spec.base_url] = client
            return client

    def _map_error(self, exc: BaseException, where: str) -> EngineError:
        import httpx

        text = " ".join(str(exc).split())[:300]
        low = text.lower()
        if isinstance(exc, httpx.ConnectTimeout):
            return TransientError(f"{where}: timed out connecting")
        if isinstance(exc, httpx.ReadTimeout):
            return StallError(f"{where}: no answer within the stall timeout")
        if isinstance(exc, httpx.ConnectError):
            if "certificate" in low:
                return EngineError(
                    f"{where}: the server's TLS certificate is not trusted ({text}). Set "
                    "remote.ca_bundle (or options.ca_bundle) to its CA, or verify_tls = false"
                )
            return TransientError(f"{where}: cannot connect ({text or type(exc).__name__})")
        if isinstance(exc, httpx.HTTPStatusError):
            from h2otui.engines.remote import error_detail, status_error

            return status_error(
                exc.response.status_code, error_detail(exc.response.content), where=where
            )
        if isinstance(exc, httpx.HTTPError):
            return TransientError(f"{where}: {type(exc).__name__}: {text}")
        if "login" in low or "credentials" in low or "unauthorized" in low or "401" in low:
            return EngineAuthError(
                f"{where} refused the user/password in the server string ({text})"
            )
        if "cannot find a function" in low or "api_name" in low or "no api" in low:
            return ModelNotFoundError(
                f"{where} has no {self.options.api_name} endpoint: is it an h2oGPT server? ({text})"
            )
        return EngineError(f"{where}: {type(exc).__name__}: {text}")

    def _forget_client(self, endpoint: Endpoint, client: Any) -> None:
        with self._client_lock:
            if self._clients.get(endpoint.spec.base_url) is client:
                del self._clients[endpoint.spec.base_url]

    async def _probe(self, endpoint: Endpoint) -> dict[str, Any]:
        client = await asyncio.to_thread(self._client_sync, endpoint)
        info: dict[str, Any] = {"kind": "gradio", "model_id": None}
        try:
            api = client.view_api(print_info=False, return_format="dict")
            names = set((api or {}).get("named_endpoints", {}))
        except Exception:
            names = set()
        if names and self.options.api_name not in names:
            raise ModelNotFoundError(
                f"{self.where(endpoint)} has no {self.options.api_name} endpoint "
                "(not an h2oGPT server, or its API is disabled)"
            )
        version = getattr(client, "config", {}).get("version")
        if version:
            info["version"] = version
        return info

    # --- generation ----------------------------------------------------------------------

    def _payload(self, request: GenerationRequest) -> dict[str, Any]:
        p = request.params
        msgs = self._with_system(request.messages)
        system = next((m.content for m in msgs if m.role == "system"), None)
        turns = [m for m in msgs if m.role != "system"]
        history: list[list[str]] = []
        pending: str | None = None
        for m in turns[:-1]:
            if m.role == "user":
                pending = m.content
            elif pending is not None:
                history.append([pending, m.content])
                pending = None
        question = (
            request.prompt if request.prompt is not None else (turns[-1].content if turns else "")
        )
        kwargs: dict[str, Any] = {
            "instruction_nochat": question,
            "langchain_mode": self.options.langchain_mode,
            "stream_output": self.options.stream,
            "max_new_tokens": p.max_new_tokens,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "top_k": p.top_k,
            "repetition_penalty": p.repetition_penalty,
            "do_sample": not p.greedy,
        }
        if p.seed is not None:
            kwargs["seed"] = p.seed
        if history and request.prompt is None:
            kwargs["chat_conversation"] = history
        if system is not None and system != "auto":
            kwargs["system_prompt"] = system
        if self._forced_prompt_type:
            kwargs["prompt_type"] = self._forced_prompt_type
        if self.options.visible_models is not None:
            kwargs["visible_models"] = self.options.visible_models
        key = self._h2ogpt_key
        if key:
            kwargs["h2ogpt_key"] = key
        kwargs.update(self.options.extra)
        return kwargs

    async def _attempt(
        self, endpoint: Endpoint, watch: StopWatch, request: GenerationRequest
    ) -> AsyncIterator[Event]:
        where = self.where(endpoint)
        client = await asyncio.to_thread(self._client_sync, endpoint)
        payload = str(self._payload(request))
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()
        job_box: dict[str, Any] = {}
        stops = merge_stops(request.params.stop)
        scanner = StopScanner(stops)

        def put(item: Any) -> None:
            # after a cancel the worker may outlive the stream, and even its event loop
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                job = client.submit(payload, api_name=self.options.api_name)
                job_box["job"] = job
                # polled here rather than by iterating the job: gradio_client's iterator
                # spins (1 ms sleeps) until the job reports FINISHED, which a cancelled job
                # on a forgotten client never does, so every stopped answer left a thread
                # burning CPU for the life of the process
                seen = 0
                while not cancel.is_set():
                    done = job.done()
                    outputs = job.outputs()
                    for output in outputs[seen:]:
                        put(("partial", output))
                    seen = len(outputs)
                    if done:
                        break
                    cancel.wait(_POLL_S)
                if not cancel.is_set():
                    put(("final", job.result()))
            except Exception as exc:
                if not cancel.is_set():
                    put(("error", exc))
            finally:
                put(_DONE)

        thread = threading.Thread(target=work, name=f"gradio-{self.model_name}", daemon=True)
        thread.start()
        shown = ""
        result: dict[str, Any] | None = None
        finished_ok = False
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=self.config.stall_timeout)
                except TimeoutError:
                    raise StallError(
                        f"{where}: nothing for {self.config.stall_timeout:g} s (stall timeout)"
                    ) from None
                if item is _DONE:
                    break
                kind, value = item
                if kind == "error":
                    raise self._map_error(value, where)
                data = _parse_result(value, where)
                result = data
                self._check_error(data, where)
                text = str(data.get("response") or "")
                if not text.startswith(shown):
                    # the server rewrote its answer (e.g. a final cleanup): show the new tail
                    common = os.path.commonprefix([text, shown])  # noqa: RUF071 - strings
                    text = shown + text[len(common) :]
                delta = text[len(shown) :]
                shown = text
                if delta:
                    out = scanner.feed(delta)
                    if out:
                        yield TextDelta(out)
                    if scanner.stopped:
                        break
                if kind == "final":
                    finished_ok = True
        finally:
            cancel.set()
            job = job_box.get("job")
            if job is not None and not job.done():
                # best effort, in the background: Gradio's cancel call can itself hang on a
                # stuck server, and the answer must come back promptly
                threading.Thread(target=_quiet(job.cancel), daemon=True).start()
                # the abandoned job keeps reading the client's shared event stream, and a
                # next job submitted on that client could wait behind it (seen: 1 follow-up
                # in 4 hung until its timeout): the next request gets a fresh client
                self._forget_client(endpoint, client)
            # no waiting for the worker: after a normal end it has nothing left to do, and
            # after a cancel it may be inside a call to the client; it sees ``cancel`` within
            # _POLL_S of that call's return, holds nothing of ours, and is a daemon thread.
        if not finished_ok and not scanner.stopped:
            raise TransientError(f"{where}: the answer ended before it was complete")
        rest = scanner.flush()
        if rest:
            yield TextDelta(rest)
        sources = (result or {}).get("sources") or []
        self.last_sources = list(sources) if isinstance(sources, list | tuple) else [sources]
        extra = ((result or {}).get("save_dict") or {}).get("extra_dict") or {}
        prompt_tokens = extra.get("num_prompt_tokens") if isinstance(extra, dict) else None
        completion = extra.get("ntokens") if isinstance(extra, dict) else None
        yield watch.usage(
            int(prompt_tokens) if isinstance(prompt_tokens, int) else estimate_tokens(payload),
            int(completion) if isinstance(completion, int) else estimate_tokens(shown),
        )
        yield Finished(FinishReason.STOP)

    def _check_error(self, data: dict[str, Any], where: str) -> None:
        error = data.get("error") or data.get("error_ex")
        if not error:
            return
        message = scrub(" ".join(str(error).split())[:300], self.secrets)
        if _INVALID_KEY in message.lower():
            raise EngineAuthError(
                f"{where} refused the h2ogpt key ({message}). Set options.h2ogpt_key_env "
                "to the variable holding a valid key"
            )
        raise EngineError(f"{where}: the server reported an error: {message}")

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            with contextlib.suppress(Exception):
                await asyncio.to_thread(client.close)


def _quiet(fn: Any) -> Any:
    def run() -> None:
        with contextlib.suppress(Exception):
            fn()

    return run


def _parse_result(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, list | tuple) and value:
        value = value[0]
    try:
        data = ast.literal_eval(value) if isinstance(value, str) else None
    except (ValueError, SyntaxError):
        data = None
    if not isinstance(data, dict):
        raise EngineError(f"{where}: the server's answer is not h2oGPT's string-of-dict format")
    return data
