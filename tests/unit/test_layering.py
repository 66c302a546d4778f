"""The house rule (DESIGN.md): the domain packages never import Textual, and the UI never
talks to a model or a database except through them. Checked on every module, so a new
file can't slip past.

The import-linter contracts in pyproject.toml (run by ``make test``) check the import
graph as written; this imports every domain module for real, which also catches imports
made by name at run time (``importlib``), which no static check sees."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import h2otui

PKG = Path(h2otui.__file__).parent
DOMAIN = (
    "h2otui.config",
    "h2otui.user_config",
    "h2otui.engines",
    "h2otui.ingest",
    "h2otui.store",
    "h2otui.qa",
    "h2otui.chat",
)
# what the UI may not import directly: model runtimes, databases, HTTP clients
UI_FORBIDDEN = (
    "llama_cpp",
    "lancedb",
    "pyarrow",
    "sqlite3",
    "torch",
    "sentence_transformers",
    "faster_whisper",
    "openai",
    "httpx",
    "gradio_client",
    "huggingface_hub",
    "fitz",
)


def _modules(prefixes: tuple[str, ...]) -> list[str]:
    names = []
    for info in pkgutil.walk_packages([str(PKG)], prefix="h2otui."):
        if any(info.name == p or info.name.startswith(p + ".") for p in prefixes):
            names.append(info.name)
    return sorted(names)


def test_domain_packages_never_import_textual() -> None:
    modules = _modules(DOMAIN)
    assert len(modules) > 10  # the walk found the packages
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_ui_talks_to_models_and_data_only_through_domain_packages() -> None:
    ui_files = [*(PKG / "screens").rglob("*.py"), *(PKG / "widgets").rglob("*.py"), PKG / "app.py"]
    assert ui_files
    offenders = {
        str(path.relative_to(PKG)): sorted(_imports(path) & set(UI_FORBIDDEN))
        for path in ui_files
        if _imports(path) & set(UI_FORBIDDEN)
    }
    assert offenders == {}
