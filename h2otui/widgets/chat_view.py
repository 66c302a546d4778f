"""The conversation: user messages, streamed assistant answers, notices.

An :class:`AssistantMessage` renders Markdown as it streams, through Textual's
``Markdown.append`` (fed by a :class:`MarkdownFeed`). Three things keep a long, fast answer
from stalling the UI (measured by ``benchmarks/bench_tui_stream.py``):

* tokens are gathered and handed to the stream at most every ``FLUSH_INTERVAL_S`` (more
  rarely when repaints are slow): every update costs a layout and a repaint, so one per
  token would starve the event loop the engine shares;
* the answer is cut into several Markdown widgets (:class:`MarkdownChunker`), so an update
  re-parses and re-lays out only the last chunk;
* finished chunks out of view are swapped for placeholders of the same height
  (:class:`FoldedChunk`, one for each run of adjacent folded chunks, so a long answer is a
  handful of widgets) and swapped back as they scroll into view. While the view follows
  the stream, chunks fold as they scroll up off the screen.

``layout: stream`` (Textual's faster layout for chat views) was tried on the conversation
and on each answer and left out: its cached placements went stale when a chunk's height
changed from inside (blocks mounting in a nested Markdown), and positions drifted.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Label, Static

from h2otui.safe_text import visible
from h2otui.widgets.gc_pause import drop_removed_line_caches
from h2otui.widgets.textual_compat import markdown_rendering_initial

if TYPE_CHECKING:
    from textual.widgets import Markdown

#: a streamed answer starts a new Markdown widget after this many lines, at a blank line
#: outside a code fence (see :class:`MarkdownChunker`)
CHUNK_LINES = 24
#: streamed text reaches the screen at most this often (10 updates a second: smooth to
#: read, and each update costs a layout and repaint of the conversation) ...
FLUSH_INTERVAL_S = 0.1
#: ... and less often when repaints are slow (a busy machine, a huge terminal): the pause
#: between updates is at least this many times the typical update's cost (the median of
#: the last few, so one update stalled by a garbage collection does not hold back the
#: next), so drawing takes at most about a third of the time and the stream keeps up
FLUSH_COST_FACTOR = 2.0
FLUSH_COST_WINDOW = 5
FLUSH_INTERVAL_MAX_S = 1.0

STATUS_LABELS = {
    "complete": "",
    "streaming": "",
    "partial": "interrupted",
    "stopped": "stopped",
    "error": "error",
}


class MarkdownChunker:
    """Cuts a Markdown stream into pieces that each render as their own widget.

    Textual lays out a Markdown widget's blocks again whenever it changes, so one widget
    holding a 20,000-token answer makes every update cost more than the last. Cutting the
    stream into chunks of about ``max_lines`` lines keeps each update proportional to the
    last chunk only. Cuts are made only where Markdown allows: after a blank line, outside
    a fenced code block, and only if the next line does not start indented (which would
    continue a list item or an indented code block).

    :meth:`feed` returns the fragment split at the cut points: a new chunk starts with
    each piece after the first.
    """

    def __init__(self, max_lines: int = CHUNK_LINES) -> None:
        self.max_lines = max_lines
        self.lines = 0
        self.in_fence = False
        self.fence = ""
        self.line = ""
        self.pending = False
        """A blank line passed where a cut is allowed; decided by the next character."""

    def feed(self, fragment: str) -> list[str]:
        pieces: list[str] = []
        start = 0
        for i, ch in enumerate(fragment):
            if self.pending and ch != "\n":
                self.pending = False
                if ch not in " \t":
                    pieces.append(fragment[start:i])
                    start = i
                    self.lines = 0
            if ch != "\n":
                self.line += ch
                continue
            stripped = self.line.strip()
            self.line = ""
            self.lines += 1
            marker = stripped[:3]
            if marker in ("```", "~~~"):
                if not self.in_fence:
                    self.in_fence, self.fence = True, marker
                elif marker == self.fence:
                    self.in_fence = False
            if not stripped and not self.in_fence and self.lines >= self.max_lines:
                self.pending = True
        pieces.append(fragment[start:])
        return pieces

    @classmethod
    def split(cls, text: str, max_lines: int = CHUNK_LINES) -> list[str]:
        """A whole document cut the same way (for answers loaded from the history)."""
        return [p for p in cls(max_lines).feed(text) if p] or [""]


class MarkdownFeed:
    """Streams text into a Markdown widget: one ``Markdown.append`` at a time, with what
    arrives meanwhile gathered into the next; :meth:`drain` waits until all of it is in.

    Textual's ``MarkdownStream`` does the same, but its ``stop()`` cancels the loop while
    an append (shielded from the cancel) is still parsing, then appends what was pending
    at once: the second append works out what to re-parse before the first has moved the
    parse position on. And after ``Markdown.update`` (a widget created with text) the
    parse position is past a trailing blank line, so the next append overwrites the last
    paragraph. Both showed, under load, as a paragraph missing or repeated on screen at a
    chunk's end while the source was right. So every chunk streamed into starts empty,
    and one that already holds text is rendered again whole by its first append.
    """

    def __init__(self, markdown: Markdown) -> None:
        self.markdown = markdown
        self._pending: list[str] = []
        self._task: asyncio.Future[None] | None = None
        self._restart = bool(markdown.source)

    def write(self, text: str) -> None:
        if not text:
            return
        self._pending.append(text)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            if self._restart:
                self._restart = False
                text = self.markdown.source + text
                await self.markdown.update("")
            await self.markdown.append(text)

    async def drain(self) -> None:
        """Wait until every write is in the widget, its blocks mounted."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)


