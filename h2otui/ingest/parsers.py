"""Which parser handles which file: one module per file type under ``h2otui.ingest``.

Modules are imported only when a file of their type is parsed (in a worker process), so
discovering files never pays for PyMuPDF, OCR or Whisper.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from h2otui.config import IngestSettings
    from h2otui.ingest.base import ParseResult

TEXT_EXTENSIONS = frozenset(
    """
    txt text md markdown rst csv tsv json jsonl ndjson log yaml yml toml ini cfg conf
    xml tex org adoc asciidoc srt vtt py pyi ipynb js mjs cjs ts tsx jsx java kt kts
    scala c h cc cpp cxx hpp hh cs go rs rb php pl pm lua r jl swift m mm sh bash zsh
    fish ps1 bat sql css scss sass less vue svelte dart ex exs erl hs ml clj el vim
    gradle cmake mk dockerfile proto graphql
    """.split()  # noqa: SIM905
)
TEXT_FILENAMES = frozenset(
    """
    readme license licence copying authors changelog makefile dockerfile gemfile
    rakefile procfile notice todo
    """.split()  # noqa: SIM905
)
HTML_EXTENSIONS = frozenset({"html", "htm", "xhtml"})
IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp", "gif"})
AUDIO_EXTENSIONS = frozenset({"wav", "mp3", "m4a", "flac", "ogg", "oga", "opus", "aac"})
VIDEO_EXTENSIONS = frozenset({"mp4", "mkv", "webm", "mov", "avi", "m4v"})

_MODULES = {
    "pdf": "h2otui.ingest.pdf",
    "docx": "h2otui.ingest.docx",
    "html": "h2otui.ingest.html",
    "text": "h2otui.ingest.text",
    "image": "h2otui.ingest.image",
    "audio": "h2otui.ingest.audio",
    "video": "h2otui.ingest.video",
}


def file_type(path: Path) -> str | None:
    """The parser family for ``path`` by its name, or None when unsupported."""
    ext = path.suffix.lower().lstrip(".")
    if ext == "pdf":
        return "pdf"
    if ext == "docx":
        return "docx"
    if ext in HTML_EXTENSIONS:
        return "html"
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in TEXT_EXTENSIONS or path.name.lower() in TEXT_FILENAMES:
        return "text"
    if not ext:
        return "text?"  # no extension: parsed as text if it is text, else skipped
    return None


def unsupported_reason(path: Path) -> str:
    ext = path.suffix.lower()
    return f"unsupported file type {ext!r}" if ext else "unsupported file type (no extension)"


def parse_file(path: Path, kind: str, opts: IngestSettings) -> ParseResult:
    module = importlib.import_module(_MODULES["text" if kind == "text?" else kind])
    return module.parse(path, opts)  # type: ignore[no-any-return]
