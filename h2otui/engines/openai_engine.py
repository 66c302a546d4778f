"""OpenAI and every OpenAI-compatible server, through the ``openai`` SDK.

vLLM, llama.cpp's server (and llama-cpp-python's), LM Studio, Ollama, TGI's messages API,
together.ai, ... all speak ``/v1/chat/completions`` (and most ``/v1/completions``).

* ``chat`` (``vllm_chat:``, ``openai_chat``, a plain URL with ``engine = "openai"``):
  role-tagged messages, the server applies the model's chat template.
* completions (``vllm:``, ``openai``): h2otui renders the prompt with the model's prompt
  type (from ``prompt_type``, else ``base_model`` / the served id as in h2oGPT).

The served model id is ``options.model``, else ``base_model``, else the first id
``/v1/models`` lists. The API key is ``options.api_key``, else the environment variable
``options.api_key_env`` names (``OPENAI_API_KEY`` by default, for api.openai.com only: a
user's OpenAI key is never sent to another server), else the key in the server string;
servers without one get the placeholder ``EMPTY``. The SDK's own retries are off:
h2otui retries (only before the first token) and fails over across endpoints itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from h2otui.engines.base import (
    Capabilities,
    EngineConfigError,
    EngineError,
    Event,
    Finished,
    FinishReason,
    GenerationRequest,
    StopWatch,
    TextDelta,
)
from h2otui.engines.prompting import merge_stops
from h2otui.engines.remote import (
    CHAT_PROMPT_TYPES,
    Endpoint,
    RemoteEngine,
    RemoteOptions,
    StallError,
    StopScanner,
    TransientError,
    error_detail,
    estimate_tokens,
    parse_retry_after,
    status_error,
)
from h2otui.servers import OPENAI_DEFAULT_BASE, ServerSpec


class OpenAIOptions(RemoteOptions):
    """Options for OpenAI-compatible models (on top of the shared remote options)."""

    chat: bool | None = Field(
        None,
        description="Chat completions (true) or completions (false); unset = from the server string.",
    )
    api_key: str | None = Field(None, repr=False, description="API key (prefer api_key_env).")
    api_key_env: str | None = Field(
        None,
        description="Environment variable holding the key; unset = OPENAI_API_KEY for "
        "api.openai.com only (never sent to other servers), '' = none.",
    )
    base_url: str | None = Field(
        None, description="Base URL (…/v1) when no inference_server is given."
    )
    max_stop_sequences: int | None = Field(
        None,
        ge=0,
        description="Stop sequences the server accepts; unset = 4 for api.openai.com, else all.",
    )
    stream_usage: bool = Field(True, description="Ask for token usage at the end of a stream.")
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="Extra request fields (vLLM: guided_json, min_p, ...)."
    )


class OpenAIEngine(RemoteEngine):
    engine_name = "openai"
    Options = OpenAIOptions
    capabilities = Capabilities(chat_messages=True, raw_prompt=True, local=False)

    options: OpenAIOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[str, Any] = {}
        if self.served_model is None and self.base_model:
            self.served_model = self.base_model

    @classmethod
    def _specs_for(cls, entry: Any) -> list[ServerSpec]:
        if not entry.inference_server:
            opts = entry.options or {}
            base = opts.get("base_url") or os.environ.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_BASE
            from h2otui.servers import parse_server

            spec = parse_server(
                str(base), engine="openai", what=f"model '{entry.name}': options.base_url"
            )
            return [spec]
        return super()._specs_for(entry)

    # --- settings ----------------------------------------------------------------------

    def _key_env(self, spec: ServerSpec) -> str | None:
        if self.options.api_key_env is not None:
            return self.options.api_key_env or None
        return "OPENAI_API_KEY" if spec.base_url.startswith(OPENAI_DEFAULT_BASE) else None

    def _api_key(self, spec: ServerSpec) -> str | None:
        if self.options.api_key:
            return self.options.api_key
        name = self._key_env(spec)
        env = os.environ.get(name) if name else None
        return env or spec.api_key

    @property
    def secrets(self) -> list[str]:
        keys = [self._api_key(s) for s in self.specs]
        return [*super().secrets, *(k for k in keys if k)]

    def is_chat(self, spec: ServerSpec) -> bool:
        if self.options.chat is not None:
            return self.options.chat
        model = (self.served_model or "").lower()
        if (
            spec.base_url.startswith(OPENAI_DEFAULT_BASE)
            and "instruct" not in model
            and (model.startswith(("gpt-3.5-turbo", "gpt-4", "gpt-5", "o1", "o3", "o4")))
        ):
            # h2oGPT's rule: "openai" with a chat-only model means chat completions
            return True
        if self._forced_prompt_type and self._forced_prompt_type not in CHAT_PROMPT_TYPES:
            return bool(spec.chat) if spec.chat is not None else False
        return spec.chat if spec.chat is not None else True

    def _client(self, endpoint: Endpoint) -> Any:
        spec = endpoint.spec
        client = self._clients.get(spec.base_url)
        if client is not None:
            return client
        try:
            import openai
        except ImportError:
            raise EngineConfigError(
                "the openai engine needs the openai package: pip install openai"
            ) from None
        key = self._api_key(spec)
        if key is None and spec.base_url.startswith(OPENAI_DEFAULT_BASE):
            raise EngineConfigError(
                f"model '{self.model_name}': no OpenAI API key: set ${self._key_env(spec)} "
                "or options.api_key_env to the variable that holds it"
            )
        auth = None
        if spec.username is not None:
            # a (user, password) tuple is basic auth to every httpx flavour openai ships
            # with (some releases bundle their own copy of httpx under another name)
            auth = (spec.username, spec.password or "")
        headers = dict(self.options.headers)
        if spec.auth_header:
            headers["Authorization"] = spec.auth_header
        cfg = self.config
        timeout = openai.Timeout(
            connect=cfg.connect_timeout,
            read=cfg.stall_timeout,
            write=cfg.stall_timeout,
            pool=cfg.connect_timeout,
        )
        http = openai.DefaultAsyncHttpxClient(
            verify=cfg.ssl_verify(), timeout=timeout, auth=auth, follow_redirects=False
        )
        client = openai.AsyncOpenAI(
            api_key=key or "EMPTY",
            base_url=spec.base_url,
            timeout=timeout,
            max_retries=0,
            default_headers=headers or None,
            http_client=http,
        )
        self._clients[spec.base_url] = client
        return client

    # --- errors --------------------------------------------------------------------------

    def _map_error(self, exc: BaseException, endpoint: Endpoint) -> EngineError:
        import openai

        where = self.where(endpoint)
        if isinstance(exc, openai.APITimeoutError):
            return StallError(f"{where}: no answer within the stall timeout")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            reason = " ".join(str(cause).split())[:200] or type(cause).__name__
            if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify" in reason.lower():
                return EngineError(
                    f"{where}: the server's TLS certificate is not trusted ({reason}). Set "
                    "remote.ca_bundle (or options.ca_bundle) to its CA, or verify_tls = false "
                    "for a test server"
                )
            return TransientError(f"{where}: cannot connect ({reason})")
        if isinstance(exc, openai.APIStatusError):
            body = exc.response.content if exc.response is not None else b""
            detail = error_detail(body) if body else str(exc.message)
            return status_error(
                exc.status_code,
                detail,
                where=where,
                model=self.served_model,
                retry_after=parse_retry_after(exc.response.headers.get("retry-after")),
            )
        if isinstance(exc, openai.APIError):
            return EngineError(f"{where}: {exc.message}")
        name = type(exc).__name__
        if name == "ReadTimeout":
            return StallError(f"{where}: no token within the stall timeout")
        if name in ("RemoteProtocolError", "ReadError", "ConnectError", "WriteError"):
            return TransientError(f"{where}: the connection was lost ({name})")
        return EngineError(f"{where}: {name}: {' '.join(str(exc).split())[:200]}")

    # --- probing -------------------------------------------------------------------------

    async def _probe(self, endpoint: Endpoint) -> dict[str, Any]:
        client = self._client(endpoint)
        try:
            page = await client.models.list()
        except Exception as exc:
            import openai

            if isinstance(exc, openai.NotFoundError):
                # some servers have no /models: that is not a reason to refuse the model
                return {"model_id": None}
            raise self._map_error(exc, endpoint) from None
        models = [m for m in getattr(page, "data", [])]
        ids = [m.id for m in models]
        info: dict[str, Any] = {"models": ids, "model_id": ids[0] if ids else None}
        wanted = self.served_model
        chosen = next((m for m in models if m.id == wanted), models[0] if models else None)
        if chosen is not None:
            extra = getattr(chosen, "model_extra", None) or {}
            ctx = extra.get("max_model_len") or extra.get("context_length") or extra.get("n_ctx")
            meta = extra.get("meta") or {}
            ctx = ctx or (meta.get("n_ctx_train") if isinstance(meta, dict) else None)
            if isinstance(ctx, int):
                info["context_length"] = ctx
        return info

    async def load(self) -> None:
        await super().load()
        if self.served_model is None:
            self.served_model = self.server_info.get("model_id")
        if self.served_model is None:
            raise EngineConfigError(
                f"model '{self.model_name}': the server does not list its models; set options.model"
            )
        if self.is_chat(self.specs[0]):
            self.prompt_type = "openai_chat"

    # --- generation ----------------------------------------------------------------------

    def _max_stops(self, spec: ServerSpec) -> int | None:
        if self.options.max_stop_sequences is not None:
            return self.options.max_stop_sequences
        return 4 if spec.base_url.startswith(OPENAI_DEFAULT_BASE) else None

    def _sampling(self, request: GenerationRequest, spec: ServerSpec) -> dict[str, Any]:
        p = request.params
        args: dict[str, Any] = {"temperature": 0.0 if p.greedy else p.temperature}
        if not p.greedy and p.top_p < 1.0:
            args["top_p"] = p.top_p
        if p.seed is not None:
            args["seed"] = p.seed
        extra: dict[str, Any] = {}
        if not spec.base_url.startswith(OPENAI_DEFAULT_BASE):
            # vLLM and llama.cpp accept these; api.openai.com rejects unknown fields
            if not p.greedy and p.top_k > 0:
                extra["top_k"] = p.top_k
            if p.repetition_penalty != 1.0:
                extra["repetition_penalty"] = p.repetition_penalty
                extra["repeat_penalty"] = p.repetition_penalty
        extra.update(self.options.extra_body)
        if extra:
            args["extra_body"] = extra
        return args

    async def _attempt(
        self, endpoint: Endpoint, watch: StopWatch, request: GenerationRequest
    ) -> AsyncIterator[Event]:
        spec = endpoint.spec
        client = self._client(endpoint)
        chat = self.is_chat(spec)
        if chat:
            messages: list[dict[str, str]] = self.chat_messages(request)
            prompt_text = "\n".join(m["content"] for m in messages)
            stops = merge_stops(request.params.stop)
        else:
            messages = []
            prompt_text, stops = self.prompt_and_stops(request)
        limit = self._max_stops(spec)
        server_stops = stops if limit is None else stops[:limit]
        args = self._sampling(request, spec)
        if server_stops:
            args["stop"] = server_stops
        if self.options.stream_usage:
            args["stream_options"] = {"include_usage": True}
        scanner = StopScanner(stops)
        finish: FinishReason | None = None
        usage: tuple[int, int] | None = None
        chunks = 0
        stream = None
        try:
            if chat:
                stream = await client.chat.completions.create(
                    model=self.served_model,
                    messages=messages,
                    max_tokens=request.params.max_new_tokens,
                    stream=True,
                    **args,
                )
            else:
                stream = await client.completions.create(
                    model=self.served_model,
                    prompt=prompt_text,
                    max_tokens=request.params.max_new_tokens,
                    stream=True,
                    **args,
                )
        except Exception as exc:
            raise self._map_error(exc, endpoint) from None
        try:
            async for chunk in stream:
                if getattr(chunk, "usage", None) is not None:
                    u = chunk.usage
                    usage = (u.prompt_tokens or 0, u.completion_tokens or 0)
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                text = (choice.delta.content if chat else choice.text) or ""
                if text and not chunks:
                    # the space models emit after "Answer:" / "ASSISTANT:" is not the answer
                    text = text.lstrip()
                if text:
                    chunks += 1
                    shown = scanner.feed(text)
                    if shown:
                        yield TextDelta(shown)
                    if scanner.stopped:
                        finish = FinishReason.STOP
                        break
                if choice.finish_reason:
                    finish = (
                        FinishReason.LENGTH
                        if choice.finish_reason == "length"
                        else FinishReason.STOP
                    )
                    if not self.options.stream_usage:
                        break
        except Exception as exc:
            if chunks or isinstance(self._map_error(exc, endpoint), StallError):
                raise self._map_error(exc, endpoint) from None
            # the server accepted the request, then dropped the stream before any text:
            # the non-streaming retry below finds out why
        finally:
            if stream is not None:
                close = getattr(stream, "close", None)
                if close is not None:
                    with contextlib.suppress(Exception):  # closing a broken stream
                        await close()
        if finish is None and chunks == 0:
            # Some servers (llama-cpp-python) answer 200 and then close an empty stream when
            # the request fails (e.g. the prompt exceeds the context): ask again without
            # streaming, which either reports the error properly or gives the answer.
            text, finish, usage = await self._non_streaming(
                client, endpoint, chat, args, request, messages, prompt_text
            )
            chunks = 1 if text else 0
            shown = scanner.feed(text.lstrip())
            if shown:
                yield TextDelta(shown)
            if scanner.stopped:
                finish = FinishReason.STOP
        if finish is None:
            raise TransientError(
                f"{self.where(endpoint)}: the stream ended before the answer was complete"
            )
        rest = scanner.flush()
        if rest:
            yield TextDelta(rest)
        prompt_tokens, completion = usage or (estimate_tokens(prompt_text), chunks)
        yield watch.usage(prompt_tokens, completion)
        yield Finished(finish)

    async def _non_streaming(
        self,
        client: Any,
        endpoint: Endpoint,
        chat: bool,
        args: dict[str, Any],
        request: GenerationRequest,
        messages: list[dict[str, str]],
        prompt_text: str,
    ) -> tuple[str, FinishReason, tuple[int, int] | None]:
        import openai

        args = {k: v for k, v in args.items() if k != "stream_options"}
        for attempt in range(2):
            try:
                return await self._non_streaming_once(
                    client, chat, args, request, messages, prompt_text
                )
            except openai.APIConnectionError as exc:
                # the broken stream's pooled connection may be dead: one fresh try
                if attempt == 1 or isinstance(exc, openai.APITimeoutError):
                    raise self._map_error(exc, endpoint) from None
            except Exception as exc:
                raise self._map_error(exc, endpoint) from None
        raise AssertionError("unreachable")

    async def _non_streaming_once(
        self,
        client: Any,
        chat: bool,
        args: dict[str, Any],
        request: GenerationRequest,
        messages: list[dict[str, str]],
        prompt_text: str,
    ) -> tuple[str, FinishReason, tuple[int, int] | None]:
        if chat:
            out = await client.chat.completions.create(
                model=self.served_model, messages=messages,
                max_tokens=request.params.max_new_tokens, **args,
            )  # fmt: skip
            text = out.choices[0].message.content or ""
        else:
            out = await client.completions.create(
                model=self.served_model, prompt=prompt_text,
                max_tokens=request.params.max_new_tokens, **args,
            )  # fmt: skip
            text = out.choices[0].text or ""
        reason = out.choices[0].finish_reason
        usage = (out.usage.prompt_tokens, out.usage.completion_tokens) if out.usage else None
        return text, FinishReason.LENGTH if reason == "length" else FinishReason.STOP, usage

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            with contextlib.suppress(Exception):  # best effort
                await client.close()
