"""The command line as a user runs it: a real process, the real embedded model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("torch", "transformers", "sentence_transformers", "lancedb", "llama_cpp", "textual")


def h2otui(
    *args: str, input: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "h2otui", *args],
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["ask", "--help"],
        ["ask"],
        ["ask", "--max-new-tokens", "lots", "q"],
        ["--version"],
    ],
    ids=["help", "ask-help", "missing-arg", "bad-arg", "version"],
)
def test_startup_imports_nothing_heavy(argv: list[str]) -> None:
    # A fresh interpreter runs the CLI and reports which heavy modules got imported.
    code = textwrap.dedent(
        f"""
        import sys, json
        sys.argv = ["h2otui", *{argv!r}]
        from h2otui.cli import main
        try:
            main()
        except SystemExit:
            pass
        heavy = [m for m in {HEAVY!r} if m in sys.modules]
        sys.stderr.write("HEAVY=" + json.dumps(heavy) + "\\n")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("HEAVY=")]
    assert line, proc.stderr
    assert json.loads(line[-1][6:]) == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {}),
        (["--config", "a.toml"], {"--config": "a.toml"}),
        (["--config=a.toml", "--model-lock", "[]"], {"--config": "a.toml", "--model-lock": "[]"}),
        (["--config"], None),  # missing value: the CLI's usage error
        (["--config", "a.toml", "--config", "b.toml"], None),
        (["--config", "--help"], None),
        (["--help"], None),
        (["--version"], None),
        (["ask", "q"], None),
        (["--config", "a.toml", "models"], None),
    ],
)
def test_only_app_options_take_the_fast_path(argv: list[str], expected: object) -> None:
    from h2otui.entry import app_options

    assert app_options(argv) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the h2otui app needs a terminal"),
        (["--config", "/nonexistent/h2otui.toml"], "config file not found: /nonexistent"),
        (["--model-lock=garbage"], "--model-lock: not a Python/JSON list of dicts"),
    ],
    ids=["no-terminal", "missing-config", "bad-model-lock"],
)
def test_bare_launch_skips_typer(argv: list[str], message: str) -> None:
    # `h2otui` alone opens the app without importing typer/click (first paint is sooner);
    # its errors and exit codes stay those of the CLI
    code = textwrap.dedent(
        f"""
        import sys, json
        sys.argv = ["h2otui", *{argv!r}]
        from h2otui.entry import main
        try:
            main()
        except SystemExit as exc:
            sys.stderr.write("CODE=" + str(exc.code) + "\\n")
        cli = [m for m in ("typer", "click", "h2otui.cli") if m in sys.modules]
        sys.stderr.write("CLI=" + json.dumps(cli) + "\\n")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert message in proc.stderr
    assert "CODE=2\n" in proc.stderr and "CLI=[]\n" in proc.stderr, proc.stderr


def test_commands_after_app_options_still_reach_the_cli(tmp_path) -> None:
    config = tmp_path / "h2otui.toml"
    config.write_text("")
    proc = h2otui("--config", str(config), "ask", "--help")
    assert proc.returncode == 0 and "Usage:" in proc.stdout and "--collection" in proc.stdout


def test_help_documents_exit_codes() -> None:
    proc = h2otui("--help")
    assert proc.returncode == 0
    assert "Exit codes" in proc.stdout and "130" in proc.stdout


def test_version() -> None:
    from h2otui import __version__

    proc = h2otui("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"h2otui {__version__}"


@pytest.mark.slow
def test_ask_streams_answer() -> None:
    proc = h2otui("ask", "What is the capital of France?")
    assert proc.returncode == 0, proc.stderr
    assert "Paris" in proc.stdout
    assert proc.stderr == ""  # llama.cpp's logs don't leak into the terminal


@pytest.mark.slow
def test_ask_json_shape_and_stdin() -> None:
    proc = h2otui(
        "ask", "-", "--json", "--max-new-tokens", "24", input="What is the capital of France?\n"
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) >= {"answer", "model", "prompt_type", "usage", "timings", "finish_reason"}
    assert "Paris" in result["answer"]
    assert result["model"] == "gemma3-270m" and result["prompt_type"] == "plain_qa"
    assert result["finish_reason"] in ("stop", "length")
    assert result["usage"]["completion_tokens"] >= 1
    assert result["timings"]["time_to_first_token_s"] > 0
    assert result["timings"]["tokens_per_s"] >= 0


def test_ask_errors_are_readable() -> None:
    proc = h2otui("ask", "hi", "--model", "nope")
    assert proc.returncode == 2
    assert "no model named 'nope'" in proc.stderr and "Traceback" not in proc.stderr
    proc = h2otui("ask", "   ")
    assert proc.returncode == 2 and "empty" in proc.stderr


def test_missing_model_file_is_a_clear_error(tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[models]]\nname = "big"\nmodel_path = "/nowhere/big.gguf"\n')
    proc = h2otui("--config", str(cfg), "ask", "hi", "--model", "big")
    assert proc.returncode == 1
    assert "/nowhere/big.gguf does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_models_lists_configured_models(tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[models]]\nname = "big"\nmodel_path = "/nowhere/big.gguf"\n')
    proc = h2otui("--config", str(cfg), "models", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["gemma3-270m"]["engine"] == "llamacpp" and rows["gemma3-270m"]["default"]
    assert rows["big"]["status"].startswith("missing")
    table = h2otui("--config", str(cfg), "models")
    assert "gemma3-270m" in table.stdout and "big" in table.stdout


def test_models_lists_prompt_types() -> None:
    proc = h2otui("models", "--prompt-types", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert {"mixtral", "open_chat", "falcon_chat", "llama2", "plain_qa"} <= set(rows)
    assert "mistralai/Mixtral-8x7B-Instruct-v0.1" in rows["mixtral"]["base_models"]
    assert rows["mixtral"]["example"] == "<s> [INST] {question} [/INST]"
    assert "</s>" in rows["mixtral"]["stop"] and rows["gemma"]["origin"] == "changed"
    table = subprocess.run(
        [sys.executable, "-m", "h2otui", "models", "--prompt-types"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert table.returncode == 0, table.stderr
    line = next(x for x in table.stdout.splitlines() if x.startswith("zephyr "))
    # newlines in a format are shown escaped, on the type's own line
    assert "<|user|>\\n{question}</s>\\n<|assistant|>\\n" in line
    assert "HuggingFaceH4/zephyr-7b-alpha" in line


@pytest.mark.slow
def test_ctrl_c_keeps_partial_answer() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "h2otui",
            "ask",
            "Write a very long story about a dragon.",
            "--max-new-tokens",
            "2000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    first = proc.stdout.read(20)  # wait until the answer is streaming
    assert first
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert len(first + rest) > 20
    assert b"[stopped]" in err and b"Traceback" not in err


@pytest.mark.slow
async def test_json_of_an_answer_stopped_midway_reports_its_usage(capsys, monkeypatch) -> None:
    """Ctrl-C during ``ask --json``: the answer so far with its token counts and timings,
    not ``usage: null`` (the engine's own count never came)."""
    import asyncio

    from h2otui.commands.ask import _ask_model
    from h2otui.config import load_settings
    from h2otui.engines.base import StopWatch

    settings = load_settings(overrides={"generation": {"max_new_tokens": 2000}})
    streaming = asyncio.Event()
    tokens = 0
    mark = StopWatch.mark_token

    def counting_mark(self: StopWatch) -> None:
        nonlocal tokens
        tokens += 1
        mark(self)
        if tokens >= 10:
            streaming.set()

    monkeypatch.setattr(StopWatch, "mark_token", counting_mark)
    task = asyncio.create_task(
        _ask_model(
            settings, "Write a very long story about a dragon.", model=None, system=None,
            as_json=True,
        )
    )  # fmt: skip
    await streaming.wait()
    task.cancel()  # what Ctrl-C does to asyncio.run's main task
    assert await task == 130
    result = json.loads(capsys.readouterr().out)
    assert result["finish_reason"] == "cancelled" and result["answer"]
    usage = result["usage"]
    assert usage["prompt_tokens"] > 5 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert result["timings"]["total_s"] > 0
