"""What the in-process Hugging Face engines share (``transformers`` and ``ct2``).

Both run a Hugging Face checkpoint's tokenizer in this process and generate on the
shared worker thread (:class:`~h2otui.engines.threaded.ThreadedEngine`), so they share:

* where the model is: ``model_path`` (a local model directory, or a GGUF file for the
  transformers engine) or, h2oGPT's way, ``base_model`` -- a local directory, or a model
  id already in the Hugging Face cache (looked up offline: nothing is downloaded, ever);
* the device (h2oGPT's ``use_gpu_id`` included) and a clear error when CUDA is asked for
  but absent;
* the prompt: the tokenizer's chat template, or an h2oGPT prompt type when one is set;
* turning generated token ids into text pieces (:class:`IncrementalDecoder`: a piece is
  sent once its bytes form whole characters) and holding back text that may start a stop
  sequence (:class:`StopText`), so a stop sequence never reaches the user.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from h2otui.engines.base import (
    EngineConfigError,
    EngineError,
    EngineOptions,
    Message,
    ModelNotFoundError,
)
from h2otui.engines.prompts import TEMPLATE
from h2otui.engines.threaded import ThreadedEngine

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings

log = logging.getLogger(__name__)

#: what to install for the in-process engines' optional parts
INPROCESS_EXTRA = "pip install 'h2otui[inprocess]'"


class HFOptions(EngineOptions):
    """Options both in-process Hugging Face engines take (h2oGPT's names where it has one)."""

    device: str = Field(
        "auto", description="'auto' (CUDA when available, else CPU), 'cpu', 'cuda' or 'cuda:N'."
    )
    use_gpu_id: int | None = Field(
        None, ge=0, description="h2oGPT's GPU index: the same as device = 'cuda:N'."
    )
    context_length: int | None = Field(
        None,
        ge=16,
        description="Context length; unset = the model's own (max_position_embeddings).",
    )
    max_seq_len: int | None = Field(
        None, ge=16, description="h2oGPT's name for context_length (model_lock entries)."
    )
    trust_remote_code: bool = Field(
        False,
        description="Run Python code shipped in the model directory (only for a model you trust).",
    )
    n_threads: int | None = Field(
        None,
        ge=1,
        description=(
            "CPU threads one generation uses (as the llama.cpp engine's n_threads); unset = "
            "the library's default (torch: the physical cores; CTranslate2: its own)."
        ),
    )

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        value = value.strip().lower()
        if value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit()):
            return value
        raise ValueError(f"device {value!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'")


def resolve_device(options: HFOptions, model_name: str) -> str:
    """``cpu`` or ``cuda:N`` for the options; :class:`EngineConfigError` when CUDA is asked
    for (``device`` or ``use_gpu_id``) and this machine has none, or not that many."""
    import torch

    device = options.device
    if options.use_gpu_id is not None and device in ("auto", "cuda"):
        device = f"cuda:{options.use_gpu_id}"
    has_cuda = torch.cuda.is_available()
    if device == "auto":
        return "cuda:0" if has_cuda else "cpu"
    if device == "cpu":
        return device
    index = int(device.partition(":")[2] or 0)
    if not has_cuda:
        build = torch.version.cuda or "none (a CPU-only build)"
        raise EngineConfigError(
            f"model '{model_name}': device '{device}' was asked for but no CUDA GPU is "
            f"available (torch {torch.__version__}, CUDA {build}); set options.device = "
            "'cpu' or 'auto'"
        )
    count = torch.cuda.device_count()
    if index >= count:
        raise EngineConfigError(
            f"model '{model_name}': device 'cuda:{index}' was asked for but this machine has "
            f"{count} GPU(s) (cuda:0 to cuda:{count - 1})"
        )
    return f"cuda:{index}"


def resolve_model_source(
    entry: ModelEntry, settings: Settings, *, allow_gguf: bool
) -> tuple[Path, str | None]:
    """``(model directory, gguf file name or None)`` for an entry's ``model_path`` or its
    ``base_model`` (a local directory, or an id already in the Hugging Face cache)."""
    from h2otui.engines.embedded import resolve_model_path

    if entry.model_path:
        path = resolve_model_path(entry.model_path, settings.data_path, model_name=entry.name)
        if path.is_file():
            if path.suffix.lower() == ".gguf" and allow_gguf:
                return path.parent, path.name
            raise EngineConfigError(
                f"model '{entry.name}': model_path {path} is a file; give the model directory "
                "(config.json, *.safetensors, tokenizer files)"
                + (" or a .gguf file" if allow_gguf else "")
            )
        _check_model_dir(path, entry.name)
        return path, None
    if entry.base_model:
        local = Path(entry.base_model).expanduser()
        if local.is_dir():
            _check_model_dir(local, entry.name)
            return local, None
        cached = _hub_cache_dir(entry.base_model)
        if cached is None:
            raise ModelNotFoundError(
                f"model '{entry.name}': base_model '{entry.base_model}' is not a local directory "
                "and not in the Hugging Face cache (h2otui never downloads models); download it "
                "once (e.g. `hf download ID`) or set model_path to its directory"
            )
        return cached, None
    raise EngineConfigError(
        f"model '{entry.name}': set model_path (a model directory) or base_model"
    )


def _check_model_dir(path: Path, model_name: str) -> None:
    if not path.is_dir():
        raise ModelNotFoundError(f"model '{model_name}': model directory {path} does not exist")
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(
            f"model '{model_name}': {path} has no config.json; is it a Hugging Face model "
            "directory (config.json, *.safetensors, tokenizer files)?"
        )


