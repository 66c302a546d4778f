"""HTML: the main text, without scripts, styles or navigation chrome."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from h2otui.ingest.base import ParsedDoc, ParseError, ParseResult, Part
from h2otui.ingest.text import decode_text

if TYPE_CHECKING:
    from h2otui.config import IngestSettings

_DROP = ("script", "style", "noscript", "template", "svg", "iframe", "nav", "footer", "head")


def html_to_text(markup: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(list(_DROP)):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    text = root.get_text("\n", strip=True)
    text = re.sub(r"\n{3,}", "\n\n", text)
    if title and not text.startswith(title):
        text = f"{title}\n\n{text}"
    return text


def parse(path: Path, opts: IngestSettings) -> ParseResult:
    text = html_to_text(decode_text(path.read_bytes(), path))
    if not text.strip():
        raise ParseError("no text in the HTML body")
    return ParseResult(docs=[ParsedDoc(parser="html", parts=[Part(text=text, kind="text")])])
