"""The process exit codes every command uses (one definition, documented in ``--help``)."""

from __future__ import annotations

EXIT_OK = 0
#: a model, server or runtime error
EXIT_ERROR = 1
#: bad usage or settings (the message names the setting and where it came from)
EXIT_USAGE = 2
#: partly done: some files or questions failed (the summary lists them)
EXIT_PARTIAL = 3
#: interrupted with Ctrl-C (what was printed is kept)
EXIT_INTERRUPTED = 130
#: the reader of the output went away (``| head``): quiet, as a process killed by SIGPIPE
EXIT_BROKEN_PIPE = 141

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 a model, server or runtime error; 2 bad usage or settings "
    "(the message names the setting and where it came from); 3 partly done (some files or "
    "questions failed, see the summary); 130 interrupted with Ctrl-C (what was printed is kept); 141 the output was closed (e.g. "
    "piped into head), quietly."
)
