"""Screens. Each ``NAME.py`` has a sibling ``NAME.tcss`` stylesheet.

:data:`NAVIGATION` lists the app's top-level screens (Textual *modes*) with the key that
switches to each; the compare, collections and settings screens are added here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NavEntry:
    mode: str
    """Textual mode name."""
    target: str
    """``module:Class`` of the screen, imported when first shown."""
    key: str
    title: str
    help: str


NAVIGATION: list[NavEntry] = [
    NavEntry("chat", "h2otui.screens.chat:ChatScreen", "f2", "Chat", "Chat with a model"),
    NavEntry(
        "settings",
        "h2otui.screens.settings:SettingsScreen",
        "f5",
        "Settings",
        "See and change every setting and model (saved to the user config)",
    ),
]
