"""The chat screen's document panel: collection and action selectors, and the sources
(numbered citations with their quoted text) of the selected answer.

A view, nothing more: the screen reads the selected collection and action, runs the
answer (:class:`~h2otui.chat.runner.AnswerRunner`) and hands the panel the sources of each
answer (:meth:`DocumentsPanel.record`). Focusing an answer in the conversation shows that
answer's sources; Enter on a source opens the full chunk. The panel lists collections
through :mod:`h2otui.qa`, with the app's current settings.

Listing takes a second or more (it imports LanceDB), so the collection selector
(:class:`CollectionSelect`) says "Loading collections…" meanwhile, keeps the selected
value, and opens only once the list is there: a question is always answered in the mode
the panel showed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from h2otui.qa.citations import matched_span
from h2otui.safe_text import visible
from h2otui.widgets.textual_compat import show_select_label

if TYPE_CHECKING:
    from h2otui.config import Settings
    from h2otui.qa.citations import Passage
    from h2otui.qa.context import Dropped

#: the collection selector's value for plain chat
NO_COLLECTION = "__none__"
PLAIN_CHAT = "No collection (plain chat)"
LOADING = "Loading collections…"
NO_ANSWER_YET = "Sources of the selected answer appear here."


class CollectionSelect(Select[str]):
    """The collection selector: while the list is being read (:meth:`begin_listing` ..
    :meth:`end_listing`) it shows :data:`LOADING`, keeps its value and does not open;
    asked to open meanwhile (Enter, a click), it opens when the list arrives.

    Opened early, it showed only "No collection" and the real collections appeared
    later inside the open list with the highlight left on "No collection", so a quick
    Enter answered a question as plain chat."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            [(PLAIN_CHAT, NO_COLLECTION)],
            value=NO_COLLECTION,
            allow_blank=False,
            id=id,
            prompt="Collection",
        )
        self.listing = False
        self._choices: list[tuple[RenderableType, str]] = [(PLAIN_CHAT, NO_COLLECTION)]
        self._open_when_listed = False

    def _show(self, options: list[tuple[RenderableType, str]], value: str) -> None:
        """Set the options and the value, and redraw the value's label: Select redraws it
        only when the value changes, and here the label changes under the same value."""
        self.set_options(options)
        self.value = value
        label = next(prompt for prompt, v in options if v == value)
        show_select_label(self, label)

    def validate_expanded(self, expanded: bool) -> bool:
        if expanded and self.listing:
            self._open_when_listed = True
            return False
        return expanded

    def begin_listing(self) -> None:
        """Show :data:`LOADING` (with the selected collection, if any) until
        :meth:`end_listing`; the value stays the selected one."""
        current = str(self.value)
        # a Text: a collection name is shown as it is, never read as markup
        label = Text(LOADING if current == NO_COLLECTION else f"{current} · {LOADING}")
        self.listing = True
        self._show([(label, current)], current)

    def expect(self, name: str) -> None:
        """Select ``name`` before the list is read (a reopened chat's collection): shown
        with :data:`LOADING` until :meth:`end_listing`, which keeps it if it exists."""
        self.listing = True
        label = LOADING if name == NO_COLLECTION else f"{name} · {LOADING}"
        self._show([(Text(label), name)], name)

    def end_listing(self, choices: list[tuple[RenderableType, str]] | None) -> bool:
        """Show ``choices`` (``None``: listing failed, keep the ones from before) and
        keep the selected value; open if the user asked to meanwhile. False when the
        selected collection is no longer there (the selector falls back to plain chat)."""
        current = str(self.value)
        if choices is not None:
            self._choices = choices
        values = {v for _, v in self._choices}
        self.listing = False
        self._show(self._choices, current if current in values else NO_COLLECTION)
        if self._open_when_listed:
            self._open_when_listed = False
            if self.has_focus:
                self.action_show_overlay()
        return current in values


