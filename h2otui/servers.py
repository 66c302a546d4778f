"""h2oGPT inference-server strings: which engine serves them, where, with what credentials.

h2oGPT users configure remote models with one string per model (``--inference_server``,
the ``inference_server`` key of ``--model_lock`` items). Every form they use is accepted
as-is:

==========================================  =================================================
``http://host:port``                        TGI (``text-generation-inference``); an h2oGPT
                                            Gradio server at a plain URL is detected when
                                            the engine connects, as h2oGPT does
``https://host    USER    AUTH``            TGI behind basic auth (four spaces between the
                                            parts, h2oGPT's form); ``Bearer    TOKEN`` style
                                            scheme names are sent as the header verbatim
``http://host:port:user:password``          an auth-protected h2oGPT Gradio server
``https://host:None:user:password``         (``None`` = no port)
``gradio:http://host:port``                 a Gradio server, explicitly (h2otui's own prefix)
``tgi:http://host:port``                    TGI, explicitly (h2otui's own prefix)
``vllm:host:port``                          an OpenAI-compatible *completions* server;
``vllm:http://host:port/v1``                ``/v1`` is added when no scheme is given
``vllm:https://host:None:/path/v1:KEY``     (h2oGPT's host:port:path:key form)
``vllm_chat:...``                           the same, with *chat* completions (vLLM,
                                            llama.cpp server, LM Studio, Ollama, TGI's
                                            messages API, together.ai, ...)
``openai`` / ``openai_chat``                api.openai.com, key from ``$OPENAI_API_KEY``
``openai_chat:None:None:None:KEY``          h2oGPT's deployment:base:version:key suffix
==========================================  =================================================

Nothing here touches the network. :func:`redact_server` is the only way a server string
is ever shown to a user: passwords, tokens and API keys become ``***``.

This module is neutral ground: :mod:`h2otui.config` (naming model_lock entries) and the
remote engines both use it, so it imports neither; its errors come from
:mod:`h2otui.errors`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from h2otui.errors import EngineConfigError

ServerKind = Literal["tgi", "openai", "gradio"]

#: h2oGPT separates URL, user and secret with (at least) four spaces; tabs too
_AUTH_SPLIT = re.compile(r" {4,}|\t+")
#: scheme words that make the 4-space form an Authorization header rather than user:password
_HEADER_SCHEMES = {"bearer", "basic", "token", "digest", "negotiate", "apikey", "api-key"}
_GRADIO_HOST_HINTS = (".gradio.live", ".hf.space", "gradio.app")
OPENAI_DEFAULT_BASE = "https://api.openai.com/v1"


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """One parsed server string. ``base_url`` never holds credentials."""

    kind: ServerKind
    base_url: str
    #: for openai: chat completions (True) or legacy completions (False); None = not openai
    chat: bool | None = None
    username: str | None = None
    # secrets stay out of repr(): a spec in a log line or a traceback must not leak them
    password: str | None = field(default=None, repr=False)
    #: an ``Authorization`` header value given verbatim (``Bearer    TOKEN`` form)
    auth_header: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    #: kind came from an explicit prefix / auth form rather than a guess from a plain URL
    explicit: bool = True
    raw: str = field(default="", repr=False)

    @property
    def secrets(self) -> list[str]:
        """Every secret in this spec (for scrubbing error messages), including the Basic
        auth token built from the user and password, which a server may echo back."""
        out = [s for s in (self.password, self.api_key) if s]
        if self.password is not None:
            import base64

            pair = f"{self.username or ''}:{self.password}".encode()
            out.append(base64.b64encode(pair).decode("ascii"))
        if self.auth_header:
            out.append(self.auth_header)
            token = self.auth_header.split(" ", 1)[-1]
            if token:
                out.append(token)
        return [s for s in out if len(s) >= 3]

    @property
    def label(self) -> str:
        """Where this server is, safe to print (no credentials)."""
        return redact_server(self.raw) if self.raw else self.base_url

    @property
    def host_label(self) -> str:
        """``host:port`` of the server, for short labels like ``tgi@host:8080``."""
        parts = urlsplit(self.base_url)
        return parts.netloc or self.base_url


def _split_auth(text: str) -> tuple[str, list[str]]:
    parts = [p for p in _AUTH_SPLIT.split(text.strip()) if p != ""]
    return (parts[0] if parts else ""), parts[1:]


def _normalise_url(url: str, *, what: str) -> str:
    if not re.match(r"^[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise EngineConfigError(f"{what}: only http:// and https:// servers are supported")
    if not parts.hostname:
        raise EngineConfigError(f"{what}: no host name in the server address")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    try:
        port = parts.port
    except ValueError:
        raise EngineConfigError(f"{what}: the port is not a number") from None
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


def _url_with_colon_credentials(text: str, *, what: str) -> tuple[str, str | None, str | None]:
    """h2oGPT's ``get_hf_server`` rules: ``host[:port][:user:password]`` after the scheme."""
    scheme = "http://"
    rest = text
    for prefix in ("https://", "http://"):
        if text.lower().startswith(prefix):
            scheme, rest = prefix, text[len(prefix) :]
            break
    # URL credentials (user:pass@host) are fine too
    userinfo = None
    if "@" in rest.split("/", 1)[0]:
        userinfo, rest = rest.split("@", 1)
    host_part, slash, path = rest.partition("/")
    bits = host_part.split(":")
    user = password = None
    if len(bits) <= 2:
        host_port = host_part
    elif len(bits) == 3:
        host_port, user, password = bits[0], bits[1], bits[2]
    elif len(bits) == 4:
        host_port = bits[0] if bits[1] in ("", "None") else f"{bits[0]}:{bits[1]}"
        user, password = bits[2], bits[3]
    else:
        raise EngineConfigError(
            f"{what}: malformed server address (expected host[:port][:user:password])"
        )
    if host_port.endswith(":None"):
        host_port = host_port[: -len(":None")]
    if userinfo is not None:
        user, _, password = userinfo.partition(":")
        password = password or None
    url = _normalise_url(scheme + host_port + (slash + path if slash else ""), what=what)
    return url, user, password