@dataclass(frozen=True, eq=False)
class FoldPiece:
    """One finished chunk of an answer while it is folded: its Markdown and the height it
    had on screen. Compared by identity."""

    source: str
    height: int


class FoldedChunk(Widget):
    """Stands in for a run of finished, out-of-view chunks of a long answer: same height,
    no child widgets. Textual walks every widget on each layout pass, so a 20,000-token
    answer kept fully mounted (thousands of Markdown blocks) would slow every update, and
    so would hundreds of placeholders: adjacent folded chunks share one. Chunks are
    unfolded back into Markdown as they scroll into view."""

    DEFAULT_CSS = """
    FoldedChunk { width: 1fr; height: auto; }
    """
    # drawn as blank lines, one at a time as they come into view (Textual would otherwise
    # render all of its lines, thousands in a long answer, whenever it changes size)
    BLANK = True

    def __init__(self, pieces: list[FoldPiece]) -> None:
        super().__init__()
        self.pieces: list[FoldPiece] = []
        self.set_pieces(pieces)

    def set_pieces(self, pieces: list[FoldPiece]) -> None:
        self.pieces = list(pieces)
        self._height = max(1, sum(p.height for p in pieces))
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # sized as content (height: auto), so a change of pieces is a layout refresh
        return self._height

    @property
    def source(self) -> str:
        return "".join(p.source for p in self.pieces)