def collection_choices(found: list[tuple[str, int]]) -> list[tuple[RenderableType, str]]:
    """:class:`CollectionSelect` options for ``list_collections``'s (name, chunks): plain
    chat first, each name with its size (a Text: names are never read as markup)."""
    options: list[tuple[RenderableType, str]] = [(PLAIN_CHAT, NO_COLLECTION)]
    for name, chunks in found:
        label = f"{name} ({chunks} chunks)" if chunks >= 0 else f"{name} (unreadable)"
        options.append((Text(visible(label)), name))
    return options


ACTIONS = [("Ask (query)", "query"), ("Summarize", "summarize"), ("Extract", "extract")]


#: seconds between the chat screen's first refresh and building the documents panel
BUILD_DELAY = 0.3


class DocumentsPanel(Vertical):
    """Collection / action selectors and the sources of the selected answer.

    Hidden until Ctrl+G, so its ~20 widgets are mounted just after the screen's first
    frame, not in it (they were 40% of the chat screen's widgets, and the first frame's
    CSS and layout work grows with them). Until then (:attr:`built` is False) it
    answers as a panel with nothing selected would, and a collection restored or
    sources shown meanwhile are applied when it is built; :meth:`build` builds it at
    once (the screen awaits it before moving the focus into it).
    """

    DEFAULT_CSS = """
    DocumentsPanel { height: 1fr; padding: 0 1; }
    DocumentsPanel .qa-title { text-style: bold; color: $primary; }
    DocumentsPanel Select { margin-bottom: 1; }
    DocumentsPanel #qa-sources { height: auto; max-height: 12; }
    DocumentsPanel #qa-quote-box { height: 1fr; border: round $primary 30%; }
    DocumentsPanel #qa-quote { padding: 0 1; }
    DocumentsPanel #qa-dropped { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: sources / drops per answer widget, so focusing an answer shows its own
        self._by_answer: dict[int, tuple[list[Passage], list[Dropped], str]] = {}
        #: the question the shown sources answered (what their quotes are matched to)
        self.question = ""
        self.sources: list[Passage] = []
        self.dropped: list[Dropped] = []
        self._shown_for: int | None = None
        #: the panel's widgets are mounted (see the class docstring)
        self.built = False
        self._building: asyncio.Future[None] | None = None
        #: (collection, action) restored before the panel was built
        self._pending: tuple[str | None, str] | None = None
        self._list_when_built = False

    def _content(self) -> list[Widget]:
        return [
            Label("Documents", classes="qa-title"),
            CollectionSelect(id="qa-collection"),
            Select(ACTIONS, value="query", allow_blank=False, id="qa-action"),
            Label("Sources", classes="qa-title"),
            OptionList(id="qa-sources"),
            Static("", id="qa-dropped"),
            VerticalScroll(Static(NO_ANSWER_YET, id="qa-quote", markup=False), id="qa-quote-box"),
        ]

    def on_mount(self) -> None:
        # the collection list is read when the panel is opened (Ctrl+G), not at start-up:
        # listing imports LanceDB, which would compete with loading the model
        self.watch(self.screen, "focused", self._focus_changed, init=False)
        if self.app.is_headless:  # no terminal, no frame to wait for (tests)
            self.call_after_refresh(self.build)
        else:
            # "after the refresh" is still before the frame is written to the terminal:
            # built then, the panel held the first frame back (bench_first_paint.py)
            self.call_after_refresh(self.set_timer, BUILD_DELAY, self.build)

    async def build(self) -> None:
        """Mount the panel's widgets (once; a second call waits for the first)."""
        if self._building is None:
            self._building = asyncio.get_running_loop().create_future()
            try:
                await self.mount_all(self._content())
                self.built = True
                if self._list_when_built:
                    self.refresh_collections()
                if self._pending is not None:
                    collection, action = self._pending
                    self._pending = None
                    self.restore(collection, action)
                if self.sources or self.dropped:
                    self.show(
                        self.sources,
                        self.dropped,
                        for_answer=self._shown_for,
                        question=self.question,
                    )
            finally:
                self._building.set_result(None)
        await self._building

    # --- what the chat screen reads ---------------------------------------------------

    @property
    def collection(self) -> str | None:
        if not self.built:
            return self._pending[0] if self._pending else None
        value = self.query_one("#qa-collection", Select).value
        return None if value in (NO_COLLECTION, Select.BLANK) else str(value)

    @property
    def action(self) -> str:
        if not self.built:
            return self._pending[1] if self._pending else "query"
        return str(self.query_one("#qa-action", Select).value)

    def describe(self) -> str:
        """Short toolbar text: ``docs: UserData · query`` (or '' for plain chat)."""
        return f"docs: {self.collection} · {self.action}" if self.collection else ""

    # --- collections --------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The app's settings as they are now (they are replaced, never changed, when the
        user edits them), so nothing here holds a stale copy."""
        settings: Any = getattr(self.app, "settings", None)
        assert settings is not None, "DocumentsPanel needs an app with settings"
        return settings  # type: ignore[no-any-return]

    def refresh_collections(self) -> None:
        """Re-read the list of collections (in a thread: listing imports LanceDB); the
        selector shows that it is loading meanwhile (asked before the panel is built,
        it lists once built)."""
        if not self.built:
            self._list_when_built = True
            return
        self.query_one("#qa-collection", CollectionSelect).begin_listing()
        self._list_collections(self.settings)

    @work(thread=True, exclusive=True, group="qa-collections", exit_on_error=False)
    def _list_collections(self, settings: Settings) -> None:
        from h2otui.qa.collection import list_collections

        try:
            found = list_collections(settings)
        except Exception as exc:
            self.app.call_from_thread(
                self._listing_failed, visible(f"Cannot list collections: {exc}")
            )
            return
        self.app.call_from_thread(self._set_collections, found)

    def _listing_failed(self, message: str) -> None:
        self.query_one("#qa-collection", CollectionSelect).end_listing(None)
        self.notify(message, severity="error", markup=False)

    def _set_collections(self, found: list[tuple[str, int]]) -> None:
        select = self.query_one("#qa-collection", CollectionSelect)
        before = self.collection
        if not select.end_listing(collection_choices(found)) and before is not None:
            self.notify(
                visible(f"The collection {before} is gone: questions go to plain chat."),
                severity="warning",
                markup=False,
            )
        self.post_message(self.CollectionsListed())

    def select_collection(self, name: str | None) -> None:
        if not self.built:
            self._pending = (name, self.action)
            return
        self.query_one("#qa-collection", Select).value = name or NO_COLLECTION

    def restore(self, collection: str | None, action: str) -> None:
        """Answer from ``collection`` with ``action`` again (a reopened chat): shown at
        once, and checked against the collections on disk in the background; if it is
        gone, the selector falls back to plain chat and says so."""
        if not self.built:
            valid = action in {value for _, value in ACTIONS}
            self._pending = (collection, action if valid else self.action)
            return
        if action in {value for _, value in ACTIONS}:
            self.query_one("#qa-action", Select).value = action
        select = self.query_one("#qa-collection", CollectionSelect)
        if collection is None and not select.listing:
            select.value = NO_COLLECTION  # always one of the options
            return
        # while a listing is on its way, its end keeps the value set here
        was_listing = select.listing
        select.expect(collection or NO_COLLECTION)
        if collection is not None or not was_listing:
            self._list_collections(self.settings)

    def forget_sources(self) -> None:
        """Drop every answer's sources (the conversation was cleared)."""
        self._by_answer.clear()
        self.sources, self.dropped, self._shown_for = [], [], None
        if not self.built:
            return
        self.query_one("#qa-sources", OptionList).clear_options()
        self.query_one("#qa-dropped", Static).update("")
        self.query_one("#qa-quote", Static).update(NO_ANSWER_YET)

    @on(Select.Changed)
    def _selection_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.Changed())

    class Changed(Message):
        """The collection or the action changed (the screen updates its toolbar)."""

    class CollectionsListed(Message):
        """The collection list was re-read: collections may have been re-ingested, so
        the screen reopens them for its next answers."""

    class SourceRequested(Message):
        """Enter on a source: the screen shows its full text (source ``n``, 1-based)."""

        def __init__(self, n: int, passage: Passage) -> None:
            super().__init__()
            self.n = n
            self.passage = passage

    # --- sources ----------------------------------------------------------------------------

    def record(
        self,
        answer_widget: Widget,
        sources: list[Passage],
        dropped: list[Dropped],
        question: str = "",
    ) -> None:
        """Keep ``sources`` as the answer's own (to ``question``) and show them."""
        self._by_answer[id(answer_widget)] = (list(sources), list(dropped), question)
        self.show(sources, dropped, for_answer=id(answer_widget), question=question)

    def show(
        self,
        sources: list[Passage],
        dropped: list[Dropped],
        *,
        for_answer: int | None = None,
        question: str = "",
    ) -> None:
        self.sources, self.dropped = list(sources), list(dropped)
        self.question = question
        self._shown_for = for_answer
        if not self.built:
            return  # shown when built
        options = self.query_one("#qa-sources", OptionList)
        options.clear_options()
        # labels hold file names: a Text, never markup (`[link=...]x.txt` crashed the list)
        options.add_options(
            [Option(Text(visible(p.label(n))), id=str(n)) for n, p in enumerate(sources, 1)]
        )
        kept_out = [d for d in dropped if d.reason != "cut_distance"]
        note = f"{len(kept_out)} left out to fit the context" if kept_out else ""
        self.query_one("#qa-dropped", Static).update(note)
        if sources:
            options.highlighted = 0
            self._quote(0)
        else:
            self.query_one("#qa-quote", Static).update(
                "No sources: nothing in the collection matched."
            )

    def _quote(self, index: int) -> None:
        """Show source ``index``'s text, the part that matched the question highlighted
        and scrolled into view (a chunk's start is often not what answered)."""
        if not 0 <= index < len(self.sources):
            return
        p = self.sources[index]
        quote, at = highlighted_quote(p.text, self.question)
        text = Text(visible(f"{p.label(index + 1)}\n\n“"))
        offset = len(text) + at
        text.append_text(quote)
        text.append("”")
        self.query_one("#qa-quote", Static).update(text)
        box = self.query_one("#qa-quote-box", VerticalScroll)
        box.scroll_home(animate=False)
        if quote.spans:  # a match: bring it into view

            def scroll() -> None:
                width = self.query_one("#qa-quote", Static).content_size.width
                if width > 0:
                    lines = text[:offset].wrap(self.app.console, width)
                    box.scroll_to(y=max(0, len(lines) - 2), animate=False)

            self.call_after_refresh(scroll)

    @on(OptionList.OptionHighlighted, "#qa-sources")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._quote(event.option_index)

    @on(OptionList.OptionSelected, "#qa-sources")
    def _open_source(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.open_source(event.option_index)

    def open_source(self, index: int) -> None:
        """Ask the screen to show the full chunk of source ``index`` (0-based)."""
        if 0 <= index < len(self.sources):
            self.post_message(self.SourceRequested(index + 1, self.sources[index]))

    def _focus_changed(self, focused: Widget | None) -> None:
        if focused is None:
            return
        key = id(focused)
        if key in self._by_answer and key != self._shown_for:
            sources, dropped, question = self._by_answer[key]
            self.show(sources, dropped, for_answer=key, question=question)


#: how the part of a source that matched the question is marked
MATCH_STYLE = "bold reverse"


def highlighted_quote(source_text: str, question: str) -> tuple[Text, int]:
    """``source_text`` (stripped, controls made visible) with the part matching
    ``question`` in :data:`MATCH_STYLE`, and where that part starts in it (0: none)."""
    body = source_text.strip()
    span = matched_span(body, question) if question else None
    if span is None:
        return Text(visible(body)), 0
    start, end = span
    before = visible(body[:start])
    text = Text(before)
    text.append(visible(body[start:end]), style=MATCH_STYLE)
    text.append(visible(body[end:]))
    return text, len(before)
