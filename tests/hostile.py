"""A hostile corpus: text and file names built to attack a terminal or a markup parser.

Everything h2otui shows that came from a document, a file name, a server or a model must
reach the terminal with no control character (except newline and tab) and must never be
parsed as Rich / Textual markup. Tests push this corpus through every output path and
check both with :func:`assert_terminal_safe` and :func:`assert_literal`.
"""

from __future__ import annotations

from pathlib import Path

#: terminal attacks, each a complete sequence a terminal would act on
OSC52_CLIPBOARD = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # writes "echo pwned" to the clipboard
OSC0_TITLE = "\x1b]0;pwned-title\x07"  # sets the window title
CSI_CLEAR = "\x1b[2J\x1b[H"  # clears the screen, cursor home
C1_CSI = "\x9b31m"  # the one-byte CSI: red text on terminals that honour C1
BELL = "\x07"
BACKSPACE = "ab\x08\x08XY"  # "XY" overwrites "ab"
BARE_CR = "innocent line\rEVIL"  # EVIL overwrites the start of the line
BIDI = "report\u202etxt.exe"  # reads as "reportexe.txt"
OSC8_LINK = "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07"

ATTACKS = (
    OSC52_CLIPBOARD,
    OSC0_TITLE,
    CSI_CLEAR,
    C1_CSI,
    BELL,
    BACKSPACE,
    BARE_CR,
    BIDI,
    OSC8_LINK,
)

#: markup that Rich / Textual would interpret if untrusted text were parsed
MARKUP = ("[bold red]x.txt", "[link=https:evil.example]clickme.txt", "notes [final].txt")

#: file names: markup, and an escape sequence (file names may hold any byte but / and NUL)
HOSTILE_NAMES = (*MARKUP, "title\x1b]0;pwned\x07.txt", "bidi\u202etxt.md")

#: text for a document or a model's answer: every attack between plain words
HOSTILE_TEXT = "Quarterly churn fell. " + " ".join(f"word{n} {a}" for n, a in enumerate(ATTACKS))
HOSTILE_TEXT += " " + " ".join(MARKUP) + " The end."

#: code points that must never reach a terminal raw
_ALLOWED_CONTROLS = {"\n", "\t"}


def forbidden(text: str) -> list[str]:
    """The control code points in ``text`` a terminal would act on (bare CR included)."""
    bad = []
    for i, ch in enumerate(text):
        c = ord(ch)
        if ch in _ALLOWED_CONTROLS:
            continue
        if ch == "\r" and text[i + 1 : i + 2] == "\n":
            continue
        if c < 0x20 or 0x7F <= c <= 0x9F or 0x202A <= c <= 0x202E or 0x2066 <= c <= 0x2069:
            bad.append(repr(ch))
    return bad


def assert_terminal_safe(text: str, where: str = "") -> None:
    """No control character but newline and tab (and CRLF) in ``text``."""
    bad = forbidden(text)
    assert not bad, f"{where}: raw control characters reach the terminal: {sorted(set(bad))}"


def assert_literal(text: str, names: tuple[str, ...] = MARKUP, where: str = "") -> None:
    """Every markup-looking name in ``names`` appears literally (brackets kept)."""
    flat = "".join(text.split())  # tables may wrap a long name
    for name in names:
        assert "".join(name.split()) in flat, f"{where}: {name!r} not shown literally"


def write_hostile_files(folder: Path) -> list[Path]:
    """One text file per hostile name, each holding :data:`HOSTILE_TEXT`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, name in enumerate(HOSTILE_NAMES):
        path = folder / name
        path.write_text(f"Document {n}. {HOSTILE_TEXT}\n", encoding="utf-8")
        paths.append(path)
    return paths
