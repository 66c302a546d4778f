"""The app's background ingest runs in a child process (h2otui.ingest.child): each file's
phases reach the queue from the parser processes through the child; a cancel stops a
parse that would never end, at once, and keeps the files already written; and the child
(with its parsers) dies with the app, whatever kills it. Real parser processes, the real
MiniLM and OCR, LanceDB in the temp data dir. Linux only: processes are found in /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ingest_corpus import text_image
from paths import PYTHONPATH

from h2otui.ingest.background import CANCELLED, IngestQueue
from h2otui.ingest.worker import HANG_TEST_ENV

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

DEADLINE_S = 10.0


def _alive(pid: int) -> bool:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return raw[raw.rindex(")") + 2 :].split()[0] not in ("Z", "X")


def _descendants(pid: int) -> list[int]:
    """Every live process under ``pid`` (children, grandchildren)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def _wait_for(condition, deadline_s: float, what: str):  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {deadline_s:.0f}s waiting for {what}")


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """Two text files and a scan (OCR) that parse, then one a parser hangs on."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(2):
        (folder / f"a{i}.md").write_text(f"# Note {i}\n\nThe heron {i} waited by the mill.")
    text_image("The otter counts pebbles").save(folder / "b-scan.png")
    (folder / "z-hang.md").write_text("# Never parsed\n\nThe parser hangs on this one.")
    return folder


def test_phases_reach_the_queue_and_cancel_stops_a_hanging_parse(settings, docs, monkeypatch):
    monkeypatch.setenv(HANG_TEST_ENV, "z-hang")
    monkeypatch.setenv("_H2OTUI_TEST_FLUSH_ROWS", "1")  # commit each file as it is done
    queue = IngestQueue(settings.data_path, lambda: settings, workers=1)
    seen: dict[str, list[str]] = {}
    real_take = IngestQueue._take

    def spy(self, job, event):  # type: ignore[no-untyped-def]
        real_take(self, job, event)
        for f in job.files.values():
            states = seen.setdefault(Path(f.path).name, [])
            if not states or states[-1] != f.state:
                states.append(f.state)

    monkeypatch.setattr(IngestQueue, "_take", spy)
    queue.add("Phases", [str(docs)])

    def hanging() -> bool:
        (job,) = queue.snapshot()
        assert job.active, job.message
        states = {Path(p).name: f.state for p, f in job.files.items()}
        return states.get("z-hang.md") == "parsing" and all(
            states.get(n) == "added" for n in ("a0.md", "a1.md", "b-scan.png")
        )

    _wait_for(hanging, 180, "the three files written and the fourth hanging")
    child = queue._proc
    assert child is not None
    parsers = _descendants(child.pid)
    assert parsers, "no parser process under the child"

    # each file went through its phases in order; the scan was OCRed
    assert seen["b-scan.png"][0] == "waiting" and seen["b-scan.png"][-1] == "added"
    assert "ocr" in seen["b-scan.png"]
    for name in ("a0.md", "a1.md", "b-scan.png"):
        order = [s for s in seen[name] if s in ("waiting", "parsing", "embedding", "added")]
        assert order == sorted(order, key=["waiting", "parsing", "embedding", "added"].index)
        assert "embedding" in seen[name], seen[name]

    started = time.monotonic()
    queue.cancel()
    assert queue.wait_idle(DEADLINE_S), "the cancel did not stop a parse that never ends"
    assert time.monotonic() - started < DEADLINE_S
    (job,) = queue.snapshot()
    assert job.state == CANCELLED, job.message
    _wait_for(lambda: not [p for p in [child.pid, *parsers] if _alive(p)], DEADLINE_S,
              "the child and its parsers to exit")  # fmt: skip
    from h2otui.store.collections import CollectionStore

    col = CollectionStore(settings.data_path).open("Phases")
    assert sorted(Path(p).name for p in col.document_paths()) == ["a0.md", "a1.md", "b-scan.png"]


APP = """
import sys, time
from pathlib import Path
from h2otui.config import load_settings
from h2otui.ingest.background import IngestQueue

settings = load_settings()
queue = IngestQueue(settings.data_path, lambda: settings, workers=1)
queue.add("Orphans", [sys.argv[1]])
while True:
    (job,) = queue.snapshot()
    states = {Path(p).name: f.state for p, f in job.files.items()}
    if queue._proc is not None and states.get("z-hang.md") == "parsing":
        print(queue._proc.pid, flush=True)
        break
    time.sleep(0.05)
time.sleep(3600)
"""


def test_the_ingest_child_and_its_parsers_die_with_the_app(docs):
    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    env[HANG_TEST_ENV] = "z-hang"
    app = subprocess.Popen([sys.executable, "-c", APP, str(docs)], stdout=subprocess.PIPE,
                           text=True, env=env)  # fmt: skip
    try:
        assert app.stdout is not None
        child = int(app.stdout.readline())
        processes = [child, *_descendants(child)]
        assert len(processes) >= 2, "no parser process under the child"
        app.send_signal(signal.SIGKILL)  # no chance to clean up
        app.wait(DEADLINE_S)
        _wait_for(lambda: not [p for p in processes if _alive(p)], DEADLINE_S,
                  f"the app's ingest processes {processes} to exit")  # fmt: skip
    finally:
        if app.poll() is None:
            app.kill()
