"""The ``h2otui`` entry point: a bare ``h2otui`` opens the app without the CLI machinery.

Most starts of ``h2otui`` open the TUI, and a user waits for its first frame: importing
typer (and click under it) and building the command tree cost ~0.05 s of CPU that the
app never uses. So when the arguments are only the app-level options (``--config FILE``,
``--model-lock TEXT``, each at most once) this module loads the settings and launches the
app itself, as :func:`h2otui.cli.root` would; any other argument line -- a command,
``--help``, ``--version``, an option it does not know, a missing value -- goes to the
typer CLI unchanged, so help and every error message stay the CLI's own.
"""

from __future__ import annotations

import sys
from pathlib import Path

from h2otui.commands.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE

#: the app-level options a bare launch accepts (those of :func:`h2otui.cli.root`)
APP_OPTIONS = ("--config", "--model-lock")


def app_options(argv: list[str]) -> dict[str, str] | None:
    """The app-level options of ``argv`` (``{"--config": "x.toml"}``), or None when
    ``argv`` is anything else and the typer CLI must parse it."""
    found: dict[str, str] = {}
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        name, eq, value = arg.partition("=")
        if name not in APP_OPTIONS or name in found:
            return None
        if not eq:
            if not rest:
                return None  # the CLI's "requires an argument" error
            value = rest.pop(0)
        if not value or value.startswith("-"):
            return None  # an odd value: the CLI decides what it means
        found[name] = value
    return found


def _private_notice(changed: list[Path]) -> None:
    from h2otui.privacy import describe

    sys.stderr.write(f"notice: {describe(changed)}\n")


def _error(message: str, code: int) -> int:
    from h2otui.safe_text import say

    # as h2otui.cli.fail: errors carry file names and server text, never raw on a terminal
    say(sys.stderr, f"error: {message}\n")
    return code


def launch_app(options: dict[str, str]) -> int:
    """Load the settings and run the app, as ``h2otui [--config F] [--model-lock T]``
    does through the CLI (same umask, same errors and exit codes)."""
    import h2otui.privacy as privacy

    privacy.private_umask()
    privacy.notice_hook = _private_notice
    from h2otui.commands.launch import launch, load_app_settings
    from h2otui.config import ConfigError
    from h2otui.engines.base import EngineConfigError, EngineError

    config = options.get("--config")
    try:
        settings = load_app_settings(
            Path(config) if config is not None else None, options.get("--model-lock")
        )
        return launch(settings)
    except (ConfigError, EngineConfigError) as exc:
        return _error(str(exc), EXIT_USAGE)
    except EngineError as exc:
        return _error(str(exc), EXIT_ERROR)
    except KeyboardInterrupt:  # Ctrl-C before the app took the terminal
        return EXIT_INTERRUPTED


def main() -> None:
    options = app_options(sys.argv[1:])
    if options is None:
        from h2otui.cli import main as cli_main

        cli_main()
        return
    sys.exit(launch_app(options))


if __name__ == "__main__":
    main()
