"""First paint and quit time of the TUI, against a minimal Textual app, under a real pty.

Each app is started as its own process on a pseudo-terminal (80x24 by default), as a user
starts it from a shell. Measured from the spawn:

* first paint: until the first complete frame is on the terminal -- the footer's
  "palette" key, the last thing a Textual frame with a Footer draws, has been written;
* quit: from sending Ctrl+Q (Textual's quit key) until the process has exited.

The baseline is a minimal Textual app (a Header, a Static and a Footer) started the same
way, so the ratio h2otui / minimal says what h2otui adds (target <= 1.3x); quit is an
absolute target (< 0.3 s). h2otui runs with a fresh H2OTUI_HOME, so a user's chats and
settings neither help nor hurt; the embedded model starts loading in the background
half a second after the first paint, as always, so the default Ctrl+Q (0.8 s after the
first paint) lands while it loads: quitting must not wait for it.

Also printed: the CPU time each process had used when its first frame appeared (all its
threads, from /proc). On a machine shared with other work the wall-clock times stretch
with the load; the CPU time much less so.

Python writes no ``.pyc`` files under PYTHONDONTWRITEBYTECODE: the apps run without it,
as an installed h2otui does, so that h2otui's modules are not compiled from source on
every start (the warm-up run writes the ``.pyc`` files).

Usage:
    .venv/bin/python benchmarks/bench_first_paint.py [--runs 5] [--size 80x24] [--also ../main]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Static

class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("hello")
        yield Footer()

Minimal().run()
"""

#: written when a frame with a footer is complete (the palette key is drawn last)
FRAME_DONE = b"palette"
TIMEOUT = 60.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, all threads (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_once(
    argv: list[str], env: dict[str, str], size: tuple[int, int], settle: float = 0.8
) -> tuple[float, float, float]:
    """(seconds to first paint, seconds to quit, CPU seconds used by the first paint) of
    one run of ``argv`` on a new pty."""
    master, slave = os.openpty()
    cols, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=env.get("BENCH_CWD"),
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    painted = None
    try:
        while painted is None:
            if time.perf_counter() - start > TIMEOUT:
                raise RuntimeError(f"no first frame in {TIMEOUT:.0f} s: {seen[-400:]!r}")
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    raise RuntimeError(f"exited before painting: {seen[-400:]!r}") from None
                seen += chunk
                if FRAME_DONE in seen:
                    painted = time.perf_counter() - start
                    cpu = cpu_seconds(proc.pid)
        time.sleep(settle)  # a user does not quit in the same frame
        _drain(master)
        quit_start = time.perf_counter()
        os.write(master, b"\x11")  # Ctrl+Q
        while proc.poll() is None:
            if time.perf_counter() - quit_start > TIMEOUT:
                raise RuntimeError("did not quit")
            _drain(master, 0.005)
        quit_time = time.perf_counter() - quit_start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    return painted, quit_time, cpu


def _drain(fd: int, wait: float = 0.0) -> None:
    while True:
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return
        wait = 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="80x24")
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="REPO",
        help="also time the h2otui of another checkout (e.g. main), interleaved; repeatable",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.8,
        help="seconds between the first paint and Ctrl+Q (the model loads meanwhile)",
    )
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        minimal = Path(tmp) / "minimal_app.py"
        minimal.write_text(MINIMAL_APP)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("H2OTUI_", "TEXTUAL")) and k != "PYTHONDONTWRITEBYTECODE"
        }
        env.update(
            TERM="xterm-256color",
            COLUMNS=str(cols),
            LINES=str(rows),
            H2OTUI_HOME=str(home),
            H2OTUI_USER_CONFIG=str(Path(tmp) / "none.toml"),
            HF_HUB_OFFLINE="1",
            BENCH_CWD=tmp,
            PYTHONPATH=str(REPO),
        )
        h2otui = [sys.executable, "-m", "h2otui"]
        apps = {
            "minimal Textual app": ([sys.executable, str(minimal)], env),
            "h2otui": (h2otui, env),
        }
        for other in args.also:  # e.g. a checkout of main: before / after in one run
            apps[f"h2otui at {other}"] = (h2otui, {**env, "PYTHONPATH": str(Path(other).resolve())})
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in apps}
        for argv, app_env in apps.values():  # one warm-up each: the OS file cache, .pyc files
            run_once(argv, app_env, (cols, rows))
        for _ in range(args.runs):  # interleaved, so drift hits them all alike
            for name, (argv, app_env) in apps.items():
                results[name].append(run_once(argv, app_env, (cols, rows), args.settle))

    print(
        f"first paint and quit under a {cols}x{rows} pty, median of {args.runs} runs"
        f" (Ctrl+Q {args.settle:g} s after the first paint)"
    )
    medians = {}
    for name, runs in results.items():
        paint = statistics.median(r[0] for r in runs)
        quit_ = statistics.median(r[1] for r in runs)
        cpu = statistics.median(r[2] for r in runs)
        medians[name] = (paint, quit_, cpu)
        print(
            f"  {name:<22} first paint {paint:6.3f} s   quit {quit_:6.3f} s"
            f"   CPU by first paint {cpu:6.3f} s"
        )
    for name in results:
        if name.startswith("h2otui at "):
            paint, quit_, cpu = medians[name]
            print(
                f"  {name}: first paint {paint / medians['minimal Textual app'][0]:.2f}x,"
                f" CPU {cpu / medians['minimal Textual app'][2]:.2f}x, quit {quit_:.3f} s"
            )
    base, ours = medians["minimal Textual app"][0], medians["h2otui"][0]
    quit_ours = medians["h2otui"][1]
    print(f"  first paint ratio h2otui / minimal: {ours / base:.2f}x (target <= 1.30x)")
    cpu_ratio = medians["h2otui"][2] / medians["minimal Textual app"][2]
    print(f"  CPU-time ratio by first paint: {cpu_ratio:.2f}x")
    print(f"  h2otui quit: {quit_ours:.3f} s (target < 0.3 s)")


if __name__ == "__main__":
    main()
