"""Private by default: chat history and document text are readable by their owner only.

Everything h2otui writes lives under the data dir (chat DB, collections, assembled
models) or in files the user names (``-o FILE``, ``batch --out``). Three things keep it
private, whatever the user's umask:

- the CLI sets a process-wide ``umask(0o077)`` first thing (:func:`private_umask`):
  LanceDB, SQLite and the model assembler create many files on their own, and the umask
  is the one setting all of them honour. It is process-wide, which is what we want for
  the h2otui process (the CLI or the TUI) and nothing else runs in it;
- the data dir is created ``0700`` and chmod-ed (umask-proof), see
  :func:`~h2otui.config.data_dir`; files h2otui opens itself are created ``0600``;
- an existing install is tightened on start (:func:`secure_data_dir`): the data dir
  and what h2otui keeps in it lose their group / other bits, and the paths changed are
  returned so the CLI prints a notice once and the app shows it.

``H2OTUI_HOME`` may point at an existing folder: h2otui treats the folder as its own
(it holds chat history, so it becomes 0700) but tightens inside it only the entries it
writes itself (:data:`OWN_ENTRIES`), never the user's other files. Symlinks are never
followed: a linked models dir belongs to whoever set it up.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077

#: the entries of the data dir that h2otui writes (and so tightens)
OWN_ENTRIES = ("chats.sqlite3", "chats.sqlite3-wal", "chats.sqlite3-shm", "lancedb", "models")

#: paths tightened in this process (the app shows them in a notification)
TIGHTENED: list[Path] = []
#: called with the paths tightened, once per data dir (the CLI prints a notice)
notice_hook: Callable[[list[Path]], None] | None = None
_secured: set[str] = set()


def private_umask() -> int:
    """Set the process umask to 0o077; returns the previous one."""
    return os.umask(PRIVATE_UMASK)


def open_private(path: Path | str, flags: int) -> int:
    """``os.open`` creating the file 0600 (an existing file is tightened to 0600)."""
    fd = os.open(path, flags | os.O_CREAT, PRIVATE_FILE)
    try:
        st = os.fstat(fd)
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, stat.S_IMODE(st.st_mode) & ~0o077)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _tighten(path: Path, changed: list[Path]) -> None:
    try:
        st = os.lstat(path)
    except OSError:
        return
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid():
        return  # not ours to change (a link, or another user's file)
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        try:
            os.chmod(path, mode & ~0o077)
        except OSError:
            return
        changed.append(path)


def _is_loose(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return not stat.S_ISLNK(st.st_mode) and bool(stat.S_IMODE(st.st_mode) & 0o077)


def tighten_tree(root: Path) -> list[Path]:
    """Remove group / other permissions from ``root`` and everything under it (not
    following symlinks). Returns the paths changed."""
    changed: list[Path] = []
    _tighten(root, changed)
    if root.is_symlink() or not root.is_dir():
        return changed
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        for name in [*dirnames, *filenames]:
            _tighten(d / name, changed)
    return changed


def secure_data_dir(data_dir: Path) -> list[Path]:
    """Tighten an existing data dir once per process: the dir itself and the entries
    h2otui owns in it (:data:`OWN_ENTRIES`). Returns the paths changed (empty when it
    was already private) and tells :data:`notice_hook`."""
    key = str(data_dir)
    if key in _secured:
        return []
    _secured.add(key)
    changed: list[Path] = []
    _tighten(data_dir, changed)
    for name in OWN_ENTRIES:
        entry = data_dir / name
        if changed or _is_loose(entry):
            changed.extend(tighten_tree(entry))
        # else: behind a private dir and private itself, whatever is inside is out of
        # others' reach already; no walk over a big collection's files on every start
    if changed:
        TIGHTENED.extend(changed)
        if notice_hook is not None:
            notice_hook(changed)
    return changed


def describe(changed: list[Path]) -> str:
    """The one-line notice for paths tightened on start."""
    first = changed[0] if len(changed) == 1 else os.path.commonpath([str(p) for p in changed])
    return (
        f"made {len(changed)} path(s) under {first} private (owner-only): "
        "chat history and document text were readable by other local users"
    )
