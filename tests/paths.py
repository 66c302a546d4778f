"""Where the tests' own files are. Test modules live one folder down (unit/, component/,
tui/); helpers like this one stay in tests/, which pytest puts on sys.path."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DATA = TESTS / "data"
#: PYTHONPATH for a subprocess that must import this checkout and the test helpers
PYTHONPATH = f"{REPO}:{TESTS}"
