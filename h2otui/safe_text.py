"""Untrusted text made safe to show on a terminal: the one sanitiser every output uses.

Text that came from a document, a file name, a server or a model is untrusted. Written
raw, an ``ESC ] 52`` sequence writes the user's clipboard, ``ESC ] 0`` sets the window
title, ``ESC [ 2J`` clears the screen, a bare ``CR`` overwrites what a line said and a
bidi override makes ``evil‮txt.exe`` read as something else. :func:`visible` turns
every such code point into a visible stand-in, so the user *sees* that the text holds a
control instead of the terminal obeying it:

* C0 controls (U+0000–U+001F) except newline and tab → their Unicode control pictures
  (``\\x1b`` → ``␛``, ``\\x07`` → ``␇``, ``\\x08`` → ``␈``); DEL → ``␡``.
* A carriage return is kept only as part of ``\\r\\n`` (a Windows line end is harmless);
  a bare ``\\r`` → ``␍``, since it lets later text overwrite the line.
* C1 controls (U+0080–U+009F) → ``␛`` plus their 7-bit equivalent (C1 = ESC + byte-0x40),
  so ``\\x9b`` (the one-byte CSI) reads ``␛[`` and ``\\x9d`` (OSC) reads ``␛]``.
* Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) → ``<U+202E>``:
  they reorder what follows them and can disguise a file name.
* Lone surrogates (what ``surrogateescape`` makes of a non-UTF-8 file name) → U+FFFD,
  which is also what keeps a strict UTF-8 stream from raising on them.

Stored data stays exact (the chat store keeps what the model said, the collection keeps
the real path); sanitising happens where text leaves for a terminal or a Markdown export.
``--json`` output is exact too: :func:`json_dumps` escapes the same code points as JSON
``\\uXXXX`` escapes, which decode back to the original string.

Stdlib only: it is imported by the CLI before any heavy module, and by domain packages.
"""

from __future__ import annotations

import json
import re
from typing import Any, TextIO, cast

_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))


def _table() -> dict[int, str]:
    table: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A)}
    del table[0x0D]  # a CR is handled by _BARE_CR: kept inside CRLF, made visible alone
    table[0x7F] = "\u2421"  # ␡
    for c in range(0x80, 0xA0):
        table[c] = "\u241b" + chr(c - 0x40)  # ␛ + the 7-bit form of the C1 control
    for c in _BIDI:
        table[c] = f"<U+{c:04X}>"
    for c in range(0xD800, 0xE000):
        table[c] = "\ufffd"
    return table


_TABLE = _table()
_BARE_CR = re.compile(r"\r(?!\n)")
#: what a JSON string may carry raw (json.dumps with ensure_ascii=False) that a terminal
#: would act on; C0 controls are escaped by json.dumps itself
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(text: str) -> str:
    """``text`` with every terminal control made visible (see the module docstring).

    Safe on streamed chunks: every control is a single code point, so a chunk boundary
    never splits one (a ``\\r\\n`` split across chunks shows as ``␍`` + newline).
    """
    text = text.translate(_TABLE)
    if "\r" in text:
        text = _BARE_CR.sub("\u240d", text)
    return text


def is_visible(text: str) -> bool:
    """True when :func:`visible` would leave ``text`` unchanged."""
    return visible(text) == text


def say(stream: TextIO, text: str) -> None:
    """Write ``text`` to ``stream`` through :func:`visible` (a CLI's plain-text output)."""
    stream.write(visible(text))


def json_dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False)`` with the code points a terminal acts on
    escaped as ``\\uXXXX``: readable UTF-8, the exact same value once decoded."""
    text = json.dumps(obj, ensure_ascii=False, **kwargs)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class VisibleWriter:
    """A text stream that passes everything written through :func:`visible`.

    For plain-text output (a streamed answer, its sources): sanitised whether or not the
    stream is a terminal, because piped text ends up on one too (``| less -R``, ``| tee``,
    a log ``cat`` later); anyone who needs the exact bytes has ``--json``.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(visible(text))

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()


def visible_stream(stream: TextIO) -> TextIO:
    """``stream`` wrapped in a :class:`VisibleWriter`, typed as the text stream it stands
    in for (callers only write and flush)."""
    return cast(TextIO, VisibleWriter(stream))
