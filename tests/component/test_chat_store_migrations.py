"""Chat history upgrades: a database written by schema-1 h2otui opens, upgrades and keeps
every chat; a newer file is refused; two processes never both migrate; a migration that
dies midway leaves the file as it was.

The v1 database is built from the exact DDL schema-1 h2otui ran (copied below, never
imported from the code under test), with plain sqlite3, as that h2otui left it on disk.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from h2otui.store import chats as chats_module
from h2otui.store.chats import (
    SCHEMA_VERSION,
    ChatStore,
    ChatStoreError,
    export_json,
    export_markdown,
)

#: h2otui/store/chats.py ``_SCHEMA`` at schema 1, verbatim
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    system_prompt TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
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
);
CREATE INDEX IF NOT EXISTS messages_by_chat ON messages(chat_id, id);
CREATE INDEX IF NOT EXISTS chats_by_update ON chats(updated_at DESC);
"""

V1_CHAT_COLUMNS = "id, title, model, system_prompt, params, created_at, updated_at"
V1_MESSAGE_COLUMNS = "id, chat_id, role, content, status, model, stats, error, created_at"

# (chat, role, content, status, model, stats, error) in insertion order; the chats'
# messages interleave so that "the question before an answer" must respect the chat
V1_MESSAGES: list[tuple[str, str, str, str, str | None, dict[str, Any] | None, str | None]] = [
    ("toml", "user", "How do I parse TOML?", "complete", None, None, None),
    ("unicode", "system", "Réponds en français. 🇫🇷", "complete", None, None, None),
    (
        "unicode",
        "assistant",
        "Bonjour ! (greeting before any question)",
        "complete",
        "m2",
        None,
        None,
    ),
    (
        "toml",
        "assistant",
        "Use `tomllib`:\n\n```python\nimport tomllib\n```",
        "complete",
        "gemma3-270m",
        {"prompt_tokens": 12, "completion_tokens": 9, "first_token_s": 0.25},
        None,
    ),
    ("unicode", "user", "Qu'est-ce que « naïveté » ? 日本語も。", "complete", None, None, None),
    ("toml", "user", "And writing it?", "complete", None, None, None),
    (
        "toml",
        "assistant",
        "There is no writer in the standard",
        "stopped",
        "gemma3-270m",
        {"completion_tokens": 7},
        None,
    ),
    ("unicode", "assistant", "La naïveté est", "partial", "m2", None, None),
    ("toml", "user", "Is tomli-w maintained?", "complete", None, None, None),
    ("toml", "user", "Hello?", "complete", None, None, None),
    ("toml", "assistant", "", "error", "gemma3-270m", None, "connection refused: 127.0.0.1:1"),
]


