"""What every remote engine shares: options, endpoint pools, retries, errors, TLS, stops.

* :class:`RemoteOptions` -- per-model overrides of the ``[remote]`` settings (timeouts,
  retries, TLS), inherited by each remote engine's own options model.
* :class:`EndpointPool` -- a model's endpoints, used round-robin; an endpoint that failed
  is skipped for ``failover_cooldown`` seconds (DSPy's HFClientTGI list of ports, with
  failover).
* :func:`failover_stream` -- runs one generation attempt per endpoint until one works:
  transient failures (connection refused, timeouts, 429 / 502 / 503 / 504) before the
  first token move on to the next endpoint, with exponential backoff between rounds;
  after the first token nothing is retried (that would duplicate output): the stream
  ends with ``Finished(ERROR)`` and the partial answer is kept.
* :func:`status_error` -- HTTP statuses as specific, readable :class:`EngineError` s.
* :class:`StopScanner` -- stop sequences applied on the client side (servers that cap
  the number of stop sequences, servers that echo the stop text).

Every message a user can see goes through :func:`h2otui.servers.scrub`, so no
password, token or API key ever reaches a log, an error or ``--json`` output.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
import random
import ssl
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import Field

from h2otui.engines.base import (
    Capabilities,
    Engine,
    EngineAuthError,
    EngineConfigError,
    EngineConnectionError,
    EngineError,
    EngineOptions,
    EngineRequestError,
    Event,
    Finished,
    FinishReason,
    GenerationRequest,
    Message,
    ModelNotFoundError,
    StopWatch,
    TextDelta,
    Usage,
)
from h2otui.engines.prompting import PromptingEngine
from h2otui.servers import ServerSpec, scrub, scrub_credentials

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings

DEFAULT_CONNECT_TIMEOUT = 10.0
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})


class RemoteOptions(EngineOptions):
    """Options every remote engine accepts (unset = the ``[remote]`` settings)."""

    model: str | None = Field(
        None, description="Model id the server serves; unset = discovered from the server."
    )
    context_length: int | None = Field(
        None, ge=1, description="Context length; unset = what the server reports, else 4096."
    )
    connect_timeout: float | None = Field(None, gt=0)
    stall_timeout: float | None = Field(None, gt=0)
    retries: int | None = Field(None, ge=0)
    backoff: float | None = Field(None, ge=0)
    failover_cooldown: float | None = Field(None, ge=0)
    verify_tls: bool | None = None
    ca_bundle: str | None = None
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra HTTP headers sent with every request."
    )


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    """The effective network settings of one model (settings, then its options)."""

    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    stall_timeout: float = 120.0
    retries: int = 2
    backoff: float = 0.5
    failover_cooldown: float = 30.0
    verify_tls: bool = True
    ca_bundle: str = ""

    @classmethod
    def build(cls, settings: Settings | None, options: RemoteOptions | None) -> RemoteConfig:
        base: dict[str, Any] = {}
        remote = getattr(settings, "remote", None) if settings is not None else None
        if remote is not None:
            base = {k: getattr(remote, k) for k in cls.__dataclass_fields__ if hasattr(remote, k)}
        if base.get("connect_timeout") is None:
            base["connect_timeout"] = _env_timeout("REQUEST_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)
        if options is not None:
            for key in cls.__dataclass_fields__:
                value = getattr(options, key, None)
                if value is not None:
                    base[key] = value
        return cls(**base)

    def ssl_verify(self) -> bool | ssl.SSLContext:
        """What to give httpx as ``verify``: False (insecure), or the system's trusted CAs
        plus ``ca_bundle`` (else ``$SSL_CERT_FILE`` / ``$REQUESTS_CA_BUNDLE``) if set."""
        if not self.verify_tls:
            return False
        context = ssl.create_default_context()
        source, bundle = "remote.ca_bundle (or options.ca_bundle)", self.ca_bundle
        if not bundle:
            for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
                if os.environ.get(name):
                    source, bundle = f"${name}", os.environ[name]
                    break
        if bundle:
            path = os.path.expanduser(bundle)
            if not os.path.isfile(path):
                raise EngineConfigError(
                    f"{source}: CA bundle {path} does not exist (a PEM file is expected)"
                )
            try:
                context.load_verify_locations(cafile=path)
            except ssl.SSLError as exc:
                raise EngineConfigError(
                    f"{source}: {path} is not a valid PEM CA bundle: {exc.reason}"
                ) from None
        return context

    def httpx_timeout(self) -> Any:
        import httpx

        # read = the stall timeout: the longest silence between two chunks of a stream
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.stall_timeout,
            write=self.stall_timeout,
            pool=self.connect_timeout,
        )


def _env_timeout(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise EngineConfigError(f"environment variable {name}={raw!r}: expected seconds") from None
    if value <= 0:
        raise EngineConfigError(f"environment variable {name}={raw!r}: must be positive")
    return value


# --- errors ----------------------------------------------------------------------------


class TransientError(EngineConnectionError):
    """A failure worth retrying (on this or another endpoint) if no token was produced."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StallError(TransientError):
    """The server sent nothing for ``stall_timeout`` seconds."""


