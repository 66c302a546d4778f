"""A footer that drops its least important keys instead of running off the screen.

Textual's ``Footer`` lays its keys out in one row and clips what does not fit, and its
"^p palette" key, docked right, is drawn over the others. :class:`FittedFooter` knows which
keys matter least (``drop_first``, in order; ``"command_palette"`` is the palette key)
and leaves them out until the rest fits the terminal's width. Every key still works; the command palette
(Ctrl+P) lists every action.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

#: columns Textual's footer gives a key beyond its label ("^y Copy"): padding / gap
_EXTRA_FULL = 2
_EXTRA_COMPACT = 1


class FittedFooter(Footer):
    """``Footer`` that fits its width, compact below ``full_width`` columns."""

    def __init__(self, drop_first: Sequence[str] = (), *, full_width: int = 80) -> None:
        super().__init__()
        #: actions whose keys go first when the row is too narrow, least important first
        self.drop_first = tuple(drop_first)
        self.full_width = full_width
        self._fitted_width = -1
        #: what the keys on show were composed from (None: nothing composed yet)
        self._composed_from: tuple[object, ...] | None = None

    def _width(self) -> int:
        return self.app.size.width

    def fit(self) -> None:
        """Re-fit after the terminal's width changed (called by the screen on resize)."""
        if self._width() != self._fitted_width and self.is_attached:
            self.refresh(recompose=True)

    def _keys_source(self) -> tuple[object, ...]:
        """Everything the footer's keys are composed from: the width and the screen's
        active bindings (which are shown, their labels, enabled or not)."""
        bindings = tuple(
            (b.key, b.action, b.description, b.show, enabled, tooltip)
            for _node, b, enabled, tooltip in self.screen.active_bindings.values()
        )
        return (self._width(), self.show_command_palette, bindings)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Recompose only when the keys would change. Textual's footer rebuilds all its
        keys on every bindings update -- each focus change, each widget mounted with
        bindings -- six times while the chat screen starts (measured), each rebuild
        restyling a dozen widgets before the first frame is out."""
        if (
            self._composed_from is not None
            and self.is_attached
            and screen is self.screen
            and self._keys_source() == self._composed_from
        ):
            return
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        width = self._width()
        self._fitted_width = width
        self.compact = width < self.full_width
        widgets = list(super().compose())
        # nothing composed means the bindings were not ready yet: compose again then
        self._composed_from = self._keys_source() if widgets else None
        extra = _EXTRA_COMPACT if width < self.full_width else _EXTRA_FULL

        def cost(widget: Widget) -> int:
            label = f"{getattr(widget, 'key_display', '')} {getattr(widget, 'description', '')}"
            return cell_len(label.strip()) + extra

        def action(widget: Widget) -> str:
            name = str(getattr(widget, "action", ""))
            return name.rpartition(".")[2]  # "screen.copy_last" is "copy_last"

        order = sorted(
            (w for w in widgets if action(w) in self.drop_first),
            key=lambda w: self.drop_first.index(action(w)),
        )
        while order and sum(cost(w) for w in widgets) > width:
            widgets.remove(order.pop(0))
        yield from widgets
