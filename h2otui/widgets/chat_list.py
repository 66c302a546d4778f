"""The sidebar list of saved chats (newest first)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar, Protocol

from rich.text import Text
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
    """Enter opens a chat; R renames it; Delete / D deletes it (after confirmation)."""

    DEFAULT_CSS = """
    ChatList { height: 1fr; background: transparent; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "rename", "Rename"),
        Binding("delete,d", "delete", "Delete"),
    ]

    class Action(Message):
        """The user asked to open, rename or delete a chat."""

        def __init__(self, action: str, chat_id: int) -> None:
            super().__init__()
            self.action = action
            self.chat_id = chat_id

    async def set_chats(self, chats: Sequence[ChatSummary], current: int | None) -> None:
        await self.clear()
        items = [ChatListItem(c.id, c.title, c.updated_at) for c in chats]
        await self.extend(items)
        for i, item in enumerate(items):
            if item.chat_id == current:
                self.index = i
                break
        else:
            self.index = None

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
