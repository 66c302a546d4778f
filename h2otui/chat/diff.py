"""A word-level diff of two answers (the compare screen's Ctrl+D), UI-free.

Words and the whitespace between them are the units, so a changed word shows as one
deletion and one insertion and the text reads back exactly: joining the ``equal`` and
``delete`` pieces gives the first answer, ``equal`` and ``insert`` the second."""

from __future__ import annotations

import difflib
import re
from typing import Literal

Op = Literal["equal", "delete", "insert"]
_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(a: str, b: str) -> list[tuple[Op, str]]:
    """``(op, text)`` pieces turning ``a`` into ``b``, adjacent pieces of one op merged."""
    ta, tb = _TOKENS.findall(a), _TOKENS.findall(b)
    out: list[tuple[Op, str]] = []

    def add(op: Op, tokens: list[str]) -> None:
        if not tokens:
            return
        text = "".join(tokens)
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))

    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", ta[i1:i2])
        else:
            add("delete", ta[i1:i2])
            add("insert", tb[j1:j2])
    return out


def similarity(a: str, b: str) -> float:
    """Share of words the two answers have in common, 0..1."""
    ta, tb = a.split(), b.split()
    if not ta and not tb:
        return 1.0
    return difflib.SequenceMatcher(None, ta, tb, autojunk=False).ratio()
