"""Split part text into overlapping chunks of about ``chunk_size`` characters.

Breaks prefer, in order: a paragraph break, a sentence end, a line break, a space; a
hard cut only inside a very long token. Every chunk keeps its exact character offsets in
the part text (``text[start:end]`` is the chunk), so citations can point into parts.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?。！？][\"')\]]*\s+")
_PARAGRAPH = re.compile(r"\n\s*\n")


def _last_break(text: str, lo: int, hi: int) -> int | None:
    """Best break position in ``text[lo:hi]`` (the index where the next chunk starts)."""
    window = text[lo:hi]
    for pattern in (_PARAGRAPH, _SENTENCE_END):
        last = None
        for m in pattern.finditer(window):
            last = m
        if last is not None:
            return lo + last.end()
    for sep in ("\n", " ", "\t"):
        i = window.rfind(sep)
        if i > 0:
            return lo + i + 1
    return None


def _next_start(text: str, lo: int, hi: int) -> int:
    """Where an overlapping chunk should begin inside ``text[lo:hi]``: the first sentence
    start, else the first word start, else ``hi`` (no overlap)."""
    window = text[lo:hi]
    m = _SENTENCE_END.search(window)
    if m is not None and lo + m.end() < hi:
        return lo + m.end()
    m = re.search(r"\s+", window)
    if m is not None and lo + m.end() < hi:
        return lo + m.end()
    return hi


def chunk_spans(text: str, chunk_size: int = 512, overlap: int = 64) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the chunks of ``text``, whitespace-trimmed."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    overlap = max(0, min(overlap, chunk_size // 2))
    n = len(text)
    spans: list[tuple[int, int]] = []
    start = 0
    while start < n:
        while start < n and text[start].isspace():
            start += 1
        if start >= n:
            break
        if n - start <= chunk_size:
            end = n
        else:
            hi = start + chunk_size
            brk = _last_break(text, start + chunk_size // 2, hi)
            end = brk if brk is not None else hi
        s, e = start, end
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
        if end >= n:
            break
        nxt = _next_start(text, end - overlap, end) if overlap else end
        start = nxt if nxt > start else end
    return spans


def chunk_text(text: str, chunk_size: int = 512, overlap: int = 64) -> list[str]:
    return [text[s:e] for s, e in chunk_spans(text, chunk_size, overlap)]
