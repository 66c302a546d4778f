"""Issue 12: untrusted text never reaches the terminal with control characters and is
never parsed as markup, through every CLI output path; ``--json`` stays exact; a server
that echoes the Authorization header in its 401 body leaks nothing.

The hostile corpus (tests/hostile.py) goes in as file names and document text (ingested
with the real embedding model), as a model's answer (the loopback TGI server says what
the question tells it to), as a server-reported model id and as a stored chat.
"""

from __future__ import annotations

import base64
import json
import os
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile import (
    ATTACKS,
    BARE_CR,
    HOSTILE_NAMES,
    HOSTILE_TEXT,
    MARKUP,
    OSC52_CLIPBOARD,
    assert_literal,
    assert_terminal_safe,
    write_hostile_files,
)
from tests.servers.tgi_server import FakeTGI

#: what the model is told to say: every attack but the bare CR (the fake model reads the
#: prompt line by line, and a CR ends a line)
ANSWER = " ".join(a for a in ATTACKS if a != BARE_CR) + " " + " ".join(MARKUP)
HOSTILE_MODEL_ID = "[link=https:evil.example]clickme.txt\x1b]0;pwned\x07\x9b2J"
SECRET = "hunter2-very-secret"


@pytest.fixture(scope="module")
def tgi() -> Iterator[FakeTGI]:
    server = FakeTGI(max_total_tokens=4096, max_input_tokens=4000).start()
    yield server
    server.stop()


@pytest.fixture
def config(tgi: FakeTGI, tmp_path: Path) -> Path:
    tgi.reset()
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        'default_model = "remote"\n'
        f'[[models]]\nname = "remote"\ninference_server = "{tgi.url}"\n'
        f'[[models]]\nname = "badpw"\ninference_server = "{tgi.url}    bob    x{SECRET}"\n'
    )
    return cfg


def env() -> dict[str, str]:
    return {
        **os.environ,
        "COLUMNS": "250",
        "H2OTUI_REMOTE__RETRIES": "0",
        "H2OTUI_GENERATION__MAX_NEW_TOKENS": "200",
    }


def h2otui(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "h2otui", "--config", str(config), *args],
        capture_output=True, text=True, timeout=300, env=env(), errors="surrogateescape",
    )  # fmt: skip


def on_a_tty(config: Path, *args: str) -> tuple[int, str]:
    """``h2otui ARGS`` with stdout and stderr a pseudo-terminal; its raw output."""
    main, sub = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "h2otui", "--config", str(config), *args],
        stdin=subprocess.DEVNULL, stdout=sub, stderr=sub, env=env(),
    )  # fmt: skip
    os.close(sub)
    data = b""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
    os.close(main)
    return proc.wait(timeout=60), data.decode("utf-8", "surrogateescape")


def check(text: str, where: str) -> None:
    assert_terminal_safe(text, where)
    assert "Traceback" not in text, (where, text[-2000:])


def test_streamed_answer_on_a_terminal_and_exact_json(config: Path) -> None:
    code, shown = on_a_tty(config, "ask", f"SAY: {ANSWER}")
    assert code == 0, shown
    check(shown, "ask on a tty")
    assert "␛]52;c;ZWNobyBwd25lZA==␇" in shown and "␛[31m" in shown  # shown, not dropped
    assert_literal(shown, where="ask on a tty")

    piped = h2otui(config, "ask", f"SAY: {ANSWER}")
    check(piped.stdout + piped.stderr, "ask piped")
    assert "␛]0;pwned-title␇" in piped.stdout

    exact = h2otui(config, "ask", f"SAY: {ANSWER}", "--json")
    assert exact.returncode == 0, exact.stderr
    check(exact.stdout, "ask --json")
    assert json.loads(exact.stdout)["answer"] == ANSWER


