"""What `h2otui` with no command opens."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from h2otui.config import Settings


def launch(settings: Settings) -> int:
    """Open the interactive app; returns the exit code."""
    from h2otui.repl import run_repl

    return run_repl(settings)
