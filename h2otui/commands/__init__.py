"""What each CLI command does, one module per command group.

``h2otui/cli.py`` only wires typer to these modules; each imports its heavy dependencies
inside the function that needs them, so ``h2otui --help`` stays instant. Commands render
results for a terminal (or JSON) and turn domain errors into exit codes
(:mod:`h2otui.commands.exit_codes`); the work itself lives in the domain packages
(``chat/``, ``qa/``, ``engines/``, ``ingest/``, ``store/``), which never import this
package.
"""