def _openai_compatible(text: str, *, chat: bool, what: str) -> ServerSpec:
    """``vllm[_chat]:[http(s)://]host[:port[:path[:key]]]`` (h2oGPT's ``set_openai``)."""
    rest = text
    scheme = "http://"
    auto_v1 = True
    for prefix in ("https://", "http://"):
        if rest.lower().startswith(prefix):
            scheme, rest = prefix, rest[len(prefix) :]
            auto_v1 = False
            break
    bits = rest.split(":")
    host = bits[0].strip()
    if not host:
        raise EngineConfigError(f"{what}: no host in the server address")
    base = scheme + host
    path = ""
    if len(bits) >= 2:
        port_and_path = bits[1].strip()
        port, slash, inline_path = port_and_path.partition("/")
        if port not in ("", "None"):
            if not port.isdigit():
                raise EngineConfigError(f"{what}: the port '{port}' is not a number")
            base += ":" + port
        if slash:
            path = "/" + inline_path
    if len(bits) >= 3 and bits[2].strip() not in ("", "None"):
        path = bits[2].strip()
        if not path.startswith("/"):
            path = "/" + path
    api_key = None
    if len(bits) >= 4 and bits[3].strip() not in ("", "None", "EMPTY"):
        api_key = ":".join(bits[3:]).strip()
    base = _normalise_url(base + path, what=what)
    if auto_v1 and not base.endswith("/v1"):
        base += "/v1"
    return ServerSpec("openai", base, chat=chat, api_key=api_key, raw=text)


def _openai(name: str, rest: list[str], *, what: str) -> ServerSpec:
    """``openai[_chat][:deployment:base:version:key]`` (Azure parts are not supported)."""
    chat = name == "openai_chat"
    base = OPENAI_DEFAULT_BASE
    api_key = None
    # rest = [type, deployment, base_url, api_version, key]
    if len(rest) >= 3 and rest[2].strip() not in ("", "None"):
        host = rest[2].strip()
        base = _normalise_url("https://" + host, what=what)
    if len(rest) >= 5 and rest[4].strip() not in ("", "None"):
        api_key = ":".join(rest[4:]).strip()
    return ServerSpec("openai", base, chat=chat, api_key=api_key)


