"""Settings: layer precedence, errors that name key + source, config.toml documents all."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from paths import REPO
from pydantic import BaseModel

from h2otui.config import ConfigError, Settings, load_settings, parse_model_lock


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_and_embedded_model() -> None:
    s = load_settings()
    assert s.generation.max_new_tokens == 256
    assert s.model().name == "gemma3-270m"
    assert s.model().model_path == "embedded:gemma3-270m-q4_k_m"


def test_precedence_defaults_project_user_env_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write(
        tmp_path / "project.toml",
        "[generation]\nmax_new_tokens = 11\ntop_k = 5\ntop_p = 0.5\nrepetition_penalty = 1.2\n",
    )
    user = write(
        tmp_path / "user.toml", "[generation]\nmax_new_tokens = 22\ntop_k = 6\ntop_p = 0.6\n"
    )
    monkeypatch.setenv("H2OTUI_USER_CONFIG", str(user))
    monkeypatch.setenv("H2OTUI_GENERATION__MAX_NEW_TOKENS", "33")
    monkeypatch.setenv("H2OTUI_GENERATION__TOP_K", "7")
    s = load_settings(project, {"generation": {"max_new_tokens": 44}})
    assert s.generation.max_new_tokens == 44  # CLI flag wins
    assert s.generation.top_k == 7  # env beats user file
    assert s.generation.top_p == 0.6  # user file beats project file
    assert s.generation.repetition_penalty == 1.2  # project file beats defaults
    assert s.generation.temperature == 0.0  # default


def test_project_config_from_cwd_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(Path("config.toml"), 'default_model = "gemma3-270m"\n[generation]\nmax_new_tokens = 99\n')
    assert load_settings().generation.max_new_tokens == 99
    other = write(tmp_path / "other.toml", "[generation]\nmax_new_tokens = 98\n")
    monkeypatch.setenv("H2OTUI_CONFIG", str(other))
    assert load_settings().generation.max_new_tokens == 98


def test_bad_value_names_key_file_and_type(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", '[generation]\nmax_new_tokens = "lots"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(bad)
    msg = str(err.value)
    assert "generation.max_new_tokens" in msg
    assert str(bad) in msg
    assert "integer" in msg


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", "[generation]\nmax_tokens = 5\n")
    with pytest.raises(ConfigError, match=r"generation\.max_tokens.*bad\.toml.*unknown setting"):
        load_settings(bad)


def test_env_error_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("H2OTUI_GENERATION__TEMPERATURE", "hot")
    with pytest.raises(ConfigError, match=r"H2OTUI_GENERATION__TEMPERATURE.*number"):
        load_settings()
    monkeypatch.delenv("H2OTUI_GENERATION__TEMPERATURE")
    monkeypatch.setenv("H2OTUI_NOT_A_SETTING", "1")
    with pytest.raises(ConfigError, match=r"not_a_setting.*H2OTUI_NOT_A_SETTING"):
        load_settings()


def test_out_of_range_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"top_p = 2\.0.*less than or equal to 1"):
        load_settings(overrides={"generation": {"top_p": 2.0}})
    broken = write(tmp_path / "broken.toml", "[generation\n")
    with pytest.raises(ConfigError, match=r"broken.toml: not valid TOML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "missing.toml")


def test_models_merge_by_name_across_layers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = write(
        tmp_path / "user.toml",
        '[[models]]\nname = "mine"\nmodel_path = "/models/x.gguf"\nprompt_type = "llama2"\n',
    )
    monkeypatch.setenv("H2OTUI_USER_CONFIG", str(user))
    s = load_settings()
    assert [m.name for m in s.models] == ["gemma3-270m", "mine"]
    assert s.model("mine").resolved_engine() == "llamacpp"
    with pytest.raises(ConfigError, match=r"no model named 'nope'.*gemma3-270m, mine"):
        s.model("nope")


def test_bad_model_entry_names_index_and_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "m.toml", '[[models]]\nname = "x"\nengine = "magic"\n')
    with pytest.raises(
        ConfigError, match=r"models\[1\] \(name 'x'\)\.engine = 'magic' in .*m\.toml"
    ):
        load_settings(bad)


def test_model_lock_literal_like_h2ogpt() -> None:
    entries = parse_model_lock(
        "[{'inference_server':'http://127.0.0.1:6112','base_model':'h2oai/h2ogpt-oasst1-512-12b'},"
        "{'inference_server':'openai_chat','base_model':'gpt-3.5-turbo'}]"
    )
    assert [e["name"] for e in entries] == ["h2oai/h2ogpt-oasst1-512-12b", "gpt-3.5-turbo"]
    with pytest.raises(ConfigError, match="--model-lock"):
        parse_model_lock("[{'a': ")


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel) and name != "models":
            out += _fields(ann, f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


def test_config_toml_documents_every_setting_with_its_default() -> None:
    text = (REPO / "config.toml").read_text()
    data = tomllib.loads(text)
    # loading the documented file gives exactly the built-in defaults
    assert Settings.model_validate(data) == Settings()
    lines = text.splitlines()
    assert "[[models]]" in text
    for dotted in _fields(Settings):
        if dotted == "models":
            continue
        key = dotted.rsplit(".", 1)[-1]
        hits = [i for i, line in enumerate(lines) if line.lstrip("# ").startswith(f"{key} =")]
        assert hits, f"config.toml does not document {dotted}"
        i = hits[0] - 1
        while i > 0 and "=" in lines[i] and not lines[i].lstrip().startswith("#"):
            i -= 1  # keys grouped under one comment
        assert lines[i].lstrip().startswith("#"), f"{dotted} in config.toml has no comment above it"


def test_cli_config_error_exits_2_with_message(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", "[generation]\nmax_new_tokens = -3\n")
    proc = subprocess.run(
        [sys.executable, "-m", "h2otui", "--config", str(bad), "ask", "hi"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "generation.max_new_tokens" in proc.stderr and str(bad) in proc.stderr
    assert "Traceback" not in proc.stderr