def _hub_cache_dir(model_id: str) -> Path | None:
    """The cached snapshot of ``model_id`` (offline look-up), or None."""
    if model_id.count("/") != 1:
        return None
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model_id, local_files_only=True))
    except Exception:
        return None


def warn_remote_code(options: HFOptions, model_name: str) -> None:
    if options.trust_remote_code:
        log.warning(
            "model '%s': trust_remote_code is on: Python code shipped in the model directory "
            "will run in this process",
            model_name,
        )


def unsupported_arch_error(exc: Exception, model_name: str, where: Path) -> EngineError | None:
    """A clear error for an architecture this transformers does not know, or None."""
    text = str(exc)
    markers = (
        "does not recognize this architecture",
        "Unrecognized model",
        "is not supported yet",
        "model_type",
    )
    if not any(m in text for m in markers):
        return None
    import transformers

    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return EngineConfigError(
        f"model '{model_name}': {where} has an architecture transformers {transformers.__version__} "
        f"does not support ({first[:300]}); upgrade transformers, or set "
        "options.trust_remote_code = true if the model ships its own code and you trust it"
    )


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    text = str(exc).lower()
    return name == "OutOfMemoryError" or "out of memory" in text or "can't allocate" in text


class IncrementalDecoder:
    """Generated token ids -> text pieces, each sent once its bytes are whole characters.

    Decoding each new token alone breaks words split over tokens (and multi-byte
    characters); decoding everything each step costs O(n^2). This keeps a short window:
    the text of ``ids[prefix:read]`` is already sent, so ``ids[prefix:]`` decoded minus it
    is the new text (the approach of TGI's and vLLM's detokenizers)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self._prefix = 0
        self._read = 0

    def _decode(self, ids: list[int]) -> str:
        text: str = self.tokenizer.decode(ids, skip_special_tokens=True)
        return text

    def push(self, token_id: int) -> str:
        self.ids.append(int(token_id))
        done = self._decode(self.ids[self._prefix : self._read])
        now = self._decode(self.ids[self._prefix :])
        if len(now) > len(done) and not now.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self.ids)
            return now[len(done) :]
        return ""


class StopText:
    """Text pieces -> what may be shown, stopping at the first stop sequence.

    Text that could be the start of a stop sequence is held back until the next piece
    says whether it is one; at a stop sequence the text before it is released and
    :attr:`stopped` is set (the stop sequence itself is never shown)."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        self.pending += piece
        if not self.stops:
            out, self.pending = self.pending, ""
            return out
        cut = min((i for s in self.stops if (i := self.pending.find(s)) >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self.pending = self.pending[:cut], ""
            return out
        hold = 0
        for s in self.stops:
            for n in range(min(len(s) - 1, len(self.pending)), 0, -1):
                if self.pending.endswith(s[:n]):
                    hold = max(hold, n)
                    break
        out = self.pending[: len(self.pending) - hold]
        self.pending = self.pending[len(out) :]
        return out

    def flush(self) -> str:
        """What was held back, once generation ended without a stop sequence."""
        out, self.pending = ("" if self.stopped else self.pending), ""
        return out


class HFTokenizerEngine(ThreadedEngine):
    """An in-process engine whose prompts go through a Hugging Face tokenizer.

    A subclass sets :attr:`tokenizer` in its ``_load_model`` and then calls
    :meth:`_choose_prompt_type`."""

    default_prompt_type = "plain"
    context_option = "options.context_length"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tokenizer: Any = None
        self._context_length: int | None = None

    def _load_tokenizer(self, model_dir: Path, gguf_file: str | None, trust: bool) -> Any:
        from transformers import AutoTokenizer

        kwargs: dict[str, Any] = {"trust_remote_code": trust, "local_files_only": True}
        if gguf_file:
            kwargs["gguf_file"] = gguf_file
        return AutoTokenizer.from_pretrained(str(model_dir), **kwargs)

    def _choose_prompt_type(self) -> None:
        template = getattr(self.tokenizer, "chat_template", None)
        ptype = self.resolve_prompt_type(has_template=bool(template))
        if ptype == TEMPLATE and not template:
            raise EngineConfigError(
                f"model '{self.model_name}': prompt_type 'template' but the tokenizer has no "
                "chat template; set an h2oGPT prompt_type"
            )
        self.prompt_type = ptype

    def render_messages(self, messages: Sequence[Message]) -> tuple[str, list[str]]:
        self._load_sync()  # the prompt type depends on the tokenizer's chat template
        if self.prompt_type != TEMPLATE:
            return super().render_messages(messages)
        # "auto" / "" mean: no system message (the template applies its own default)
        chat = [
            {"role": m.role, "content": m.content}
            for m in self._with_system(messages)
            if m.role != "system" or m.content not in ("", "auto")
        ]
        text: str = self.tokenizer.apply_chat_template(
            chat, tokenize=False, add_generation_prompt=True
        )
        return text, []

    def tokenize_prompt(self, text: str) -> list[int]:
        self._load_sync()
        bos = getattr(self.tokenizer, "bos_token", None)
        add_special = not (bos and text.startswith(bos))
        ids: list[int] = self.tokenizer(text, add_special_tokens=add_special)["input_ids"]
        return ids

    def count_tokens(self, text: str) -> int:
        self._load_sync()
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _model_context(self, config: Any, options: HFOptions) -> int:
        configured = options.context_length or options.max_seq_len
        if configured:
            return configured
        for attr in ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length"):
            value = getattr(config, attr, None)
            if isinstance(value, int) and value > 0:
                return value
        return 2048

    @property
    def context_length(self) -> int:
        if self._context_length is not None:
            return self._context_length
        opts = getattr(self, "options", None)
        return (opts.context_length or opts.max_seq_len or 2048) if opts else 2048