def parse_server(
    server: str, *, engine: str | None = None, what: str = "inference_server"
) -> ServerSpec:
    """Parse an h2oGPT server string. ``engine`` (when a model names one) decides what a
    plain URL means: the OpenAI engine treats ``http://host:8000/v1`` as its base URL."""
    raw = server
    text = server.strip()
    if not text:
        raise EngineConfigError(f"{what}: empty server string")
    head, auth = _split_auth(text)
    lower = head.lower()
    prefix, sep, remainder = head.partition(":")
    prefix_l = prefix.lower()

    spec: ServerSpec
    if prefix_l in ("vllm", "vllm_chat", "sglang") and sep:
        spec = _openai_compatible(remainder, chat=prefix_l == "vllm_chat", what=what)
    elif prefix_l in ("openai", "openai_chat"):
        spec = _openai(prefix_l, head.split(":"), what=what)
    elif prefix_l.startswith("openai_azure"):
        raise EngineConfigError(
            f"{what}: Azure OpenAI ('{prefix_l}') is not supported; use an OpenAI-compatible "
            "base URL with engine = 'openai' and options.base_url"
        )
    elif prefix_l in ("gradio", "tgi") and sep and remainder:
        url, user, password = _url_with_colon_credentials(remainder, what=what)
        spec = ServerSpec(prefix_l, url, username=user, password=password)  # type: ignore[arg-type]
    elif lower.startswith(("http://", "https://")) or re.match(r"^[\w.-]+(:\d+)?(/|$)", head):
        url, user, password = _url_with_colon_credentials(head, what=what)
        if engine == "openai":
            spec = ServerSpec("openai", url, chat=True, username=user, password=password)
        elif engine in ("gradio", "tgi"):
            spec = ServerSpec(engine, url, username=user, password=password)  # type: ignore[arg-type]
        elif user is not None and "@" not in head:
            # h2oGPT documents host:port:user:password for auth-protected Gradio servers
            spec = ServerSpec("gradio", url, username=user, password=password)
        elif any(h in (urlsplit(url).hostname or "") for h in _GRADIO_HOST_HINTS):
            spec = ServerSpec("gradio", url)
        else:
            spec = ServerSpec("tgi", url, username=user, password=password, explicit=bool(auth))
    else:
        raise EngineConfigError(
            f"{what}: not a server string h2otui understands: '{redact_server(raw)}' "
            "(expected http(s)://host:port, vllm:host:port, vllm_chat:host:port, openai, "
            "openai_chat or gradio:http(s)://host:port)"
        )

    if auth:
        if len(auth) != 2:
            raise EngineConfigError(
                f"{what}: with the four-space form, give exactly 'URL    USER    AUTH' "
                f"(got {len(auth) + 1} parts)"
            )
        user, secret = auth
        if user.lower() in _HEADER_SCHEMES:
            spec = _replace(spec, auth_header=f"{user} {secret}", username=None, password=None)
        elif spec.kind == "openai" and user.lower() in ("key", "api_key"):
            spec = _replace(spec, api_key=secret)
        else:
            spec = _replace(spec, username=user, password=secret)
    if engine == "openai" and spec.kind != "openai":
        spec = ServerSpec(
            "openai",
            spec.base_url,
            chat=True,
            username=spec.username,
            password=spec.password,
            auth_header=spec.auth_header,
        )
    return _replace(spec, raw=raw)


def _replace(spec: ServerSpec, **changes: object) -> ServerSpec:
    from dataclasses import replace

    return replace(spec, **changes)  # type: ignore[arg-type]


def engine_for_server(server: str) -> str:
    """The engine that serves an h2oGPT server string: ``tgi``, ``openai`` or ``gradio``."""
    return parse_server(server).kind


def parse_servers(
    servers: str | list[str] | None, *, engine: str | None = None, model_name: str = ""
) -> list[ServerSpec]:
    """All endpoints of one model; they must be served by one engine."""
    what = f"model '{model_name}': inference_server" if model_name else "inference_server"
    items = [servers] if isinstance(servers, str) else list(servers or [])
    specs = [parse_server(s, engine=engine, what=what) for s in items]
    kinds = {s.kind for s in specs}
    if len(kinds) > 1:
        raise EngineConfigError(
            f"{what}: all endpoints of one model must be the same kind of server "
            f"(got {', '.join(sorted(kinds))}); make separate models instead"
        )
    return specs


