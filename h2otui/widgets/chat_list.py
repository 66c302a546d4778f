"""The sidebar list of saved chats (newest first)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar, Protocol

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Label, ListItem, ListView

from h2otui.safe_text import visible


class ChatSummary(Protocol):
    id: int
    title: str
    updated_at: float


def _when(ts: float) -> str:
    now = time.time()
    if now - ts < 86400 and time.localtime(now).tm_mday == time.localtime(ts).tm_mday:
        return time.strftime("%H:%M", time.localtime(ts))
    return time.strftime("%d %b", time.localtime(ts))


class ChatListItem(ListItem):
    DEFAULT_CSS = """
    ChatList > ChatListItem { height: 1; }
    ChatListItem > Horizontal { height: 1; }
    ChatListItem .title {
        width: 1fr; height: 1; padding-left: 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    ChatListItem .when { width: auto; height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, chat_id: int, title: str, updated_at: float) -> None:
        super().__init__()
        self.chat_id = chat_id
        self.title = title or "Untitled chat"
        self.updated_at = updated_at

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(Text(visible(self.title)), classes="title")
            yield Label(_when(self.updated_at), classes="when")


class ChatList(ListView):
    """Enter opens a chat; R renames it; Delete / D deletes it (after confirmation);
    / searches every chat's title and messages (the screen's ``search_chats``).

    The keys act on the highlighted chat, so a focused list always highlights one: the
    chat the user had highlighted (kept across a rename or a refresh), else the current
    chat, else the first. An unfocused list highlights the current chat only, so a new,
    unsaved chat shows no highlight until the list is entered.
    """

    DEFAULT_CSS = """
    ChatList { height: 1fr; background: transparent; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "rename", "Rename"),
        Binding("delete,d", "delete", "Delete"),
        Binding("slash", "screen.search_chats", "Search"),
    ]

    class Action(Message):
        """The user asked to open, rename or delete a chat."""

        def __init__(self, action: str, chat_id: int) -> None:
            super().__init__()
            self.action = action
            self.chat_id = chat_id

    #: the current chat at the last :meth:`set_chats` (a new one moves the highlight)
    _current: int | None = None

    async def set_chats(self, chats: Sequence[ChatSummary], current: int | None) -> None:
        """Show ``chats``; keep the highlight on the chat it was on, unless the current
        chat changed (another chat was opened, or a new one saved): then follow it."""
        kept = self._selected() if current == self._current else None
        self._current = current
        await self.clear()
        items = [ChatListItem(c.id, c.title, c.updated_at) for c in chats]
        await self.extend(items)
        ids = [item.chat_id for item in items]
        if kept in ids:
            self.index = ids.index(kept)
        elif current in ids:
            self.index = ids.index(current)
        else:
            self.index = None
            self._highlight_some()

    def _highlight_some(self) -> None:
        """A focused list with chats highlights one, so that its keys act on it."""
        if self.index is None and self.has_focus and len(self):
            self.index = 0

    def _on_focus(self, event: events.Focus) -> None:
        super()._on_focus(event)
        self._highlight_some()

    def _selected(self) -> int | None:
        item = self.highlighted_child
        return item.chat_id if isinstance(item, ChatListItem) else None

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        if isinstance(event.item, ChatListItem):
            self.post_message(self.Action("open", event.item.chat_id))

    def action_rename(self) -> None:
        chat_id = self._selected()
        if chat_id is not None:
            self.post_message(self.Action("rename", chat_id))

    def action_delete(self) -> None:
        chat_id = self._selected()
        if chat_id is not None:
            self.post_message(self.Action("delete", chat_id))
