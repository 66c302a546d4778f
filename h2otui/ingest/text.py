"""Plain text, markup and source code: the whole file is one part."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from h2otui.ingest.base import ParsedDoc, ParseError, ParseResult, Part

if TYPE_CHECKING:
    from h2otui.config import IngestSettings


def decode_text(data: bytes, path: Path) -> str:
    """Decode bytes that should be text; binary content raises :class:`ParseError`."""
    head = data[:65536]
    if b"\x00" in head and not (head.startswith((b"\xff\xfe", b"\xfe\xff"))):
        raise ParseError(f"binary content in a {path.suffix or 'text'} file (NUL bytes); not text")
    for enc in (
        ("utf-8-sig", "utf-16") if head.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8-sig",)
    ):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            pass
    # not UTF-8: accept a legacy 8-bit encoding only if it looks like prose
    text = data.decode("cp1252", errors="replace")
    controls = sum(1 for c in text[:65536] if ord(c) < 32 and c not in "\t\n\r\f")
    bad = text[:65536].count("\ufffd")
    if (controls + bad) > 0.01 * max(1, min(len(text), 65536)):
        raise ParseError(f"binary content in a {path.suffix or 'text'} file; not text")
    return text


def parse(path: Path, opts: IngestSettings) -> ParseResult:
    text = decode_text(path.read_bytes(), path)
    if path.suffix.lower() == ".ipynb":
        text = _notebook_text(text) or text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ParseError("no text (only whitespace)")
    return ParseResult(docs=[ParsedDoc(parser="text", parts=[Part(text=text, kind="text")])])


def _notebook_text(raw: str) -> str | None:
    import json

    try:
        nb = json.loads(raw)
        cells = nb.get("cells", [])
        return "\n\n".join("".join(c.get("source", [])) for c in cells if c.get("source"))
    except (ValueError, AttributeError, TypeError):
        return None
