"""``h2otui config show / set / unset / path``: round trips through the user config file,
with the same validation as loading and secrets never printed."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from h2otui.cli import app

SECRET = "pa55-w0rd-xyz"


@pytest.fixture
def user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "user.toml"
    monkeypatch.setenv("H2OTUI_USER_CONFIG", str(path))
    return path


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_path_set_show_unset_round_trip(user_file: Path) -> None:
    assert run("config", "path")[1].strip() == str(user_file)

    code, out, _ = run("config", "set", "generation.max_new_tokens", "512")
    assert code == 0 and "512" in out
    code, out, _ = run("config", "set", "generation.stop", '["###", "END"]')
    assert code == 0
    assert tomllib.loads(user_file.read_text())["generation"] == {
        "max_new_tokens": 512,
        "stop": ["###", "END"],
    }

    code, out, _ = run("config", "show", "--json")
    shown = json.loads(out)
    assert shown["user_config"] == str(user_file)
    row = shown["settings"]["generation.max_new_tokens"]
    assert row == {"value": 512, "default": 256, "layer": "user", "source": str(user_file)}
    assert shown["settings"]["generation.stop"]["value"] == ["###", "END"]
    assert shown["settings"]["qa.top_k_docs"]["layer"] == "default"

    code, out, _ = run("config", "show")
    line = next(ln for ln in out.splitlines() if ln.startswith("generation.max_new_tokens"))
    assert line.split() == ["generation.max_new_tokens", "512", "user"]
    assert f"user config: {user_file}" in out

    code, out, _ = run("config", "unset", "generation.max_new_tokens")
    assert code == 0 and "256" in out and "default" in out
    code, out, _ = run("config", "show", "--json")
    assert json.loads(out)["settings"]["generation.max_new_tokens"]["layer"] == "default"


def test_a_bad_value_exits_2_naming_the_setting_and_writes_nothing(user_file: Path) -> None:
    run("config", "set", "ui.theme", "nord")
    before = user_file.read_text()
    for key, value in [("qa.search", "semantic"), ("qa.top_k_docs", "0"), ("nope", "1")]:
        code, _, err = run("config", "set", key, value)
        assert code == 2, err
        assert key in err
    assert user_file.read_text() == before


def test_env_values_show_their_variable_and_set_says_it_still_wins(user_file: Path) -> None:
    env = {"H2OTUI_QA__TOP_K_DOCS": "7"}
    code, out, _ = run("config", "show", "--json", env=env)
    row = json.loads(out)["settings"]["qa.top_k_docs"]
    assert row["layer"] == "env" and row["source"] == "H2OTUI_QA__TOP_K_DOCS"
    code, out, err = run("config", "set", "qa.top_k_docs", "5", env=env)
    assert code == 0 and "H2OTUI_QA__TOP_K_DOCS" in err
    assert out.startswith("qa.top_k_docs = 5  saved to")
    assert tomllib.loads(user_file.read_text()) == {"qa": {"top_k_docs": 5}}


def test_show_masks_every_secret(user_file: Path) -> None:
    user_file.write_text(
        "[[models]]\n"
        'name = "guarded"\n'
        f'inference_server = "https://127.0.0.1:9    alice    {SECRET}"\n'
        f'options = {{ api_key = "{SECRET}", api_key_env = "MY_KEY_VAR" }}\n'
    )
    for args in (("config", "show"), ("config", "show", "--json")):
        code, out, err = run(*args)
        assert code == 0, err
        assert SECRET not in out + err
        assert "guarded" in out
    model = next(m for m in json.loads(out)["models"] if m["name"] == "guarded")
    assert model["entry"]["options"] == {"api_key": "***", "api_key_env": "MY_KEY_VAR"}
    assert model["layer"] == "user"


def test_a_model_lock_with_a_password_is_masked(user_file: Path) -> None:
    lock = f"[{{'inference_server': 'https://127.0.0.1:9    bob    {SECRET}', 'base_model': 'm'}}]"
    user_file.write_text(f'model_lock = "{lock}"\n')
    for args in (("config", "show"), ("config", "show", "--json")):
        code, out, err = run(*args)
        assert code == 0, err
        assert SECRET not in out + err
    shown = json.loads(out)["settings"]["model_lock"]["value"]
    assert shown[0]["base_model"] == "m" and "bob" in shown[0]["inference_server"]


def test_two_processes_saving_at_once_lose_nothing(user_file: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    # each writes its own keys, one read-change-replace after another, both starting
    # together so the writes interleave; without the lock one would overwrite a key the
    # other had just saved, and it is never written again
    go = tmp_path / "go"
    script = (
        "import sys, pathlib\n"
        "from h2otui.user_config import UserConfig\n"
        "pairs = list(zip(sys.argv[2::2], sys.argv[3::2], strict=True))\n"
        "go = pathlib.Path(sys.argv[1])\n"
        "while not go.exists():\n"
        "    pass\n"
        "for key, value in pairs:\n"
        "    UserConfig().set(key, value)\n"
    )
    first = ["qa.rrf_k", "11", "qa.top_k_docs", "4", "remote.retries", "5", "ui.theme", "nord"]
    first += ["remote.backoff", "0.25", "qa.cut_distance", "0.5", "generation.top_p", "0.8"]
    first += ["generation.seed", "7", "ui.sidebar", "hide", "qa.search", "text"]
    second = ["ingest.chunk_size", "300", "generation.top_k", "9", "embedding.batch_size", "8"]
    second += ["ingest.workers", "1", "ingest.ocr_dpi", "200", "ingest.asr_beam_size", "2"]
    second += ["generation.max_new_tokens", "99", "remote.stall_timeout", "60.0"]
    second += ["ingest.extract_frames", "3", "qa.rrf_k", "11"]
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(go), *args], stderr=subprocess.PIPE)
        for args in (first, second)
    ]
    # both are importing while nothing is written yet; one start signal for the two
    from h2otui.config import load_settings

    load_settings()
    go.touch()
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    settings = load_settings()
    pairs = [*zip(first[::2], first[1::2], strict=True)]
    pairs += zip(second[::2], second[1::2], strict=True)
    for key, value in pairs:
        assert str(settings.value(key)) == value, key