def test_collection_paths_ingest_show_and_sources(config: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_hostile_files(docs)
    (docs / "[link=https:evil.example]skipped\x1b[2J.xyz").write_text("unsupported")
    (docs / "[bold red]broken\x07.pdf").write_bytes(b"%PDF-1.4 nonsense")

    ingested = h2otui(config, "ingest", str(docs), "--collection", "Hostile")
    assert ingested.returncode == 3, ingested.stderr  # one failed, one skipped
    check(ingested.stdout + ingested.stderr, "ingest summary")
    assert "Files not ingested" in ingested.stdout
    assert_literal(
        ingested.stdout, ("[link=https:evil.example]skipped␛[2J.xyz", "[bold red]broken␇.pdf")
    )

    summary = json.loads(h2otui(config, "ingest", str(docs), "-c", "Hostile", "--json").stdout)
    assert {Path(p).name for p in summary["unchanged"]} == set(HOSTILE_NAMES)  # exact names

    shown = h2otui(config, "collections", "show", "Hostile")
    assert shown.returncode == 0, shown.stderr
    check(shown.stdout, "collections show")
    assert_literal(shown.stdout, where="collections show")
    assert "title␛]0;pwned␇.txt" in shown.stdout and "bidi<U+202E>txt.md" in shown.stdout
    listed = h2otui(config, "collections", "list")
    check(listed.stdout, "collections list")

    code, answered = on_a_tty(
        config, "ask", f"SAY: {ANSWER}", "-c", "Hostile", "--show-sources", "--top-k", "-1"
    )
    assert code == 0, answered
    check(answered, "ask --show-sources on a tty")
    assert_literal(answered, where="ask --show-sources")
    # the answer shows its escape made visible; the quoted document text had its control
    # characters removed at ingest (issue 12), so the sequence is there without its ESC
    assert answered.count("␛]52;c;") == 1
    assert answered.count("]52;c;") > 1

    exact = json.loads(h2otui(config, "ask", f"SAY: {ANSWER}", "-c", "Hostile", "--json").stdout)
    assert {Path(s["source"]).name for s in exact["sources"]} <= set(HOSTILE_NAMES)
    # exact as stored: the document's text without the control characters ingest removed
    stored = OSC52_CLIPBOARD.replace("\x1b", "").replace("\x07", "")
    assert any(stored in s["text"] for s in exact["sources"])
    assert not any("\x1b" in s["text"] for s in exact["sources"])


def test_models_check_with_a_hostile_model_id(config: Path, tgi: FakeTGI) -> None:
    tgi.model_id = HOSTILE_MODEL_ID
    listed = h2otui(config, "models")
    assert listed.returncode == 0, listed.stderr
    check(listed.stdout, "models")
    table = h2otui(config, "models", "--check")
    check(table.stdout + table.stderr, "models --check")
    assert_literal(table.stdout, ("[link=https:evil.example]clickme.txt␛]0;pwned␇␛[2J",))
    rows = {r["name"]: r for r in json.loads(h2otui(config, "models", "--check", "--json").stdout)}
    assert rows["remote"]["model_id"] == HOSTILE_MODEL_ID


def test_chats_export_markdown_is_sanitised_and_json_exact(config: Path, isolated_env) -> None:
    from h2otui.store.chats import ChatStore

    with ChatStore.open(isolated_env) as store:
        chat = store.create_chat(HOSTILE_MODEL_ID, title=f"{BARE_CR} [bold red]x.txt")
        store.add_message(chat.id, "user", "what?")
        store.add_message(chat.id, "assistant", HOSTILE_TEXT, model=HOSTILE_MODEL_ID)
    md = h2otui(config, "chats", "export", str(chat.id), "--format", "md")
    assert md.returncode == 0, md.stderr
    check(md.stdout, "chats export --format md")
    assert "␛]52;c;" in md.stdout and "[bold red]x.txt" in md.stdout
    dest = Path("chat.md")
    h2otui(config, "chats", "export", str(chat.id), "--format", "md", "--out", str(dest))
    assert dest.read_text(encoding="utf-8") == md.stdout  # a file is sanitised the same
    listed = h2otui(config, "chats", "list")
    check(listed.stdout, "chats list")
    exported = h2otui(config, "chats", "export", str(chat.id), "--format", "json")
    check(exported.stdout, "chats export --format json")
    messages = json.loads(exported.stdout)["messages"]
    assert messages[-1]["content"] == HOSTILE_TEXT  # the store and --json keep it exact


def test_a_401_body_echoing_the_authorization_header_leaks_nothing(
    config: Path, tgi: FakeTGI, isolated_env: Path
) -> None:
    tgi.basic_auth = ("bob", SECRET)
    tgi.echo_auth_on_401 = True
    token = base64.b64encode(f"bob:x{SECRET}".encode()).decode()
    # the fake really echoes it (the test would pass vacuously otherwise)
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{tgi.url}/info", headers={"Authorization": f"Basic {token}"})
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(request, timeout=10)
    assert token in raw.value.read().decode()

    asked = h2otui(config, "ask", "SAY: x", "--model", "badpw")
    checked = h2otui(config, "models", "--check", "--json")
    table = h2otui(config, "models", "--check")
    # the server lets the credentials through /info and refuses the answer: the failed
    # answer, with its error, is saved in the chat store
    tgi.basic_auth = None
    tgi.fail_statuses = [401]
    chatted = subprocess.run(
        [sys.executable, "-m", "h2otui", "--config", str(config), "chat", "--plain",
         "--model", "badpw"],
        input="SAY: hello\n\n", capture_output=True, text=True, timeout=300, env=env(),
    )  # fmt: skip
    for label, proc in (("ask", asked), ("check", checked), ("table", table), ("chat", chatted)):
        text = proc.stdout + proc.stderr
        assert token not in text and SECRET not in text, (label, text)
    assert asked.returncode == 1 and "401" in asked.stderr
    rows = {r["name"]: r for r in json.loads(checked.stdout)}
    assert "401" in rows["badpw"]["error"] and "Basic ***" in rows["badpw"]["error"]
    db = next(isolated_env.rglob("chats.sqlite3"))
    stored = b"".join(
        json.dumps(row).encode() for row in sqlite3.connect(db).execute("SELECT * FROM messages")
    )
    assert b"401" in stored  # the failed answer was saved with its error ...
    assert token.encode() not in stored and SECRET.encode() not in stored  # ... scrubbed
