"""Passages (what goes into a prompt) and how their citations are written.

A citation names the file, and where in it: ``[1] report.pdf p.12 (score 0.83)`` for a
PDF page, ``[2] talk.mp4 03:12-03:41`` for an audio/video span, ``@ 01:05`` for a
video frame. Pages are 1-based, as a reader counts them; times are seconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class Passage:
    """A retrieved chunk (or several neighbouring chunks merged), or a document part."""

    text: str
    source: str
    doc_id: str = ""
    page: int | None = None
    start_time: float | None = None
    end_time: float | None = None
    frame_time: float | None = None
    kind: str = "text"
    part_index: int = 0
    chunk_ids: list[str] = field(default_factory=list)
    chunk_index: int = 0
    char_start: int = 0
    char_end: int = 0
    #: cosine similarity to the query (None for summarize / extract parts)
    score: float | None = None
    #: how it was found: "vector", "text" or both
    found_by: tuple[str, ...] = ()
    #: reciprocal-rank-fusion score (hybrid) used for ordering
    rank_score: float = 0.0
    #: set when the text was cut to fit the context
    truncated: bool = False

    @property
    def distance(self) -> float | None:
        return None if self.score is None else 1.0 - self.score

    def location(self) -> str:
        """``p.12``, ``03:12-03:41``, ``@ 01:05`` or ``""``."""
        if self.page is not None:
            return f"p.{self.page}"
        if self.start_time is not None:
            end = f"-{fmt_time(self.end_time)}" if self.end_time is not None else ""
            return f"{fmt_time(self.start_time)}{end}"
        if self.frame_time is not None:
            return f"@ {fmt_time(self.frame_time)}"
        return ""

    def label(self, n: int | None = None, *, with_score: bool = True) -> str:
        parts = [] if n is None else [f"[{n}]"]
        parts.append(Path(self.source).name or self.source)
        loc = self.location()
        if loc:
            parts.append(loc)
        if with_score and self.score is not None:
            parts.append(f"(score {self.score:.2f})")
        return " ".join(parts)

    def to_meta(self) -> dict[str, Any]:
        """Every field, JSON-ready: kept with a saved answer so a reopened chat shows the
        same sources (:meth:`from_meta` reads it back)."""
        out = asdict(self)
        out["found_by"] = list(self.found_by)
        return out

    @classmethod
    def from_meta(cls, data: dict[str, Any]) -> Passage:
        """A passage saved by :meth:`to_meta`; unknown keys (a later version's) are
        ignored and missing ones take their defaults, so old saves stay readable."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["found_by"] = tuple(values.get("found_by") or ())
        values["chunk_ids"] = list(values.get("chunk_ids") or [])
        return cls(**values)

    def as_source(self, n: int) -> dict[str, Any]:
        """The ``sources`` item of ``ask --json``."""
        return {
            "n": n,
            "source": self.source,
            "page": self.page,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "score": None if self.score is None else round(float(self.score), 4),
            "text": self.text,
        }


def fmt_time(seconds: float | None) -> str:
    """``MM:SS`` (``H:MM:SS`` past an hour)."""
    if seconds is None:
        return "?"
    total = int(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def format_sources(passages: list[Passage], *, quote_chars: int = 300) -> str:
    """Plain-text list of numbered sources with quoted text (``--show-sources``)."""
    lines = []
    for n, p in enumerate(passages, 1):
        lines.append(p.label(n))
        text = " ".join(p.text.split())
        if quote_chars and len(text) > quote_chars:
            text = text[: quote_chars - 1] + "…"
        lines.append(f'    "{text}"')
    return "\n".join(lines)
