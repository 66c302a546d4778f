"""Chat history in SQLite (``<data dir>/chats.sqlite3``).

A *chat* remembers the model and settings it was held with (model name, system prompt
override, sampling parameters) so that reopening it continues the same conversation. Its
*messages* are written as they happen: a question as soon as it is sent, an answer as a
``partial`` row when generation starts, updated while it streams, and finalised as
``complete``, ``stopped`` (the user pressed Escape) or ``error``. If the process is killed
mid-answer the row simply stays ``partial`` with the text received so far.

The database runs in WAL mode with one connection guarded by a lock, so the TUI (event
loop) and helper threads can share a store; each write is its own transaction.

The schema is versioned (SQLite's ``user_version``) and upgraded on open by
:data:`MIGRATIONS`, one transaction per step, so a history written by an older h2otui
keeps every chat. Schema 2 lets a chat be a *compare* (several answers per question, each
pointing at its question through ``reply_to``) and gives chats and answers JSON ``meta``.
Schema 3 adds a full-text (FTS5) index over titles and messages for
:meth:`ChatStore.search_chats`. A file from a newer h2otui is refused rather than guessed at.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from h2otui.privacy import open_private

MessageStatus = Literal["complete", "partial", "stopped", "error"]
STATUSES: tuple[str, ...] = ("complete", "partial", "stopped", "error")
DB_NAME = "chats.sqlite3"
TITLE_LENGTH = 60
CHAT_KINDS: tuple[str, ...] = ("chat", "compare")
#: words of a search query that count (a pasted page must not build a huge query)
MAX_SEARCH_WORDS = 16

# Each migration takes the database from version N to N + 1 (its index + 1). They are
# tuples of single statements, not scripts: ``executescript`` would commit the enclosing
# transaction, and a migration must apply whole or not at all.

#: schema 1: chats and their messages, exactly as the first h2otui wrote them
_V1: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS chats (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    system_prompt TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'complete'
        CHECK (status IN ('complete', 'partial', 'stopped', 'error')),
    model TEXT,
    stats TEXT,
    error TEXT,
    created_at REAL NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS messages_by_chat ON messages(chat_id, id)",
    "CREATE INDEX IF NOT EXISTS chats_by_update ON chats(updated_at DESC)",
)

#: schema 2: a chat has a kind ('chat' or 'compare') and JSON meta (the collection and
#: action it answers from, compare's models); an answer points at the question it answers
#: (compare keeps several answers per question) and carries JSON meta (sources, retrieval,
#: the settings it was made with). Kinds are checked in Python, not by a CHECK constraint,
#: so a later kind needs no table rebuild.
_V2: tuple[str, ...] = (
    "ALTER TABLE chats ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat'",
    "ALTER TABLE chats ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE messages ADD COLUMN reply_to INTEGER REFERENCES messages(id) ON DELETE CASCADE",
    "ALTER TABLE messages ADD COLUMN meta TEXT",
    # an existing answer answers the nearest question before it in its chat
    """UPDATE messages SET reply_to = (
    SELECT q.id FROM messages q
    WHERE q.chat_id = messages.chat_id AND q.role = 'user' AND q.id < messages.id
    ORDER BY q.id DESC LIMIT 1
) WHERE role = 'assistant'""",
    "CREATE INDEX IF NOT EXISTS messages_by_reply ON messages(reply_to)",
)

Migration = Callable[[sqlite3.Connection], None]


def _statements(statements: tuple[str, ...]) -> Migration:
    def migrate(db: sqlite3.Connection) -> None:
        for statement in statements:
            db.execute(statement)

    return migrate


#: schema 3: a full-text index (FTS5) over chat titles and message text, kept in step
#: with the tables by triggers -- so every writer, in any process, updates it in the
#: transaction that changes the text -- and built from the existing chats here. External
#: content tables: the text is stored once, in ``chats`` / ``messages``.
_SEARCH_INDEX: tuple[str, ...] = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS chats_fts USING fts5(title, content='chats',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, content='messages',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
)
_SEARCH_TRIGGERS: tuple[str, ...] = (
    """CREATE TRIGGER IF NOT EXISTS chats_fts_insert AFTER INSERT ON chats BEGIN
    INSERT INTO chats_fts(rowid, title) VALUES (new.id, new.title);