# --- redaction -----------------------------------------------------------------------


_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
#: credentials a server may echo back in an error body (its request dump, a proxy's 401
#: page): an auth scheme and its token, or a key / token / password parameter
_AUTH_SCHEME_TOKEN = re.compile(
    r"(?P<keep>\b(?P<scheme>Basic|Bearer|Digest|ApiKey)\s+)(?P<token>[A-Za-z0-9+/=._~:-]{4,})",
    re.IGNORECASE,
)
_CREDENTIAL_PARAM = re.compile(
    r"(?P<keep>\b(?:authorization|proxy-authorization|x-api-key|api[_-]?key|access[_-]?token"
    r"|password|passwd|secret)[\"']?\s*[:=]\s*[\"']?)"
    r"(?!(?:Basic|Bearer|Digest|ApiKey)\s)[^\s\"',;&}]{3,}",
    re.IGNORECASE,
)


def redact_server(server: str) -> str:
    """A server string safe to print: passwords, tokens and API keys become ``***``."""
    text = str(server).strip()
    head, auth = _split_auth(text)
    head = _URL_CREDENTIALS.sub(r"\g<scheme>***@", head)
    prefix, sep, remainder = head.partition(":")
    prefix_l = prefix.lower()
    if prefix_l in ("vllm", "vllm_chat", "sglang", "openai", "openai_chat") and sep:
        bits = head.split(":")
        # count the scheme's own colon: vllm:https://host:port:path:key
        offset = 1 if len(bits) > 1 and bits[1].lower() in ("http", "https") else 0
        # vllm:host:port:path:KEY and openai:deployment:base:version:KEY both put it 5th
        key_index = 4 + offset
        if len(bits) > key_index and bits[key_index].strip() not in ("", "None", "EMPTY"):
            head = ":".join([*bits[:key_index], "***"])
    elif prefix_l not in ("vllm", "vllm_chat"):
        body = remainder if prefix_l in ("gradio", "tgi") and sep else head
        shown = _redact_colon_password(body)
        head = f"{prefix}:{shown}" if prefix_l in ("gradio", "tgi") and sep else shown
    if auth:
        head += f"    {auth[0]}    ***"  # a user name or a scheme (Bearer) is not secret
        if len(auth) > 2:
            head += "    ***" * (len(auth) - 2)
    return head


def _redact_colon_password(body: str) -> str:
    scheme = ""
    rest = body
    for prefix in ("https://", "http://"):
        if rest.lower().startswith(prefix):
            scheme, rest = rest[: len(prefix)], rest[len(prefix) :]
            break
    host_part, slash, path = rest.partition("/")
    bits = host_part.split(":")
    if len(bits) in (3, 4):
        bits[-1] = "***"
        host_part = ":".join(bits)
    return scheme + host_part + slash + path


def _scheme_token(match: re.Match[str]) -> str:
    """``Basic <token>`` → ``Basic ***`` when the token looks like one (not prose such as
    "Bearer token is invalid"): Basic tokens decode to ``user:password``, other schemes'
    tokens hold a digit or a symbol."""
    token = match["token"]
    if match["scheme"].lower() == "basic":
        import base64
        import binascii

        try:
            secret = b":" in base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
        except (binascii.Error, ValueError):
            secret = False
    else:
        secret = len(token) >= 8 and any(not c.isalpha() for c in token)
    return match["keep"] + "***" if secret else match.group()


def scrub_credentials(text: str) -> str:
    """``text`` without anything shaped like a credential: ``Basic``/``Bearer`` tokens,
    ``Authorization:`` headers, ``api_key=`` / ``token=`` / ``password=`` values and
    ``user:pass@`` in URLs. For text a server wrote (an error body that echoes the
    request's headers), where the secrets it holds need not be ours to know."""
    text = _AUTH_SCHEME_TOKEN.sub(_scheme_token, text)
    text = _CREDENTIAL_PARAM.sub(r"\g<keep>***", text)
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


def scrub(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """Replace every secret in ``text`` with ``***`` (belt and braces for error messages),
    then anything shaped like a credential (:func:`scrub_credentials`)."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return scrub_credentials(text)
