"""Shared test fixtures.

Every test runs with a private ``H2OTUI_HOME``, no user config, no ``H2OTUI_*`` variables
from the developer's shell, hub downloads disabled, and the current directory set to a
temp dir (so no ``./config.toml`` is picked up). The assembled embedded GGUF (250 MB) is
shared by all tests through a session-wide ``models`` dir, linked into each home.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_models_dir: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("H2OTUI_"):
            monkeypatch.delenv(name)
    home = tmp_path / "h2otui-home"
    home.mkdir(mode=0o700)  # h2otui tightens a group/other-readable data dir, with a notice
    (home / "models").symlink_to(shared_models_dir, target_is_directory=True)
    monkeypatch.setenv("H2OTUI_HOME", str(home))
    monkeypatch.setenv("H2OTUI_USER_CONFIG", str(tmp_path / "no-user-config.toml"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def settings():
    from h2otui.config import load_settings

    return load_settings()


@pytest.fixture
async def embedded_engine(settings):
    """The real embedded Gemma 3 270M through the llama.cpp engine, loaded."""
    from h2otui.engines import create_engine

    engine = create_engine(settings.model(), settings)
    await engine.load()
    yield engine
    await engine.aclose()
