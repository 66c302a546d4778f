"""Bad input on the command line: a clear message and exit 2, never a traceback, never a
secret echoed; ``ask --json`` always prints its JSON object (issue 12, "also fix")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXIT_USAGE = 2


def h2otui(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "h2otui", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


def assert_clean_usage_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("lock", "needle"),
    [
        ("[]", "empty list"),
        ("[" * 3000 + "]" * 3000, "nested too deeply"),
        ("[{'options': " + "[" * 3000 + "]" * 3000 + "}]", "nested too deeply"),
    ],
    ids=["empty", "deep", "deep-inside-a-dict"],
)
def test_bad_model_lock_is_a_usage_error(lock: str, needle: str) -> None:
    assert_clean_usage_error(h2otui("--model-lock", lock, "models"), "--model-lock", needle)


@pytest.mark.parametrize("home", ["/dev/null", "/dev/null/sub"])
def test_data_dir_that_cannot_be_a_folder(home: str) -> None:
    proc = h2otui("models", env={"H2OTUI_HOME": home})
    assert_clean_usage_error(proc, home, "$H2OTUI_HOME")


def test_binary_config_file(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_bytes(bytes(range(128, 256)) * 4)
    assert_clean_usage_error(h2otui("--config", str(bad), "models"), str(bad), "not UTF-8")
    # the user config file too
    proc = h2otui("models", env={"H2OTUI_USER_CONFIG": str(bad)})
    assert_clean_usage_error(proc, str(bad), "not UTF-8")


def test_bad_theme_is_rejected_with_the_valid_names() -> None:
    proc = h2otui("models", env={"H2OTUI_UI__THEME": "no-such-theme"})
    assert_clean_usage_error(proc, "ui.theme", "no-such-theme", "nord", "textual-dark")
    assert h2otui("models", env={"H2OTUI_UI__THEME": "nord"}).returncode == 0


def test_mistyped_keys_never_echo_secret_values(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        "[ui]\n"
        'servr = "http://alice:hunter2@gpu-box:8080"\n'
        'openai_ky = "sk-proj-a1b2c3d4e5f6g7h8i9j0"\n'
        'colour = "blue"\n'
        "[generation]\n"
        'tempreature = "user@example.org"\n'
    )
    proc = h2otui("--config", str(cfg), "models")
    assert_clean_usage_error(proc, "ui.servr", "ui.openai_ky", "generation.tempreature")
    for secret in ("hunter2", "alice", "sk-proj", "a1b2c3", "user@example"):
        assert secret not in proc.stderr
    # a harmless value still helps the user find the typo
    assert "ui.colour = 'blue'" in proc.stderr


def test_ask_json_too_long_question_prints_json_same_exit_with_and_without_c(
    tmp_path: Path, isolated_env: Path
) -> None:
    from qa_support import Chunk, write_collection

    write_collection(isolated_env, "Facts", [Chunk("/docs/a.txt", "The sky is green here.")])
    # a small context keeps the question (and the test) short
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[[models]]\nname = "gemma3-270m"\nengine = "llamacpp"\n'
        'model_path = "embedded:gemma3-270m-q4_k_m"\noptions = { n_ctx = 512 }\n'
    )
    question = "why " * 700
    codes = []
    for extra in ([], ["-c", "Facts"]):
        proc = h2otui("--config", str(cfg), "ask", "--json", *extra, question)
        assert "Traceback" not in proc.stderr, proc.stderr
        out = json.loads(proc.stdout)
        assert out["finish_reason"] == "error"
        assert out["answer"] == ""
        assert "512" in out["error"] or "context" in out["error"], out
        codes.append(proc.returncode)
    assert codes == [EXIT_USAGE, EXIT_USAGE]
    # without --json: the message on stderr, nothing on stdout, the same exit code
    plain = h2otui("--config", str(cfg), "ask", question)
    assert plain.returncode == EXIT_USAGE, plain.stderr
    assert plain.stdout == "" and "context" in plain.stderr
