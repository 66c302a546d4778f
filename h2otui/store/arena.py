"""Blind-arena votes in SQLite (``<data dir>/arena.sqlite3``).

One row per vote: the two models as they were shown (A and B), the verdict (``a``,
``b``, ``tie``, ``both_bad``), the question and the compare chat it came from. The file is
owner-only whatever the umask; WAL mode and ``BEGIN IMMEDIATE`` writes make two h2otui
processes voting at once safe (each vote is one short transaction).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from h2otui.privacy import open_private

DB_NAME = "arena.sqlite3"
VERDICTS: tuple[str, ...] = ("a", "b", "tie", "both_bad")

_SCHEMA = """CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    model_a TEXT NOT NULL,
    model_b TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('a', 'b', 'tie', 'both_bad')),
    question TEXT NOT NULL DEFAULT '',
    chat_id INTEGER
)"""


class ArenaStoreError(Exception):
    """A problem with the votes file, with a message meant for the user."""


@dataclass(frozen=True, slots=True)
class Vote:
    model_a: str
    model_b: str
    verdict: str
    question: str = ""
    chat_id: int | None = None
    created_at: float = 0.0


class ArenaStore:
    """The votes file. ``ArenaStore.open(data_dir)``; close it (or use ``with``)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):  # SQLite reports what is wrong with it
                os.close(open_private(self.path, os.O_RDWR))
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ArenaStoreError(
                f"cannot open arena votes {self.path}: {exc} (move the file away to start afresh)"
            ) from None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path | str) -> ArenaStore:
        return cls(Path(data_dir) / DB_NAME)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ArenaStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, vote: Vote) -> None:
        if vote.verdict not in VERDICTS:
            raise ArenaStoreError(f"unknown verdict {vote.verdict!r} (use {', '.join(VERDICTS)})")
        if vote.model_a == vote.model_b:
            raise ArenaStoreError("a vote needs two different models")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO votes (created_at, model_a, model_b, verdict, question, chat_id)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        vote.created_at or time.time(),
                        vote.model_a,
                        vote.model_b,
                        vote.verdict,
                        vote.question,
                        vote.chat_id,
                    ),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def votes(self) -> list[Vote]:
        with self._lock:
            rows = self._db.execute(
                "SELECT model_a, model_b, verdict, question, chat_id, created_at"
                " FROM votes ORDER BY id"
            ).fetchall()
        return [Vote(*row) for row in rows]


def load_votes(data_dir: Path | str) -> list[Vote]:
    """Every saved vote; none when nobody voted yet (reading never creates the file)."""
    if not (Path(data_dir) / DB_NAME).exists():
        return []
    with ArenaStore.open(data_dir) as store:
        return store.votes()