END""",
    """CREATE TRIGGER IF NOT EXISTS chats_fts_delete AFTER DELETE ON chats BEGIN
    INSERT INTO chats_fts(chats_fts, rowid, title) VALUES ('delete', old.id, old.title);
END""",
    """CREATE TRIGGER IF NOT EXISTS chats_fts_update AFTER UPDATE OF title ON chats BEGIN
    INSERT INTO chats_fts(chats_fts, rowid, title) VALUES ('delete', old.id, old.title);
    INSERT INTO chats_fts(rowid, title) VALUES (new.id, new.title);
END""",
    """CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END""",
    """CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END""",
    """CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END""",
)
_TRIGGER_NAMES = tuple(t.split()[5] for t in _SEARCH_TRIGGERS)


def fts5_available(db: sqlite3.Connection) -> bool:
    """Whether this SQLite build has FTS5 (nearly all do; without it search uses LIKE)."""
    try:
        db.execute("CREATE VIRTUAL TABLE temp.h2otui_fts5_probe USING fts5(x)")
    except sqlite3.OperationalError:
        return False
    db.execute("DROP TABLE temp.h2otui_fts5_probe")
    return True


def _build_search_index(db: sqlite3.Connection) -> None:
    """Create the full-text index and its triggers, and index every chat already saved.
    Without FTS5 it does nothing: the store then searches with LIKE, and a later open
    with FTS5 builds the index (:meth:`ChatStore._sync_search_index`)."""
    if not fts5_available(db):
        return
    for statement in (*_SEARCH_INDEX, *_SEARCH_TRIGGERS):
        db.execute(statement)
    db.execute("INSERT INTO chats_fts(chats_fts) VALUES ('rebuild')")
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")


#: ordered: ``MIGRATIONS[n]`` takes a database at version n to version n + 1
MIGRATIONS: list[Migration] = [_statements(_V1), _statements(_V2), _build_search_index]
SCHEMA_VERSION = len(MIGRATIONS)


class ChatStoreError(Exception):
    """A chat-history problem with a message meant for the user."""


class ChatNotFoundError(ChatStoreError):
    """No chat with the given id."""


@dataclass(slots=True)
class ChatRecord:
    """One saved conversation and the settings it was held with."""

    id: int
    title: str
    model: str
    system_prompt: str | None
    """``None`` = the model's default system prompt."""
    params: dict[str, Any]
    created_at: float
    updated_at: float
    message_count: int = 0
    kind: str = "chat"
    """``chat`` (one answer per question) or ``compare`` (one answer per model)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """What the chat answers from: e.g. collection and action, compare's model list."""


@dataclass(slots=True)
class StoredMessage:
    id: int
    chat_id: int
    role: str
    content: str
    status: str
    model: str | None
    stats: dict[str, Any] | None
    error: str | None
    created_at: float
    reply_to: int | None = None
    """For an answer: the id of the question it answers (compare has several)."""
    meta: dict[str, Any] | None = None
    """For an answer: its sources, retrieval details, the settings it was made with."""


@dataclass(slots=True)
class ChatExport:
    chat: ChatRecord
    messages: list[StoredMessage] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        chat = asdict(self.chat)
        chat.pop("message_count", None)
        return {
            "chat": chat,
            "messages": [
                {k: v for k, v in asdict(m).items() if k != "chat_id"} for m in self.messages
            ],
        }


def title_from_question(question: str) -> str:
    """A chat title: the first non-empty line of the first question, shortened."""
    line = next((ln.strip() for ln in question.splitlines() if ln.strip()), "")
    if len(line) > TITLE_LENGTH:
        line = line[: TITLE_LENGTH - 1].rstrip() + "…"
    return line


def default_db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_NAME


