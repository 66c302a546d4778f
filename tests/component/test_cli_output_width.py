"""Tables written to a pipe or a file are sized to their content: a row stays on one line
(``| grep`` finds it whole), instead of being wrapped mid-word at an assumed 80 columns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(*args: str, columns: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    done = subprocess.run(
        [sys.executable, "-m", "h2otui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_piped_table_keeps_each_row_on_one_line(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-for-models-" * 3) / "tiny-model.Q4_K_M.gguf"
    config = tmp_path / "config.toml"
    config.write_text(f'[[models]]\nname = "far-away"\nmodel_path = "{deep}"\n')
    out = run("--config", str(config), "models")
    (row,) = [line for line in out.splitlines() if line.startswith("far-away")]
    assert str(deep) in row  # whole, on the model's own line
    assert "llamacpp" in row

    # COLUMNS still rules when it is set (a user who wants 80 columns gets them)
    narrow = run("--config", str(config), "models", columns="80")
    assert all(len(line) <= 80 for line in narrow.splitlines())
