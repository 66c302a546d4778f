"""Word .docx: paragraphs and tables, in document order."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from h2otui.ingest.base import ParsedDoc, ParseError, ParseResult, Part
from h2otui.ingest.limits import check_zip

if TYPE_CHECKING:
    from h2otui.config import IngestSettings


def parse(path: Path, opts: IngestSettings) -> ParseResult:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_zip(path, opts)  # a zip bomb fails here, before anything is unpacked
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises zipfile / KeyError / ValueError variants
        raise ParseError(f"not a valid .docx file: {exc}") from None
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            if item.text.strip():
                blocks.append(item.text)
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [c.text.strip() for c in row.cells]
                if any(cells):
                    blocks.append(" | ".join(cells))
    text = "\n\n".join(blocks)
    if not text.strip():
        raise ParseError("no text in the document")
    return ParseResult(docs=[ParsedDoc(parser="python-docx", parts=[Part(text=text, kind="text")])])
