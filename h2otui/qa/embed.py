"""Query embeddings: the ingestion runtime (ONNX Runtime + ``tokenizers``), one thread.

A query is a handful of tokens, so one ONNX Runtime thread beats several (thread
hand-offs cost more than the arithmetic). ``h2otui ask --collection`` never imports torch
or sentence-transformers for the embedded model. The compatibility rule (see
:mod:`h2otui.ingest.embedding`): a collection is queried with its own model, at the
precision of ``embedding.precision`` -- fp32 and int8 vectors of one model share a space.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from h2otui.ingest.base import ModelUnavailableError

if TYPE_CHECKING:
    import numpy as np


class QueryEmbedder(Protocol):
    model_id: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


class EmbeddingModelError(Exception):
    """The collection's embedding model cannot be loaded here."""


_CACHE: dict[tuple[str, str, str], QueryEmbedder] = {}
_CACHE_LOCK = threading.Lock()


def query_embedder(
    model_id: str, *, data_dir: Path | str, precision: str | None = None
) -> QueryEmbedder:
    """The embedder for queries against a collection embedded with ``model_id`` at
    ``precision`` (default: the built-in default), its ONNX export cached under
    ``data_dir``. Loaded once per process."""
    from h2otui.ingest.embedding import DEFAULT_PRECISION, load_embedder

    precision = precision or DEFAULT_PRECISION
    key = (model_id, precision, str(data_dir))
    with _CACHE_LOCK:
        if key not in _CACHE:
            try:
                _CACHE[key] = load_embedder(
                    model_id, data_dir=Path(data_dir), precision=precision, threads=1,
                    batch_size=32,
                )  # fmt: skip
            except ModelUnavailableError as exc:
                raise EmbeddingModelError(
                    f"the collection was embedded with {model_id!r}, which cannot be loaded "
                    f"here: {exc}"
                ) from None
        return _CACHE[key]
