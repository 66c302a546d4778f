"""One row with a collection picker and an action picker (the compare screen's).

The collection picker is the chat's :class:`~h2otui.widgets.sources_panel.CollectionSelect`:
while the list of collections is read (in a thread: listing imports LanceDB) it says
"Loading collections…", keeps the selected value and opens only once the list is there,
so a question always goes in the mode the bar shows. The list is read the first time
the picker is focused or asked to open (not when the screen opens: the import would
compete with the models), and again on :meth:`CollectionBar.refresh_collections`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Select

from h2otui.safe_text import visible
from h2otui.widgets.sources_panel import (
    ACTIONS,
    NO_COLLECTION,
    CollectionSelect,
    collection_choices,
)

if TYPE_CHECKING:
    from h2otui.config import Settings


class CollectionBar(Horizontal):
    """Collection and action pickers; posts :class:`CollectionBar.Changed`."""

    DEFAULT_CSS = """
    CollectionBar { height: 1; width: 1fr; }
    CollectionBar #bar-collection { width: 2fr; max-width: 60; margin-right: 1; }
    CollectionBar #bar-action { width: 1fr; max-width: 22; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: the list was read at least once (or is being read)
        self.listed = False

    def compose(self) -> ComposeResult:
        select = CollectionSelect(id="bar-collection")
        select.compact = True
        yield select
        yield Select(ACTIONS, value="query", allow_blank=False, id="bar-action", compact=True)

    @property
    def select(self) -> CollectionSelect:
        return self.query_one("#bar-collection", CollectionSelect)

    @property
    def collection(self) -> str | None:
        value = self.select.value
        return None if value in (NO_COLLECTION, Select.BLANK) else str(value)

    @property
    def action(self) -> str:
        return str(self.query_one("#bar-action", Select).value)

    @property
    def settings(self) -> Settings:
        settings: Any = getattr(self.app, "settings", None)
        assert settings is not None, "CollectionBar needs an app with settings"
        return settings  # type: ignore[no-any-return]

    # --- listing --------------------------------------------------------------------

    def refresh_collections(self) -> None:
        """Read the list of collections again; the picker shows it is loading."""
        self.listed = True
        self.select.begin_listing()
        self._list_collections(self.settings)

    def ensure_listed(self) -> None:
        if not self.listed:
            self.refresh_collections()

    @on(events.DescendantFocus)
    def _focused(self, event: events.DescendantFocus) -> None:
        if event.widget is self.select:
            self.ensure_listed()

    def pick(self) -> None:
        """Focus the collection picker and open it (once the list is there)."""
        select = self.select
        select.focus()
        self.ensure_listed()
        select.expanded = True

    @work(thread=True, exclusive=True, group="bar-collections", exit_on_error=False)
    def _list_collections(self, settings: Settings) -> None:
        from h2otui.qa.collection import list_collections

        try:
            found = list_collections(settings)
        except Exception as exc:
            self.app.call_from_thread(self._set_collections, None, f"{exc}")
            return
        self.app.call_from_thread(self._set_collections, found, "")

    def _set_collections(self, found: list[tuple[str, int]] | None, error: str) -> None:
        before = self.collection
        choices = None if found is None else collection_choices(found)
        still_there = self.select.end_listing(choices)
        if error:
            self.notify(visible(f"Cannot list collections: {error}"), severity="error")
        elif not still_there and before is not None:
            self.notify(
                visible(f"The collection {before} is gone: questions go to the models alone."),
                severity="warning",
            )

    # --- setting --------------------------------------------------------------------

    def set_action(self, action: str) -> None:
        if action in {value for _, value in ACTIONS}:
            self.query_one("#bar-action", Select).value = action

    def restore(self, collection: str | None, action: str) -> None:
        """Show ``collection`` and ``action`` (a reopened compare) at once; a collection
        is checked against the ones on disk in the background (gone: back to none)."""
        self.set_action(action)
        if collection is None:
            if not self.select.listing:
                self.select.value = NO_COLLECTION
            return
        self.select.expect(collection)
        self.listed = True
        self._list_collections(self.settings)

    @on(Select.Changed)
    def _changed(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.Changed())

    class Changed(Message):
        """The collection or the action changed."""