class ChatMessage(Vertical, can_focus=True):
    """Base for one message: focusable so it can be selected and copied."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c,y", "copy", "Copy message"),
    ]

    def render_line(self, y: int) -> Strip:
        # A container's own content is blank (its children are drawn over it). Textual
        # renders a container's content for its whole height at once, and again whenever
        # it changes size: for an answer growing by every update and thousands of lines
        # long, that is thousands of new lines per frame. One line, as asked, drawn as
        # Textual draws its BLANK widgets (the background, cached per state), suffices.
        return Strip.blank(self.size.width, self.visual_style.rich_style)

    class CopyRequested(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    @property
    def text(self) -> str:
        raise NotImplementedError

    def action_copy(self) -> None:
        self.post_message(self.CopyRequested(self.text))


class UserMessage(ChatMessage):
    DEFAULT_CSS = """
    UserMessage {
        height: auto;
        margin: 1 0 0 4;
        padding: 0 1;
        background: $primary 12%;
        border-left: thick $primary;
        &:focus { background: $primary 25%; }
        & > .role { color: $primary; text-style: bold; }
        & > .content { height: auto; }
    }
    """

    def __init__(self, content: str) -> None:
        super().__init__()
        # shown as typed, but from history or a paste it may hold controls: made visible
        self._content = visible(content)

    @property
    def text(self) -> str:
        return self._content

    def compose(self) -> ComposeResult:
        yield Label("You", classes="role")
        yield Static(Text(self._content), classes="content")


class AssistantMessage(ChatMessage):
    """An answer: model name, Markdown body (streamed), and a stats line."""

    DEFAULT_CSS = """
    AssistantMessage {
        height: auto;
        margin: 1 4 0 0;
        padding: 0 1;
        border-left: thick $secondary;
        &:focus { background: $secondary 15%; }
        & > .role { color: $secondary; text-style: bold; }
        & > Markdown { margin: 0; padding: 0; background: transparent; }
        & > .stats { color: $text-muted; height: auto; }
        &.-stopped > .stats, &.-partial > .stats { color: $warning; }
        &.-error > .stats { color: $error; }
        &.-waiting > .stats { color: $text-muted; text-style: italic; }
    }
    """

    def __init__(
        self, model: str, content: str = "", *, status: str = "complete", stats: str = ""
    ) -> None:
        super().__init__()
        self.model = model
        # the widget holds the answer as shown: controls made visible (the chat store
        # keeps the model's exact text; the runner saves it, not this widget)
        self._parts: list[str] = [visible(content)] if content else []
        self._status = status
        self._stats = stats
        self._stream: MarkdownFeed | None = None
        self._retiring: dict[Markdown, asyncio.Future[None]] = {}
        """Chunks whose stream is stopping, with the task that waits for their last update."""
        self._measured: dict[Markdown, int] = {}
        """Heights of chunks about to fold, as the last fold pass measured them."""
        self._chunker = MarkdownChunker()
        self._pending: list[str] = []
        self._flush_timer: Timer | None = None
        self._write_lock = asyncio.Lock()
        self._flush_interval = FLUSH_INTERVAL_S
        self._update_costs: deque[float] = deque(maxlen=FLUSH_COST_WINDOW)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def status(self) -> str:
        return self._status

    @property
    def rendered_source(self) -> str:
        """The Markdown held by the widgets (equals :attr:`text` once a stream ended)."""
        return "".join(c.source for c in self._chunks())

    def _chunks(self) -> list[Markdown | FoldedChunk]:
        """The widgets holding the answer's text, in order (not those being removed)."""
        from h2otui.widgets.markdown import Markdown

        return [c for c in self.children if isinstance(c, Markdown | FoldedChunk) and c.display]

    def compose(self) -> ComposeResult:
        # Markdown (and markdown_it) are imported with the first answer, not at start-up:
        # an empty chat shows none, and they cost ~0.05 s of its first frame
        from h2otui.widgets.markdown import ChatMarkdown

        yield Label(Text(visible(self.model)), classes="role")
        chunks = MarkdownChunker.split(self.text)
        for chunk in chunks:
            yield ChatMarkdown(chunk or None)
        yield Static(self._stats_line(), classes="stats")
        self._chunker = MarkdownChunker()
        self._chunker.feed(chunks[-1])

    def on_mount(self) -> None:
        self._apply_status_class()

    def _stats_line(self) -> Text:
        label = STATUS_LABELS.get(self._status, self._status)
        parts = [p for p in (f"[{label}]" if label else "", self._stats) if p]
        return Text(visible("  ".join(parts)))

    def _apply_status_class(self) -> None:
        for name in ("stopped", "partial", "error", "waiting"):
            self.set_class(self._status == name, f"-{name}")

    def set_waiting(self, note: str) -> None:
        """Show a note (e.g. 'thinking…') in the stats line before the first token."""
        self._status = "waiting"
        self._stats = note
        self._apply_status_class()
        self.query_one(".stats", Static).update(Text(visible(note)))

    # --- streaming ------------------------------------------------------------------

    def start_stream(self) -> None:
        from h2otui.widgets.markdown import Markdown

        self._stream = MarkdownFeed(self.query(Markdown).last())

    async def write(self, fragment: str) -> None:
        """Append streamed text. Fragments are gathered and handed to the Markdown
        widget at most every FLUSH_INTERVAL_S: each update costs a layout and a repaint,
        so a fast model must not cause one per token."""
        fragment = visible(fragment)  # an ESC in one token is still an ESC: per piece is safe
        self._parts.append(fragment)
        self._pending.append(fragment)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(self._flush_interval, self._flush)

    def _note_update_cost(self, started: float) -> None:
        self._update_costs.append(time.perf_counter() - started)
        typical = statistics.median(self._update_costs)
        self._flush_interval = min(
            FLUSH_INTERVAL_MAX_S, max(FLUSH_INTERVAL_S, FLUSH_COST_FACTOR * typical)
        )

    async def _flush(self) -> None:
        self._flush_timer = None
        started = time.perf_counter()
        # measured when the update has been laid out and painted
        self.call_after_refresh(self._note_update_cost, started)
        async with self._write_lock:
            text = "".join(self._pending)
            self._pending.clear()
            if not text:
                return
            # a piece after the first starts a new chunk (a new Markdown widget); the
            # stream goes on into the last one
            for n, piece in enumerate(self._chunker.feed(text)):
                if n:
                    self._retire_stream()
                    from h2otui.widgets.markdown import ChatMarkdown

                    chunk = ChatMarkdown()
                    await self.mount(chunk, before=self.query_one(".stats"))
                    self._stream = MarkdownFeed(chunk)
                    self._schedule_fold_sync()
                if self._stream is None:
                    self.start_stream()
                assert self._stream is not None
                self._stream.write(piece)

    def _retire_stream(self) -> None:
        """End the current chunk's stream without waiting for its last update (the
        next chunk need not wait for it); :meth:`end_stream` waits for them all."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            chunk = stream.markdown
            task = self._retiring[chunk] = asyncio.ensure_future(stream.drain())
            # measurable (and foldable) once its last update has been laid out
            task.add_done_callback(lambda _: self.call_after_refresh(self._settle, chunk))

    def _settle(self, chunk: Markdown) -> None:
        if self._retiring.pop(chunk, None) is not None:
            self._schedule_fold_sync()

    async def end_stream(self) -> None:
        """Render what is pending now and stop the stream."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
        await self._flush()
        async with self._write_lock:
            self._retire_stream()
            await asyncio.gather(*self._retiring.values())
        self._schedule_fold_sync()

    def _schedule_fold_sync(self) -> None:
        # after the next refresh, when the new chunks have their place on screen
        if isinstance(self.parent, ConversationView):
            self.parent.schedule_fold_sync()

    async def sync_folds(self) -> bool:
        """Fold finished chunks far from the viewport; unfold those near it.

        Returns False when some chunk had no place on screen yet (just mounted, not laid
        out), so the caller can try again after the next refresh.
        """
        from h2otui.widgets.markdown import ChatMarkdown, Markdown

        view = self.parent
        if not isinstance(view, ConversationView):
            return True
        vr = view.region
        if vr.height == 0:
            return False
        settled = True
        if view.following:
            # following the stream at the bottom: chunks fold once they scrolled up out
            # of view (below the screen is only what the next layout scrolls into it)
            window = Region(vr.x, vr.y, vr.width, view.virtual_size.height + vr.height)
        else:
            # one screen of slack above and below, so scrolling never shows a gap
            window = Region(vr.x, vr.y - vr.height, vr.width, vr.height * 3)
        chunks = self._chunks()
        live = chunks[-1] if self._stream is not None or self._status == "streaming" else None

        # The chunks as they should be: Markdown widgets (kept or new) for chunks near
        # the window, and runs of folded pieces between them.
        plan: list[Markdown | list[FoldPiece]] = []

        def fold(piece: FoldPiece) -> None:
            if plan and isinstance(plan[-1], list):
                plan[-1].append(piece)
            else:
                plan.append([piece])

        for chunk in chunks:
            region = chunk.region
            if isinstance(chunk, Markdown):
                # a chunk still taking its last update, or still rendering the text it
                # was mounted with (parsed in a thread, blocks mounted in batches: under
                # load its height can hold still for a few frames), is neither measured
                # nor folded
                updating = (
                    chunk in self._retiring
                    or chunk.lock.is_locked
                    or markdown_rendering_initial(chunk)
                )
                if updating or chunk is live or not region.height or region.overlaps(window):
                    if updating or (not region.height and chunk.source):
                        settled = False
                    plan.append(chunk)
                    continue
                # folded with its height only once two passes measured the same (a
                # chunk just unfolded may still be mounting its blocks)
                height = chunk.outer_size.height
                if self._measured.get(chunk) == height:
                    fold(FoldPiece(chunk.source, height))
                else:
                    self._measured[chunk] = height
                    settled = False
                    plan.append(chunk)
                continue
            y = region.y
            for piece in chunk.pieces:
                if region.height and Region(vr.x, y, vr.width, piece.height).overlaps(window):
                    plan.append(ChatMarkdown(piece.source or None))
                else:
                    fold(piece)
                y += piece.height
        await self._apply_fold_plan(chunks, plan)
        return settled

    async def _apply_fold_plan(
        self, chunks: list[Markdown | FoldedChunk], plan: list[Markdown | list[FoldPiece]]
    ) -> None:
        from h2otui.widgets.markdown import Markdown

        # placeholders are reused (a run that only grew or shrank keeps its widget)
        spare = [c for c in chunks if isinstance(c, FoldedChunk)]
        wanted: list[Widget] = []
        for item in plan:
            if isinstance(item, Markdown):
                wanted.append(item)
                continue
            folded = next((c for c in spare if set(c.pieces) & set(item)), None)
            if folded is None:
                folded = FoldedChunk(item)
            else:
                spare.remove(folded)
                if folded.pieces != item:
                    folded.set_pieces(item)
            wanted.append(folded)
        if wanted == chunks:
            return
        # All changes are made before the first await, so no other task (the stream's
        # next update, another fold pass) ever sees a half-applied plan.
        keep = set(wanted)
        removed = [c for c in chunks if c not in keep]
        for chunk in removed:
            self._measured.pop(chunk, None)
        pending: list[Awaitable[object]] = [self.remove_children(removed)]
        previous: Widget = self.query_one(".role")
        new: list[Widget] = []
        for widget in [*wanted, None]:
            if widget is not None and widget.parent is None:
                new.append(widget)
                continue
            if new:
                pending.append(self.mount_all(new, after=previous))
                new = []
            if widget is not None:
                previous = widget
        await asyncio.gather(*pending)

    def finish(self, status: str, stats: str = "") -> None:
        self._status = status
        self._stats = stats
        self._apply_status_class()
        self.query_one(".stats", Static).update(self._stats_line())


