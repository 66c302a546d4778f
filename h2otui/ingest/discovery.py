"""Turn the PATH arguments of ``h2otui ingest`` into a list of files.

Folders are walked recursively (following symlinks, with loop detection), globs are
expanded (``**`` included), ``--exclude`` patterns and dot-files are left out. Problems
are reported per path, never dropped: a missing path, a symlink loop, an unsupported type,
a file above ``max_file_mb``, a folder that cannot be listed (recorded in
:attr:`Discovery.unreadable`, so ``--sync`` leaves its documents alone).
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from h2otui.ingest.parsers import file_type, unsupported_reason


@dataclass(slots=True)
class Candidate:
    path: Path  # absolute, symlinks in the directory part kept as given
    kind: str
    size: int
    mtime: float


@dataclass(slots=True)
class Problem:
    path: str
    status: str  # "failed" | "skipped"
    reason: str


@dataclass
class Discovery:
    files: list[Candidate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: the scope of the arguments, for --sync: folders (prefixes), files, glob patterns
    dirs: list[Path] = field(default_factory=list)
    exact: set[str] = field(default_factory=set)
    patterns: list[str] = field(default_factory=list)
    #: folders that could not be listed and files that could not be stat'ed: their
    #: documents may still exist, so --sync never removes anything under them
    unreadable: list[str] = field(default_factory=list)

    def not_seen(self, path: str) -> bool:
        """Whether ``path`` is, or is under, something this discovery could not read."""
        return any(path == u or path.startswith(u.rstrip(os.sep) + os.sep) for u in self.unreadable)

    def in_scope(self, path: str) -> bool:
        if path in self.exact:
            return True
        if any(path.startswith(str(d).rstrip(os.sep) + os.sep) for d in self.dirs):
            return True
        return any(fnmatch.fnmatch(path, p) for p in self.patterns)


def _excluded(path: Path, patterns: list[str]) -> bool:
    s = str(path)
    return any(fnmatch.fnmatch(s, p) or fnmatch.fnmatch(path.name, p) for p in patterns)


def _is_glob(arg: str) -> bool:
    return glob.has_magic(arg)


def discover(
    paths: Iterable[str | os.PathLike[str]],
    *,
    exclude: Iterable[str] = (),
    include_hidden: bool = False,
    max_file_mb: float = 256.0,
) -> Discovery:
    out = Discovery()
    patterns = list(exclude)
    seen: set[str] = set()
    max_bytes = int(max_file_mb * 1024 * 1024)

    def add_file(path: Path) -> None:
        key = str(path)
        if key in seen:
            return
        seen.add(key)
        if _excluded(path, patterns):
            return
        try:
            st = path.stat()
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                out.unreadable.append(key)  # it may well exist: keep its documents
            reason = (
                "symlink loop"
                if exc.errno == errno.ELOOP
                else "broken symlink (target missing)"
                if path.is_symlink()
                else exc.strerror or str(exc)
            )
            out.problems.append(Problem(key, "failed", reason))
            return
        if not stat.S_ISREG(st.st_mode):
            out.problems.append(Problem(key, "skipped", "not a regular file"))
            return
        kind = file_type(path)
        if kind is None:
            out.problems.append(Problem(key, "skipped", unsupported_reason(path)))
            return
        if st.st_size > max_bytes:
            out.problems.append(
                Problem(
                    key,
                    "failed",
                    f"file is {st.st_size / 1048576:.1f} MB, above ingest.max_file_mb = "
                    f"{max_file_mb:g} (raise it to ingest this file)",
                )
            )
            return
        out.files.append(Candidate(path, kind, st.st_size, st.st_mtime))

    def unlistable(exc: OSError) -> None:
        # os.walk skips a folder it cannot list; that must be a failure, not silence
        where = os.fspath(exc.filename) if exc.filename else ""
        out.unreadable.append(where)
        why = (exc.strerror or str(exc)).lower()
        out.problems.append(Problem(where, "failed", f"unreadable folder: {why}"))

    def walk(root: Path) -> None:
        visited: set[tuple[int, int]] = set()
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unlistable):
            d = Path(dirpath)
            try:
                st = d.stat()
            except OSError:
                continue
            ident = (st.st_dev, st.st_ino)
            if ident in visited:
                out.problems.append(
                    Problem(str(d), "failed", "symlink loop (folder already visited)")
                )
                dirnames[:] = []
                continue
            visited.add(ident)
            keep = []
            for name in sorted(dirnames):
                if not include_hidden and name.startswith("."):
                    continue
                sub = d / name
                if _excluded(sub, patterns):
                    continue
                try:
                    sub.stat()
                except OSError as exc:
                    reason = (
                        "symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
                    )
                    if exc.errno not in (errno.ENOENT, errno.ELOOP):
                        out.unreadable.append(str(sub))
                    out.problems.append(Problem(str(sub), "failed", reason))
                    continue
                keep.append(name)
            dirnames[:] = keep
            for name in sorted(filenames):
                if not include_hidden and name.startswith("."):
                    continue
                add_file(d / name)

    for raw in paths:
        arg = os.fspath(raw)
        expanded = os.path.expanduser(arg)
        if _is_glob(expanded):
            pattern = os.path.abspath(expanded)
            out.patterns.append(pattern)
            matches = sorted(glob.glob(pattern, recursive=True, include_hidden=include_hidden))
            if not matches:
                out.problems.append(Problem(arg, "failed", "no files match this pattern"))
            for m in matches:
                p = Path(m)
                if p.is_dir():
                    out.dirs.append(p)
                    walk(p)
                else:
                    add_file(p)
            continue
        p = Path(os.path.abspath(expanded))
        if p.is_dir():
            out.dirs.append(p)
            walk(p)
        elif p.exists() or p.is_symlink():
            out.exact.add(str(p))
            add_file(p)
        else:
            out.exact.add(str(p))
            out.problems.append(Problem(str(p), "failed", "no such file or directory"))
    return out
