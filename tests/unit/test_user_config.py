"""The user config writer: validates as loading does, keeps the user's file as they wrote
it, replaces it atomically, owner-only, and two writers never lose a change."""

from __future__ import annotations

import os
import stat
import threading
import tomllib
from pathlib import Path

import pytest

from h2otui.config import ConfigError, Layer, load_settings
from h2otui.user_config import UserConfig, describe_model_entries, parse_cli_value

HAND_WRITTEN = """\
# my h2otui settings -- keep this comment
default_model   =   "gemma3-270m"     # aligned by hand

[ui]
# dark at night
theme = "nord"
sidebar = 'hide'  # literal string quotes

[generation]
stop = [
    "###",   # one per line
    "END",
]
max_new_tokens = 300
"""


@pytest.fixture
def user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "conf" / "config.toml"
    monkeypatch.setenv("H2OTUI_USER_CONFIG", str(path))
    return path


def test_a_change_keeps_comments_layout_and_other_keys(user_file: Path) -> None:
    user_file.parent.mkdir()
    user_file.write_text(HAND_WRITTEN)
    new = UserConfig().set("generation.max_new_tokens", "512")
    text = user_file.read_text()
    # only that one line changed, typed (512, not "512"); everything else byte for byte
    assert text == HAND_WRITTEN.replace("max_new_tokens = 300", "max_new_tokens = 512")
    assert new.generation.max_new_tokens == 512
    assert new.origin("generation.max_new_tokens").layer is Layer.USER
    assert load_settings().generation.max_new_tokens == 512


def test_set_adds_keys_in_their_sections_and_unset_removes_them(user_file: Path) -> None:
    user_file.parent.mkdir()
    user_file.write_text(HAND_WRITTEN)
    writer = UserConfig()
    writer.set("qa.top_k_docs", "-1")
    writer.set("generation.do_sample", "true")
    writer.set("remote.backoff", "1.5")
    writer.set("ingest.exclude", parse_cli_value('["*.log", "*/tmp/*"]'))
    data = tomllib.loads(user_file.read_text())
    assert data["qa"] == {"top_k_docs": -1}
    assert data["generation"]["do_sample"] is True
    assert data["remote"]["backoff"] == 1.5
    assert data["ingest"]["exclude"] == ["*.log", "*/tmp/*"]
    assert "# dark at night" in user_file.read_text()

    settings = writer.unset("qa.top_k_docs")
    assert settings.qa.top_k_docs == 3 and settings.origin("qa.top_k_docs").layer is Layer.DEFAULT
    assert "[qa]" not in user_file.read_text()  # the section it emptied is gone
    writer.unset("qa.top_k_docs")  # unsetting what is not there is fine


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("generation.max_new_tokens", "0", "greater than or equal to 1"),
        ("generation.temperature", "hot", "expected a number"),
        ("qa.search", "semantic", "'hybrid', 'vector' or 'text'"),
        ("ui.save_chats", "maybe", "expected true or false"),
        ("ingest.exclude", "*.log", "expected a list"),
        ("generation.nonsense", "1", "unknown setting 'generation.nonsense'"),
    ],
)
def test_a_rejected_value_writes_nothing(
    user_file: Path, key: str, value: str, message: str
) -> None:
    user_file.parent.mkdir()
    user_file.write_text(HAND_WRITTEN)
    before = user_file.stat()
    with pytest.raises(ConfigError, match=message) as info:
        UserConfig().set(key, value)
    if "unknown" not in message:
        assert str(user_file) in str(info.value) and key in str(info.value)
    assert user_file.read_text() == HAND_WRITTEN
    assert user_file.stat().st_ino == before.st_ino