class ChatStore:
    """SQLite-backed chat history. Open with :meth:`open` or ``ChatStore(path)``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # owner-only whatever the umask; SQLite gives the -wal / -shm files the
            # database file's permissions
            with contextlib.suppress(OSError):  # SQLite reports what is wrong with it
                os.close(open_private(self.path, os.O_RDWR))
            db = self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            #: the versions this open upgraded the file to (empty: it was up to date)
            self.applied_migrations: list[int] = self._migrate()
            #: search runs on the FTS5 index (False: this SQLite lacks FTS5; LIKE)
            self.full_text = self._sync_search_index()
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            raise ChatStoreError(
                f"cannot open chat history {self.path}: {exc} "
                "(move the file away to start a fresh history)"
            ) from None
        except BaseException:
            if db is not None:
                db.close()
            raise
        self._lock = threading.Lock()

    def _user_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> list[int]:
        """Bring the file up to :data:`SCHEMA_VERSION`, one migration per transaction.

        Each step takes the write lock first (``BEGIN IMMEDIATE``) and re-reads the version
        inside it, so when two h2otui processes open an old file at once, one migrates and
        the other finds the work done. A failed step rolls back whole: the file keeps its
        version and data, and the next open tries again."""
        latest = len(MIGRATIONS)
        version = self._user_version()
        applied: list[int] = []
        while True:
            if version > latest:
                raise ChatStoreError(
                    f"chat history {self.path} was written by a newer h2otui "
                    f"(schema {version}, this one knows {latest}); "
                    "upgrade h2otui or move the file away"
                )
            if version == latest:
                return applied
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._user_version()
                if version < latest:
                    MIGRATIONS[version](self._db)
                    version += 1
                    self._db.execute(f"PRAGMA user_version = {version}")
                    applied.append(version)
            except BaseException as exc:
                self._db.execute("ROLLBACK")
                if isinstance(exc, Exception):
                    raise ChatStoreError(
                        f"cannot upgrade chat history {self.path} from schema {version} "
                        f"to {version + 1}: {exc} (the file is unchanged; "
                        "move it away to start a fresh history)"
                    ) from None
                raise
            self._db.execute("COMMIT")

    def _sync_search_index(self) -> bool:
        """Make the search index fit this SQLite build; True when search can use it.

        A file indexed by an h2otui whose SQLite had FTS5, opened by one without it: the
        triggers would make every write fail ("no such module: fts5"), so they are
        dropped and search uses LIKE. Opened with FTS5 again, a file without its index
        or triggers gets them back and is re-indexed (what was written meanwhile
        included)."""
        names = {
            row[0]
            for row in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
            )
        }
        has_fts5 = fts5_available(self._db)
        if has_fts5 and {"chats_fts", "messages_fts", *_TRIGGER_NAMES} <= names:
            return True
        if not has_fts5 and not names & set(_TRIGGER_NAMES):
            return False
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if has_fts5:
                _build_search_index(self._db)
            else:
                for name in _TRIGGER_NAMES:
                    self._db.execute(f"DROP TRIGGER IF EXISTS {name}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return has_fts5

    @classmethod
    def open(cls, data_dir: Path | str) -> ChatStore:
        return cls(default_db_path(Path(data_dir)))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ChatStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    # --- chats -------------------------------------------------------------------

    def create_chat(
        self,
        model: str,
        *,
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
        title: str = "",
        kind: str = "chat",
        meta: dict[str, Any] | None = None,
    ) -> ChatRecord:
        if kind not in CHAT_KINDS:
            raise ChatStoreError(f"unknown chat kind {kind!r} (known: {', '.join(CHAT_KINDS)})")
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO chats (title, model, system_prompt, params, created_at, updated_at,"
                " kind, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    title,
                    model,
                    system_prompt,
                    json.dumps(params or {}),
                    now,
                    now,
                    kind,
                    json.dumps(meta or {}),
                ),
            )
            chat_id = int(cur.lastrowid or 0)
        return self.get_chat(chat_id)

    def get_chat(self, chat_id: int) -> ChatRecord:
        with self._lock:
            row = self._db.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.chat_id = c.id) AS n"
                " FROM chats c WHERE c.id = ?",
                (chat_id,),
            ).fetchone()
        if row is None:
            raise ChatNotFoundError(f"no chat with id {chat_id} (see: h2otui chats list)")
        return _chat(row)

    def list_chats(self, kind: str | None = None) -> list[ChatRecord]:
        """Every chat (of one ``kind`` when given), most recently active first."""
        where, args = ("WHERE c.kind = ?", (kind,)) if kind is not None else ("", ())
        with self._lock:
            rows = self._db.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.chat_id = c.id) AS n"
                f" FROM chats c {where} ORDER BY c.updated_at DESC, c.id DESC",
                args,
            ).fetchall()
        return [_chat(r) for r in rows]

    def search_chats(self, query: str, kind: str | None = None) -> list[ChatRecord]:
        """Chats that have every word of ``query`` in their title or messages, best match
        first (bm25; a title match counts double), then most recently active.

        Words match whole words of the text, case and accents ignored; the last word also
        matches as a prefix unless the query ends with a space, so results follow what is
        typed. The query is never parsed as FTS5 syntax: quotes, ``*``, ``-``, ``OR``,
        ``NEAR`` and the like are searched as text. A word with no letters or digits
        (``%``, ``->``) cannot be in the index: a query of only such words, and a SQLite
        without FTS5, search by substring (LIKE) instead."""
        words = query.split()[:MAX_SEARCH_WORDS]
        if not words:
            return self.list_chats(kind)
        terms = [_fts_phrase(w) for w in words]
        if not query[-1:].isspace() and terms[-1]:
            terms[-1] += "*"
        terms = [t for t in terms if t]
        if not self.full_text or not terms:
            return self._search_like(words, kind)
        # per word: the chats it occurs in (title or any message) with their best score;
        # a chat is found when it has every word
        hits = " UNION ALL ".join(
            f"SELECT m.chat_id AS chat_id, {i} AS term, bm25(messages_fts) AS score"
            " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
            " WHERE messages_fts MATCH ?"
            f" UNION ALL SELECT rowid, {i}, 2 * bm25(chats_fts) FROM chats_fts"
            " WHERE chats_fts MATCH ?"
            for i in range(len(terms))
        )
        args: list[Any] = [arg for term in terms for arg in (term, term)]
        where = ""
        if kind is not None:
            where = "WHERE c.kind = ?"
            args.append(kind)
        args.append(len(terms))
        sql = (
            "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.chat_id = c.id) AS n"
            " FROM (SELECT chat_id, term, MIN(score) AS best FROM"
            f" ({hits}) GROUP BY chat_id, term) AS t"
            f" JOIN chats c ON c.id = t.chat_id {where}"
            " GROUP BY c.id HAVING COUNT(*) = ?"
            " ORDER BY SUM(t.best), c.updated_at DESC, c.id DESC"
        )
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_chat(r) for r in rows]

    def _search_like(self, words: list[str], kind: str | None) -> list[ChatRecord]:
        """Substring search (every word somewhere in the chat), most recent first."""
        conditions, args = [], []
        for word in words:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(
                "(c.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m"
                " WHERE m.chat_id = c.id AND m.content LIKE ? ESCAPE '\\'))"
            )
            args += [pattern, pattern]
        if kind is not None:
            conditions.append("c.kind = ?")
            args.append(kind)
        with self._lock:
            rows = self._db.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.chat_id = c.id) AS n"
                f" FROM chats c WHERE {' AND '.join(conditions)}"
                " ORDER BY c.updated_at DESC, c.id DESC",
                args,
            ).fetchall()
        return [_chat(r) for r in rows]

    def recent_questions(self, limit: int = 500) -> list[str]:
        """The user's past questions, across chats, newest first, each once (raises
        :class:`ChatStoreError` when the database cannot be read)."""
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT content FROM messages WHERE role = 'user' AND content != ''"
                    " ORDER BY created_at DESC, id DESC LIMIT ?",
                    (limit * 4,),
                ).fetchall()
        except sqlite3.Error as exc:
            raise ChatStoreError(f"chat history: cannot read past questions: {exc}") from exc
        return list(dict.fromkeys(r[0] for r in rows))[:limit]

    def rename_chat(self, chat_id: int, title: str) -> None:
        title = " ".join(title.split())
        if not title:
            raise ChatStoreError("a chat title cannot be empty")
        with self._tx() as db:
            cur = db.execute("UPDATE chats SET title = ? WHERE id = ?", (title, chat_id))
        if cur.rowcount == 0:
            raise ChatNotFoundError(f"no chat with id {chat_id}")

    def update_chat_settings(
        self, chat_id: int, *, model: str, system_prompt: str | None, params: dict[str, Any]
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE chats SET model = ?, system_prompt = ?, params = ? WHERE id = ?",
                (model, system_prompt, json.dumps(params), chat_id),
            )

    def update_chat_meta(self, chat_id: int, meta: dict[str, Any]) -> None:
        """Replace what a chat answers from (collection, action, compare's models)."""
        with self._tx() as db:
            cur = db.execute("UPDATE chats SET meta = ? WHERE id = ?", (json.dumps(meta), chat_id))
        if cur.rowcount == 0:
            raise ChatNotFoundError(f"no chat with id {chat_id}")

    def delete_chat(self, chat_id: int) -> None:
        with self._tx() as db:
            cur = db.execute("DELETE FROM chats WHERE id = ?", (chat_id,))
        if cur.rowcount == 0:
            raise ChatNotFoundError(f"no chat with id {chat_id}")

    # --- messages ----------------------------------------------------------------

    def add_message(
        self,
        chat_id: int,
        role: str,
        content: str,
        *,
        status: MessageStatus = "complete",
        model: str | None = None,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
        reply_to: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> int:
        """Append a message; the first user message titles an untitled chat.

        An answer added without ``reply_to`` answers the chat's latest question, which is
        what a plain chat means; compare passes the question it answers explicitly."""
        now = time.time()
        with self._tx() as db:
            if role == "assistant" and reply_to is None:
                row = db.execute(
                    "SELECT MAX(id) FROM messages WHERE chat_id = ? AND role = 'user'",
                    (chat_id,),
                ).fetchone()
                reply_to = row[0]
            cur = db.execute(
                "INSERT INTO messages (chat_id, role, content, status, model, stats, error,"
                " created_at, reply_to, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chat_id,
                    role,
                    content,
                    status,
                    model,
                    None if stats is None else json.dumps(stats),
                    error,
                    now,
                    reply_to,
                    None if meta is None else json.dumps(meta),
                ),
            )
            if role == "user":
                db.execute(
                    "UPDATE chats SET title = ? WHERE id = ? AND title = ''",
                    (title_from_question(content), chat_id),
                )
            db.execute("UPDATE chats SET updated_at = ? WHERE id = ?", (now, chat_id))
            return int(cur.lastrowid or 0)

    def update_message(
        self,
        message_id: int,
        content: str,
        *,
        status: MessageStatus | None = None,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Replace a message's text (and, when given, its status, stats, error and meta)."""
        sets = ["content = ?"]
        args: list[Any] = [content]
        if status is not None:
            sets.append("status = ?")
            args.append(status)
        if stats is not None:
            sets.append("stats = ?")
            args.append(json.dumps(stats))
        if error is not None:
            sets.append("error = ?")
            args.append(error)
        if meta is not None:
            sets.append("meta = ?")
            args.append(json.dumps(meta))
        args.append(message_id)
        with self._tx() as db:
            db.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id = ?", args)
            if status is not None and status != "partial":
                db.execute(
                    "UPDATE chats SET updated_at = ? WHERE id ="
                    " (SELECT chat_id FROM messages WHERE id = ?)",
                    (time.time(), message_id),
                )

    def messages(self, chat_id: int) -> list[StoredMessage]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM messages WHERE chat_id = ? ORDER BY id", (chat_id,)
            ).fetchall()
        return [_message(r) for r in rows]

    def answers_to(self, question_id: int) -> list[StoredMessage]:
        """The answers to one question, oldest first (compare stores one per model)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM messages WHERE reply_to = ? ORDER BY id", (question_id,)
            ).fetchall()
        return [_message(r) for r in rows]

    def export(self, chat_id: int) -> ChatExport:
        return ChatExport(self.get_chat(chat_id), self.messages(chat_id))


# --- export formats ---------------------------------------------------------------------


def export_json(export: ChatExport) -> str:
    """The chat as JSON: exact text (terminal-acting code points are ``\\u`` escapes)."""
    from h2otui.safe_text import json_dumps

    return json_dumps(export.as_dict(), indent=2)


#: writes one saved source (an answer's ``meta["sources"]`` item) as a citation line;
#: given by the caller, which knows the source format (the store does not)
SourceLabel = Callable[[int, dict[str, Any]], str]


def export_markdown(export: ChatExport, source_label: SourceLabel | None = None) -> str:
    """The chat as Markdown for people: always sanitised (:func:`h2otui.safe_text.visible`),
    since a Markdown file is read with ``cat`` or a pager as often as with an editor; the
    store keeps the exact text. A documents answer lists its sources after it."""
    from h2otui.safe_text import visible

    return visible(_markdown(export, source_label or _plain_source_label))


def _plain_source_label(n: int, source: dict[str, Any]) -> str:
    return f"[{n}] {source.get('source', '?')}"


def _markdown(export: ChatExport, source_label: SourceLabel) -> str:
    chat = export.chat
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(chat.created_at))
    header = f"*Model: {chat.model} · started {when}"
    if chat.meta.get("collection"):
        header += f" · documents: {chat.meta['collection']} ({chat.meta.get('action', 'query')})"
    lines = [
        f"# {chat.title or 'Untitled chat'}",
        "",
        header + "*",
        "",
    ]
    if chat.kind == "compare":  # one answer per model under each question
        models = ", ".join(str(m) for m in chat.meta.get("models") or []) or chat.model
        lines[2] = f"*Compare: {models} · started {when}*"
    if chat.system_prompt:
        lines += ["> **System:** " + chat.system_prompt.replace("\n", "\n> "), ""]
    for m in export.messages:
        if m.role == "user":
            lines += ["## You", "", m.content, ""]
        elif m.role == "assistant":
            heading = f"## {m.model or chat.model}"
            if (m.meta or {}).get("merged"):  # compare's merged answer (Ctrl+G)
                heading = f"## Merged by {m.model or chat.model}"
            if m.status != "complete":
                heading += f" ({m.status})"
            lines += [heading, "", m.content, ""]
            if m.error:
                lines += [f"> error: {m.error}", ""]
            sources = (m.meta or {}).get("sources") or []
            if sources:
                lines += ["**Sources**", ""]
                lines += [f"- {source_label(n, s)}" for n, s in enumerate(sources, 1)]
                lines.append("")
        else:
            lines += ["## System", "", m.content, ""]
    return "\n".join(lines).rstrip() + "\n"


def _fts_phrase(word: str) -> str:
    """``word`` as one FTS5 phrase (its tokens, in order), or "" when it has no token
    characters (letters, digits) to look up. Quoting makes FTS5 read everything inside
    as text: no operator, column filter or prefix syntax of the user's gets through."""
    if not any(ch.isalnum() for ch in word):
        return ""
    return '"' + word.replace('"', '""') + '"'


def _json_dict(text: str | None) -> dict[str, Any] | None:
    """A stored JSON object, or None when absent or unreadable (never fails a listing)."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _chat(row: sqlite3.Row) -> ChatRecord:
    try:
        params = json.loads(row["params"] or "{}")
    except json.JSONDecodeError:
        params = {}
    return ChatRecord(
        id=row["id"],
        title=row["title"],
        model=row["model"],
        system_prompt=row["system_prompt"],
        params=params if isinstance(params, dict) else {},
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        message_count=row["n"],
        kind=row["kind"],
        meta=_json_dict(row["meta"]) or {},
    )


def _message(row: sqlite3.Row) -> StoredMessage:
    stats = None
    if row["stats"]:
        try:
            stats = json.loads(row["stats"])
        except json.JSONDecodeError:
            stats = None
    return StoredMessage(
        id=row["id"],
        chat_id=row["chat_id"],
        role=row["role"],
        content=row["content"],
        status=row["status"],
        model=row["model"],
        stats=stats,
        error=row["error"],
        created_at=row["created_at"],
        reply_to=row["reply_to"],
        meta=_json_dict(row["meta"]),
    )
