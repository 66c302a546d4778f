"""Settings as values: immutable, changed only through ``with_changes`` (validated like a
load, same messages), and each value able to say which layer set it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from h2otui.config import (
    DEFAULT_ORIGIN,
    ConfigError,
    Layer,
    Origin,
    Settings,
    load_settings,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def layered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, Path, Path]:
    """Settings with a value from every layer."""
    project = write(
        tmp_path / "project.toml",
        "model_lock = \"[{'inference_server': 'http://127.0.0.1:6112', 'base_model': 'big'}]\"\n"
        "[generation]\ntop_p = 0.5\ntop_k = 5\n[qa]\nsearch = 'vector'\n",
    )
    user = write(
        tmp_path / "user.toml",
        "[generation]\ntop_k = 6\n"
        '[[models]]\nname = "mine"\nmodel_path = "/models/mine.gguf"\n'
        '[[models]]\nname = "other"\nmodel_path = "/models/other.gguf"\n',
    )
    monkeypatch.setenv("H2OTUI_USER_CONFIG", str(user))
    monkeypatch.setenv("H2OTUI_GENERATION__MAX_NEW_TOKENS", "33")
    monkeypatch.setenv("H2OTUI_UI", '{"theme": "nord"}')
    monkeypatch.setenv("H2OTUI_MODELS", '[{"name": "other", "model_path": "/elsewhere.gguf"}]')
    settings = load_settings(project, {"generation": {"temperature": 0.3}})
    return settings, project, user


def test_each_value_reports_the_layer_that_set_it(layered) -> None:
    s, project, user = layered
    assert s.origin("generation.top_p") == Origin(Layer.PROJECT, str(project))
    assert s.origin("qa.search") == Origin(Layer.PROJECT, str(project))
    assert s.origin("generation.top_k") == Origin(Layer.USER, str(user))  # beats the project
    assert s.origin("generation.max_new_tokens") == Origin(
        Layer.ENV, "H2OTUI_GENERATION__MAX_NEW_TOKENS"
    )
    assert s.origin("ui.theme") == Origin(Layer.ENV, "H2OTUI_UI")  # a whole section as JSON
    assert s.origin("generation.temperature") == Origin(Layer.FLAG, "command-line flags")
    assert s.origin("generation.seed") == Origin(Layer.DEFAULT, "built-in defaults")
    assert s.origin("generation.seed") == DEFAULT_ORIGIN
    assert str(s.origin("generation.top_k")) == str(user)
    # the values themselves follow the same layers
    assert (s.generation.top_p, s.generation.top_k, s.generation.max_new_tokens) == (0.5, 6, 33)
    assert (s.ui.theme, s.generation.temperature) == ("nord", 0.3)


def test_model_entries_report_where_they_were_defined(layered) -> None:
    s, project, user = layered
    assert [m.name for m in s.models] == ["gemma3-270m", "mine", "other", "big"]
    assert s.model_origin("gemma3-270m") == DEFAULT_ORIGIN
    assert s.model_origin("mine") == Origin(Layer.USER, str(user))
    assert s.model("other").model_path == "/elsewhere.gguf"
    assert s.model_origin("other") == Origin(Layer.ENV, "H2OTUI_MODELS")  # replaced by name
    assert s.model_origin("big") == Origin(Layer.PROJECT, str(project))  # from model_lock
    with pytest.raises(ConfigError, match=r"no model named 'nope'"):
        s.model_origin("nope")


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _fields(ann, f"{prefix}{name}.")
        elif name != "models":
            out.append(prefix + name)
    return out


def test_every_setting_is_listed_with_value_default_and_origin(layered) -> None:
    s, _project, _user = layered
    keys = Settings.leaf_keys()
    assert list(keys) == _fields(Settings)
    assert {"generation.max_new_tokens", "qa.top_k_docs", "default_model", "ui.theme"} <= set(keys)
    for key in keys:
        section, _, name = key.rpartition(".")
        owner = getattr(s, section) if section else s
        assert s.value(key) == getattr(owner, name)
        assert isinstance(s.origin(key), Origin)
    assert Settings.default_value("generation.max_new_tokens") == 256
    assert s.value("generation.max_new_tokens") == 33
    with pytest.raises(ConfigError, match=r"unknown setting 'generation\.max_tokens'"):
        s.origin("generation.max_tokens")
    with pytest.raises(ConfigError, match=r"unknown setting 'generation'"):
        s.value("generation")


def test_settings_cannot_change_in_place() -> None:
    s = load_settings()
    with pytest.raises(ValidationError, match="frozen"):
        s.generation.max_new_tokens = 5  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        s.default_model = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        s.models[0].model_path = "/x.gguf"  # type: ignore[misc]
    assert isinstance(s.models, tuple) and isinstance(s.generation.stop, tuple)
    assert isinstance(s.ingest.exclude, tuple)
    with pytest.raises(AttributeError):
        s.models.append(s.models[0])  # type: ignore[attr-defined]


def test_with_changes_makes_a_new_value_and_marks_the_change_as_the_apps(layered) -> None:
    s, _project, user = layered
    before = s.model_dump()
    t = s.with_changes({"qa": {"top_k_docs": 5}, "generation": {"top_k": 9}})
    assert (t.qa.top_k_docs, t.generation.top_k) == (5, 9)
    assert s.model_dump() == before  # the old value is untouched
    assert t.origin("qa.top_k_docs") == Origin(Layer.APP, "the app")
    assert t.origin("generation.top_k") == Origin(Layer.APP, "the app")
    # everything else keeps its value and its origin
    assert t.origin("generation.max_new_tokens") == s.origin("generation.max_new_tokens")
    assert t.origin("qa.search") == s.origin("qa.search")
    assert t.model_origin("mine") == Origin(Layer.USER, str(user))
    assert t.generation.max_new_tokens == 33 and t.ui.theme == "nord"

    # changes accumulate, and a change back to the same values gives an equal value
    u = t.replace("ui.theme", "gruvbox")
    assert (u.ui.theme, u.qa.top_k_docs) == ("gruvbox", 5)
    assert u.origin("qa.top_k_docs").layer is Layer.APP
    back = u.with_changes(
        {"qa": {"top_k_docs": 3}, "generation": {"top_k": 6}, "ui": {"theme": "nord"}}
    )
    assert back == s and back is not s
    assert back.origin("qa.top_k_docs").layer is Layer.APP  # the app set it, to the default

    # a model entry changes by name; the others stay
    v = s.with_changes({"models": [{"name": "mine", "model_path": "/models/new.gguf"}]})
    assert v.model("mine").model_path == "/models/new.gguf"
    assert v.model_origin("mine") == Origin(Layer.APP, "the app")
    assert v.model("other") == s.model("other")
    assert [m.name for m in v.models] == [m.name for m in s.models]


def test_a_bad_change_fails_like_a_bad_flag_and_writes_nothing(layered, tmp_path) -> None:
    s, _project, _user = layered
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError) as from_app:
        s.with_changes({"qa": {"top_k_docs": 0}})
    with pytest.raises(ConfigError) as from_flag:
        load_settings(overrides={"qa": {"top_k_docs": 0}})
    assert "qa.top_k_docs = 0 in the app" in str(from_app.value)
    assert str(from_app.value) == str(from_flag.value).replace("command-line flags", "the app")

    with pytest.raises(ConfigError, match=r"generation\.top_p = 2\.0 in the app: .*less than"):
        s.replace("generation.top_p", 2.0)
    with pytest.raises(ConfigError, match=r"generation\.max_tokens in the app: unknown setting"):
        s.replace("generation.max_tokens", 5)
    with pytest.raises(ConfigError) as secret:
        s.with_changes({"models": [{"name": "x", "model_path": "/x.gguf", "api_key": "sk-123"}]})
    assert "api_key in the app" in str(secret.value) and "sk-123" not in str(secret.value)
    # nothing written, nothing changed
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == files
    assert s.qa.top_k_docs == 3 and s.generation.top_p == 0.5


def test_equal_values_are_equal_settings_wherever_they_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings() == Settings()
    monkeypatch.setenv("H2OTUI_QA__TOP_K_DOCS", "3")  # the default, set by the environment
    from_env = load_settings()
    assert from_env == Settings()
    assert from_env.origin("qa.top_k_docs") == Origin(Layer.ENV, "H2OTUI_QA__TOP_K_DOCS")


def test_settings_built_in_code_report_their_values_as_the_apps() -> None:
    s = Settings(qa={"top_k_docs": 5})
    assert s.origin("qa.top_k_docs") == Origin(Layer.APP, "the app")
    assert s.origin("qa.search") == DEFAULT_ORIGIN
    t = s.replace("qa.search", "text")
    assert (t.qa.top_k_docs, t.qa.search) == (5, "text")
    assert t.model_origin("gemma3-270m") == DEFAULT_ORIGIN
