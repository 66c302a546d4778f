"""App-level Textual messages that screens and widgets share.

Screens may not import each other and widgets may not import screens, so the few
messages that cross those lines live here, beside neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from h2otui.config import Settings


class SettingsChanged(Message):
    """The app's settings were replaced by a new :class:`~h2otui.config.Settings` value.

    Sent to every screen after the engine pool has already dropped the engines whose
    model entries changed; views re-read what they show from ``new`` (settings are
    immutable: nothing holds a reference that could change under it)."""

    def __init__(self, old: Settings, new: Settings) -> None:
        super().__init__()
        self.old = old
        self.new = new
