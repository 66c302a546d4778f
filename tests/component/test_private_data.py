"""Private by default: whatever the umask, everything h2otui writes (data dir, chat
history, collections, exports) is owner-only, and an older install is tightened on start
with a notice."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The common default umask, for this process and the subprocesses it starts."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def h2otui(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "H2OTUI_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "h2otui", *args],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def open_modes(root: Path) -> dict[str, str]:
    """Every path under ``root`` (itself included) that group or others can access."""
    loose = {}
    for p in [root, *root.rglob("*")]:
        st = p.lstat()
        if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
            loose[str(p.relative_to(root.parent))] = oct(stat.S_IMODE(st.st_mode))
    return loose


def test_everything_written_is_owner_only_under_umask_022(tmp_path, umask_022):
    home = tmp_path / "fresh" / "h2otui"  # not there yet: h2otui creates it
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The osprey nests by the river.")
    ingest = h2otui("ingest", str(docs), "--collection", "Birds", home=home)
    assert ingest.returncode == 0, ingest.stderr
    save_chat = (
        "from h2otui.store.chats import ChatStore\n"
        "import sys\n"
        "with ChatStore.open(sys.argv[1]) as s:\n"
        "    c = s.create_chat(model='m', title='t')\n"
        "    s.add_message(c.id, 'user', 'where does the osprey nest?')\n"
    )
    saved = subprocess.run([sys.executable, "-c", save_chat, str(home)], capture_output=True)
    assert saved.returncode == 0, saved.stderr
    export = tmp_path / "exports" / "chat.md"
    export.parent.mkdir()
    exported = h2otui("chats", "export", "1", "-o", str(export), home=home)
    assert exported.returncode == 0, exported.stderr

    assert (home / "chats.sqlite3").exists() and (home / "lancedb").is_dir()
    assert open_modes(home) == {}
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    assert "notice" not in ingest.stderr + exported.stderr  # nothing to tighten: new


def test_an_older_install_is_tightened_once_with_a_notice(tmp_path, umask_022):
    home = tmp_path / "old-home"
    (home / "lancedb" / "Old__chunks.lance").mkdir(parents=True, mode=0o755)
    (home / "lancedb" / "Old__chunks.lance" / "x.lance").write_text("data")
    (home / "chats.sqlite3").write_bytes(b"")
    (home / "notes-of-the-user.txt").write_text("not h2otui's")
    home.chmod(0o755)
    assert len(open_modes(home)) == 6

    first = h2otui("collections", "list", home=home)
    assert first.returncode == 0, first.stderr
    assert "notice:" in first.stderr and "private" in first.stderr
    # the user's own file in the folder is left as it was
    assert open_modes(home) == {"old-home/notes-of-the-user.txt": "0o644"}

    again = h2otui("collections", "list", home=home)
    assert again.returncode == 0 and "notice" not in again.stderr