def status_error(
    status: int,
    detail: str,
    *,
    where: str,
    model: str | None = None,
    retry_after: float | None = None,
) -> EngineError:
    """An HTTP error status as the specific error a user can act on."""
    detail = scrub_credentials(" ".join(detail.split())[:400])
    suffix = f": {detail}" if detail else ""
    if status in (401, 403):
        what = "refused the credentials" if status == 401 else "denied access"
        return EngineAuthError(
            f"{where} {what} (HTTP {status}){suffix}. Check the user/password in the server "
            "string, the API key (options.api_key / options.api_key_env) or the h2ogpt key"
        )
    if status == 404:
        name = f" model '{model}'" if model else " the requested model or endpoint"
        return ModelNotFoundError(
            f"{where} does not serve{name} (HTTP 404){suffix}. Check options.model and the "
            "server's URL (h2otui models --check lists what it serves)"
        )
    if status in (400, 413, 422):
        return EngineRequestError(
            f"{where} rejected the request (HTTP {status}){suffix}. Shorten the input or "
            "lower max_new_tokens if it is too long for the model"
        )
    if status in RETRYABLE_STATUSES:
        busy = "is overloaded" if status == 429 else "is unavailable"
        return TransientError(f"{where} {busy} (HTTP {status}){suffix}", retry_after=retry_after)
    return EngineError(f"{where} failed (HTTP {status}){suffix}")


def error_detail(body: bytes | str) -> str:
    """The human part of an error body: TGI / OpenAI / FastAPI JSON, or plain text,
    without credentials the server echoed back (a 401 page that quotes the request's
    ``Authorization`` header would otherwise put it in errors, --json and the chat store).
    """
    return scrub_credentials(_error_text(body))


def _error_text(body: bytes | str) -> str:
    import json

    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        stripped = text.strip()
        if stripped.startswith("<"):
            return ""  # an HTML error page says nothing useful on a terminal
        return stripped[:400]
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message") or err.get("msg") or json.dumps(err)
        if isinstance(err, list):
            err = "; ".join(str(e.get("msg", e)) if isinstance(e, dict) else str(e) for e in err)
        if err is not None:
            return str(err)
    return text.strip()[:400]


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def transport_error(exc: BaseException, *, where: str) -> TransientError:
    """A network exception (httpx, OS) as a readable transient error."""
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return TransientError(f"{where}: timed out connecting")
    if isinstance(exc, httpx.ReadTimeout):
        return StallError(f"{where}: no answer within the stall timeout")
    if isinstance(exc, httpx.ConnectError):
        reason = str(exc) or type(exc).__name__
        if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate" in reason.lower():
            # not transient: retrying will not fix a certificate
            raise EngineConnectionError(
                f"{where}: the server's TLS certificate is not trusted ({reason}). Set "
                "remote.ca_bundle (or options.ca_bundle) to its CA, or verify_tls = false "
                "for a test server"
            ) from None
        return TransientError(f"{where}: cannot connect ({_short(reason)})")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return TransientError(f"{where}: the connection was closed ({_short(str(exc))})")
    return TransientError(f"{where}: {type(exc).__name__}: {_short(str(exc))}")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text[:200] or "no details"


# --- endpoints -------------------------------------------------------------------------


@dataclass(slots=True)
class Endpoint:
    spec: ServerSpec
    failed_until: float = 0.0
    failures: int = 0
    last_error: str | None = None

    @property
    def label(self) -> str:
        return self.spec.label


