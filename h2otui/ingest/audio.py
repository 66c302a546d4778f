"""Audio files (wav, mp3, m4a, flac, ogg, ...): a Whisper transcript with time spans."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from h2otui.ingest.asr import SAMPLE_RATE, decode_audio, segments_to_parts, transcribe
from h2otui.ingest.base import ParsedDoc, ParseError, ParseResult

if TYPE_CHECKING:
    from h2otui.config import IngestSettings


def parse(path: Path, opts: IngestSettings) -> ParseResult:
    audio = decode_audio(path)
    seconds = audio.size / SAMPLE_RATE
    if audio.size == 0:
        raise ParseError("no audio samples (empty or undecodable audio)")
    segments = transcribe(audio, opts)
    if not segments:
        raise ParseError(f"no speech found in {seconds:.1f} s of audio")
    parts = segments_to_parts(segments, opts.chunk_size)
    return ParseResult(
        docs=[ParsedDoc(parser="faster-whisper", parts=parts)], media_seconds=seconds
    )
