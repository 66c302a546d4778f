"""``h2otui chat --plain``: a line-mode chat loop, for terminals where a full-screen app is
not wanted (a pipe, a dumb terminal, a screen reader).

It is the TUI's chat without the screen: the same :class:`~h2otui.chat.session.ChatSession`
and :class:`~h2otui.chat.runner.AnswerRunner`, so the history is fitted into the context
the same way, the chat is saved to the same store (``ui.save_chats``; ``h2otui chats``
lists it) and ``--collection`` answers come from documents with numbered sources.

Keys: Ctrl-C while an answer streams stops that answer (``[stopped]``; the partial text is
kept in the history and the store) and gives the prompt back. At the prompt, Ctrl-D,
Ctrl-C, ``/quit`` or ``/exit`` quits with exit code 0; an empty line (an Enter pressed by
accident, a blank line in piped questions) is ignored. Ctrl-C while the model loads at start
quits with 130 (interrupted).

Each line is read with ``input()`` on the main thread (line editing works, and Ctrl-C
there is an ordinary ``KeyboardInterrupt``); each answer runs on one long-lived event loop
(the engine pool lives on it), and only while it runs does SIGINT cancel the answer
instead of interrupting the program.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, TextIO

from h2otui.commands.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from h2otui.safe_text import say, visible_stream

if TYPE_CHECKING:
    from h2otui.chat.events import AnswerFinished
    from h2otui.chat.session import ChatSession
    from h2otui.config import Settings
    from h2otui.engines.pool import EnginePool
    from h2otui.qa.collection import CollectionCache
    from h2otui.store.chats import ChatStore

PROMPT = "you> "
ANSWER = "bot> "
#: what the banner and ``--help`` say about the keys (the one place they are worded)
KEYS_HELP = (
    "Ctrl-C stops an answer (the partial answer is kept); at the prompt, Ctrl-D, Ctrl-C, "
    "/quit or /exit quits."
)
#: lines that end the chat at the prompt (as typed, surrounding blanks ignored)
QUIT_COMMANDS = frozenset({"/quit", "/exit", "/bye"})


def run_repl(
    settings: Settings,
    *,
    model: str | None = None,
    system: str | None = None,
    collection: str | None = None,
    action: str = "query",
    out: TextIO | None = None,
) -> int:
    """Chat until the user quits; returns the exit code (see the module docstring)."""
    from h2otui.chat.session import ChatSession
    from h2otui.engines.pool import EnginePool
    from h2otui.qa import ACTIONS
    from h2otui.qa.collection import CollectionCache
    from h2otui.qa.retrieval import QAError

    # answers, sources and errors are untrusted: every line goes out through visible()
    out = visible_stream(out or sys.stdout)
    if action not in ACTIONS:
        say(sys.stderr, f"error: --action {action!r}: use {', '.join(ACTIONS)}\n")
        return EXIT_USAGE
    store = _open_store(settings)
    session = ChatSession.new(settings, store, model)
    if system is not None:
        session.options.system_prompt = system
    pool = EnginePool(settings)
    collections = CollectionCache()
    name = session.options.model
    where = f", answering from collection '{collection}' ({action})" if collection else ""
    out.write(f"h2otui chat with {name}{where}. {KEYS_HELP}\n")
    out.flush()
    _enable_line_editing()
    try:
        with asyncio.Runner() as loop:
            try:
                try:
                    loop.run(_prepare(pool, name, collections, settings, collection))
                except KeyboardInterrupt:
                    out.write("\n[interrupted]\n")
                    return EXIT_INTERRUPTED
                except QAError as exc:
                    say(sys.stderr, f"error: {exc}\n")
                    return EXIT_USAGE
                while True:
                    try:
                        line = input(PROMPT)
                    except (EOFError, KeyboardInterrupt):
                        out.write("\n")
                        break
                    if not line.strip():
                        continue
                    if line.strip().lower() in QUIT_COMMANDS:
                        break
                    try:
                        loop.run(
                            answer_line(
                                session,
                                pool,
                                line,
                                collection=collection,
                                action=action,
                                collections=collections,
                                out=out,
                            )
                        )
                    except KeyboardInterrupt:  # a second Ctrl-C while the answer was saved
                        out.write("\n[interrupted]\n")
                        return EXIT_INTERRUPTED
            finally:
                loop.run(pool.aclose())
    finally:
        if store is not None:
            if session.chat_id is not None:
                say(
                    sys.stderr,
                    f"saved as chat {session.chat_id} (h2otui chats export {session.chat_id})\n",
                )
            store.close()
    return EXIT_OK


def _open_store(settings: Settings) -> ChatStore | None:
    if not settings.ui.save_chats:
        return None
    from h2otui.store.chats import ChatStore, ChatStoreError

    try:
        return ChatStore.open(settings.data_path)
    except ChatStoreError as exc:
        say(sys.stderr, f"warning: {exc}\nThis chat will not be saved.\n")
        return None


def _enable_line_editing() -> None:
    """Arrow keys and history for ``input()`` on a terminal (readline is optional)."""
    if sys.stdin.isatty():
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (importing it is what turns it on)


async def _prepare(
    pool: EnginePool,
    model: str,
    collections: CollectionCache,
    settings: Settings,
    collection: str | None,
) -> None:
    """Load the model and open the collection at once, before the first prompt: a missing
    collection is an error now, not after the first question."""
    load = asyncio.ensure_future(pool.load(model))
    try:
        if collection is not None:
            await asyncio.to_thread(collections.open, settings, collection)
        await load
    except BaseException:
        load.cancel()
        with contextlib.suppress(BaseException):  # only cleaning up; the first error counts
            await load
        raise


async def answer_line(
    session: ChatSession,
    pool: EnginePool,
    question: str,
    *,
    collection: str | None = None,
    action: str = "query",
    docs: Sequence[str] = (),
    collections: CollectionCache | None = None,
    out: TextIO,
) -> AnswerFinished | None:
    """Stream one answer to ``out``; SIGINT meanwhile stops it (see the module docstring)."""
    from h2otui.chat.events import (
        ContextTrimmed,
        HistoryError,
        Loading,
        Progress,
        TextDelta,
    )
    from h2otui.chat.runner import AnswerRunner

    runner = AnswerRunner(
        session,
        pool,
        question,
        collection=collection,
        action=action,
        docs=docs,
        collections=collections,
    )
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    interrupted = False

    def stop() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel()

    watching = _watch_sigint(loop, stop)
    writing = False
    try:
        async with aclosing(runner.events()) as events:
            async for event in events:
                match event:
                    case TextDelta(text=text):
                        if not writing:
                            out.write(ANSWER)
                            writing = True
                        out.write(text)
                        out.flush()
                    case ContextTrimmed():
                        out.write(f"[{event.describe()}]\n")
                    case Progress(message=message):
                        out.write(f"[… {message}]\n")
                        out.flush()
                    case Loading(model=model):
                        out.write(f"[loading {model}…]\n")
                        out.flush()
                    case HistoryError(message=message):
                        say(sys.stderr, f"warning: {message}\n")
    except asyncio.CancelledError:
        if not interrupted:
            raise
        task.uncancel()
    finally:
        if watching:
            loop.remove_signal_handler(signal.SIGINT)
    finished = runner.finished
    if finished is not None:
        _print_outcome(out, finished, writing, sources=collection is not None)
    out.flush()
    return finished


def _watch_sigint(loop: asyncio.AbstractEventLoop, stop: object) -> bool:
    try:
        loop.add_signal_handler(signal.SIGINT, stop)  # type: ignore[arg-type]
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / Windows
        return False
    return True


def _print_outcome(out: TextIO, finished: AnswerFinished, wrote: bool, *, sources: bool) -> None:
    if wrote and not finished.text.endswith("\n"):
        out.write("\n")
    if finished.status == "stopped":
        out.write("[stopped]\n")
    elif finished.status == "error":
        out.write(f"[error: {finished.error}]\n")
    elif finished.finish_reason == "length":
        out.write("[reached max_new_tokens]\n")
    from h2otui.commands.ask import NO_SOURCES, print_sources

    if sources and finished.sources:
        print_sources(out, finished.sources)
    elif sources and finished.status == "complete":
        out.write(NO_SOURCES)
