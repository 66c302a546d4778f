"""The compare screen: 2-4 models answer the same question side by side, streaming at once.

Layout (``compare.tcss``)::

    ┌ #toolbar: title · collection/action · mode ───────────────────────────────┐
    │ #docs-bar: collection picker · action picker                              │
    │ #tabs (stacked layout only): 1 model-a ● │ 2 model-b ◌ │ ...              │
    │ ┌ AnswerColumn ──┐┌ AnswerColumn ──┐┌ ...                                 │
    │ │ name           ││ name           │                                      │
    │ │ live stats     ││ live stats     │                                      │
    │ │ rounds so far  ││ rounds so far  │                                      │
    │ └────────────────┘└────────────────┘                                      │
    │ #sources (shown once for all models) · #vote-bar (arena)                  │
    │ ChatInput                                                                 │
    └ Footer ───────────────────────────────────────────────────────────────────┘

**Width-adaptive**: every column side by side when each gets :data:`COLUMN_MIN_WIDTH`
cells (h2oGPT's ``model_lock_columns``); otherwise *stacked*: one column at a time with a
tab strip naming every model and its state, F6 / Shift+F6 switch (usable at 80x24).
Below :data:`MIN_WIDTH` x :data:`MIN_HEIGHT` a "too small" notice replaces the widgets.

**Answers** run through :class:`~h2otui.chat.compare.CompareSession`, one worker per
model. Text arrives as events; each column gathers it, and a timer hands it to the
column's :class:`~h2otui.widgets.stream_text.StreamText` at most every
:data:`REFRESH_S`, one column per tick, which re-wraps only the last lines and repaints
only that column (no layout of the screen): four fast streams cost four small repaints
per :data:`REFRESH_S`, never one per token nor four in one frame
(``benchmarks/bench_compare.py``). Esc stops every answer, Ctrl+K the focused one; an error shows
in its own column while the others go on. In-process models beyond
``compare.local_concurrency`` show "queued" until a slot frees.

**Arena** (Ctrl+B): two of the models answer as A and B, randomly assigned, names hidden;
when both are done the vote bar asks A / B / tie / both bad; the vote is saved
(:class:`~h2otui.store.arena.ArenaStore`) and the names revealed. Questions asked before
the vote are follow-ups to the same hidden pair, in the same compare.

Untrusted text (answers, model names, file names) is shown as rich ``Text`` through
:func:`~h2otui.safe_text.visible`, never parsed as markup.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from contextlib import aclosing
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Label, Static
from textual.worker import Worker, WorkerState

from h2otui.chat.compare import CompareError, CompareSession, Queued, merge_runner
from h2otui.chat.events import (
    AnswerFinished,
    EngineReady,
    HistoryError,
    Loading,
    Progress,
    SourcesFound,
    TextDelta,
)
from h2otui.chat.session import format_stats
from h2otui.messages import SettingsChanged
from h2otui.safe_text import visible
from h2otui.screens.arena_board import LeaderboardScreen
from h2otui.screens.compare_diff import DiffScreen
from h2otui.screens.compare_merge import MergeScreen
from h2otui.screens.compare_models import ModelPickerScreen
from h2otui.widgets.chat_input import ChatInput
from h2otui.widgets.collection_bar import CollectionBar
from h2otui.widgets.stream_text import StatusLine, StreamText

if TYPE_CHECKING:
    from h2otui.app import H2oTuiApp
    from h2otui.chat.compare import Round
    from h2otui.chat.runner import AnswerRunner
    from h2otui.config import Settings
    from h2otui.qa.citations import Passage
    from h2otui.store.chats import StoredMessage

#: below this each column gets too narrow to read: the layout stacks
COLUMN_MIN_WIDTH = 34
MIN_WIDTH = 30
MIN_HEIGHT = 8
TOO_SMALL = f"Terminal too small: make it at least {MIN_WIDTH}x{MIN_HEIGHT}."
#: live text and stats are repainted at most this often (seconds)
REFRESH_S = 0.1
#: a column consuming a burst of tokens lets the event loop run at least this often
YIELD_EVERY_S = 0.004
ARENA_LABELS = ("A", "B")
VERDICT_BUTTONS = (
    ("vote-a", "a", "A is better"),
    ("vote-b", "b", "B is better"),
    ("vote-tie", "tie", "Tie"),
    ("vote-bad", "both_bad", "Both bad"),
)
HINT = (
    "Ask once, every model answers. Enter sends · Esc stops all · Ctrl+K stops this one · "
    "F6 next column · Ctrl+O models · Ctrl+T collection · Ctrl+B arena · Ctrl+P all commands"
)


class AnswerColumn(Vertical):
    """One model's column: its name, live stats, and every round of its answers.

    The rounds are shown by one :class:`~h2otui.widgets.stream_text.StreamText`: text
    written while streaming is gathered and handed to it by :meth:`render_now` (the
    screen's timer), which re-wraps only the last lines and repaints only this column.
    """

    can_focus = False

    def __init__(self, model: str, label: str, index: int) -> None:
        super().__init__(classes="answer-column")
        self.model = model
        #: what the header shows (the model's name, or A / B in the arena)
        self.label = label
        self.index = index
        self.state = "idle"
        self.worker: Worker[None] | None = None
        #: what the view has yet to show, in order: new paragraphs (text, style) and
        #: streamed text (a str), handed over at the next :meth:`render_now`
        self._pending: list[tuple[str, str] | str] = []
        self._has_rounds = False
        self._question = ""
        self._parts: list[str] = []
        self._started: float | None = None
        self._first: float | None = None
        self._tokens = 0
        self._final: AnswerFinished | None = None
        #: a reopened round's saved status and stats (it has no AnswerFinished)
        self._restored = ("stopped", "")
        #: the current round's answer ended (in any way)
        self.done = False
        self.dirty = False
        #: the repaint timer leaves the column alone until then (perf_counter seconds)
        self.next_paint = 0.0

    def compose(self) -> ComposeResult:
        yield Label(self._header(), classes="col-header", markup=False)
        yield StatusLine(classes="col-stats")
        yield StreamText(classes="col-body")

    # --- state -----------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The current answer's text so far."""
        return "".join(self._parts)

    @property
    def shown(self) -> str:
        """What the column shows once repainted: every round, then the stats."""
        view = self.query_one(StreamText)
        return f"{view.plain}\n{self.query_one(StatusLine).plain}"

    @property
    def busy(self) -> bool:
        w = self.worker
        return w is not None and w.state in (WorkerState.PENDING, WorkerState.RUNNING)

    @property
    def finished(self) -> AnswerFinished | None:
        return self._final

    def _header(self) -> str:
        return visible(self.label)

    def reveal(self) -> None:
        self.label = f"{self.label} · {self.model}"
        self.query_one(".col-header", Label).update(self._header())

    def _paragraph(self, text: str, style: str = "") -> None:
        self._pending.append((text, style))
        self.dirty = True

    def _show_question(self, question: str) -> None:
        if self._has_rounds:
            self._paragraph("")
        self._has_rounds = True
        self._paragraph("› " + question, "bold")

    def _show_outcome(self, status: str, stats: str) -> None:
        if status != "complete":
            self._paragraph(f"[{status}]", "italic")
        if stats:
            self._paragraph(stats, "dim")

    def show_merge(self, by: str, text: str, status: str) -> None:
        """The merged answer (Ctrl+G) to the current round, under this column's answer."""
        self._paragraph("")
        heading = f"⇒ Merged by {by}" + ("" if status == "complete" else f" [{status}]")
        self._paragraph(heading, "bold")
        self._paragraph(text)

    def add_round(
        self,
        question: str,
        answer: str,
        status: str,
        stats: str = "",
        merged: StoredMessage | None = None,
    ) -> None:
        """A finished round of a reopened compare (with the merge this model made)."""
        self._show_round(question, answer, merged)
        self._show_outcome(status, stats)

    def _show_round(self, question: str, answer: str, merged: StoredMessage | None) -> None:
        self._show_question(question)
        self._paragraph(answer)
        if merged is not None:
            self.show_merge(self.model, merged.content, merged.status)

    def restore_current(
        self,
        question: str,
        answer: str,
        status: str,
        stats: str,
        merged: StoredMessage | None = None,
    ) -> None:
        """A reopened compare's last round: current, so diff, merge and copy work on it."""
        self._show_round(question, answer, merged)
        self._question, self._parts = question, [answer]
        self._restored = (status, stats)
        self.done = True
        self.set_state(status)

    def begin(self, question: str) -> None:
        if self._question:  # the round shown so far becomes an earlier one
            f = self._final
            status, stats = self._restored
            self._show_outcome(f.status if f else status, f.stats_line() if f else stats)
        self._restored = ("stopped", "")
        self._question = question
        self._show_question(question)
        self._paragraph("")
        self._parts = []
        self._started = time.perf_counter()
        self._first = None
        self._tokens = 0
        self._final = None
        self.done = False
        self.set_state("waiting…")

    def set_state(self, state: str) -> None:
        self.state = state
        self.set_class(state.startswith("queued"), "-queued")
        self.dirty = True

    def write(self, text: str) -> None:
        if self._first is None:
            self._first = time.perf_counter()
            self.set_state("streaming")
        self._parts.append(text)
        self._pending.append(text)
        self._tokens += 1
        self.dirty = True

    def engine_ready(self) -> None:
        self._started = time.perf_counter()
        self.set_state("thinking…")

    def finish(self, finished: AnswerFinished | None) -> None:
        self._final = finished
        self.done = True
        if finished is None:
            self.set_state("stopped before it started")
        elif finished.status == "error":
            self.set_state("error")
        else:
            self.set_state(finished.status)
        self.set_class(finished is not None and finished.status == "error", "-error")
        self.dirty = True

    def stats_line(self) -> str:
        f = self._final
        if f is not None:
            parts = [f.status]
            if f.text:
                parts.append(format_stats(f.stats))
            parts.append(f"finish: {f.finish_reason}")
            line = " · ".join(p for p in parts if p)
            if f.status == "error" and f.error:
                line += f"\n{f.error}"
            return line
        if self._first is None or self._started is None:
            return self.state
        now = time.perf_counter()
        ttft = self._first - self._started
        gen = now - self._first
        tps = (self._tokens - 1) / gen if self._tokens > 1 and gen > 0 else 0.0
        return f"streaming · first token {ttft:.2f} s · {tps:.1f} tok/s · {self._tokens} tokens"

    def render_now(self) -> None:
        """Repaint what changed (called by the screen's timer): the stats line, and the
        text written since the last call (handed to the view in one piece)."""
        text_changed = self.dirty
        self.dirty = False
        self.query_one(StatusLine).show(self.stats_line())
        if not text_changed or not self._pending:
            return
        view = self.query_one(StreamText)
        pending, self._pending = self._pending, []
        streamed: list[str] = []
        for item in pending:
            if isinstance(item, str):
                streamed.append(item)
                continue
            if streamed:
                view.append("".join(streamed))
                streamed = []
            view.add_paragraph(*item)
        if streamed:
            view.append("".join(streamed))


class CompareScreen(Screen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    #: the question box, not the collection picker (focusing it reads the collections)
    AUTO_FOCUS = "#input"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop_all", "Stop all", priority=True),
        Binding("ctrl+k", "stop_one", "Stop this", priority=True),
        Binding("f6", "next_column", "Next column", priority=True),
        Binding("shift+f6", "previous_column", "Previous", show=False, priority=True),
        Binding("ctrl+o", "pick_models", "Models"),
        Binding("ctrl+n", "new_compare", "New"),
        Binding("ctrl+b", "toggle_arena", "Arena"),
        Binding("ctrl+r", "continue_with", "Continue with this"),
        Binding("ctrl+d", "diff", "Diff", priority=True),
        Binding("ctrl+g", "merge", "Merge"),
        Binding("ctrl+l", "leaderboard", "Leaderboard", show=False),
        Binding("ctrl+y", "copy_last", "Copy", show=False),
        Binding("ctrl+t", "choose_collection", "Collection", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session: CompareSession | None = None
        self.models: list[str] = []
        self.arena = False
        #: arena: label (A / B) -> model, for the round being voted on
        self._arena_pairs: dict[str, str] = {}
        self._last_question = ""
        self.current = 0
        self._tabs_shown: tuple[str, int] | None = None
        self._settings: Settings | None = None
        self._sources_shown = False
        self.collection: str | None = None
        self.action = "query"
        self._columns: list[AnswerColumn] = []
        #: the column the repaint timer looked at last
        self._turn = 0

    @property
    def h2o(self) -> H2oTuiApp:
        return cast("H2oTuiApp", self.app)

    @property
    def settings(self) -> Settings:
        return self._settings if self._settings is not None else self.h2o.settings

    # --- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="body"):
            with Horizontal(id="toolbar"):
                yield Label("Compare", id="compare-title", markup=False)
                yield Static("", id="compare-info", markup=False)
            yield CollectionBar(id="docs-bar")
            yield Static("", id="tabs", markup=False)
            yield Horizontal(id="columns")
            yield Static("", id="empty-hint", markup=False)
            yield Static("", id="sources", markup=False)
            with Horizontal(id="vote-bar"):
                for button_id, _verdict, label in VERDICT_BUTTONS:
                    yield Button(label, id=button_id, compact=True)
            yield ChatInput(placeholder="Ask every model (Enter sends)", id="input")
        yield Static(TOO_SMALL, id="too-small")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one("#empty-hint", Static).update(HINT)
        await self._start(self._initial_models())
        self.set_interval(REFRESH_S / 4, self._repaint_next)
        self.query_one(ChatInput).focus()

    def _initial_models(self) -> list[str]:
        known = [m.name for m in self.settings.models]
        wanted = [m for m in self.settings.compare.models if m in known]
        missing = [m for m in self.settings.compare.models if m not in known]
        if missing:
            self.notify(
                f"compare.models: {', '.join(missing)} not configured; left out",
                severity="warning",
            )
        return (wanted or known)[:4] if len(wanted) >= 2 else known[:2]

    def on_resize(self) -> None:
        self._apply_layout()

    def columns(self) -> list[AnswerColumn]:
        return list(self._columns)

    @property
    def stacked(self) -> bool:
        n = max(1, len(self.columns()))
        return self.size.width < n * COLUMN_MIN_WIDTH

    def _apply_layout(self) -> None:
        width, height = self.size
        self.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "-too-small")
        stacked = self.stacked
        self.set_class(stacked, "-stacked")
        cols = self.columns()
        if cols:
            self.current = min(self.current, len(cols) - 1)
        for col in cols:
            col.set_class(stacked and col.index != self.current, "-hidden")
            col.set_class(col.index == self.current and len(cols) > 1, "-current")
        self._update_tabs()

    def _update_tabs(self) -> None:
        tabs = Text()
        for col in self.columns():
            if col.index:
                tabs.append(" │ ")
            mark = {"streaming": "●", "complete": "✓", "error": "✗", "stopped": "■"}.get(
                col.state.split(" ")[0], "◌"
            )
            style = "reverse" if col.index == self.current else ""
            tabs.append(f"{col.index + 1} {visible(col.label)} {mark}", style=style)
        key = (tabs.plain, self.current)
        if key != self._tabs_shown:
            self._tabs_shown = key
            self.query_one("#tabs", Static).update(tabs)

    def _update_toolbar(self) -> None:
        s = self.session
        title = (s.title if s and s.title else "New compare") + (" · arena" if self.arena else "")
        self.query_one("#compare-title", Label).update(visible(title))
        info = []
        if self.collection:
            info.append(f"{self.collection} · {self.action}")
        local = self.settings.compare.local_concurrency
        info.append(f"local models at once: {local}")
        self.query_one("#compare-info", Static).update(visible(" · ".join(info)))

    async def _start(
        self,
        models: list[str],
        *,
        session: CompareSession | None = None,
        rounds: list[Round] | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        """Show a fresh (or reopened) compare of ``models`` (an arena round: ``labels``)."""
        await self._stop_all_and_wait()
        if labels is None:  # names shown: no blind pair to vote on
            self._arena_pairs = {}
        self._sources_shown = False
        self.query_one("#sources", Static).update("")
        self.set_class(False, "-sources")
        self.set_class(False, "-voting")
        if session is None:
            try:
                session = CompareSession(
                    self.settings,
                    self.h2o.store,
                    models,
                    collection=self.collection,
                    action=self.action,
                )
            except CompareError as exc:
                self.session = None
                self.models = []
                self._columns = []
                await self.query_one("#columns").remove_children()
                self.query_one("#empty-hint", Static).update(
                    f"{exc}.\nAdd [[models]] entries to your config or start with "
                    "--model-lock; then Ctrl+O picks them."
                )
                self.set_class(True, "-empty")
                self._apply_layout()
                self._update_toolbar()
                return
        self.session = session
        self.models = list(session.models)
        self.current = 0
        holder = self.query_one("#columns")
        self._columns = []
        await holder.remove_children()
        labels = labels or {m: m for m in self.models}
        cols = [AnswerColumn(m, labels[m], i) for i, m in enumerate(self.models)]
        await holder.mount_all(cols)
        self._columns = cols
        for i, r in enumerate(rounds or []):
            last = i == len(rounds or []) - 1
            for col in cols:
                msg = r.answers.get(col.model)
                content = msg.content if msg is not None else ""
                status = msg.status if msg is not None else "no answer"
                stats = format_stats(msg.stats) if msg is not None else ""
                # a merge shows in the column of the model that wrote it
                merged = r.merged if r.merged is not None and r.merged.model == col.model else None
                if last:
                    col.restore_current(r.question, content, status, stats, merged)
                else:
                    col.add_round(r.question, content, status, stats, merged)
            if last:
                self._last_question = r.question
        self.set_class(not rounds, "-empty")
        self._apply_layout()
        self._update_toolbar()
        self._repaint()

    # --- asking ---------------------------------------------------------------------

    @property
    def generating(self) -> bool:
        return any(c.busy for c in self.columns())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("stop_all", "stop_one"):
            return self.generating
        return True

    async def on_chat_input_submitted(self, event: ChatInput.Submitted) -> None:
        event.stop()
        if self.generating:
            self.notify("Still answering. Esc stops every answer first.", severity="warning")
            return
        if self.session is None:
            self.notify("Pick 2 to 4 models first (Ctrl+O).", severity="warning")
            return
        question = event.text.strip("\n")
        if not question.strip() and not (self.collection and self.action != "query"):
            return
        event.input.clear()
        await self.ask(question)

    async def ask(self, question: str) -> None:
        """Send ``question`` to every model; each answers in its own worker.

        In the arena, a question after the vote starts a new blind pair; one before it is
        a follow-up: the same hidden pair answers in the same compare, each with its own
        history, and the vote that follows is on the whole conversation."""
        if self.arena and not self._arena_pairs:
            await self._new_arena_round()
        self.set_class(False, "-voting")
        session = self.session
        assert session is not None
        # the collection and action the bar shows now, whatever was picked while answering
        session.collection, session.action = self.collection, self.action
        try:
            runners = session.ask(
                self.h2o.engines, question, view_closing=lambda: bool(self.app.return_code)
            )
        except Exception as exc:  # the store failing: go on unsaved, like the chat
            self.notify(f"{exc}\nThis compare will not be saved.", severity="error")
            session.store = None
            for lane in session.lanes.values():
                lane.store = None
            runners = session.ask(
                self.h2o.engines, question, view_closing=lambda: bool(self.app.return_code)
            )
        self.set_class(False, "-empty")
        self._last_question = question
        for col in self.columns():
            col.begin(question)
            col.worker = self.run_worker(
                self._run_lane(col, runners[col.model]),
                group="compare",
                exit_on_error=False,
            )
        self._update_toolbar()
        self.refresh_bindings()

    async def _run_lane(self, col: AnswerColumn, runner: AnswerRunner) -> None:
        session = self.session
        assert session is not None
        slice_end = time.perf_counter() + YIELD_EVERY_S
        try:
            async with aclosing(session.lane_events(runner)) as lane:
                async for event in lane:
                    match event:
                        case TextDelta(text=text):
                            col.write(text)
                            if time.perf_counter() > slice_end:
                                # a burst of buffered tokens (an engine catching up) never
                                # holds the event loop: keys and repaints get their turn
                                await asyncio.sleep(0)
                                slice_end = time.perf_counter() + YIELD_EVERY_S
                        case Queued(ahead=ahead):
                            col.set_state(f"queued: waits for a local model slot ({ahead} ahead)")
                        case Loading(model=model):
                            blind = self.arena and bool(self._arena_pairs)
                            col.set_state("loading the model…" if blind else f"loading {model}…")
                        case EngineReady():
                            col.engine_ready()
                        case Progress(message=message):
                            col.set_state(message)
                        case SourcesFound(passages=passages):
                            self._show_sources(passages)
                        case HistoryError(message=message):
                            self.notify(message, title="Chat history", severity="error")
                        case AnswerFinished():
                            pass
        finally:
            col.finish(runner.finished)
            if col.is_mounted:  # the whole answer at once, not at the next timer tick
                col.render_now()
            if runner.finished is not None and runner.finished.save_error:
                self.notify(runner.finished.save_error, title="Chat history", severity="error")
            self._update_tabs()
            if all(c.done for c in self.columns()):
                # the footer recomposes on every refresh: once a round, not once a column,
                # and after the frame that shows the answers' ends (it costs a layout)
                self.call_after_refresh(self.refresh_bindings)
            self._maybe_vote()

    def _show_sources(self, passages: list[Passage]) -> None:
        if self._sources_shown:
            return
        self._sources_shown = True
        text = "Sources (the same for every model): " + " · ".join(
            p.label(n, with_score=False) for n, p in enumerate(passages, 1)
        )
        if not passages:
            text = "No sources: nothing in the collection matched."
        self.query_one("#sources", Static).update(visible(text))
        self.set_class(True, "-sources")

    def _repaint(self) -> None:
        """Repaint every column that changed, now."""
        changed = False
        for col in self.columns():
            if col.dirty or col.busy:
                col.render_now()
                changed = True
        if changed:
            self._update_tabs()

    def _repaint_next(self) -> None:
        """The timer's tick: repaint the next column that changed, in turn.

        Every column is repainted once per :data:`REFRESH_S` at most, but never two in
        the same frame: four columns repainted at once make a frame (and a key pressed
        during it) wait four times as long."""
        cols = self._columns
        if not cols:
            return
        for _ in range(len(cols)):
            self._turn = (self._turn + 1) % len(cols)
            col = cols[self._turn]
            if (col.dirty or col.busy) and time.perf_counter() >= col.next_paint:
                col.next_paint = time.perf_counter() + REFRESH_S * 0.9
                col.render_now()
                self._update_tabs()
                return

    # --- stopping -------------------------------------------------------------------

    def action_stop_all(self) -> None:
        for col in self.columns():
            if col.busy and col.worker is not None:
                col.worker.cancel()

    def action_stop_one(self) -> None:
        cols = self.columns()
        if not cols:
            return
        col = cols[self.current]
        if col.busy and col.worker is not None:
            col.worker.cancel()
            self.notify(f"Stopped {visible(col.label)}; the others go on.", timeout=3)

    async def _stop_all_and_wait(self) -> None:
        workers = [c.worker for c in self.columns() if c.busy and c.worker is not None]
        for w in workers:
            w.cancel()
        for w in workers:
            with contextlib.suppress(Exception):
                await w.wait()

    # --- columns --------------------------------------------------------------------

    def action_next_column(self, step: int = 1) -> None:
        cols = self.columns()
        if not cols:
            return
        self.current = (self.current + step) % len(cols)
        self._apply_layout()

    def action_previous_column(self) -> None:
        self.action_next_column(-1)

    @on(events.DescendantFocus)
    def _follow_focus(self, event: events.DescendantFocus) -> None:
        node = event.widget
        while node is not None and not isinstance(node, AnswerColumn):
            node = node.parent  # type: ignore[assignment]
        if isinstance(node, AnswerColumn) and node.index != self.current:
            self.current = node.index
            self._apply_layout()

    def on_click(self, event: events.Click) -> None:
        node = event.widget
        while node is not None and not isinstance(node, AnswerColumn):
            node = node.parent  # type: ignore[assignment]
        if isinstance(node, AnswerColumn) and node.index != self.current:
            self.current = node.index
            self._apply_layout()

    def focused_column(self) -> AnswerColumn | None:
        cols = self.columns()
        return cols[self.current] if cols else None

    # --- models, new, arena ---------------------------------------------------------

    def action_pick_models(self) -> None:
        if self.generating:
            self.notify("Still answering. Esc stops every answer first.", severity="warning")
            return

        async def picked(models: list[str] | None) -> None:
            if models:
                self.arena = False
                await self._start(models)

        self.app.push_screen(
            ModelPickerScreen([m.name for m in self.settings.models], self.models), picked
        )

    async def action_new_compare(self) -> None:
        await self._start(self.models or self._initial_models())

    async def action_toggle_arena(self) -> None:
        if self.generating:
            self.notify("Still answering. Esc stops every answer first.", severity="warning")
            return
        if not self.arena and len(self.settings.models) < 2:
            self.notify("The arena needs at least 2 configured models.", severity="warning")
            return
        self.arena = not self.arena
        if self.arena:
            await self._new_arena_round()
            self.notify(
                "Blind arena: two models answer as A and B. Vote when both are done.",
                title="Arena",
            )
        else:
            await self._start(self.models or self._initial_models())

    async def _new_arena_round(self) -> None:
        pool = self.models if len(self.models) >= 2 else [m.name for m in self.settings.models]
        pair = random.sample(pool, 2)
        pairs = dict(zip(ARENA_LABELS, pair, strict=True))
        labels = {model: label for label, model in pairs.items()}
        try:
            session = CompareSession(
                self.settings,
                self.h2o.store,
                pair,
                collection=self.collection,
                action=self.action,
            )
        except CompareError as exc:
            self.notify(str(exc), severity="error")
            return
        models_before = self.models
        self._arena_pairs = pairs
        await self._start(pair, session=session, labels=labels)
        self.models = models_before  # the pool the next round draws from

    def _maybe_vote(self) -> None:
        if not self.arena or not self._arena_pairs:
            return
        cols = self.columns()
        answered = any(c.finished is not None and c.text for c in cols)
        if cols and all(c.done for c in cols) and answered:
            self.set_class(True, "-voting")
            with contextlib.suppress(Exception):
                self.query_one("#vote-a", Button).focus()

    @on(Button.Pressed, "#vote-bar Button")
    def _voted(self, event: Button.Pressed) -> None:
        verdict = next(v for bid, v, _ in VERDICT_BUTTONS if bid == event.button.id)
        self.vote(verdict)

    def vote(self, verdict: str) -> None:
        """Save the arena vote and reveal which model was A and which B."""
        from h2otui.store.arena import ArenaStore, Vote

        pairs = self._arena_pairs
        if not pairs:
            return
        vote = Vote(
            pairs["A"],
            pairs["B"],
            verdict,
            question=self._last_question,
            chat_id=self.session.chat_id if self.session else None,
        )
        try:
            with ArenaStore.open(self.settings.data_path) as store:
                store.add(vote)
        except Exception as exc:  # the vote is lost, the screen stays usable
            self.notify(f"The vote was not saved: {exc}", severity="error")
        else:
            self.notify(
                f"A was {visible(pairs['A'])}, B was {visible(pairs['B'])}. Vote saved.",
                title="Arena",
                timeout=8,
            )
        for col in self.columns():
            col.reveal()
        self._arena_pairs = {}
        self.set_class(False, "-voting")
        self._update_tabs()
        self.query_one(ChatInput).focus()

    # --- after answers --------------------------------------------------------------

    async def action_continue_with(self) -> None:
        """Turn the compare into a normal chat with the focused model and its history."""
        col, session = self.focused_column(), self.session
        if col is None or session is None:
            return
        if self.generating:
            self.notify("Still answering. Esc stops every answer first.", severity="warning")
            return
        if self.arena and self._arena_pairs:
            self.notify("Vote first: the names are still hidden.", severity="warning")
            return
        try:
            chat_id = session.continue_with(col.model)
        except Exception as exc:
            self.notify(str(exc), title="Chat history", severity="error")
            return
        if chat_id is None:
            self.notify("Chat history is off (ui.save_chats): cannot continue.", severity="warning")
            return
        await self.app.switch_mode("chat")
        opener = getattr(self.app.screen, "open_chat", None)
        if callable(opener):
            await opener(chat_id)
        self.app.notify(f"Continuing with {visible(col.model)}.", title="Chat", timeout=4)

    def action_diff(self) -> None:
        cols = self.columns()
        if len(cols) < 2:
            return
        a = cols[self.current]
        b = cols[(self.current + 1) % len(cols)]
        self.app.push_screen(DiffScreen(a.label, a.text, b.label, b.text))

    def action_leaderboard(self) -> None:
        self.app.push_screen(LeaderboardScreen(self.settings.data_path))

    def action_merge(self) -> None:
        """The focused column's model reads every answer and writes one."""
        col = self.focused_column()
        if col is None or self.generating:
            return
        if self.arena and self._arena_pairs:
            self.notify("Vote first: the names are still hidden.", severity="warning")
            return
        answers = {c.model: c.text for c in self.columns() if c.text.strip()}
        if len(answers) < 2:
            self.notify("Merging needs at least two answers.", severity="warning")
            return
        runner = merge_runner(
            self.settings, self.h2o.engines, col.model, self._last_question, answers
        )
        done = partial(self._merged, col, list(answers))
        self.app.push_screen(MergeScreen(runner, on_finished=done))

    def _merged(
        self, col: AnswerColumn, merged_from: list[str], text: str, f: AnswerFinished | None
    ) -> None:
        """Keep the merged answer: saved with the compare, shown under the merging model's
        answer (a merge stopped before any text is dropped)."""
        if not text:
            return
        status = f.status if f is not None else "stopped"
        session = self.session
        if session is not None:
            try:
                session.save_merge(
                    col.model,
                    merged_from,
                    text,
                    status,
                    stats=f.stats if f is not None else None,
                    error=f.error if f is not None else None,
                )
            except Exception as exc:  # shown, not lost: it is still on screen
                self.notify(f"The merged answer was not saved: {exc}", severity="error")
        if col.is_attached:
            col.show_merge(col.model, text, status)

    def action_copy_last(self) -> None:
        col = self.focused_column()
        if col is not None and col.text:
            self.app.copy_to_clipboard(col.text)
            self.notify(f"Copied {visible(col.label)}'s answer.", timeout=3)

    # --- documents and saved compares ------------------------------------------------

    def action_choose_collection(self) -> None:
        self.choose_collection()

    def choose_collection(self) -> None:
        """Open the collection picker (the list is read first if need be)."""
        self.query_one(CollectionBar).pick()

    def set_action(self, action: str) -> None:
        self.query_one(CollectionBar).set_action(action)

    @on(CollectionBar.Changed)
    def _docs_changed(self, event: CollectionBar.Changed) -> None:
        bar = self.query_one(CollectionBar)
        self.collection, self.action = bar.collection, bar.action
        if self.session is not None and not self.generating:
            self.session.collection, self.session.action = self.collection, self.action
        self._update_toolbar()

    async def open_compare(self, chat_id: int) -> None:
        store = self.h2o.store
        if store is None:
            return
        try:
            session, rounds, warnings = CompareSession.restore(self.settings, store, chat_id)
        except Exception as exc:
            self.notify(str(exc), title="Chat history", severity="error")
            return
        for w in warnings:
            self.notify(w, severity="warning")
        self.arena = False
        self.collection, self.action = session.collection, session.action
        self.query_one(CollectionBar).restore(session.collection, session.action)
        await self._start(session.models, session=session, rounds=rounds)

    def on_settings_changed(self, event: SettingsChanged) -> None:
        self._settings = event.new
        self._update_toolbar()

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        commands: list[tuple[str, str, Callable[[], Any]]] = [
            ("Compare: pick models", "Choose the 2-4 models that answer (Ctrl+O)",
             self.action_pick_models),
            ("Compare: new", "Start a new compare with the same models (Ctrl+N)",
             self.action_new_compare),
            ("Compare: stop all answers", "Esc", self.action_stop_all),
            ("Compare: stop this answer", "The focused column only (Ctrl+K)",
             self.action_stop_one),
            ("Compare: next column", "Focus / show the next model (F6)", self.action_next_column),
            ("Compare: blind arena on/off", "A vs B, names hidden until you vote (Ctrl+B)",
             self.action_toggle_arena),
            ("Compare: continue with this model", "Open a normal chat with its history (Ctrl+R)",
             self.action_continue_with),
            ("Compare: word diff", "This answer against the next column's (Ctrl+D)",
             self.action_diff),
            ("Compare: answer from a collection", "Every model gets the same sources (Ctrl+T)",
             self.choose_collection),
            ("Arena leaderboard", "Models ranked by your arena votes (Ctrl+L)",
             self.action_leaderboard),
            ("Compare: merge the answers", "The focused model writes one answer from all (Ctrl+G)",
             self.action_merge),
        ]  # fmt: skip
        for action in ("query", "summarize", "extract"):
            commands.append(
                (f"Compare: action {action}", "With a collection", partial(self.set_action, action))
            )
        if self.arena and self._arena_pairs:
            for _bid, verdict, label in VERDICT_BUTTONS:
                commands.append((f"Arena vote: {label}", "Saves the vote, reveals the names",
                                 partial(self.vote, verdict)))  # fmt: skip
        store = self.h2o.store
        if store is not None:
            with contextlib.suppress(Exception):
                for chat in store.list_chats(kind="compare")[:20]:
                    commands.append(
                        (
                            f"Open compare: {visible(chat.title or 'untitled')}",
                            visible(", ".join(chat.meta.get("models") or [])),
                            partial(self.open_compare, chat.id),
                        )
                    )
        return commands
