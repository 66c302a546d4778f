"""Hugging Face text-generation-inference (TGI) servers.

Speaks TGI's documented HTTP API: ``GET /info`` (served model, ``max_input_tokens`` /
``max_total_tokens``, ``max_stop_sequences``), ``POST /generate_stream`` (server-sent
events, one token per event, the last one carrying ``generated_text`` and ``details``),
error bodies ``{"error": ..., "error_type": ...}``, and -- with ``options.messages_api``
or a chat prompt type -- TGI's OpenAI-style messages API (``/v1/chat/completions``),
through the OpenAI engine.

Why not a client library: ``text_generation`` is deprecated, and ``huggingface_hub``'s
``InferenceClient`` (its successor) has one timeout per client, a process-wide HTTP
session factory and no per-server TLS / basic-auth settings -- and it sends the user's
Hugging Face token to whatever URL it is given unless told otherwise. h2otui needs per
model TLS (CA bundles, insecure test servers), basic auth, a stall timeout between tokens,
retries and failover across endpoints, so it speaks the (small, stable) HTTP protocol with
httpx and reads the same fields ``huggingface_hub``'s ``TextGenerationStreamOutput`` does.

A plain ``http://host:port`` is also what h2oGPT users write for an h2oGPT *Gradio*
server; like h2oGPT, the engine finds out on connect (``/info`` missing, Gradio's
``/config`` present) and hands the model to the Gradio engine.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from h2otui.engines.base import (
    Capabilities,
    Engine,
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
    http_client,
    parse_retry_after,
    request_auth,
    status_error,
    transport_error,
)


class TGIOptions(RemoteOptions):
    """Options for TGI models (on top of the shared remote options)."""

    messages_api: bool = Field(
        False, description="Use TGI's OpenAI-style /v1/chat/completions (server chat template)."
    )
    truncate: int | None = Field(
        None, ge=1, description="Keep only the last N input tokens (TGI's truncate)."
    )
    max_stop_sequences: int | None = Field(
        None, ge=0, description="Stop sequences the server accepts; unset = from /info."
    )
    api_key: str | None = Field(None, repr=False, description="Bearer token (Inference Endpoints).")
    api_key_env: str | None = Field(None, description="Environment variable holding the token.")
    stream: bool = Field(
        True, description="Stream tokens (/generate_stream); false = one answer (/generate)."
    )


_FINISH = {
    "length": FinishReason.LENGTH,
    "eos_token": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
}


def tgi_parameters(
    params: SamplingParams, stops: list[str], truncate: int | None
) -> dict[str, Any]:
    """SamplingParams as TGI's ``parameters`` (TGI rejects temperature 0, top_p 1, top_k 0)."""
    out: dict[str, Any] = {
        "max_new_tokens": params.max_new_tokens,
        "details": True,
        "return_full_text": False,
        "do_sample": not params.greedy,
    }
    if not params.greedy:
        out["temperature"] = max(params.temperature, 1e-2)
        if params.top_p < 1.0:
            out["top_p"] = params.top_p
        if params.top_k > 0:
            out["top_k"] = params.top_k
    if params.repetition_penalty != 1.0:
        out["repetition_penalty"] = params.repetition_penalty
    if params.seed is not None:
        out["seed"] = params.seed
    if stops:
        out["stop"] = stops
    if truncate:
        out["truncate"] = truncate
    return out


