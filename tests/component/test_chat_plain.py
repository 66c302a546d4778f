"""``h2otui chat --plain`` in a real pseudo-terminal: keys as a user presses them (Ctrl-C
is the byte the terminal turns into SIGINT), history saved like the app's. The real
embedded model answers, and a loopback TGI server whose stream can be made to stall on
demand (so an answer is always still running when Ctrl-C comes, and the server shows
what the next prompt held). Every wait is for output, with a deadline; none is a fixed
sleep."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import time

import pytest
from typer.testing import CliRunner

from h2otui.cli import app as cli_app
from h2otui.store.chats import ChatStore


class Terminal:
    """``h2otui ARGS`` on a pseudo-terminal it has as its controlling terminal."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "TERM": "dumb", "COLUMNS": "200"}
        pid, fd = pty.fork()
        if pid == 0:  # the child: become h2otui
            try:
                os.execve(sys.executable, [sys.executable, "-m", "h2otui", *args], env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.output = ""
        self._pos = 0
        self.returncode: int | None = None

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            return False
        self.output += data.decode("utf-8", errors="replace").replace("\r\n", "\n")
        return True

    def expect(self, pattern: str, timeout: float = 180) -> re.Match[str]:
        """Wait for ``pattern`` in the output after the last match."""
        regex = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.output, self._pos)
            if match:
                self._pos = match.end()
                return match
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(
                    f"no {pattern!r} in the output (after {self._pos}):\n{self.output[-3000:]}"
                )

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                self._read(0.1)
                return self.returncode
            self._read(0.1)  # keep draining, so the child never blocks on a full terminal
        raise AssertionError(f"h2otui did not exit:\n{self.output[-3000:]}")

    def close(self) -> None:
        if self.returncode is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def saved_messages(home):  # type: ignore[no-untyped-def]
    with ChatStore.open(home) as store:
        (chat,) = store.list_chats()
        return store.messages(chat.id)


def test_ctrl_c_stops_a_stalled_answer_and_the_next_prompt_carries_it(isolated_env, tmp_path):
    from tests.servers.tgi_server import FakeTGI

    tgi = FakeTGI(stall_after=4).start()
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'default_model = "remote"\n[[models]]\nname = "remote"\ninference_server = "{tgi.url}"\n'
    )
    question = "SAY: one two three four five six seven eight"
    term = Terminal("--config", str(cfg), "chat", "--plain", "--max-new-tokens", "20")
    try:
        term.expect(r"h2otui chat with remote\. Ctrl-C stops an answer")
        term.expect(r"you> ")
        term.send(question + "\n")
        term.expect(r"bot> ?one two three four")  # and then the server stalls
        term.send("\x03")
        term.expect(r"\[stopped\]\n")
        term.expect(r"you> ")
        tgi.stall_after = None
        term.send("SAY: done\n")
        term.expect(r"bot> ?done\nyou> ")
        term.send("\n")  # an empty line (an Enter by accident) is ignored
        term.expect(r"you> ")
        term.send("/quit\n")
        assert term.wait() == 0
    finally:
        term.close()
        tgi.stop()
    assert "Traceback" not in term.output
    assert "saved as chat 1" in term.output
    # the stopped answer went into the next prompt, after its question
    last_prompt = tgi.requests[-1]["inputs"]
    assert question in last_prompt
    assert last_prompt.index(question) < last_prompt.index("one two three four", len(question))
    rows = [(m.role, m.status, m.content.strip()) for m in saved_messages(isolated_env)]
    assert rows == [
        ("user", "complete", question),
        ("assistant", "stopped", "one two three four"),
        ("user", "complete", "SAY: done"),
        ("assistant", "complete", "done"),
    ]


@pytest.mark.slow
def test_ctrl_c_stops_the_answer_not_the_chat_and_the_history_is_saved(
    isolated_env, settings, embedded_engine
):
    from h2otui.chat.session import system_prompt_for
    from h2otui.qa.context import build_messages

    term = Terminal("chat", "--plain", "--max-new-tokens", "2000")
    story = "Write a very long story about a dragon."
    try:
        term.expect(r"Ctrl-C stops an answer")
        term.expect(r"you> ")
        term.send(story + "\n")
        term.expect(r"bot> .{60}")  # well into the answer
        term.send("\x03")
        term.expect(r"\[stopped\]\n")
        term.expect(r"you> ")
        term.send("What is 2+2?\n")
        term.expect(r"What is 2\+2\?\n.*?you> ")
        term.send("\x04")  # Ctrl-D at the prompt
        assert term.wait() == 0
    finally:
        term.close()
    assert "Traceback" not in term.output
    first_q, stopped, second_q, answer = saved_messages(isolated_env)
    assert (first_q.role, first_q.content) == ("user", story)
    assert (stopped.role, stopped.status) == ("assistant", "stopped")
    assert len(stopped.content) >= 60
    assert (second_q.content, answer.role, answer.status) == (
        "What is 2+2?",
        "assistant",
        "complete",
    )
    # the stopped answer was context for the next question
    engine = embedded_engine
    system = system_prompt_for(settings, settings.model())
    bare = engine.count_tokens(engine.render_prompt(build_messages(system, [], "What is 2+2?")))
    assert answer.stats is not None
    assert answer.stats["prompt_tokens"] > bare + engine.count_tokens(stopped.content) // 2


@pytest.mark.slow
def test_plain_chat_from_a_collection_prints_numbered_sources(isolated_env):
    from qa_support import facts_corpus, write_collection

    write_collection(isolated_env, "Facts", facts_corpus())
    term = Terminal("chat", "--plain", "-c", "Facts")
    try:
        term.expect(r"answering from collection 'Facts' \(query\)")
        term.expect(r"you> ")
        term.send("Who led the Zephyr project?\n")
        answer = term.expect(r"bot> (.*?)\nSources:\n\[1\] [^\n]*report\.pdf p\.3")
        assert "Okafor" in answer.group(1)
        term.expect(r"you> ")
        term.send("\x03")  # Ctrl-C at the prompt quits cleanly
        assert term.wait() == 0
    finally:
        term.close()
    question, reply = saved_messages(isolated_env)
    assert question.content == "Who led the Zephyr project?"
    assert reply.status == "complete" and "Okafor" in reply.content


@pytest.mark.slow
def test_plain_chat_refuses_what_it_cannot_do(isolated_env):
    runner = CliRunner()
    result = runner.invoke(cli_app, ["chat", "--collection", "Facts"])
    assert result.exit_code == 2 and "need --plain" in result.output
    result = runner.invoke(cli_app, ["chat", "--plain", "--action", "summarize"])
    assert result.exit_code == 2 and "--action needs --collection" in result.output
    result = runner.invoke(cli_app, ["chat", "--plain", "-c", "Missing"], input="")
    assert result.exit_code == 2 and "Missing" in result.output
