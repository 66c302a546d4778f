"""A loopback server implementing text-generation-inference's documented HTTP API.

TGI itself needs a GPU and Rust; this is its router's HTTP contract, faithfully:

* ``GET /info`` -- ``model_id``, ``max_input_tokens`` / ``max_total_tokens``,
  ``max_stop_sequences``, ``max_best_of``, ``version``, ...;
* ``GET /health`` -- 200 when ready;
* ``POST /generate`` -- ``{"generated_text", "details"}``;
* ``POST /generate_stream`` -- server-sent events ``data:{"index", "token": {"id",
  "text", "logprob", "special"}, "generated_text", "details"}``, the last event with the
  full text and ``details`` (``finish_reason``: ``length`` / ``eos_token`` /
  ``stop_sequence``, ``generated_tokens``, ``seed``, ``input_length``); an error during
  generation is an event ``data:{"error", "error_type"}``;
* validation as TGI's ``validation.rs`` does it -- 422 with
  ``{"error": "Input validation error: ...", "error_type": "validation"}`` for a
  ``temperature`` / ``top_k`` that is not strictly positive, ``top_p`` not in (0, 1),
  more ``stop`` sequences than ``max_stop_sequences``, ``inputs`` tokens +
  ``max_new_tokens`` above ``max_total_tokens``; 429 ``overloaded`` when busy;
* the stop text stays in the generated text (TGI does not strip it);
* ``POST /v1/chat/completions`` -- the OpenAI-style messages API, streaming chunks.

The "model" is deterministic: it answers ``SAY: <text>`` in the prompt's last line
with ``<text>``, anything else with ``Echo: <last words>``; one whitespace-led word
per token, an ``</s>`` special token at the end. Knobs for tests (auth, forced error
statuses, stalls, dropped connections) are attributes of :class:`FakeTGI`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MODEL_ID = "h2oai/h2ogpt-oasst1-512-12b"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def count_tokens(text: str) -> int:
    return len(re.findall(r"\S+", text))


def answer_for(prompt: str) -> str:
    lines = [ln for ln in prompt.strip().splitlines() if ln.strip()]
    for line in reversed(lines):
        m = re.search(r"SAY: (.*)", line)
        if m:
            return m.group(1).replace("\\n", "\n")
    words = re.findall(r"\S+", prompt)
    return "Echo: " + " ".join(words[-4:])


def tokens_of(text: str) -> list[str]:
    return re.findall(r"\s*\S+|\s+$", text)


@dataclass
class FakeTGI:
    port: int = field(default_factory=free_port)
    max_total_tokens: int = 256
    max_input_tokens: int = 200
    max_stop_sequences: int = 4
    #: (user, password) required as HTTP basic auth, or None
    basic_auth: tuple[str, str] | None = None
    #: a 401 body quotes the request's Authorization header, as some proxies do
    echo_auth_on_401: bool = False
    #: what /info reports as the model id (a hostile server can report anything)
    model_id: str = MODEL_ID
    #: statuses to answer the next generate requests with (popped one by one)
    fail_statuses: list[int] = field(default_factory=list)
    #: after this many tokens, stop sending and hang (stall)
    stall_after: int | None = None
    #: while stalled, send SSE keep-alive comments (":") this often, as TGI's router does
    keepalive_every: float | None = None
    #: after this many tokens, drop the connection
    drop_after: int | None = None
    #: after this many tokens, send an error event
    error_after: int | None = None
    token_delay: float = 0.002
    #: serve HTTPS with this certificate / key (PEM files)
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    #: streaming responses still being sent (a client that went away ends its stream)
    open_streams: int = 0

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeTGI:
        import uvicorn

        config = uvicorn.Config(
            self.app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ssl_certfile=self.ssl_certfile,
            ssl_keyfile=self.ssl_keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake TGI server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __post_init__(self) -> None:
        self._release = threading.Event()
        self._streams = threading.Condition()

    def wait_streams_closed(self, timeout: float) -> bool:
        """Wait until no streaming response is open (True), or ``timeout`` seconds (False)."""
        with self._streams:
            return self._streams.wait_for(lambda: self.open_streams == 0, timeout)

    def _stream_opened(self) -> None:
        with self._streams:
            self.open_streams += 1

    def _stream_closed(self) -> None:
        with self._streams:
            self.open_streams -= 1
            self._streams.notify_all()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_certfile else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def reset(self) -> None:
        # end the stalls of earlier tests; new ones wait on a fresh event
        self._release.set()
        self._release = threading.Event()
        self.fail_statuses.clear()
        self.stall_after = self.drop_after = self.error_after = None
        self.keepalive_every = None
        self.basic_auth = None
        self.echo_auth_on_401 = False
        self.model_id = MODEL_ID
        self.requests.clear()
        self.paths.clear()

    # --- the app ------------------------------------------------------------------------

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response, StreamingResponse
        from starlette.routing import Route

        def err(status: int, message: str, kind: str) -> JSONResponse:
            return JSONResponse({"error": message, "error_type": kind}, status_code=status)

        def authorised(request: Request) -> bool:
            if self.basic_auth is None:
                return True
            header = request.headers.get("authorization", "")
            expected = base64.b64encode(":".join(self.basic_auth).encode()).decode()
            return header == f"Basic {expected}"

        def unauthorised(request: Request | None = None) -> Response:
            body = "Unauthorized"
            if self.echo_auth_on_401 and request is not None:
                header = request.headers.get("authorization", "")
                body = json.dumps({"error": f"bad credentials: Authorization: {header}"})
            return Response(
                body, status_code=401, headers={"WWW-Authenticate": 'Basic realm="tgi"'}
            )

        async def info(request: Request) -> Response:
            self.paths.append("/info")
            if not authorised(request):
                return unauthorised(request)
            return JSONResponse(
                {
                    "model_id": self.model_id,
                    "model_sha": None,
                    "model_pipeline_tag": "text-generation",
                    "max_concurrent_requests": 128,
                    "max_best_of": 2,
                    "max_stop_sequences": self.max_stop_sequences,
                    "max_input_tokens": self.max_input_tokens,
                    "max_total_tokens": self.max_total_tokens,
                    "validation_workers": 2,
                    "max_client_batch_size": 4,
                    "router": "text-generation-router",
                    "version": "2.4.1",
                    "sha": None,
                    "docker_label": None,
                }
            )

        async def health(request: Request) -> Response:
            return Response(status_code=200)

        def validate(body: dict[str, Any]) -> tuple[str, dict[str, Any]] | JSONResponse:
            inputs = body.get("inputs")
            if not isinstance(inputs, str):
                return JSONResponse(
                    {"error": "Failed to deserialize the JSON body", "error_type": "validation"},
                    status_code=422,
                )
            p = dict(body.get("parameters") or {})
            v = "Input validation error: "
            if p.get("temperature") is not None and p["temperature"] <= 0:
                return err(422, v + "`temperature` must be strictly positive", "validation")
            if p.get("top_p") is not None and not (0 < p["top_p"] < 1):
                return err(422, v + "`top_p` must be > 0.0 and < 1.0", "validation")
            if p.get("top_k") is not None and p["top_k"] <= 0:
                return err(422, v + "`top_k` must be strictly positive", "validation")
            if p.get("repetition_penalty") is not None and p["repetition_penalty"] <= 0:
                return err(422, v + "`repetition_penalty` must be strictly positive", "validation")
            stops = p.get("stop") or []
            if len(stops) > self.max_stop_sequences:
                return err(
                    422,
                    v + f"`stop` supports up to {self.max_stop_sequences} stop sequences. "
                    f"Given: {len(stops)}",
                    "validation",
                )
            n_in = count_tokens(inputs)
            if p.get("truncate"):
                n_in = min(n_in, int(p["truncate"]))
            max_new = int(p.get("max_new_tokens") or 100)
            if n_in > self.max_input_tokens:
                return err(
                    422,
                    v + f"`inputs` must have less than {self.max_input_tokens} tokens. "
                    f"Given: {n_in}",
                    "validation",
                )
            if n_in + max_new > self.max_total_tokens:
                return err(
                    422,
                    v + f"`inputs` tokens + `max_new_tokens` must be <= {self.max_total_tokens}. "
                    f"Given: {n_in} `inputs` tokens and {max_new} `max_new_tokens`",
                    "validation",
                )
            return inputs, p

        def plan(inputs: str, p: dict[str, Any]) -> tuple[list[tuple[str, bool]], str]:
            """The tokens to send (text, special) and the finish reason."""
            answer = answer_for(inputs)
            max_new = int(p.get("max_new_tokens") or 100)
            out: list[tuple[str, bool]] = []
            text = ""
            for tok in tokens_of(answer):
                if len(out) >= max_new:
                    return out, "length"
                out.append((tok, False))
                text += tok
                for stop in p.get("stop") or []:
                    if stop and stop in text:
                        return out, "stop_sequence"
            if len(out) >= max_new:
                return out, "length"
            out.append(("</s>", True))
            return out, "eos_token"

        async def tracked(events: Any) -> Any:
            """Count the stream as open until it ends -- also when the client disconnects
            (Starlette then cancels the response, which closes this generator)."""
            self._stream_opened()
            try:
                async for event in events:
                    yield event
            finally:
                self._stream_closed()

        async def gate(request: Request) -> Response | None:
            if not authorised(request):
                return unauthorised(request)
            if self.fail_statuses:
                status = self.fail_statuses.pop(0)
                if status == 401:
                    return unauthorised(request)
                if status == 429:
                    return err(429, "Model is overloaded", "overloaded")
                if status == 403:
                    return Response("Forbidden: token lacks access", status_code=403)
                return Response(
                    "upstream unavailable", status_code=status, headers={"Retry-After": "0"}
                )
            return None

        async def generate(request: Request) -> Response:
            self.paths.append("/generate")
            denied = await gate(request)
            if denied is not None:
                return denied
            body = await request.json()
            self.requests.append(body)
            checked = validate(body)
            if isinstance(checked, JSONResponse):
                return checked
            inputs, p = checked
            toks, reason = plan(inputs, p)
            text = "".join(t for t, special in toks if not special)
            return JSONResponse(
                {
                    "generated_text": text,
                    "details": {
                        "finish_reason": reason,
                        "generated_tokens": len(toks),
                        "seed": p.get("seed"),
                        "prefill": [],
                        "tokens": [
                            {"id": i, "text": t, "logprob": -0.5, "special": s}
                            for i, (t, s) in enumerate(toks)
                        ],
                    },
                }
            )

        async def generate_stream(request: Request) -> Response:
            self.paths.append("/generate_stream")
            denied = await gate(request)
            if denied is not None:
                return denied
            body = await request.json()
            self.requests.append(body)
            checked = validate(body)
            if isinstance(checked, JSONResponse):
                return checked
            inputs, p = checked
            toks, reason = plan(inputs, p)
            n_in = count_tokens(inputs)

            release = self._release

            async def events() -> Any:
                text = ""
                for i, (tok, special) in enumerate(toks):
                    if self.error_after is not None and i == self.error_after:
                        payload = {
                            "error": "Request failed during generation: CUDA out of memory",
                            "error_type": "generation",
                        }
                        yield f"data:{json.dumps(payload)}\n\n"
                        return
                    if self.drop_after is not None and i == self.drop_after:
                        raise ConnectionResetError("fake TGI dropped the connection")
                    if self.stall_after is not None and i == self.stall_after:
                        waited = 0.0
                        while not release.is_set():
                            await asyncio.sleep(0.05)
                            waited += 0.05
                            if self.keepalive_every and waited >= self.keepalive_every:
                                waited = 0.0
                                yield ":\n\n"
                        return
                    await asyncio.sleep(self.token_delay)
                    if not special:
                        text += tok
                    last = i == len(toks) - 1
                    event = {
                        "index": i + 1,
                        "token": {"id": 1000 + i, "text": tok, "logprob": -0.5, "special": special},
                        "generated_text": text if last else None,
                        "details": (
                            {
                                "finish_reason": reason,
                                "generated_tokens": len(toks),
                                "seed": p.get("seed"),
                                "input_length": n_in,
                            }
                            if last
                            else None
                        ),
                        "top_tokens": None,
                    }
                    yield f"data:{json.dumps(event)}\n\n"

            return StreamingResponse(tracked(events()), media_type="text/event-stream")

        async def chat_completions(request: Request) -> Response:
            self.paths.append("/v1/chat/completions")
            denied = await gate(request)
            if denied is not None:
                return denied
            body = await request.json()
            self.requests.append(body)
            messages = body.get("messages") or []
            prompt = "\n".join(str(m.get("content", "")) for m in messages)
            p = {"max_new_tokens": body.get("max_tokens") or 100, "stop": body.get("stop") or []}
            checked = validate({"inputs": prompt, "parameters": p})
            if isinstance(checked, JSONResponse):
                return checked
            toks, reason = plan(prompt, p)
            created = int(time.time())

            def chunk(delta: dict[str, Any], finish: str | None) -> str:
                data = {
                    "id": "",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": MODEL_ID,
                    "system_fingerprint": "2.4.1-native",
                    "choices": [
                        {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                    ],
                    "usage": None,
                }
                return f"data: {json.dumps(data)}\n\n"

            release = self._release

            async def events() -> Any:
                visible = [t for t, special in toks if not special]
                for i, tok in enumerate(visible):
                    if self.drop_after is not None and i == self.drop_after:
                        raise ConnectionResetError("fake TGI dropped the connection")
                    if self.stall_after is not None and i == self.stall_after:
                        while not release.is_set():
                            await asyncio.sleep(0.05)
                        return
                    await asyncio.sleep(self.token_delay)
                    last = i == len(visible) - 1
                    finish = None
                    if last:
                        finish = "length" if reason == "length" else "stop"
                    yield chunk({"role": "assistant", "content": tok}, finish)
                yield "data: [DONE]\n\n"

            return StreamingResponse(tracked(events()), media_type="text/event-stream")

        async def models(request: Request) -> Response:
            if not authorised(request):
                return unauthorised(request)
            return JSONResponse(
                {
                    "object": "list",
                    "data": [
                        {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": MODEL_ID}
                    ],
                }
            )

        return Starlette(
            routes=[
                Route("/info", info, methods=["GET"]),
                Route("/health", health, methods=["GET"]),
                Route("/generate", generate, methods=["POST"]),
                Route("/generate_stream", generate_stream, methods=["POST"]),
                Route("/v1/chat/completions", chat_completions, methods=["POST"]),
                Route("/v1/models", models, methods=["GET"]),
            ]
        )