@dataclass(slots=True)
class EndpointPool:
    """Round-robin over a model's endpoints, skipping recently failed ones."""

    endpoints: list[Endpoint]
    cooldown: float = 30.0
    _next: int = 0
    _clock: Callable[[], float] = field(default=time.monotonic)

    @classmethod
    def of(cls, specs: Sequence[ServerSpec], cooldown: float) -> EndpointPool:
        if not specs:
            raise EngineConfigError("a remote model needs at least one inference_server")
        return cls([Endpoint(s) for s in specs], cooldown)

    def candidates(self) -> list[Endpoint]:
        """This request's endpoints in the order to try them.

        Healthy endpoints first, starting from the round-robin cursor; endpoints still
        cooling down after a failure come last (soonest-available first), so a request
        is never refused just because every endpoint failed once."""
        now = self._clock()
        healthy = [e for e in self.endpoints if e.failed_until <= now]
        cooling = sorted(
            (e for e in self.endpoints if e.failed_until > now), key=lambda e: e.failed_until
        )
        # rotate among the healthy ones, so load stays even while one is out
        if healthy:
            start = self._next % len(healthy)
            healthy = healthy[start:] + healthy[:start]
        self._next += 1
        return healthy + cooling

    def mark_failed(self, endpoint: Endpoint, error: str) -> None:
        endpoint.failures += 1
        endpoint.last_error = error
        endpoint.failed_until = self._clock() + self.cooldown

    def mark_ok(self, endpoint: Endpoint) -> None:
        endpoint.failures = 0
        endpoint.failed_until = 0.0
        endpoint.last_error = None

    @property
    def secrets(self) -> list[str]:
        return [s for e in self.endpoints for s in e.spec.secrets]


Attempt = Callable[[Endpoint, StopWatch], AsyncIterator[Event]]


async def failover_stream(
    pool: EndpointPool,
    attempt: Attempt,
    config: RemoteConfig,
    *,
    model_name: str,
    secrets: Sequence[str] = (),
) -> AsyncIterator[Event]:
    """Run ``attempt`` on the pool's endpoints until one produces an answer.

    ``attempt(endpoint, watch)`` yields :class:`TextDelta` (and may yield
    :class:`Usage` / :class:`Finished` at its end); it raises :class:`TransientError` for
    failures worth retrying and other :class:`EngineError` s for the rest. This wrapper
    adds what every engine needs: failover, backoff, the partial-answer rule, a Usage
    event if the attempt sent none, and the final Finished event.
    """
    all_secrets = [*pool.secrets, *secrets]
    delay = config.backoff
    errors: list[str] = []
    for round_no in range(config.retries + 1):
        wait_hint: float | None = None
        for endpoint in pool.candidates():
            watch = StopWatch()
            produced = 0
            saw_usage = False
            finished: Finished | None = None
            agen = attempt(endpoint, watch)
            try:
                async for event in agen:
                    if isinstance(event, TextDelta):
                        if not event.text:
                            continue
                        produced += 1
                        watch.mark_token()
                    elif isinstance(event, Usage):
                        saw_usage = True
                    elif isinstance(event, Finished):
                        finished = event
                        continue
                    yield event
            except TransientError as exc:
                message = scrub(str(exc), all_secrets)
                pool.mark_failed(endpoint, message)
                if produced:
                    # mid-stream: never retry (it would repeat text); keep the partial answer
                    if not saw_usage:
                        yield watch.usage(0, produced)
                    yield Finished(
                        FinishReason.ERROR,
                        f"{message}; the answer is incomplete ({produced} chunks received)",
                    )
                    return
                errors.append(message)
                if exc.retry_after is not None:
                    wait_hint = max(wait_hint or 0.0, exc.retry_after)
                continue
            except EngineError as exc:
                message = scrub(str(exc), all_secrets)
                if produced:
                    if not saw_usage:
                        yield watch.usage(0, produced)
                    yield Finished(FinishReason.ERROR, f"{message}; the answer is incomplete")
                    return
                raise type(exc)(message) from None
            finally:
                with contextlib.suppress(Exception):
                    await agen.aclose()  # type: ignore[attr-defined]
            pool.mark_ok(endpoint)
            if not saw_usage:
                yield watch.usage(0, produced)
            yield finished or Finished(FinishReason.STOP)
            return
        if round_no < config.retries:
            pause = delay if wait_hint is None else min(max(wait_hint, delay), 30.0)
            await asyncio.sleep(pause * (1 + 0.1 * random.random()))
            delay *= 2
    tried = len(pool.endpoints)
    last = errors[-1] if errors else "no endpoint answered"
    where = f"{tried} endpoints" if tried > 1 else "the server"
    raise EngineConnectionError(
        f"model '{model_name}': {where} failed after {config.retries + 1} attempt(s): {last}"
    )


