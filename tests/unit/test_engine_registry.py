"""The engine registry: built-ins and plugins register the same way, config checks names
against it, and config never reaches the engines package (no import circle)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import h2otui
from h2otui import engine_registry
from h2otui.config import ConfigError, load_settings
from h2otui.engines import create_engine, engine_class, engine_names, resolve_engine_name
from h2otui.engines.base import (
    EngineConfigError,
    FinishReason,
    GenerationRequest,
    Message,
    ModelNotFoundError,
)
from h2otui.engines.base import collect as collect_stream

PKG = Path(h2otui.__file__).parent
BUILT_INS = ["gradio", "llamacpp", "openai", "tgi"]


# --- no import circle -------------------------------------------------------------------


def _module_file(name: str) -> Path | None:
    rel = Path(*name.split(".")[1:])
    for candidate in (PKG / rel / "__init__.py", (PKG / rel).with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _h2otui_imports(name: str) -> set[str]:
    """Every h2otui module ``name`` imports anywhere in its file -- module level, inside
    functions and under TYPE_CHECKING alike -- plus the packages those imports run."""
    path = _module_file(name)
    assert path is not None, name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            parts = target.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
                mod = ".".join(parts[:i])
                if mod.startswith("h2otui") and _module_file(mod) is not None and mod != name:
                    found.add(mod)
    return found


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        mod = todo.pop()
        for dep in _h2otui_imports(mod):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_config_never_reaches_the_engines_package() -> None:
    reached = _reachable("h2otui.config")
    assert {"h2otui.sampling", "h2otui.servers", "h2otui.engine_registry"} <= reached
    assert sorted(m for m in reached if m.startswith("h2otui.engines")) == []
    # and what config imports never imports config back
    assert "h2otui.config" not in reached


def test_the_neutral_modules_import_neither_config_nor_engines() -> None:
    for mod in ("h2otui.sampling", "h2otui.servers", "h2otui.errors", "h2otui.engine_registry"):
        reached = _reachable(mod)
        assert not any(m == "h2otui.config" or m.startswith("h2otui.engines") for m in reached), (
            mod,
            reached,
        )


# --- the registry and config validation -----------------------------------------------


def test_built_ins_are_registered_and_importable() -> None:
    assert set(BUILT_INS) <= set(engine_names())
    for name in BUILT_INS:
        assert engine_class(name).engine_name == name


def test_config_rejects_an_unknown_engine_listing_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(overrides={"models": [{"name": "x", "engine": "foo"}]})
    known = ", ".join(engine_names())
    assert (
        f"models[1] (name 'x').engine = 'foo' in command-line flags: unknown engine 'foo' "
        f"(known: {known})"
    ) in str(err.value)
    assert "gradio, llamacpp, openai, tgi" in known


def test_a_model_directory_infers_the_transformers_engine() -> None:
    # a non-GGUF model_path means "transformers" (issue 17): building the engine for a
    # path that is not there says so, before anything heavy is imported
    settings = load_settings(overrides={"models": [{"name": "hf", "model_path": "/models/x"}]})
    assert resolve_engine_name(settings.model("hf")) == "transformers"
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        create_engine(settings.model("hf"), settings)


def test_help_does_not_scan_entry_points_or_import_engines() -> None:
    code = textwrap.dedent(
        """
        import sys, importlib.metadata as md
        calls = []
        real = md.entry_points
        md.entry_points = lambda *a, **k: calls.append(k) or real(*a, **k)
        sys.argv = ["h2otui", "--help"]
        from h2otui.cli import main
        try:
            main()
        except SystemExit:
            pass
        engines = sorted(m for m in sys.modules if m.startswith("h2otui.engines"))
        print("RESULT", [c for c in calls if c.get("group") == "h2otui.engines"], engines)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "RESULT [] []"


# --- a real plugin, found through an entry point ---------------------------------------

