"""PDF with PyMuPDF: text per page, with 1-based page numbers.

Pages without a text layer (scans) are OCRed according to ``pdf_ocr`` (h2oGPT's
``enable_pdf_ocr``): ``auto`` OCRs pages with fewer than ``pdf_ocr_min_chars`` text
characters that show an image; ``on`` OCRs every page; ``off`` never does. At most ``ocr_max_pages`` pages of one PDF
are OCRed; the others are skipped with a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from h2otui.ingest.base import ParsedDoc, ParseError, ParseResult, Part

if TYPE_CHECKING:
    from h2otui.config import IngestSettings


def _render(page: object, dpi: int) -> object:
    import numpy as np

    pix = page.get_pixmap(dpi=dpi, alpha=False)  # type: ignore[attr-defined]
    arr = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)
    if pix.n == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr[:, :, :3])


def parse(path: Path, opts: IngestSettings) -> ParseResult:
    import pymupdf

    try:
        doc = pymupdf.open(str(path), filetype="pdf")
    except Exception as exc:  # pymupdf.FileDataError, RuntimeError, ...
        raise ParseError(f"not a valid PDF (corrupt or truncated): {exc}") from None
    with doc:
        if doc.needs_pass:
            raise ParseError("password-protected PDF: remove the password and ingest again")
        if doc.page_count == 0:
            raise ParseError("PDF has no pages")
        parts: list[Part] = []
        ocr_pages = ocr_skipped = 0
        warnings: list[str] = []
        for index in range(doc.page_count):
            try:
                page = doc.load_page(index)
                text = page.get_text("text", sort=True)
            except Exception as exc:
                warnings.append(f"page {index + 1} unreadable: {exc}")
                continue
            stripped = text.strip()
            want_ocr = opts.pdf_ocr == "on" or (
                opts.pdf_ocr == "auto"
                and len(stripped) < opts.pdf_ocr_min_chars
                and (page.get_images(full=False) or page.get_drawings())
            )
            if want_ocr and ocr_pages >= opts.ocr_max_pages:
                ocr_skipped += 1
                want_ocr = False
            if want_ocr:
                from h2otui.ingest.ocr import ocr_image

                ocr_text = ocr_image(_render(page, opts.ocr_dpi), opts).strip()  # type: ignore[arg-type]
                ocr_pages += 1
                if ocr_text and (opts.pdf_ocr == "on" or len(ocr_text) > len(stripped)):
                    text = ocr_text
            if text.strip():
                parts.append(Part(text=text.strip(), kind="page", page=index + 1))
        if ocr_skipped:
            # OCR costs about half a second a page: a 5,000-page scan would take an hour
            warnings.append(
                f"{ocr_skipped} page(s) past ingest.ocr_max_pages = {opts.ocr_max_pages} "
                "were not OCRed"
            )
        if not parts:
            hint = " (pdf_ocr = off: scanned pages are not read)" if opts.pdf_ocr == "off" else ""
            if ocr_skipped:
                hint = f" ({warnings[-1]})"
            raise ParseError(f"no text found on any of {doc.page_count} pages{hint}")
        parser = "pymupdf" + (f"+{opts.ocr_engine}" if ocr_pages else "")
        return ParseResult(
            docs=[ParsedDoc(parser=parser, parts=parts, warnings=warnings)],
            pages=doc.page_count,
            warnings=warnings,
        )
