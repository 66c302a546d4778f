"""Images (png, jpeg, tiff, bmp, webp, gif first frame): OCR text."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from h2otui.ingest.base import ParsedDoc, ParseError, ParseResult, Part

if TYPE_CHECKING:
    from h2otui.config import IngestSettings

MAX_SIDE = 4000


def load_rgb(path: Path) -> object:
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.seek(0)  # first frame of GIF / multi-page TIFF
            img.load()
            rgb = img.convert("RGB")
    except UnidentifiedImageError:
        raise ParseError("not a readable image (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ParseError(f"truncated or corrupt image: {exc}") from None
    if max(rgb.size) > MAX_SIDE:
        rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    return np.asarray(rgb)


def parse(path: Path, opts: IngestSettings) -> ParseResult:
    from h2otui.ingest.ocr import ocr_image

    text = ocr_image(load_rgb(path), opts).strip()  # type: ignore[arg-type]
    if not text:
        raise ParseError("no text found in the image (OCR)")
    return ParseResult(
        docs=[ParsedDoc(parser=opts.ocr_engine, parts=[Part(text=text, kind="text")])]
    )
