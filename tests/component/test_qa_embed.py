"""The query embedder stays light (its vectors are checked in test_embedding_onnx.py)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_query_embedding_does_not_import_torch_or_sentence_transformers() -> None:
    code = (
        "import sys, json\n"
        "from h2otui.qa.embed import query_embedder\n"
        "import os\n"
        "home = os.environ['H2OTUI_HOME']  # its models/ is the session's shared cache\n"
        "v = query_embedder('all-MiniLM-L6-v2', data_dir=home).encode(['hello'])\n"
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