def build_v1_database(path: Path) -> dict[str, int]:
    """A chat history as schema-1 h2otui left it; returns chat ids by label."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(V1_SCHEMA)
    db.execute("PRAGMA user_version = 1")
    ids: dict[str, int] = {}
    for label, title, model, system_prompt, params, t in [
        ("toml", "How do I parse TOML?", "gemma3-270m", None, {}, 1000.0),
        (
            "unicode",
            "Qu'est-ce que « naïveté » ? 日本語も。",
            "m2",
            "Sois bref.",
            {"temperature": 0.7, "stop": ["\n\n"], "seed": 3},
            2000.0,
        ),
        ("empty", "", "m3", None, {}, 3000.0),
    ]:
        cur = db.execute(
            "INSERT INTO chats (title, model, system_prompt, params, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (title, model, system_prompt, json.dumps(params), t, t + 1),
        )
        ids[label] = int(cur.lastrowid or 0)
    for i, (label, role, content, status, model, stats, error) in enumerate(V1_MESSAGES):
        db.execute(
            "INSERT INTO messages (chat_id, role, content, status, model, stats, error,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ids[label],
                role,
                content,
                status,
                model,
                None if stats is None else json.dumps(stats),
                error,
                5000.0 + i,
            ),
        )
    db.close()
    return ids


def v1_rows(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        chats = db.execute(f"SELECT {V1_CHAT_COLUMNS} FROM chats ORDER BY id").fetchall()
        messages = db.execute(f"SELECT {V1_MESSAGE_COLUMNS} FROM messages ORDER BY id").fetchall()
    return chats, messages


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def schema(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()


def expected_reply_to(messages: list[tuple[Any, ...]]) -> dict[int, int | None]:
    """For each v1 assistant row: the nearest earlier user row of its chat."""
    out: dict[int, int | None] = {}
    last_question: dict[int, int] = {}
    for mid, chat_id, role, *_ in messages:
        if role == "user":
            last_question[chat_id] = mid
        elif role == "assistant":
            out[mid] = last_question.get(chat_id)
    return out


@pytest.fixture
def v1_db(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    path = tmp_path / "chats.sqlite3"
    return path, build_v1_database(path)


def test_a_v1_history_upgrades_and_keeps_every_chat(v1_db, tmp_path):
    path, ids = v1_db
    before_chats, before_messages = v1_rows(path)
    assert len(before_messages) == len(V1_MESSAGES)

    with ChatStore(path) as store:
        assert store.applied_migrations == [2, 3]
        assert SCHEMA_VERSION == 3
        listed = {c.id: c for c in store.list_chats()}
        stored = {cid: store.messages(cid) for cid in ids.values()}
    assert user_version(path) == SCHEMA_VERSION

    # every v1 column of every row is byte-for-byte what it was
    assert v1_rows(path) == (before_chats, before_messages)
    # and the API reads them back as the v1 code did
    for cid, title, model, system_prompt, params, created, updated in before_chats:
        chat = listed[cid]
        assert (chat.title, chat.model, chat.system_prompt) == (title, model, system_prompt)
        assert (chat.params, chat.created_at, chat.updated_at) == (
            json.loads(params),
            created,
            updated,
        )
        assert (chat.kind, chat.meta) == ("chat", {})
    by_id = {m.id: m for msgs in stored.values() for m in msgs}
    assert len(by_id) == len(V1_MESSAGES)
    for mid, chat_id, role, content, status, model, stats, error, created in before_messages:
        m = by_id[mid]
        assert (m.chat_id, m.role, m.content, m.status, m.model, m.error, m.created_at) == (
            chat_id,
            role,
            content,
            status,
            model,
            error,
            created,
        )
        assert m.stats == (None if stats is None else json.loads(stats))
        assert m.meta is None
    assert stored[ids["empty"]] == []

    # each old answer now points at the question it answered
    want = expected_reply_to(before_messages)
    assert {m.id: m.reply_to for m in by_id.values() if m.role == "assistant"} == want
    assert all(m.reply_to is None for m in by_id.values() if m.role != "assistant")
    toml = stored[ids["toml"]]
    assert [(m.role, m.reply_to) for m in toml] == [
        ("user", None),
        ("assistant", toml[0].id),
        ("user", None),
        ("assistant", toml[2].id),
        ("user", None),
        ("user", None),
        ("assistant", toml[5].id),  # the latest of two questions in a row
    ]
    greeting = stored[ids["unicode"]][1]
    assert greeting.role == "assistant" and greeting.reply_to is None  # no question before it

    # an upgraded file has exactly the schema a fresh one gets
    with ChatStore(tmp_path / "fresh.sqlite3") as fresh:
        assert fresh.applied_migrations == [1, 2, 3]
    assert schema(path) == schema(tmp_path / "fresh.sqlite3")
    assert "messages_by_reply" in {name for _t, name, _s in schema(path)}

    # opening again is a no-op
    with ChatStore(path) as again:
        assert again.applied_migrations == []


def test_an_upgraded_history_is_searchable_and_stays_indexed(v1_db):
    """Schema 3 indexes the chats an older h2otui wrote; later writes keep the index."""
    path, ids = v1_db
    with ChatStore(path) as store:
        assert store.full_text
        assert [c.id for c in store.search_chats("tomllib")] == [ids["toml"]]  # an answer
        assert [c.id for c in store.search_chats("parse toml")] == [ids["toml"]]  # title
        assert [c.id for c in store.search_chats("naivete")] == [ids["unicode"]]  # accents
        assert [c.id for c in store.search_chats("tom")] == [ids["toml"]]  # as typed
        store.add_message(ids["empty"], "user", "What about YAML?")
        assert [c.id for c in store.search_chats("yaml")] == [ids["empty"]]
        store.delete_chat(ids["toml"])
        assert store.search_chats("tomllib") == []
    with sqlite3.connect(path) as db:  # the index matches the tables exactly
        db.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
        db.execute("INSERT INTO chats_fts(chats_fts, rank) VALUES ('integrity-check', 1)")


def test_the_new_api_works_on_upgraded_chats(v1_db):
    path, ids = v1_db
    with ChatStore(path) as store:
        toml = store.messages(ids["toml"])
        first_q, first_a = toml[0], toml[1]
        assert [a.id for a in store.answers_to(first_q.id)] == [first_a.id]

        # an answer added without reply_to answers the chat's latest question
        q = store.add_message(ids["toml"], "user", "One more?")
        a = store.add_message(ids["toml"], "assistant", "", status="partial", model="m")
        store.update_message(a, "Yes.", status="complete", meta={"sources": [{"n": 1}]})
        (answer,) = store.answers_to(q)
        assert (answer.id, answer.content, answer.meta) == (a, "Yes.", {"sources": [{"n": 1}]})
        # update_message without meta keeps it
        store.update_message(a, "Yes!", status="complete")
        assert store.answers_to(q)[0].meta == {"sources": [{"n": 1}]}

        store.update_chat_meta(ids["unicode"], {"collection": "Docs", "action": "query"})
        assert store.get_chat(ids["unicode"]).meta == {"collection": "Docs", "action": "query"}

        # a compare chat: several answers to one question
        cmp = store.create_chat(
            "a", kind="compare", meta={"models": ["a", "b"]}, params={"temperature": 0.0}
        )
        assert (cmp.kind, cmp.meta) == ("compare", {"models": ["a", "b"]})
        question = store.add_message(cmp.id, "user", "Which is larger, 9.9 or 9.11?")
        for model in ("a", "b"):
            store.add_message(
                cmp.id,
                "assistant",
                f"{model} says 9.9",
                model=model,
                reply_to=question,
                meta={"model": model},
            )
        assert [(m.model, m.meta) for m in store.answers_to(question)] == [
            ("a", {"model": "a"}),
            ("b", {"model": "b"}),
        ]
        assert [c.id for c in store.list_chats(kind="compare")] == [cmp.id]
        assert ids["toml"] in {c.id for c in store.list_chats(kind="chat")}
        with pytest.raises(ChatStoreError, match="unknown chat kind 'grid'"):
            store.create_chat("a", kind="grid")

        data = json.loads(export_json(store.export(cmp.id)))
        assert (data["chat"]["kind"], data["chat"]["meta"]) == ("compare", {"models": ["a", "b"]})
        assert [m["reply_to"] for m in data["messages"]] == [None, question, question]
        plain = json.loads(export_json(store.export(ids["toml"])))
        assert plain["chat"]["kind"] == "chat"
        assert plain["messages"][1]["reply_to"] == first_q.id

        # Markdown of an upgraded plain chat reads as it always did
        md = export_markdown(store.export(ids["toml"]))
        assert md.startswith("# How do I parse TOML?\n")
        assert "## gemma3-270m (stopped)\n\nThere is no writer in the standard" in md
        assert "> error: connection refused: 127.0.0.1:1" in md

    # deleting a question deletes its answers
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM messages WHERE id = ?", (question,))
    with ChatStore(path) as store:
        assert store.messages(cmp.id) == []


def test_a_history_from_a_newer_h2otui_is_refused(tmp_path):
    path = tmp_path / "chats.sqlite3"
    build_v1_database(path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    before = v1_rows(path)
    with pytest.raises(
        ChatStoreError,
        match=r"chats\.sqlite3 was written by a newer h2otui \(schema 99.*upgrade h2otui",
    ):
        ChatStore(path)
    assert user_version(path) == 99
    assert v1_rows(path) == before


def test_a_failing_migration_rolls_back_and_the_next_open_upgrades(v1_db, monkeypatch):
    path, ids = v1_db
    before = v1_rows(path)
    migrations = chats_module.MIGRATIONS
    real = migrations[1]

    def dies_midway(db: sqlite3.Connection) -> None:
        real(db)  # every statement of the step ran ...
        raise RuntimeError("power cut")  # ... but the step never committed

    monkeypatch.setattr(chats_module, "MIGRATIONS", [migrations[0], dies_midway])
    with pytest.raises(
        ChatStoreError, match=r"cannot upgrade chat history .* from schema 1 to 2: power cut"
    ):
        ChatStore(path)
    assert user_version(path) == 1
    assert "kind" not in columns(path, "chats") and "reply_to" not in columns(path, "messages")
    assert v1_rows(path) == before

    monkeypatch.setattr(chats_module, "MIGRATIONS", migrations)
    with ChatStore(path) as store:
        assert store.applied_migrations == [2, 3]
        assert len(store.list_chats()) == len(ids)
    assert v1_rows(path) == before


def test_a_process_killed_inside_a_migration_leaves_the_file_usable(v1_db):
    path, ids = v1_db
    before = v1_rows(path)
    script = textwrap.dedent(
        """
        import os, signal, sys
        from h2otui.store import chats

        real = chats.MIGRATIONS[1]

        def killed(db):
            real(db)
            os.kill(os.getpid(), signal.SIGKILL)  # no rollback, no cleanup

        chats.MIGRATIONS[1] = killed
        chats.ChatStore(sys.argv[1])
        """
    )
    proc = subprocess.run([sys.executable, "-c", script, str(path)], timeout=60)
    assert proc.returncode == -9
    assert user_version(path) == 1
    assert v1_rows(path) == before
    with ChatStore(path) as store:
        assert store.applied_migrations == [2, 3]
        assert [c.id for c in store.list_chats()] == [ids["empty"], ids["unicode"], ids["toml"]]
    assert v1_rows(path) == before


_CONCURRENT_OPEN = textwrap.dedent(
    """
    import json, sys, time
    from h2otui.store import chats

    real = chats.MIGRATIONS[1]

    def slow(db):
        time.sleep(0.5)  # hold the write lock so that the other process must wait on it
        real(db)

    chats.MIGRATIONS[1] = slow
    print("ready", flush=True)
    sys.stdin.readline()  # both start opening at once
    store = chats.ChatStore(sys.argv[1])
    print(json.dumps({"applied": store.applied_migrations, "chats": len(store.list_chats())}))
    store.close()
    """
)


def test_two_processes_opening_an_old_history_migrate_it_once(v1_db):
    path, ids = v1_db
    before = v1_rows(path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CONCURRENT_OPEN, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    # each step once, by whichever process took the write lock for it
    assert sorted(v for r in results for v in r["applied"]) == [2, 3]
    assert [r["chats"] for r in results] == [len(ids), len(ids)]
    assert user_version(path) == SCHEMA_VERSION
    assert columns(path, "chats").count("kind") == 1
    assert v1_rows(path) == before


_WRITER = textwrap.dedent(
    """
    import sys
    from h2otui.store.chats import ChatStore

    path, who = sys.argv[1], sys.argv[2]
    with ChatStore(path) as store:
        for n in range(25):
            chat = store.create_chat("m")
            store.add_message(chat.id, "user", f"zebra question {who}x{n}")
            answer = store.add_message(chat.id, "assistant", "", status="partial")
            for text in ("Stripes", "Stripes are", f"Stripes are {who}done{n}"):
                store.update_message(answer, text, status="partial")
            store.update_message(answer, text, status="complete")
    """
)

_SEARCHER = textwrap.dedent(
    """
    import json, sys
    from h2otui.store.chats import ChatStore

    counts = []
    with ChatStore(sys.argv[1]) as store:
        while sys.stdin.readline().strip() == "search":
            counts.append(len(store.search_chats("zebra stripes")))
            print("ok", flush=True)
    print(json.dumps(counts), flush=True)
    """
)


def test_two_processes_write_chats_while_a_third_searches(tmp_path):
    path = tmp_path / "chats.sqlite3"
    ChatStore(path).close()
    cmd = [sys.executable, "-c"]
    searcher = subprocess.Popen(
        [*cmd, _SEARCHER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    writers = [subprocess.Popen([*cmd, _WRITER, str(path), who]) for who in ("a", "b")]
    try:
        assert searcher.stdin is not None and searcher.stdout is not None
        while any(w.poll() is None for w in writers):
            searcher.stdin.write("search\n")
            searcher.stdin.flush()
            assert searcher.stdout.readline().strip() == "ok"
        searcher.stdin.write("search\nend\n")
        searcher.stdin.flush()
        out, _ = searcher.communicate(timeout=60)
    finally:
        for proc in (searcher, *writers):
            if proc.poll() is None:
                proc.kill()
    assert [w.wait(60) for w in writers] == [0, 0]
    assert searcher.returncode == 0
    counts = json.loads(out.splitlines()[-1])
    assert counts == sorted(counts) and counts[-1] == 50  # never an error, never fewer
    with ChatStore(path) as store:
        for who in ("a", "b"):
            for n in (0, 24):
                (chat,) = store.search_chats(f"{who}x{n}")
                assert [c.id for c in store.search_chats(f"{who}done{n}")] == [chat.id]
        assert store.search_chats("stripes are") and not store.search_chats("partial")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
        db.execute("INSERT INTO chats_fts(chats_fts, rank) VALUES ('integrity-check', 1)")
