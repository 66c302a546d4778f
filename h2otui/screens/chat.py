"""The chat screen: a conversation with one model, saved as it happens.

Layout (``chat.tcss``)::

    ┌ #sidebar ─────┐┌ #main ───────────────────────────────┐┌ #side-panel ┐
    │ Chats         ││ #toolbar: title · model · params      ││ (hidden;    │
    │ ChatList      ││ LoadProgress (while a model loads)    ││  sources    │
    │               ││ ConversationView                      ││  panel)     │
    │               ││ ChatInput                             ││             │
    └───────────────┘└───────────────────────────────────────┘└─────────────┘
    Footer

``#toolbar`` and ``#side-panel`` are where document QA adds its collection / action
selectors and its sources panel.

Side panels yield to the chat (:meth:`ChatScreen._apply_layout`): the chat column keeps at
least :data:`CHAT_MIN_WIDTH` columns. When the open panels do not fit beside it, only the
one opened last stays, and if even that one does not fit it floats over the chat
(``-overlay``) like a drawer: it closes when the focus goes back to the chat. Below :data:`MIN_WIDTH` x :data:`MIN_HEIGHT` the
screen shows a "terminal too small" notice instead of its widgets.

Model loading and generation run in workers on the event loop (the llama.cpp engine
itself generates in a thread), so the UI never blocks. Escape cancels the generation
worker; the engine stops within its cancellation contract and the partial answer is kept
and saved as ``stopped``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import aclosing
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Label, Static
from textual.worker import Worker, WorkerState

from h2otui.chat.events import (
    AnswerFinished,
    ContextTrimmed,
    EngineReady,
    HistoryError,
    Loading,
    Progress,
    QuestionSaved,
    SourcesFound,
    TextDelta,
)
from h2otui.chat.session import ChatOptions, ChatSession, format_stats, sources_from_meta
from h2otui.config import ConfigError
from h2otui.engines.base import EngineError
from h2otui.messages import SettingsChanged
from h2otui.privacy import open_private
from h2otui.qa.citations import Passage
from h2otui.qa.collection import CollectionCache
from h2otui.safe_text import visible
from h2otui.store.chats import ChatStoreError, export_json, export_markdown
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.chat_list import ChatList
from h2otui.widgets.chat_view import (
    AssistantMessage,
    ChatMessage,
    ConversationView,
    Notice,
    QueuedNotice,
    UserMessage,
)
from h2otui.widgets.fitted_footer import FittedFooter
from h2otui.widgets.progress import LoadProgress
from h2otui.widgets.sources_panel import DocumentsPanel
from h2otui.widgets.textual_compat import error_toast_shown

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from h2otui.app import H2oTuiApp
    from h2otui.chat.runner import AnswerRunner
    from h2otui.config import Settings

EMPTY_HINT = (
    "Ask anything. Enter sends · Ctrl+J new line · Esc stops an answer · "
    "Ctrl+O model and options · Ctrl+P all commands"
)
#: terminals at least this wide show the chat list by default (ui.sidebar = "auto")
SIDEBAR_MIN_WIDTH = 100
#: the chat column never gets narrower than this because of side panels
CHAT_MIN_WIDTH = 40
#: the widths ``chat.tcss`` gives the chat list and the documents panel
SIDEBAR_WIDTH = 30
DOCUMENTS_WIDTH = 40
#: below this terminal size the screen shows :data:`TOO_SMALL` instead of its widgets
#: (a question box a few columns wide, or two rows high, is not usable)
MIN_WIDTH = 30
MIN_HEIGHT = 8
#: the footer's keys that give way first on a narrow terminal, least important first
#: (Stop, Send and Options stay longest; every key works, and Ctrl+P lists them all)
FOOTER_DROP_FIRST = (
    "copy_last",
    "command_palette",
    "toggle_sidebar",
    "documents",
    "new_chat",
    "search_chats",
    "rename",
    "delete",
)
#: seconds between the first refresh and the start-up model preload (see on_mount)
PRELOAD_DELAY = 0.5
TOO_SMALL = f"Terminal too small: make it at least {MIN_WIDTH}x{MIN_HEIGHT}."


class ChatScreen(Screen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    # the input has the focus from the first frame: Textual's default (the first
    # focusable widget, the chat list) drew the list's keys in the footer, then redrew it
    # when on_mount moved the focus, which held the finished first frame back
    AUTO_FOCUS = "#input"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "Stop", priority=True),
        Binding("ctrl+n", "new_chat", "New"),
        Binding("ctrl+o", "options", "Options"),
        # the input box binds Ctrl+Y to this too (instead of its redo)
        Binding("ctrl+y", "copy_last", "Copy"),
        Binding("ctrl+b", "toggle_sidebar", "Chats"),
        Binding("ctrl+l", "focus_chats", "Chat list", show=False),
        Binding("ctrl+e", "focus_input", "Input", show=False),
        # "Docs": every key shown fits an 80-column footer, also while answering
        Binding("ctrl+g", "documents", "Docs"),
        Binding("ctrl+r", "search_questions", "Past questions", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session: ChatSession | None = None
        self._sidebar_choice: bool | None = None
        #: the user opened the documents panel (Ctrl+G) and has not hidden it
        self._documents_open = False
        #: which side panel was opened last: it stays when both do not fit
        self._last_panel = "sidebar"
        self._generation: Worker[None] | None = None
        #: follow-ups sent while an answer streamed, sent in order when it ends
        self._queued: list[QueuedNotice] = []
        #: collections opened by this chat's answers, kept across questions
        self._collections = CollectionCache()
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """The settings this screen answers with: the app's, or the newer ones a
        :class:`~h2otui.messages.SettingsChanged` brought (settings are replaced, never
        changed in place)."""
        return self._settings if self._settings is not None else self.h2o.settings

    @property
    def h2o(self) -> H2oTuiApp:
        """The app, typed (screens never import the app module: it imports them)."""
        return cast("H2oTuiApp", self.app)

    # --- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield Label("Chats", id="sidebar-title")
                yield Label("⏎ open · r rename · d delete · / search", id="sidebar-help")
                yield ChatList(id="chat-list")
            with Vertical(id="main"):
                with Horizontal(id="toolbar"):
                    yield Label("New chat", id="chat-title")
                    yield Static("", id="model-info")
                yield LoadProgress(id="load-progress")
                yield ConversationView(id="conversation")
                yield ChatInput(
                    placeholder="Ask a question (Enter sends, Ctrl+J new line)", id="input"
                )
            with Vertical(id="side-panel"):
                yield DocumentsPanel(id="documents")
        yield Static(TOO_SMALL, id="too-small")
        yield FittedFooter(FOOTER_DROP_FIRST)

    async def on_mount(self) -> None:
        app = self.h2o
        self.session = ChatSession.new(self.settings, app.store)
        if app.store is None:
            self.query_one("#sidebar-help", Label).update("history is off")
        self._apply_layout()
        await self.query_one(ConversationView).clear(EMPTY_HINT)
        await self.refresh_chat_list()
        self._update_toolbar()
        box = self.query_one(ChatInput)
        if app.store is not None:
            with contextlib.suppress(ChatStoreError):  # Up then recalls this session's
                box.past_questions = app.store.recent_questions()
        box.focus()
        # once the first frame is on the terminal: loading imports the model library
        # (llama.cpp: a second or more, much of it holding the GIL) in a thread, and
        # started right after the first refresh it still held the frame back by
        # 0.3-0.6 s (benchmarks/bench_first_paint.py): the refresh is computed before
        # it is written. A question asked sooner loads the model itself.
        model = self.session.options.model
        if self.app.is_headless:  # no terminal, no frame to wait for (tests)
            self.call_after_refresh(self.preload_model, model)
        else:
            preload = partial(self._preload_once, model)
            self.call_after_refresh(self.set_timer, PRELOAD_DELAY, preload)

    def on_resize(self) -> None:
        self._apply_layout()

    def _sidebar_wanted(self) -> bool:
        if self._sidebar_choice is not None:
            return self._sidebar_choice
        mode = self.settings.ui.sidebar
        return mode == "show" or (mode == "auto" and self.size.width >= SIDEBAR_MIN_WIDTH)

    def _apply_layout(self, *, refocus: bool = True) -> None:
        """Show the side panels the user wants, as far as the chat keeps its width.

        Both fit beside :data:`CHAT_MIN_WIDTH` columns of chat: both show. Otherwise the
        one opened last shows alone, beside the chat if it fits, else floating over it.
        A panel hidden here is still wanted: it comes back when the terminal grows.
        ``refocus``: a hidden panel that had the focus hands it to the input (actions
        that move the focus themselves pass False)."""
        width, height = self.size
        self.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "-too-small")
        self._fit_footer(width)
        sidebar_wanted, documents_wanted = self._sidebar_wanted(), self._documents_open
        room = width - CHAT_MIN_WIDTH
        if sidebar_wanted and documents_wanted and room < SIDEBAR_WIDTH + DOCUMENTS_WIDTH:
            sidebar_wanted = self._last_panel == "sidebar"
            documents_wanted = not sidebar_wanted
        needed = SIDEBAR_WIDTH * sidebar_wanted + DOCUMENTS_WIDTH * documents_wanted
        self.set_class(needed > room, "-overlay")
        sidebar = self.query_one("#sidebar")
        panel = self.query_one("#side-panel")
        sidebar.display = sidebar_wanted
        panel.set_class(documents_wanted, "-visible")
        focused = self.focused
        if not refocus:
            return
        if focused is None:
            # the "too small" notice hid the focused widget; give the input its focus back
            if not self.has_class("-too-small"):
                self.query_one(ChatInput).focus()
            return
        if needed > room and not self._in_panel(focused):
            # a resize made a panel float over the chat the user is in: close the drawer
            self._close_panels()
        elif not (sidebar_wanted and documents_wanted):
            hidden = panel if not documents_wanted else sidebar
            if hidden in focused.ancestors_with_self:
                self.query_one(ChatInput).focus()

    def _fit_footer(self, width: int) -> None:
        for footer in self.query(FittedFooter):
            footer.fit()

    def focus_next(self, selector: str | type[Any] = "*") -> Widget | None:
        """Tab goes where it is useful: input -> the latest answer (c / y copy it) ->
        the chat list -> the documents panel -> input, skipping what is hidden. Textual's
        own order went from the input to the oldest message of the conversation."""
        if selector != "*":
            return super().focus_next(selector)
        focused = self.focused
        box = self.query_one(ChatInput)
        chats = self.query_one(ChatList)
        documents = self.query_one(DocumentsPanel)
        latest = self.query_one(ConversationView).last_answer()
        if focused is box:
            stops: list[Widget] = [w for w in (latest, chats) if w is not None]
        elif latest is not None and focused is latest:
            stops = [chats]
        elif focused is chats:
            stops = []
        else:
            return super().focus_next(selector)
        # the panel's selector, once the panel is built (just after the first frame)
        panel = list(documents.query("#qa-collection"))
        for widget in [*stops, *panel, box]:
            if widget.focusable and self._shown(widget):
                widget.focus()
                if isinstance(widget, ChatMessage):
                    widget.scroll_visible(animate=False)
                return widget
        return super().focus_next(selector)

    def _shown(self, widget: Widget) -> bool:
        """Whether ``widget`` and all its ancestors are displayed."""
        return all(node.display for node in widget.ancestors_with_self if isinstance(node, Widget))

    def _close_panels(self) -> None:
        """Close the side panels the user had open (a ``ui.sidebar = "auto"`` chat list
        that was not open stays automatic)."""
        if self._sidebar_wanted():
            self._sidebar_choice = False
        self._documents_open = False
        self._apply_layout(refocus=False)

    def _in_panel(self, widget: Widget) -> bool:
        """Whether ``widget`` is in the chat list or the documents panel."""
        chain = widget.ancestors_with_self
        return self.query_one("#sidebar") in chain or self.query_one("#side-panel") in chain

    def _update_toolbar(self) -> None:
        session = self.session
        if session is None:
            return
        title = session.title or "New chat"
        self.query_one("#chat-title", Label).update(Text(visible(title)))
        info = f"{session.options.model} · {session.options.summary()}"
        docs = self.query_one(DocumentsPanel).describe()
        if docs:
            info += f" · {docs}"
        self.query_one("#model-info", Static).update(Text(visible(info)))
        self.sub_title = visible(title)

    async def refresh_chat_list(self) -> None:
        store = self.h2o.store
        chats = store.list_chats() if store is not None else []
        current = self.session.chat_id if self.session else None
        await self.query_one(ChatList).set_chats(chats, current)

    # --- state ----------------------------------------------------------------------------

    @property
    def generating(self) -> bool:
        worker = self._generation
        return worker is not None and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            # shown in the footer only while answering (or follow-ups wait)
            return self.generating or bool(self._queued)
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._generation:
            self.refresh_bindings()
            if event.state == WorkerState.SUCCESS:
                self.call_later(self._send_queued)
            elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
                self.call_later(self._drop_queue)

    # --- sending ---------------------------------------------------------------------------

    @on(ChatInput.Submitted)
    async def on_submitted(self, event: ChatInput.Submitted) -> None:
        event.stop()
        event.input.remember(event.text)
        if self.generating:
            # a follow-up typed while the answer streams waits its turn (Esc drops it)
            notice = QueuedNotice(event.text)
            self._queued.append(notice)
            await self.query_one(ConversationView).add(notice)
            event.input.clear()
            return
        await self.ask(event.text)
        event.input.clear()

    async def _send_queued(self) -> None:
        """The answer ended: send the first queued follow-up, if any."""
        if not self._queued or self.generating:
            return
        notice = self._queued.pop(0)
        await notice.remove()
        await self.ask(notice.question)

    async def _drop_queue(self) -> None:
        queued, self._queued = self._queued, []
        for notice in queued:
            await notice.remove()
        if queued:
            n = len(queued)
            self.notify(f"Dropped {n} queued question{'s' * (n > 1)}.", timeout=3)

    async def ask(self, question: str) -> None:
        """Show the question and start answering it in a worker."""
        session = self.session
        assert session is not None
        question = question.strip("\n")
        documents = self.query_one(DocumentsPanel)
        # imported with the first question: the answer path is not needed for the first frame
        from h2otui.chat.runner import AnswerRunner

        runner = AnswerRunner(
            session,
            self.h2o.engines,
            question,
            collection=documents.collection,
            action=documents.action,
            collections=self._collections,
            # an unhandled error sets the return code before the app cancels its workers
            view_closing=lambda: bool(self.app.return_code),
        )
        view = self.query_one(ConversationView)
        await view.add(UserMessage(question))
        answer = AssistantMessage(session.options.model)
        await view.add(answer)
        self._generation = self.generate(runner, answer)
        self.refresh_bindings()

    @work(exclusive=True, group="generate", exit_on_error=False)
    async def generate(self, runner: AnswerRunner, answer: AssistantMessage) -> None:
        """Render one answer's events into ``answer``; the runner saves it as it goes.

        Esc cancels this worker: the runner stops the engine and saves the partial
        answer as ``stopped``; ``runner.finished`` has the outcome either way."""
        view = self.query_one(ConversationView)
        progress = self.query_one(LoadProgress)
        documents = self.query_one(DocumentsPanel)
        loading = False
        try:
            async with aclosing(runner.events()) as events:
                async for event in events:
                    match event:
                        case TextDelta(text=text):
                            if answer.status != "streaming":
                                answer.finish("streaming", "")
                            await answer.write(text)
                        case QuestionSaved():
                            self._update_toolbar()
                            await self.refresh_chat_list()
                        case HistoryError(message=message):
                            self.notify(message, title="Chat history", severity="error")
                        case Loading(model=model):
                            loading = True
                            answer.set_waiting(f"loading {model}…")
                            progress.begin(f"Loading {model}")
                        case EngineReady():
                            if loading:
                                loading = False
                                progress.end()
                            answer.set_waiting("thinking…")
                        case ContextTrimmed():
                            note = event.describe()
                            await view.mount(Notice(note), before=answer)
                            self.notify(note, title="Context", severity="warning")
                        case SourcesFound(passages=passages, dropped=dropped):
                            documents.record(answer, passages, dropped, runner.question)
                        case Progress(message=message):
                            if not answer.text:
                                answer.set_waiting(message)
                        case AnswerFinished():
                            pass  # rendered below, like a stopped answer
        finally:
            if loading:
                progress.end()
            await answer.end_stream()
            self._render_outcome(runner, answer)

    def _render_outcome(self, runner: AnswerRunner, answer: AssistantMessage) -> None:
        finished = runner.finished
        if finished is None:  # cancelled before the question was even recorded
            answer.finish("stopped", "")
            return
        answer.finish(finished.status, finished.stats_line())
        if finished.qa_result is not None or finished.sources:
            self.query_one(DocumentsPanel).record(
                answer, finished.sources, finished.dropped, runner.question
            )
        if finished.save_error:
            self.notify(finished.save_error, title="Chat history", severity="error")
        if finished.status == "error" and finished.error:
            message = finished.error
            if finished.text:
                message = f"The answer broke off: {message}"
            self._show_error(message, answer.model)
        elif finished.status == "stopped":
            # the footer (Esc Stop) is refreshed when the worker's state changes
            self.notify("Stopped. The partial answer is kept.", timeout=3)

    async def _load_engine(self, model: str) -> Any:
        pool = self.h2o.engines
        # building the engine imports its library (llama.cpp: a second or more): in a
        # thread, so the event loop keeps drawing meanwhile (the first frame included);
        # a daemon one, which a quit does not wait for (asyncio.to_thread's is joined)
        from h2otui.engines.threaded import run_in_daemon_thread

        engine = await asyncio.wrap_future(run_in_daemon_thread(pool.get, model))
        if pool.is_loaded(model):
            return engine
        progress = self.query_one(LoadProgress)
        progress.begin(f"Loading {model}")
        try:
            return await pool.load(model)
        finally:
            progress.end()

    def _preload_once(self, model: str) -> None:
        """The start-up preload, unless a question or a model switch got there first."""
        if not self.generating and not self.h2o.engines.is_loaded(model):
            self.preload_model(model)

    @work(group="load", exit_on_error=False)
    async def preload_model(self, model: str) -> None:
        """Load the chat's model in the background so the first answer starts quickly."""
        try:
            await self._load_engine(model)
        except (EngineError, ConfigError) as exc:
            self._show_error(str(exc), model)
        except Exception as exc:  # shown; the chat keeps working
            self._show_error(f"{type(exc).__name__}: {exc}", model)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications here carry server errors, model ids, file names and chat titles:
        never parsed as markup, controls made visible."""
        super().notify(
            visible(message),
            title=visible(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def _show_error(self, message: str, model: str | None = None) -> None:
        """An engine's error as a toast titled with the model, named once: the engines'
        messages start with ``model 'NAME': `` for the CLI, which the title already says.
        The same error again (the preload failed, then each question) is not stacked:
        the answer shows it, and the toasts would fill the screen."""
        title = "Model error"
        if model:
            title = f"{model}: error"
            for prefix in (f"model '{model}': ", f"model {model}: "):
                if message.startswith(prefix):
                    message = message[len(prefix) :]
                    message = message[:1].upper() + message[1:]
        if (title, message) == self._last_error and error_toast_shown(self.app):
            return
        self._last_error = (title, message)
        self.notify(message, title=title, severity="error", timeout=12, markup=False)

    _last_error: tuple[str, str] | None = None

    # --- actions ------------------------------------------------------------------------------

    async def action_stop(self) -> None:
        """Esc: stop the answer, and drop the follow-ups queued behind it."""
        await self._drop_queue()
        if self.generating and self._generation is not None:
            self._generation.cancel()

    async def _stop_and_wait(self) -> None:
        await self._drop_queue()
        worker = self._generation
        if worker is not None and self.generating:
            worker.cancel()
            # WorkerCancelled / WorkerFailed are the expected outcomes here
            with contextlib.suppress(Exception):
                await worker.wait()

    async def action_new_chat(self) -> None:
        await self._stop_and_wait()
        app = self.h2o
        model = self.session.options.model if self.session else None
        self.session = ChatSession.new(self.settings, app.store, model)
        if self.session.options.model not in {m.name for m in self.settings.models}:
            self.session = ChatSession.new(self.settings, app.store)
        await self.query_one(ConversationView).clear(EMPTY_HINT)
        # the collection stays selected for the new chat; the old answers' sources go
        self.query_one(DocumentsPanel).forget_sources()
        self._update_toolbar()
        await self.refresh_chat_list()
        self.query_one(ChatInput).focus()

    async def open_chat(self, chat_id: int) -> None:
        """Show a saved chat and continue it with its model, settings and history."""
        store = self.h2o.store
        if store is None:
            return
        with contextlib.suppress(ChatStoreError):
            if store.get_chat(chat_id).kind == "compare":  # reopens as its grid
                await self.app.switch_mode("compare")
                opener = getattr(self.app.screen, "open_compare", None)
                if callable(opener):
                    await opener(chat_id)
                return
        await self._stop_and_wait()
        try:
            session, messages, warnings = ChatSession.restore(self.settings, store, chat_id)
        except ChatStoreError as exc:
            self.notify(str(exc), title="Chat history", severity="error")
            return
        self.session = session
        view = self.query_one(ConversationView)
        await view.clear()
        documents = self.query_one(DocumentsPanel)
        documents.forget_sources()
        widgets: list[Static | ChatMessage] = []
        question = ""
        for m in messages:
            if m.role == "user":
                question = m.content
                widgets.append(UserMessage(m.content))
            elif m.role == "assistant":
                line = format_stats(m.stats) if m.content else ""
                if m.error:
                    line = (line + " · " if line else "") + m.error
                answer = AssistantMessage(
                    m.model or session.options.model, m.content, status=m.status, stats=line
                )
                sources, dropped = sources_from_meta(m.meta)
                if sources or dropped:
                    documents.record(answer, sources, dropped, question)
                widgets.append(answer)
        # follow-ups go to the collection (and action) the chat was answering from
        documents.restore(session.collection, session.action)
        if widgets:
            await view.mount_all(widgets)
        else:
            await view.clear(EMPTY_HINT)
        view.anchor()
        view.schedule_fold_sync()
        for warning in warnings:
            self.notify(warning, title="Chat", severity="warning")
        self._update_toolbar()
        await self.refresh_chat_list()
        self.query_one(ChatInput).focus()
        self.preload_model(session.options.model)

    def action_options(self) -> None:
        from h2otui.screens.chat_options import ChatOptionsScreen

        session = self.session
        if session is None:
            return
        settings = self.settings
        default_system, default_note = self._default_system_prompt(session.options.model)

        def apply(options: ChatOptions | None) -> None:
            if options is None or self.session is not session:
                return
            try:
                session.set_options(options)
            except ChatStoreError as exc:
                self.notify(str(exc), title="Chat history", severity="error")
            self._update_toolbar()
            self.notify(
                f"{options.model} · {options.summary()}", title="Options applied", timeout=3
            )
            self.preload_model(options.model)

        self.app.push_screen(
            ChatOptionsScreen(
                session.options.copy(),
                [m.name for m in settings.models],
                default_system,
                default_note,
            ),
            apply,
        )

    def _default_system_prompt(self, model: str) -> tuple[str, str]:
        """The system prompt ``model`` answers with when the chat sets none, as text to
        show, and a note saying where it comes from. ``"auto"`` is resolved through the
        engine (its prompt type's default) once the model is loaded."""
        default = ChatOptions(model).effective_system_prompt(self.settings)
        if default != "auto":
            return default, "" if default else "Default: no system prompt."
        pool = self.h2o.engines
        resolved: str | None = None
        if pool.is_loaded(model):
            with contextlib.suppress(ConfigError, EngineError):
                resolved = pool.get(model).default_system_prompt()
        if resolved is None:
            return "", "Default: the model's own (its chat template or server decides)."
        if not resolved:
            return "", "Default: no system prompt (this model's prompt type has none)."
        return resolved, "Default: this model's prompt type's system prompt."

    def action_copy_last(self) -> None:
        answer = self.query_one(ConversationView).last_answer()
        if answer is None or not answer.text:
            self.notify("There is no answer to copy yet.", severity="warning")
            return
        self._copy(answer.text, "the last answer")

    @on(ChatMessage.CopyRequested)
    def on_copy_requested(self, event: ChatMessage.CopyRequested) -> None:
        event.stop()
        if not event.text:
            self.notify("This message is empty.", severity="warning")
            return
        self._copy(event.text, "the message")

    def _copy(self, text: str, what: str) -> None:
        # OSC 52: the terminal (also over SSH, and in tmux with set-clipboard on) sets the
        # clipboard of the machine the user sits at
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {what} ({len(text)} characters) to the clipboard.", timeout=3)

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one("#sidebar")
        self._sidebar_choice = not sidebar.display
        if self._sidebar_choice:
            self._last_panel = "sidebar"
        self._apply_layout(refocus=False)
        if sidebar.display:
            self.query_one(ChatList).focus()
        else:
            self.query_one(ChatInput).focus()

    def action_focus_chats(self) -> None:
        self._sidebar_choice = True
        self._last_panel = "sidebar"
        self._apply_layout(refocus=False)
        self.query_one(ChatList).focus()

    def action_focus_input(self) -> None:
        self.query_one(ChatInput).focus()

    async def action_documents(self) -> None:
        """Show the documents panel (collection, action, sources) and focus it; pressed
        in the panel, hide it. Hiding keeps the collection: answers still come from it
        and the toolbar still says ``docs: NAME`` (the panel takes 40 columns a narrow
        terminal needs for the chat)."""
        panel = self.query_one("#side-panel")
        documents = self.query_one(DocumentsPanel)
        if panel.has_class("-visible") and documents.has_focus_within:
            self.hide_documents()
            return
        opening = not panel.has_class("-visible")
        self._documents_open = True
        self._last_panel = "documents"
        self._apply_layout(refocus=False)
        await documents.build()  # built just after the first frame: only a fast Ctrl+G waits
        if opening:
            documents.refresh_collections()
        documents.query_one("#qa-collection").focus()

    def hide_documents(self) -> None:
        """Hide the documents panel; the selected collection stays selected."""
        self._documents_open = False
        self._apply_layout(refocus=False)
        self.query_one(ChatInput).focus()

    @on(events.DescendantFocus)
    def _close_drawers(self, event: events.DescendantFocus) -> None:
        """A panel floating over the chat (``-overlay``) is a drawer: it closes when the
        focus moves to the chat, so a narrow terminal never shows the chat half covered."""
        if not self.has_class("-overlay"):
            return
        if self._in_panel(event.widget):
            return
        # also the panel the drawer had hidden: closing one must not uncover another
        self._close_panels()

    @on(DocumentsPanel.Changed)
    def on_documents_changed(self, event: DocumentsPanel.Changed) -> None:
        event.stop()
        self._update_toolbar()

    @on(DocumentsPanel.SourceRequested)
    def on_source_requested(self, event: DocumentsPanel.SourceRequested) -> None:
        from h2otui.screens.source_view import SourceScreen

        event.stop()
        p = event.passage
        question = self.query_one(DocumentsPanel).question
        self.app.push_screen(SourceScreen(p.label(event.n), p.text, p.source, question))

    @on(DocumentsPanel.CollectionsListed)
    def on_collections_listed(self, event: DocumentsPanel.CollectionsListed) -> None:
        event.stop()
        self._collections.forget()

    def on_settings_changed(self, event: SettingsChanged) -> None:
        """The app's settings were replaced: answer with the new ones from now on (the
        chat keeps its own options), and redraw what shows them."""
        self._settings = event.new
        if self.session is not None:
            self.session.settings = event.new
        if event.old.data_path != event.new.data_path:
            self._collections.forget()
            self.query_one(DocumentsPanel).refresh_collections()
        self._apply_layout()
        self._update_toolbar()

    def _current_chat(self) -> int | None:
        if self.session is None or self.session.chat_id is None:
            self.notify("This chat is not saved yet: ask something first.", severity="warning")
            return None
        return self.session.chat_id

    def action_rename_chat(self, chat_id: int | None = None) -> None:
        from h2otui.screens.text_prompt import TextPromptScreen

        chat_id = chat_id if chat_id is not None else self._current_chat()
        store = self.h2o.store
        if chat_id is None or store is None:
            return
        try:
            current = store.get_chat(chat_id).title
        except ChatStoreError as exc:
            self.notify(str(exc), severity="error")
            return

        async def rename(title: str | None) -> None:
            if not title:
                return
            try:
                store.rename_chat(chat_id, title)
            except ChatStoreError as exc:
                self.notify(str(exc), severity="error")
                return
            if self.session is not None and self.session.chat_id == chat_id:
                self.session.title = " ".join(title.split())
                self._update_toolbar()
            await self.refresh_chat_list()

        self.app.push_screen(TextPromptScreen("Rename chat", current), rename)

    def action_delete_chat(self, chat_id: int | None = None) -> None:
        from h2otui.screens.confirm import ConfirmScreen

        chat_id = chat_id if chat_id is not None else self._current_chat()
        store = self.h2o.store
        if chat_id is None or store is None:
            return
        try:
            title = store.get_chat(chat_id).title or "Untitled chat"
        except ChatStoreError as exc:
            self.notify(str(exc), severity="error")
            return

        async def delete(confirmed: bool | None) -> None:
            if not confirmed:
                return
            if self.session is not None and self.session.chat_id == chat_id:
                await self.action_new_chat()
            try:
                store.delete_chat(chat_id)
            except ChatStoreError as exc:
                self.notify(str(exc), severity="error")
                return
            await self.refresh_chat_list()
            self.notify(f"Deleted “{title}”.", timeout=3)

        self.app.push_screen(
            ConfirmScreen(
                f"Delete the chat “{title}”? This cannot be undone.", yes="Delete", danger=True
            ),
            delete,
        )

    # --- search and export ---------------------------------------------------------------

    def action_search_questions(self) -> None:
        """Ctrl+R: search the questions asked before (in every chat); the one picked
        goes into the input, to edit or send."""
        from h2otui.screens.picker import PickerScreen

        box = self.query_one(ChatInput)
        past = list(box.past_questions)

        def search(query: str) -> list[tuple[str, Any]]:
            words = query.lower().split()
            return [(q, q) for q in past if all(w in q.lower() for w in words)]

        def picked(question: str | None) -> None:
            if question is not None:
                box.load_text(question)
                box.move_cursor(box.document.end)
            box.focus()

        self.app.push_screen(
            PickerScreen(
                "Past questions (Enter puts it in the input)",
                search,
                empty="No past question matches.",
            ),
            picked,
        )

    def action_search_chats(self) -> None:
        """Search saved chats by title and content; Enter opens the one picked."""
        from h2otui.screens.picker import PickerScreen

        store = self.h2o.store
        if store is None:
            self.notify("Chat history is off: there are no saved chats.", severity="warning")
            return

        def search(query: str) -> list[tuple[str, Any]]:
            return [
                (f"{chat.title or 'Untitled chat'} · {chat.model}", chat.id)
                for chat in store.search_chats(query, kind="chat")
            ]

        async def picked(chat_id: int | None) -> None:
            if chat_id is not None:
                await self.open_chat(chat_id)

        self.app.push_screen(
            PickerScreen(
                "Search chats (titles and messages)",
                search,
                placeholder="Words to find in a chat's title or messages",
                empty="No chat matches.",
            ),
            picked,
        )

    def action_export_chat(self, fmt: str = "md") -> None:
        """Write the current chat as Markdown (``md``) or JSON to a file the user names
        (the current directory by default); an existing file is never overwritten."""
        from h2otui.screens.text_prompt import TextPromptScreen

        chat_id = self._current_chat()
        store = self.h2o.store
        if chat_id is None or store is None:
            return
        default = Path.cwd() / f"h2otui-chat-{chat_id}.{fmt}"

        def write(path_text: str | None) -> None:
            if not path_text:
                return
            path = Path(path_text).expanduser()
            try:
                export = store.export(chat_id)
                if fmt == "json":
                    text = export_json(export) + "\n"
                else:
                    text = export_markdown(export, _source_label)
                fd = open_private(path, os.O_WRONLY | os.O_EXCL)
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text)
            except FileExistsError:
                self.notify(
                    f"{path} exists: export again and give another name.",
                    title="Export",
                    severity="error",
                )
                return
            except (OSError, ChatStoreError) as exc:
                self.notify(f"Could not write {path}: {exc}", title="Export", severity="error")
                return
            self.notify(f"Exported the chat to {path}", title="Export", timeout=6)

        self.app.push_screen(
            TextPromptScreen(f"Export this chat ({fmt.upper()}) to the file", str(default)),
            write,
        )

    def action_open_in_editor(self) -> None:
        """Show the current chat, as Markdown, in ``$VISUAL`` / ``$EDITOR``: the app
        hands the terminal over until the editor exits. The file is a private temporary
        copy (0600, in the data dir's ``tmp``), deleted afterwards; edits are not read
        back (Export keeps a copy)."""
        chat_id = self._current_chat()
        store = self.h2o.store
        if chat_id is None or store is None:
            return
        var = "VISUAL" if os.environ.get("VISUAL", "").strip() else "EDITOR"
        command = os.environ.get(var, "").strip()
        if not command:
            self.notify(
                "Set $VISUAL or $EDITOR to your editor (e.g. export EDITOR=vim) to open "
                "chats in it; Export writes one to a file.",
                title="Editor",
                severity="warning",
            )
            return
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            self.notify(f"${var} is not a command line ({exc}): {command}", severity="error")
            return
        try:
            text = export_markdown(store.export(chat_id), _source_label)
            tmp_dir = self.settings.data_path / "tmp"
            tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f"chat-{chat_id}-", suffix=".md", dir=tmp_dir)
            with os.fdopen(fd, "w", encoding="utf-8") as out:  # mkstemp: 0600
                out.write(text)
        except (OSError, ChatStoreError) as exc:
            self.notify(f"Could not write the chat for the editor: {exc}", severity="error")
            return
        path = Path(name)
        try:
            with self.app.suspend():
                returncode = subprocess.run([*argv, str(path)], check=False).returncode
        except SuspendNotSupported:
            self.notify(
                "This terminal cannot be handed to an editor; use Export instead.",
                title="Editor",
                severity="error",
            )
            return
        except OSError as exc:
            self.notify(
                f"Could not run ${var} ({argv[0]}): {exc}", title="Editor", severity="error"
            )
            return
        finally:
            path.unlink(missing_ok=True)
        if returncode != 0:
            self.notify(
                f"The editor ({argv[0]}) exited with status {returncode}.",
                title="Editor",
                severity="warning",
            )

    @on(ChatList.Action)
    async def on_chat_list_action(self, event: ChatList.Action) -> None:
        event.stop()
        if event.action == "open":
            await self.open_chat(event.chat_id)
        elif event.action == "rename":
            self.action_rename_chat(event.chat_id)
        elif event.action == "delete":
            self.action_delete_chat(event.chat_id)

    # --- command palette --------------------------------------------------------------

    def switch_model(self, model: str) -> None:
        """Continue this chat with another configured model (kept with the chat)."""
        session = self.session
        if session is None or model == session.options.model:
            return
        options = session.options.copy()
        options.model = model
        try:
            session.set_options(options)
        except ChatStoreError as exc:
            self.notify(str(exc), title="Chat history", severity="error")
        self._update_toolbar()
        self.notify(f"Now answering with {model}.", title="Model", timeout=3)
        self.preload_model(model)

    async def action_why_sources(self) -> None:
        """The retrieval inspector on the last question, against the selected collection."""
        collection = self.query_one(DocumentsPanel).collection
        turns = self.session.turns if self.session else []
        if collection is None or not turns:
            self.notify("Ask a question from a document collection first (Ctrl+G).", timeout=4)
            return
        await self.app.switch_mode("collections")
        inspect = getattr(self.app.screen, "inspect_question", None)
        if callable(inspect):
            inspect(collection, turns[-1].question)

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        """Every chat action, for the command palette (Ctrl+P)."""
        current = self.session.options.model if self.session else None
        models: list[tuple[str, str, Callable[[], Any]]] = [
            (
                f"Use model {entry.name}",
                f"Continue this chat with {entry.name}"
                + (f" ({entry.engine})" if entry.engine else ""),
                partial(self.switch_model, entry.name),
            )
            for entry in self.settings.models
            if entry.name != current
        ]
        return [
            *models,
            ("New chat", "Start a new conversation (Ctrl+N)", self.action_new_chat),
            (
                "Stop the answer",
                "Stop generating; the partial answer is kept (Esc)",
                self.action_stop,
            ),
            (
                "Chat options: model, system prompt, sampling",
                "Pick the model and set the system prompt and sampling parameters (Ctrl+O)",
                self.action_options,
            ),
            (
                "Copy the last answer",
                "Copy it to the clipboard via OSC 52 (Ctrl+Y)",
                self.action_copy_last,
            ),
            (
                "Toggle the chat list",
                "Show or hide saved chats (Ctrl+B)",
                self.action_toggle_sidebar,
            ),
            ("Focus the chat list", "Move to the saved chats (Ctrl+L)", self.action_focus_chats),
            ("Focus the input", "Move to the question box (Ctrl+E)", self.action_focus_input),
            (
                "Documents: collection, action, sources",
                "Answer from a document collection; see the sources of an answer (Ctrl+G)",
                self.action_documents,
            ),
            (
                "Hide the documents panel",
                "Give the chat the room; the collection stays selected (Ctrl+G in the panel)",
                self.hide_documents,
            ),
            (
                "Why these sources?",
                "Open the retrieval inspector on the last question (Collections screen)",
                self.action_why_sources,
            ),
            (
                "Search chats",
                "Find saved chats by title or message text (/ in the chat list)",
                self.action_search_chats,
            ),
            (
                "Search past questions",
                "Put a question asked before into the input (Ctrl+R; Up recalls the last)",
                self.action_search_questions,
            ),
            (
                "Export this chat as Markdown",
                "Write it to a .md file, sources included",
                partial(self.action_export_chat, "md"),
            ),
            (
                "Open this chat in $EDITOR",
                "Read it as Markdown in $VISUAL / $EDITOR (a private temporary copy)",
                self.action_open_in_editor,
            ),
            (
                "Export this chat as JSON",
                "Write it to a .json file, exact text and sources",
                partial(self.action_export_chat, "json"),
            ),
            ("Rename this chat", "Give the current chat a new title", self.action_rename_chat),
            ("Delete this chat", "Delete the current chat (asks first)", self.action_delete_chat),
        ]


def _source_label(n: int, saved: dict[str, Any]) -> str:
    """A saved source cited as ``ask --show-sources`` cites it (``h2otui chats export``)."""
    try:
        return Passage.from_meta(saved).label(n)
    except (TypeError, ValueError):
        return f"[{n}] {saved.get('source', '?')}"