def test_a_bad_value_hidden_by_an_environment_variable_is_still_rejected(
    user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("H2OTUI_GENERATION__MAX_NEW_TOKENS", "64")
    with pytest.raises(ConfigError, match=r"generation\.max_new_tokens"):
        UserConfig().set("generation.max_new_tokens", "-5")
    assert not user_file.exists()


def test_the_file_is_private_and_replaced_atomically(
    user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = os.umask(0o022)
    try:
        user_file.parent.mkdir()
        user_file.write_text(HAND_WRITTEN)
        os.chmod(user_file, 0o644)
        UserConfig().set("ui.theme", "gruvbox")
    finally:
        os.umask(old)
    assert stat.S_IMODE(user_file.stat().st_mode) == 0o600

    # a crash between writing the new text and the rename: the old file is whole, and
    # no temp file is left behind
    def crash(src: str, dst: str) -> None:
        raise OSError("simulated crash")

    monkeypatch.setattr(os, "replace", crash)
    before = user_file.read_text()
    with pytest.raises(OSError, match="simulated"):
        UserConfig().set("ui.theme", "dracula")
    assert user_file.read_text() == before
    assert sorted(p.name for p in user_file.parent.iterdir()) == [
        "config.toml",
        "config.toml.lock",
    ]


def test_a_new_file_and_its_folder_are_created_private(user_file: Path) -> None:
    UserConfig().set("ui.sidebar", "show")
    assert stat.S_IMODE(user_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(user_file.stat().st_mode) == 0o600
    assert tomllib.loads(user_file.read_text()) == {"ui": {"sidebar": "show"}}


def test_concurrent_writers_never_lose_a_change(user_file: Path) -> None:
    keys = [
        ("qa.rrf_k", 10),
        ("generation.max_new_tokens", 100),
        ("generation.top_k", 7),
        ("ingest.chunk_size", 300),
        ("remote.retries", 4),
        ("ui.theme", "nord"),
        ("qa.top_k_docs", 5),
    ]
    errors: list[BaseException] = []

    def write(key: str, value: object) -> None:
        try:
            UserConfig().set(key, str(value))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=kv) for kv in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    settings = load_settings()
    for key, value in keys:
        assert settings.value(key) == value


def test_models_are_added_replaced_and_removed_in_the_user_layer_only(
    user_file: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project.toml"
    project.write_text('[[models]]\nname = "team"\ninference_server = "http://10.0.0.1:8080"\n')
    base = load_settings(project)
    writer = UserConfig()
    server = "http://127.0.0.1:9    alice    s3cret-pass"
    new = writer.set_model({"name": "mine", "inference_server": server}, base=base)
    assert new.model("mine").inference_server == server
    assert new.model_origin("mine").layer is Layer.USER
    assert new.model_origin("team").layer is Layer.PROJECT
    rows = {r["name"]: r for r in describe_model_entries(new)}
    assert "s3cret-pass" not in repr(rows) and "alice" in rows["mine"]["location"]

    new = writer.set_model(
        {"name": "mine", "inference_server": "vllm:127.0.0.1:9", "options": {"api_key_env": "K"}},
        base=new,
    )
    assert new.model("mine").options == {"api_key_env": "K"}
    assert "s3cret-pass" not in user_file.read_text()
    with pytest.raises(ConfigError, match=f"model 'team' is not defined in {user_file}"):
        writer.remove_model("team", base=new)
    with pytest.raises(ConfigError, match="engine"):
        writer.set_model({"name": "bad", "engine": "warp-drive", "model_path": "x"}, base=new)
    new = writer.remove_model("mine", base=new)
    assert [m.name for m in new.models] == ["gemma3-270m", "team"]
    assert "models" not in tomllib.loads(user_file.read_text())


def test_a_symlinked_config_is_written_through_the_link(user_file: Path, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles" / "h2otui.toml"
    dotfiles.parent.mkdir()
    dotfiles.write_text("# from my dotfiles repo\n")
    user_file.parent.mkdir()
    user_file.symlink_to(dotfiles)
    UserConfig().set("qa.top_k_docs", "5")
    assert user_file.is_symlink()
    assert dotfiles.read_text() == "# from my dotfiles repo\n\n[qa]\ntop_k_docs = 5\n"


def test_unsetting_what_is_not_there_writes_nothing(user_file: Path) -> None:
    settings = UserConfig().unset("qa.top_k_docs")
    assert settings.qa.top_k_docs == 3
    assert not user_file.exists()