class Notice(Static):
    """A one-line note in the conversation (e.g. turns left out of the context)."""

    DEFAULT_CSS = """
    Notice {
        height: auto;
        margin: 1 0 0 0;
        color: $warning;
        text-style: italic;
    }
    """


class QueuedNotice(Static):
    """A question sent while an answer streams: shown as queued until it is sent."""

    DEFAULT_CSS = """
    QueuedNotice {
        height: auto;
        margin: 1 0 0 0;
        color: $text-muted;
        text-style: italic;
    }
    """

    def __init__(self, question: str) -> None:
        first = question.strip().splitlines()[0] if question.strip() else ""
        # the user's own words: plain text, controls made visible, never markup
        super().__init__(
            Text(visible(f"Queued (sent when the answer ends; Esc drops it): {first}")),
            markup=False,
        )
        self.question = question


class ConversationView(VerticalScroll):
    """Holds the messages and stays scrolled to the newest one while it streams."""

    DEFAULT_CSS = """
    ConversationView {
        height: 1fr;
        padding: 0 1 1 1;
        scrollbar-size-vertical: 1;
        /* the width never changes when the scrollbar appears: no reflow of the answer,
           and folded chunks keep the heights they were measured at */
        scrollbar-gutter: stable;
    }
    ConversationView > .empty {
        color: $text-muted;
        margin: 1 2;
        height: auto;
    }
    """

    def __init__(self, *children: Widget, **kwargs: Any) -> None:
        super().__init__(*children, **kwargs)
        self._folds_pending = False
        self._fold_retries = 0
        # one fold pass at a time: a pass awaits mounts, and a second one planned from
        # the same (not yet updated) children would unfold the same chunks twice
        self._fold_lock = asyncio.Lock()

    def on_mount(self) -> None:
        self.anchor()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # While the view follows a stream at the bottom, folding happens at chunk
        # boundaries; positions are only looked up again when the user scrolls (each
        # lookup of an off-screen widget costs a layout of the whole conversation).
        if round(old) != round(new) and not self.following:
            self.schedule_fold_sync()

    @property
    def following(self) -> bool:
        """Whether the view is anchored to the bottom, following a stream."""
        return self._anchored and not self._anchor_released

    def on_resize(self) -> None:
        self.schedule_fold_sync()

    @property
    def folding(self) -> bool:
        """Whether a fold pass is running or due (chunks may still fold or unfold)."""
        return self._folds_pending or self._fold_retries > 0 or self._fold_lock.locked()

    def schedule_fold_sync(self, *, retry: bool = False) -> None:
        """Fold / unfold long answers' chunks once the scroll position settles."""
        if not retry:
            # something changed: the passes that follow get their retries afresh
            self._fold_retries = 0
        if not self._folds_pending:
            self._folds_pending = True
            self.call_after_refresh(self._sync_folds)

    async def _sync_folds(self) -> None:
        self._folds_pending = False
        settled = True
        async with self._fold_lock:
            for message in self.query_children(AssistantMessage):
                settled = await message.sync_folds() and settled
        drop_removed_line_caches()
        # chunks mounted in the last update may not be laid out yet: look again after
        # the next refresh (a few times at most)
        if settled or self._fold_retries >= 10:
            self._fold_retries = 0
        else:
            self._fold_retries += 1
            self.schedule_fold_sync(retry=True)

    def messages(self) -> list[ChatMessage]:
        return list(self.query(ChatMessage))

    def last_answer(self) -> AssistantMessage | None:
        answers = list(self.query(AssistantMessage))
        return answers[-1] if answers else None

    async def clear(self, hint: str = "") -> None:
        await self.remove_children()
        if hint:
            await self.mount(Static(hint, classes="empty", markup=False))

    async def add(self, widget: Static | ChatMessage) -> None:
        for empty in self.query(".empty"):
            await empty.remove()
        await self.mount(widget)
        self.anchor()