PLUGIN_MODULE = '''
"""A tiny third-party engine: answers every request with a fixed text."""
from h2otui.engines.base import Capabilities, Engine, Finished, FinishReason, TextDelta


class EchoEngine(Engine):
    engine_name = "echo"
    capabilities = Capabilities(local=True)

    def __init__(self, name):
        self.model_name = name

    @classmethod
    def from_entry(cls, entry, settings):
        cls.parse_options(entry.options, model_name=entry.name)
        return cls(entry.name)

    async def stream(self, request):
        yield TextDelta("echo: " + request.messages[-1].content)
        yield Finished(FinishReason.STOP)

    def count_tokens(self, text):
        return len(text.split())

    @property
    def context_length(self):
        return 100
'''


def _install_plugin(root: Path, dist: str, entry_points: str, module: str | None) -> None:
    """Write a distribution the way pip would: a module and its .dist-info with
    METADATA and entry_points.txt, in a directory that is then put on sys.path."""
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[h2otui.engines]\n{entry_points}\n")
    if module is not None:
        (root / f"{dist.replace('-', '_')}.py").write_text(module)


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # the registry is process-wide: restore it, and forget the plugin modules, afterwards
    monkeypatch.setattr(engine_registry, "_ENGINES", dict(engine_registry._ENGINES))
    before = set(sys.modules)
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in set(sys.modules) - before:
        if name.startswith(("h2otui_echo", "h2otui_broken")):
            del sys.modules[name]


async def test_an_entry_point_plugin_is_found_listed_and_used(plugin_path: Path) -> None:
    _install_plugin(plugin_path, "h2otui-echo", "echo = h2otui_echo:EchoEngine", PLUGIN_MODULE)
    assert "echo" not in engine_registry._ENGINES  # nothing scanned yet
    assert "echo" in engine_names()
    reg = engine_registry.registered_engine("echo")
    assert reg.plugin and reg.package == "h2otui-echo"
    settings = load_settings(overrides={"models": [{"name": "e", "engine": "echo"}]})
    engine = create_engine(settings.model("e"), settings)
    assert type(engine).__module__ == "h2otui_echo"
    done = await collect_stream(engine, GenerationRequest([Message("user", "hello")]))
    assert done.text == "echo: hello" and done.finish_reason is FinishReason.STOP


def test_a_plugin_is_found_when_first_asked_for_by_name(plugin_path: Path) -> None:
    _install_plugin(plugin_path, "h2otui-echo", "echo = h2otui_echo:EchoEngine", PLUGIN_MODULE)
    assert engine_class("echo").engine_name == "echo"


def test_a_plugin_cannot_shadow_a_built_in(plugin_path: Path) -> None:
    _install_plugin(plugin_path, "h2otui-echo", "llamacpp = h2otui_echo:EchoEngine", PLUGIN_MODULE)
    engine_names()
    assert engine_class("llamacpp").__name__ == "LlamaCppEngine"


def test_a_plugin_that_fails_to_import_is_a_readable_error(plugin_path: Path) -> None:
    broken = "import h2otui_missing_dependency\n"
    _install_plugin(plugin_path, "h2otui-broken", "broken = h2otui_broken:Engine", broken)
    settings = load_settings(overrides={"models": [{"name": "b", "engine": "broken"}]})
    with pytest.raises(EngineConfigError) as err:
        create_engine(settings.model("b"), settings)
    message = str(err.value)
    assert "engine 'broken'" in message and "h2otui_broken:Engine" in message
    assert "package 'h2otui-broken'" in message and "h2otui_missing_dependency" in message


def test_a_plugin_class_that_is_not_an_engine_is_refused(plugin_path: Path) -> None:
    _install_plugin(
        plugin_path, "h2otui-broken", "notengine = h2otui_broken:Thing", "class Thing:\n    pass\n"
    )
    with pytest.raises(EngineConfigError, match=r"h2otui_broken\.Thing is not an h2otui Engine"):
        engine_class("notengine")


def test_register_engine_accepts_a_class(monkeypatch: pytest.MonkeyPatch) -> None:
    from h2otui.engines.tgi import TGIEngine

    monkeypatch.setattr(engine_registry, "_ENGINES", dict(engine_registry._ENGINES))
    engine_registry.register_engine("tgi2", TGIEngine, "httpx")
    assert engine_class("tgi2") is TGIEngine
    with pytest.raises(EngineConfigError, match="not 'module:Class'"):
        engine_registry.register_engine("bad", "no_colon_here")
