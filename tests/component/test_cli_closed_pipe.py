"""A closed output pipe (``h2otui ... | head -1``) ends a command quietly with 141, as a
process killed by SIGPIPE does: no traceback, and not the exit code of an error (1)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "args", [("--help",), ("chats", "list"), ("collections", "list", "--json")]
)
def test_a_closed_pipe_is_quiet_and_exits_141(args: tuple[str, ...]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "h2otui", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes: its first write meets EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_a_pipe_read_to_the_end_still_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "h2otui", "chats", "list"], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