class TGIEngine(RemoteEngine):
    engine_name = "tgi"
    Options = TGIOptions
    capabilities = Capabilities(chat_messages=False, raw_prompt=True, local=False)

    options: TGIOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Any = None
        #: another engine serving this model (TGI messages API, or a detected Gradio app)
        self._delegate: Engine | None = None

    @property
    def _api_key(self) -> str | None:
        import os

        if self.options.api_key:
            return self.options.api_key
        if self.options.api_key_env:
            return os.environ.get(self.options.api_key_env) or None
        return None

    @property
    def secrets(self) -> list[str]:
        key = self._api_key
        return [*super().secrets, *([key] if key else [])]

    def _http(self) -> Any:
        if self._client is None:
            self._client = http_client(self.config, self.options.headers)
        return self._client

    # --- probing -------------------------------------------------------------------------

    async def _probe(self, endpoint: Endpoint) -> dict[str, Any]:
        import httpx

        auth, headers = request_auth(endpoint.spec, self._api_key)
        where = self.where(endpoint)
        try:
            resp = await self._http().get(
                endpoint.spec.base_url + "/info", auth=auth, headers=headers
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, where=where) from None
        if resp.status_code == 404 or (
            resp.status_code == 200 and not _is_json_object(resp.content)
        ):
            if await self._looks_like_gradio(endpoint, auth, headers):
                return {"kind": "gradio", "model_id": None}
            raise status_error(404, "no TGI /info endpoint here", where=where)
        if resp.status_code >= 400:
            raise status_error(
                resp.status_code,
                error_detail(resp.content),
                where=where,
                retry_after=parse_retry_after(resp.headers.get("retry-after")),
            )
        info = resp.json()
        max_input = info.get("max_input_tokens", info.get("max_input_length"))
        return {
            "kind": "tgi",
            "model_id": info.get("model_id"),
            "context_length": info.get("max_total_tokens"),
            "max_input_tokens": max_input,
            "max_stop_sequences": info.get("max_stop_sequences"),
            "version": info.get("version"),
        }

    async def _looks_like_gradio(
        self, endpoint: Endpoint, auth: Any, headers: dict[str, str]
    ) -> bool:
        import httpx

        try:
            resp = await self._http().get(
                endpoint.spec.base_url + "/config", auth=auth, headers=headers
            )
        except httpx.HTTPError:
            return False
        if resp.status_code != 200 or not _is_json_object(resp.content):
            return False
        data = resp.json()
        return "dependencies" in data or "components" in data

    async def load(self) -> None:
        await super().load()
        if self._delegate is not None:
            return
        if self.server_info.get("kind") == "gradio":
            self._delegate = self._gradio_delegate()
        elif self.options.messages_api or self.prompt_type in CHAT_PROMPT_TYPES:
            self._delegate = self._messages_delegate()
        if self._delegate is not None:
            await self._delegate.load()
            self.prompt_type = self._delegate.prompt_type
            if self.server_info.get("kind") == "gradio":
                self.engine_name = "gradio"  # type: ignore[misc]

    def _gradio_delegate(self) -> Engine:
        from h2otui.engines.gradio_engine import GradioEngine, GradioOptions
        from h2otui.servers import ServerSpec

        shared = {
            k: v
            for k, v in self.options.model_dump().items()
            if k in GradioOptions.model_fields and v is not None
        }
        specs = [
            ServerSpec("gradio", s.base_url, username=s.username, password=s.password, raw=s.raw)
            for s in self.specs
        ]
        return GradioEngine(
            specs,
            model_name=self.model_name,
            options=GradioOptions.model_validate(shared),
            config=self.config,
            base_model=self.base_model,
            prompt_type=self._forced_prompt_type,
            prompt_dict=self._prompt_dict,
            system_prompt=self.system_prompt,
        )

    def _messages_delegate(self) -> Engine:
        from h2otui.engines.openai_engine import OpenAIEngine, OpenAIOptions
        from h2otui.servers import ServerSpec

        shared = {
            k: v
            for k, v in self.options.model_dump().items()
            if k in OpenAIOptions.model_fields and v is not None
        }
        shared["model"] = self.options.model or "tgi"
        # the TGI model's own token, never $OPENAI_API_KEY (it is not an OpenAI server)
        shared["api_key"] = self._api_key
        shared["api_key_env"] = ""
        specs = [
            ServerSpec(
                "openai",
                s.base_url + "/v1",
                chat=True,
                username=s.username,
                password=s.password,
                auth_header=s.auth_header,
                raw=s.raw,
            )
            for s in self.specs
        ]
        engine = OpenAIEngine(
            specs,
            model_name=self.model_name,
            options=OpenAIOptions.model_validate(shared),
            config=self.config,
            base_model=self.base_model,
            prompt_type="openai_chat",
            system_prompt=self.system_prompt,
        )
        engine.server_info.update(self.server_info)
        return engine

    # --- generation ----------------------------------------------------------------------

    def _max_stops(self) -> int | None:
        if self.options.max_stop_sequences is not None:
            return self.options.max_stop_sequences
        value = self.server_info.get("max_stop_sequences")
        return int(value) if isinstance(value, int) else None

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Event]:
        await self.load()
        if self._delegate is not None:
            async for event in self._delegate.stream(request):
                yield event
            return
        async for event in super().stream(request):
            yield event

    async def _attempt(
        self, endpoint: Endpoint, watch: StopWatch, request: GenerationRequest
    ) -> AsyncIterator[Event]:
        try:
            async for event in self._attempt_once(endpoint, watch, request, None):
                yield event
        except EngineRequestError as exc:
            # TGI refuses max_new_tokens that do not fit next to the prompt; like h2oGPT,
            # shrink it to the room the server itself reports and try once more
            room = _room_left(str(exc))
            if room is None or room < 1 or room >= request.params.max_new_tokens:
                raise
            async for event in self._attempt_once(endpoint, watch, request, room):
                yield event

    async def _attempt_once(
        self,
        endpoint: Endpoint,
        watch: StopWatch,
        request: GenerationRequest,
        max_new_tokens: int | None,
    ) -> AsyncIterator[Event]:
        import httpx

        prompt, stops = self.prompt_and_stops(request)
        limit = self._max_stops()
        # the server stops early on the ones it accepts; all are enforced here too (TGI
        # leaves the stop text in the output, and caps how many it accepts)
        server_stops = stops if limit is None else stops[:limit]
        payload = {
            "inputs": prompt,
            "parameters": tgi_parameters(request.params, server_stops, self.options.truncate),
        }
        if max_new_tokens is not None:
            payload["parameters"]["max_new_tokens"] = max_new_tokens
        scanner = StopScanner(stops)
        auth, headers = request_auth(endpoint.spec, self._api_key)
        headers["Accept"] = "text/event-stream"
        where = self.where(endpoint)
        finish: FinishReason | None = None
        generated = 0
        input_length: int | None = None
        started = False
        if not self.options.stream:
            async for event in self._generate_whole(endpoint, watch, payload, scanner, prompt):
                yield event
            return
        try:
            async with self._http().stream(
                "POST",
                endpoint.spec.base_url + "/generate_stream",
                json=payload,
                auth=auth,
                headers=headers,
            ) as resp:
                if resp.status_code >= 400:
                    body = await resp.aread()
                    raise status_error(
                        resp.status_code,
                        error_detail(body),
                        where=where,
                        model=self.served_model,
                        retry_after=parse_retry_after(resp.headers.get("retry-after")),
                    )
                last_token = time.monotonic()
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        # TGI sends keep-alive comments while it works: they keep the
                        # connection's read timeout from firing, so the stall timeout
                        # counts from the last *token* instead
                        if time.monotonic() - last_token > self.config.stall_timeout:
                            raise StallError(
                                f"{where}: no token for {self.config.stall_timeout:g} s "
                                "(stall timeout)"
                            )
                        continue
                    last_token = time.monotonic()
                    data = json.loads(line[5:])
                    if "error" in data:
                        kind = data.get("error_type") or "generation"
                        raise EngineError(f"{where}: {kind} error: {data['error']}")
                    token = data.get("token") or {}
                    generated += 1
                    if not token.get("special"):
                        piece = token.get("text", "")
                        if not started:
                            # the space after "<bot>:" / "Answer:" is not part of the answer
                            piece = piece.lstrip()
                            started = bool(piece)
                        text = scanner.feed(piece)
                        if text:
                            yield TextDelta(text)
                    if scanner.stopped:
                        finish = FinishReason.STOP
                        break
                    details = data.get("details")
                    if details:
                        finish = _FINISH.get(details.get("finish_reason", ""), FinishReason.STOP)
                        generated = details.get("generated_tokens", generated)
                        input_length = details.get("input_length")
                        break
        except httpx.HTTPError as exc:
            raise transport_error(exc, where=where) from None
        except json.JSONDecodeError:
            raise TransientError(f"{where}: the server sent a malformed event") from None
        if finish is None:
            raise TransientError(f"{where}: the stream ended before the answer was complete")
        rest = scanner.flush()
        if rest:
            yield TextDelta(rest)
        prompt_tokens = input_length if isinstance(input_length, int) else estimate_tokens(prompt)
        yield watch.usage(prompt_tokens, generated)
        yield Finished(finish)

    async def _generate_whole(
        self,
        endpoint: Endpoint,
        watch: StopWatch,
        payload: dict[str, Any],
        scanner: StopScanner,
        prompt: str,
    ) -> AsyncIterator[Event]:
        """``POST /generate``: the whole answer at once (``options.stream = false``)."""
        import httpx

        auth, headers = request_auth(endpoint.spec, self._api_key)
        where = self.where(endpoint)
        try:
            resp = await self._http().post(
                endpoint.spec.base_url + "/generate", json=payload, auth=auth, headers=headers
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, where=where) from None
        if resp.status_code >= 400:
            raise status_error(
                resp.status_code,
                error_detail(resp.content),
                where=where,
                model=self.served_model,
                retry_after=parse_retry_after(resp.headers.get("retry-after")),
            )
        try:
            data = resp.json()
        except ValueError:
            raise TransientError(f"{where}: the server's answer is not JSON") from None
        details = data.get("details") or {}
        tokens = details.get("tokens")
        if isinstance(tokens, list) and tokens:
            text = "".join(t.get("text", "") for t in tokens if not t.get("special"))
        else:
            text = str(data.get("generated_text") or "")
        shown = scanner.feed(text.lstrip()) + scanner.flush()
        if shown:
            yield TextDelta(shown)
        finish = _FINISH.get(details.get("finish_reason", ""), FinishReason.STOP)
        generated = int(details.get("generated_tokens") or estimate_tokens(text))
        yield watch.usage(estimate_tokens(prompt), generated)
        yield Finished(FinishReason.STOP if scanner.stopped else finish)

    async def aclose(self) -> None:
        if self._delegate is not None:
            await self._delegate.aclose()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


_ROOM = re.compile(r"must be <= (\d+)\. Given: (\d+) `inputs` tokens and (\d+) `max_new_tokens`")


def _room_left(message: str) -> int | None:
    """Tokens left for generation, from TGI's "inputs + max_new_tokens" validation error."""
    m = _ROOM.search(message)
    if not m:
        return None
    total, given_inputs, _ = (int(g) for g in m.groups())
    return total - given_inputs


def _is_json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, TypeError):
        return False
