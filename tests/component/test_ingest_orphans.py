"""Parser processes never outlive ``h2otui ingest``: killed (SIGKILL, the OOM killer) or
terminated (SIGTERM), its workers and multiprocessing's resource tracker are gone within
seconds, and its output pipe reaches end-of-file (so ``h2otui ingest ... | tee log``
ends). Linux only: the test finds processes through /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from paths import PYTHONPATH

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

DEADLINE_S = 10.0  # for the processes to go once their parent is gone
START_DEADLINE_S = 180.0  # model load + spawning workers on a busy machine


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a live process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")  # a zombie has exited


def _children(ppid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None and st[1] == ppid and st[0] not in ("Z", "X"):
                out.append(int(entry.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _wait_for(condition, deadline_s: float, what: str, detail=lambda: ""):  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {deadline_s:.0f}s waiting for {what} {detail()}")


def _start_ingest(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[bytes], threading.Thread]:
    """``h2otui ingest`` of files its workers hang on, stdout and stderr into one pipe
    that a thread reads to the end."""
    from h2otui.ingest.worker import HANG_TEST_ENV

    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        (docs / f"hang{i}.md").write_text(f"# File {i}\n\nSome text about topic {i}.\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHONPATH
    env[HANG_TEST_ENV] = "hang"
    proc = subprocess.Popen(
        [sys.executable, "-m", "h2otui", "ingest", str(docs), "-c", "Orphans", "--workers", "2"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    output: list[bytes] = []
    stream = proc.stdout
    assert stream is not None
    reader = threading.Thread(target=lambda: output.extend(stream), daemon=True)
    reader.start()
    return proc, output, reader


def _busy_workers(proc: subprocess.Popen[bytes], output: list[bytes]) -> list[int]:
    """The ingest's children (with the resource tracker) once both workers said they
    hang on a file."""

    def ready() -> list[int] | None:
        assert proc.poll() is None, "the ingest ended before its workers started"
        if sum(b"hangs on" in line for line in list(output)) < 2:
            return None
        kids = _children(proc.pid)
        return kids if len([k for k in kids if "spawn_main" in _cmdline(k)]) >= 2 else None

    def detail() -> str:
        kids = {k: _cmdline(k)[:80] for k in _children(proc.pid)}
        return f"children: {kids}; output: {b''.join(output)[-2000:]!r}"

    kids = _wait_for(ready, START_DEADLINE_S, "two workers hanging on a file", detail)
    assert any("resource_tracker" in _cmdline(k) for k in kids), [_cmdline(k) for k in kids]
    return kids


def _assert_all_gone(kids: list[int], reader: threading.Thread) -> None:
    _wait_for(lambda: not [k for k in kids if _alive(k)], DEADLINE_S, f"processes {kids} to exit")
    reader.join(DEADLINE_S)
    assert not reader.is_alive(), "the output pipe is still held open"


def test_sigkilled_ingest_leaves_no_parser_processes(tmp_path: Path) -> None:
    proc, output, reader = _start_ingest(tmp_path)
    try:
        kids = _busy_workers(proc, output)
        proc.send_signal(signal.SIGKILL)
        proc.wait(DEADLINE_S)
        _assert_all_gone(kids, reader)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigterm_stops_the_ingest_and_its_workers_at_once(tmp_path: Path) -> None:
    proc, output, reader = _start_ingest(tmp_path)
    try:
        kids = _busy_workers(proc, output)
        proc.send_signal(signal.SIGTERM)
        # the workers hang for an hour: exiting now means they were killed, not waited on
        assert proc.wait(DEADLINE_S) == 130
        _assert_all_gone(kids, reader)
        assert b"interrupted: files already written are kept" in b"".join(output)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_worker_whose_parent_died_exits_without_prctl(tmp_path: Path) -> None:
    """The portable fallback alone (no PR_SET_PDEATHSIG): the watchdog thread sees the
    worker re-parented and exits it."""
    child = (
        "import sys; from h2otui.ingest import worker; worker.PARENT_WATCH_S = 0.05; "
        "worker._watch_parent(int(sys.argv[1]))"
    )
    middle = (
        "import os, subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', {child!r}, str(os.getpid())])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(3600)\n"
    )
    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    proc = subprocess.Popen(
        [sys.executable, "-c", middle], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        grandchild = int(proc.stdout.readline())
        assert _alive(grandchild)
        proc.kill()
        proc.wait()
        _wait_for(lambda: not _alive(grandchild), DEADLINE_S, "the orphaned worker to exit")
    finally:
        if proc.poll() is None:
            proc.kill()
