"""What `h2otui` with no command opens: the Textual app (chat first).

When stdin or stdout is not a terminal (a pipe, a script) a full-screen app cannot run;
``h2otui chat --plain`` (:mod:`h2otui.commands.chat`) is the line-mode fallback.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from h2otui.commands.exit_codes import EXIT_USAGE
from h2otui.safe_text import say

if TYPE_CHECKING:
    from pathlib import Path

    from h2otui.config import Settings


def load_app_settings(
    config: Path | None, model_lock: str | None, overrides: dict[str, Any] | None = None
) -> Settings:
    """The settings of a run: ``--config`` / ``--model-lock`` (the options every command
    takes) and a command's own flags (``overrides``) over the configured layers. Raises
    :class:`~h2otui.config.ConfigError`."""
    from h2otui.config import load_settings, parse_model_lock

    layered: dict[str, Any] = {}
    if model_lock:
        layered["models"] = parse_model_lock(model_lock)  # never empty
        layered.setdefault("default_model", layered["models"][0]["name"])
    if overrides:
        layered.update({k: v for k, v in overrides.items() if v is not None})
    return load_settings(config, layered or None)


def launch(settings: Settings) -> int:
    """Open the interactive app; returns the exit code."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        say(
            sys.stderr,
            "error: the h2otui app needs a terminal; for a line-mode chat use "
            "`h2otui chat --plain`, for one question `h2otui ask QUESTION`\n",
        )
        return EXIT_USAGE
    from h2otui.app import make_app

    app = make_app(settings)
    result = app.run()
    return exit_code(result, app.return_code)


def exit_code(result: int | None, return_code: int | None) -> int:
    """The process's exit code: Textual sets ``return_code`` to 1 when an unhandled
    exception ends the app (``run()`` then returns ``None``), so a crash exits 1, never 0."""
    if return_code:
        return return_code
    return int(result or 0)