# --- client-side stop sequences ---------------------------------------------------------


class StopScanner:
    """Cuts streamed text at the first stop sequence, never showing part of one.

    Text that could be the start of a stop sequence is held back until the next chunk
    decides; :meth:`feed` returns what is safe to show and whether a stop was hit."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in dict.fromkeys(stops) if s]
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self._buffer = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        if not self.stops:
            return text
        self._buffer += text
        cut = min((i for i in (self._buffer.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            out, self._buffer = self._buffer[:cut], ""
            self.stopped = True
            return out
        if self._hold <= 0:
            out, self._buffer = self._buffer, ""
            return out
        keep = self._hold
        # hold back only a suffix that is a prefix of some stop sequence
        for k in range(min(keep, len(self._buffer)), 0, -1):
            tail = self._buffer[-k:]
            if any(s.startswith(tail) for s in self.stops):
                out, self._buffer = self._buffer[:-k], tail
                return out
        out, self._buffer = self._buffer, ""
        return out

    def flush(self) -> str:
        out, self._buffer = ("" if self.stopped else self._buffer), ""
        return out


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (about 4 characters a token for English)."""
    return max(1, (len(text) + 3) // 4) if text else 0


# --- the base class of remote engines -----------------------------------------------------

#: prompt types meaning "the server applies its own chat template" (h2oGPT's names)
CHAT_PROMPT_TYPES = frozenset({"openai_chat", "template", "openai", "chat"})


class RemoteEngine(PromptingEngine):
    """What TGI, OpenAI-compatible and Gradio engines have in common.

    Subclasses set ``engine_name`` / ``Options`` and implement :meth:`_attempt` (one try
    against one endpoint) plus, optionally, :meth:`_probe` (learn the served model)."""

    capabilities = Capabilities(chat_messages=False, raw_prompt=True, local=False)
    Options = RemoteOptions
    unrendered_prompt_types = CHAT_PROMPT_TYPES

    def __init__(
        self,
        specs: Sequence[ServerSpec],
        *,
        model_name: str,
        options: RemoteOptions,
        config: RemoteConfig,
        base_model: str | None = None,
        prompt_type: str | None = None,
        prompt_dict: dict[str, Any] | str | None = None,
        system_prompt: str | None = None,
    ) -> None:
        super().__init__(
            prompt_type=prompt_type,
            prompt_dict=prompt_dict,
            base_model=base_model,
            system_prompt=system_prompt,
        )
        self.specs = list(specs)
        self.model_name = model_name
        self.options = options
        self.config = config
        self.pool = EndpointPool.of(self.specs, config.failover_cooldown)
        #: what the server told us (served model id, limits), filled by load()
        self.server_info: dict[str, Any] = {}
        self.served_model: str | None = options.model
        self._loaded = False
        self._load_lock = asyncio.Lock()

    # --- construction ------------------------------------------------------------

    @classmethod
    def from_entry(cls, entry: ModelEntry, settings: Settings) -> Engine:
        options = cls.parse_options(entry.options, model_name=entry.name)
        assert isinstance(options, RemoteOptions)
        specs = cls._specs_for(entry)
        cls.check_prompt_type(entry)
        return cls(
            specs,
            model_name=entry.name,
            options=options,
            config=RemoteConfig.build(settings, options),
            **cls.prompt_settings(entry),
        )

    @classmethod
    def _specs_for(cls, entry: ModelEntry) -> list[ServerSpec]:
        from h2otui.servers import parse_servers

        if not entry.inference_server:
            raise EngineConfigError(
                f"model '{entry.name}': engine '{cls.engine_name}' needs inference_server"
            )
        return parse_servers(entry.inference_server, engine=cls.engine_name, model_name=entry.name)

    # --- helpers for subclasses --------------------------------------------------------

    @property
    def secrets(self) -> list[str]:
        extra = [getattr(self.options, "api_key", None), getattr(self.options, "h2ogpt_key", None)]
        return [*self.pool.secrets, *(s for s in extra if s)]

    def where(self, endpoint: Endpoint) -> str:
        return f"model '{self.model_name}' at {endpoint.label}"

    def render_prompt(self, messages: Sequence[Message]) -> str:
        if self.prompt_type in CHAT_PROMPT_TYPES:
            return "\n".join(m.content for m in self._with_system(messages))
        return self.render_messages(messages)[0]

    def chat_messages(self, request: GenerationRequest) -> list[dict[str, str]]:
        """OpenAI-style messages; a system prompt of "auto" means the server's default."""
        if request.prompt is not None:
            msgs = [Message("user", request.prompt)]
            sys = [m for m in request.messages if m.role == "system"]
            msgs = sys[:1] + msgs
        else:
            msgs = self._with_system(request.messages)
        out = []
        for m in msgs:
            if m.role == "system" and (m.content in ("", "auto")):
                continue
            out.append({"role": m.role, "content": m.content})
        return out

    def count_tokens(self, text: str) -> int:
        # no tokenizer on this side of the wire: an estimate, documented as such
        return estimate_tokens(text)

    @property
    def context_length(self) -> int:
        return int(self.options.context_length or self.server_info.get("context_length") or 4096)

    # --- loading: ask the servers who they are ------------------------------------------

    async def load(self) -> None:
        if self._loaded:
            return
        async with self._load_lock:
            if self._loaded:
                return
            errors: list[str] = []
            for endpoint in self.pool.candidates():
                try:
                    info = await self._probe(endpoint)
                except TransientError as exc:
                    msg = scrub(str(exc), self.secrets)
                    self.pool.mark_failed(endpoint, msg)
                    errors.append(msg)
                    continue
                except EngineError as exc:
                    raise type(exc)(scrub(str(exc), self.secrets)) from None
                self.server_info.update(info)
                break
            else:
                raise EngineConnectionError(
                    f"model '{self.model_name}': no endpoint answered: " + "; ".join(errors)
                )
            if self.served_model is None:
                self.served_model = self.server_info.get("model_id")
            if not self.prompt_type:
                self.prompt_type = self.resolve_prompt_type(self.served_model)
            self._loaded = True

    async def _probe(self, endpoint: Endpoint) -> dict[str, Any]:
        """Contact ``endpoint``; return what it says about itself (model_id, limits)."""
        return {}

    async def check(self) -> dict[str, Any]:
        """Reachability of every endpoint, for ``h2otui models --check``."""
        rows = []
        for endpoint in self.pool.endpoints:
            start = time.perf_counter()
            try:
                info = await self._probe(endpoint)
                rows.append(
                    {
                        "endpoint": endpoint.label,
                        "reachable": True,
                        "latency_ms": round((time.perf_counter() - start) * 1000, 1),
                        **info,
                    }
                )
            except EngineError as exc:
                message = scrub(str(exc), self.secrets)
                # the row already names the model and endpoint
                message = message.removeprefix(self.where(endpoint)).lstrip(": ")
                rows.append(
                    {
                        "endpoint": endpoint.label,
                        "reachable": False,
                        "latency_ms": None,
                        "error": message,
                    }
                )
        return {"endpoints": rows}

    # --- generation ---------------------------------------------------------------------

    @abc.abstractmethod
    def _attempt(
        self, endpoint: Endpoint, watch: StopWatch, request: GenerationRequest
    ) -> AsyncIterator[Event]:
        """One generation try on one endpoint (see :func:`failover_stream`)."""

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Event]:
        await self.load()
        async for event in failover_stream(
            self.pool,
            lambda endpoint, watch: self._attempt(endpoint, watch, request),
            self.config,
            model_name=self.model_name,
            secrets=self.secrets,
        ):
            yield event


def http_client(config: RemoteConfig, headers: dict[str, str] | None = None) -> Any:
    """An ``httpx.AsyncClient`` with the model's timeouts and TLS settings (proxy variables
    such as ``HTTPS_PROXY`` / ``NO_PROXY`` apply, as for any HTTP client)."""
    import httpx

    return httpx.AsyncClient(
        timeout=config.httpx_timeout(),
        verify=config.ssl_verify(),
        headers={"User-Agent": "h2otui", **(headers or {})},
        follow_redirects=False,
    )


def request_auth(spec: ServerSpec, api_key: str | None = None) -> tuple[Any, dict[str, str]]:
    """(httpx auth, extra headers) for one endpoint."""
    import httpx

    headers: dict[str, str] = {}
    auth = None
    if spec.username is not None:
        auth = httpx.BasicAuth(spec.username, spec.password or "")
    if spec.auth_header:
        headers["Authorization"] = spec.auth_header
    key = spec.api_key or api_key
    if key and "Authorization" not in headers and auth is None:
        headers["Authorization"] = f"Bearer {key}"
    return auth, headers
