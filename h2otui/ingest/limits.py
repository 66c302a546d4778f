"""Bounds on what one file may cost: hostile or huge inputs fail alone, with a reason.

- Zip-based formats (.docx): a zip bomb declares small compressed entries that unpack to
  gigabytes. :func:`check_zip` refuses, before any parsing, an archive whose entries
  declare more than ``ingest.max_unpacked_mb`` in all or expand more than
  ``ingest.max_unpack_ratio`` times. Declared sizes cannot lie past this check: Python's
  zip reader stops every entry at its declared size and fails its CRC check if the data
  says otherwise, so what a parser reads is bounded by what was checked here.
- Extracted text: :func:`text_budget` is the most characters one file may yield
  (``ingest.max_text_mb``); parsers that stream (plain text) stop as soon as they pass it.
- Control characters: :func:`clean_text` removes NUL and the other C0 / C1 controls from
  the text that is chunked and indexed (they are noise in an index, and a hazard on a
  terminal that later shows a quote).

Time and memory per file are bounded by the worker process (see
:mod:`h2otui.ingest.worker`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from h2otui.ingest.base import ParseError

if TYPE_CHECKING:
    from h2otui.config import IngestSettings

#: entries smaller than this are never ratio-checked (tiny XML compresses extremely well)
RATIO_MIN_BYTES = 1 << 20

_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_BREAKS = re.compile(r"\r\n?|[\x0b\x0c]")


def clean_text(text: str) -> str:
    """``text`` without control characters: CR, vertical tab and form feed become line
    breaks; tab and newline stay; every other C0 / C1 control (NUL, ESC, DEL, ...) goes."""
    text = _BREAKS.sub("\n", text)
    return _CONTROLS.sub("", text)


def text_budget(opts: IngestSettings) -> int:
    """The most characters of text one file may yield."""
    return int(opts.max_text_mb * 1_000_000)


def too_much_text(chars: int, opts: IngestSettings, *, stopped: bool = False) -> ParseError:
    """The reason a file with ``chars`` characters of text fails (``stopped``: reading
    stopped there, the file holds more)."""
    got = f"{'over ' if stopped else ''}{chars / 1e6:.1f} MB"
    return ParseError(
        f"{got} of text, above ingest.max_text_mb = {opts.max_text_mb:g}: "
        "split the file or raise the limit"
    )


def check_zip(path: Path, opts: IngestSettings) -> None:
    """Raise :class:`ParseError` when the zip archive at ``path`` is a decompression bomb
    by its declared sizes (see the module docstring)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise ParseError(
            f"not a valid {path.suffix or 'zip'} file (bad zip archive): {exc}"
        ) from None
    limit = opts.max_unpacked_mb * 1024 * 1024
    total = 0
    for info in infos:
        total += info.file_size
        if total > limit:
            raise ParseError(
                f"unpacks to more than {opts.max_unpacked_mb:g} MB (ingest.max_unpacked_mb; "
                f"a decompression bomb?)"
            )
        if info.file_size >= RATIO_MIN_BYTES:
            ratio = info.file_size / max(1, info.compress_size)
            if ratio > opts.max_unpack_ratio:
                raise ParseError(
                    f"entry {info.filename!r} expands {ratio:.0f}x ({info.compress_size} -> "
                    f"{info.file_size} bytes), above ingest.max_unpack_ratio = "
                    f"{opts.max_unpack_ratio:g} (a decompression bomb?)"
                )
