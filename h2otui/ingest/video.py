"""Video (mp4, mkv, webm, mov, avi): the audio track transcribed with time spans, plus
sampled frames OCRed so on-screen text (slides, captions) is searchable.

Frames are sampled every ``frame_interval_s`` seconds (stretched so that a long video is
covered end to end: at most ``extract_frames`` frames are OCRed); with
``frame_selection = "scene"`` a sampled frame is kept only when the picture changed by
more than ``scene_threshold`` (share of pixels changed). Frame text goes into a separate ``<video>#frames``
document unless ``frames_as_same_doc`` (h2oGPT's FRAMES_AS_SAME_DOC).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.ingest.asr import SAMPLE_RATE, decode_audio, segments_to_parts, transcribe
from h2otui.ingest.base import ParsedDoc, ParseError, ParseResult, Part

if TYPE_CHECKING:
    from h2otui.config import IngestSettings

MAX_FRAME_WIDTH = 1280


def _duration(container: Any) -> float:
    if container.duration:
        return float(container.duration) / 1_000_000
    stream = container.streams.video[0] if container.streams.video else None
    if stream is not None and stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


def sample_frames(path: Path, opts: IngestSettings) -> Iterator[tuple[float, Any]]:
    """``(seconds, RGB array)`` for each selected frame."""
    import av
    import numpy as np

    if opts.extract_frames <= 0:
        return
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise ParseError(f"cannot open video: {exc}") from None
    with container:
        if not container.streams.video:
            return
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        duration = _duration(container)
        if opts.frame_selection == "scene":
            interval = max(
                opts.frame_interval_s, duration / (opts.extract_frames * 4) if duration else 0
            )
        else:
            interval = max(opts.frame_interval_s, duration / opts.extract_frames if duration else 0)
        if interval >= 10:
            stream.codec_context.skip_frame = "NONKEY"  # only keyframes: far less decoding
        next_t = 0.0
        last_small = None
        kept = 0
        for frame in container.decode(stream):
            t = frame.time
            if t is None or t + 1e-3 < next_t:
                continue
            next_t = t + interval
            small = (
                frame.reformat(width=160, height=90, format="gray").to_ndarray().astype(np.int16)
            )
            if opts.frame_selection == "scene" and last_small is not None:
                # share of pixels that changed clearly: robust to compression noise, and a
                # slide whose text changed counts even though most of it stayed white
                change = float((np.abs(small - last_small) > 32).mean())
                if change < opts.scene_threshold:
                    continue
            last_small = small
            width = min(frame.width, MAX_FRAME_WIDTH)
            height = max(2, round(frame.height * width / frame.width))
            yield float(t), frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
            kept += 1
            if kept >= opts.extract_frames:
                break


def parse(path: Path, opts: IngestSettings) -> ParseResult:
    import av

    try:
        with av.open(str(path)) as container:
            has_audio = bool(container.streams.audio)
            has_video = bool(container.streams.video)
            duration = _duration(container)
    except Exception as exc:
        raise ParseError(f"cannot open video: {exc}") from None
    if not has_audio and not has_video:
        raise ParseError("no audio or video stream in the file")

    warnings: list[str] = []
    speech: list[Part] = []
    if has_audio:
        audio = decode_audio(path)
        duration = duration or audio.size / SAMPLE_RATE
        segments = transcribe(audio, opts)
        if segments:
            speech = segments_to_parts(segments, opts.chunk_size)
        else:
            warnings.append("no speech in the audio track")
    else:
        warnings.append("no audio track")

    frames: list[Part] = []
    if has_video and opts.extract_frames > 0:
        from h2otui.ingest.ocr import ocr_image

        previous = None
        for t, image in sample_frames(path, opts):
            text = ocr_image(image, opts).strip()
            if text and text != previous:
                frames.append(
                    Part(
                        text=text,
                        kind="frame",
                        frame_time=round(t, 3),
                        start_time=round(t, 3),
                        end_time=round(t, 3),
                    )
                )
            previous = text or previous
    if not speech and not frames:
        what = "no audio track" if not has_audio else "no speech"
        seen = (
            "frames not read (extract_frames = 0)"
            if opts.extract_frames <= 0
            else "no text in the sampled frames"
        )
        raise ParseError(f"nothing to index: {what}, and {seen}")
    if frames and not has_audio:
        pass
    docs: list[ParsedDoc] = []
    if opts.frames_as_same_doc:
        docs.append(
            ParsedDoc(
                parser="faster-whisper+" + opts.ocr_engine, parts=speech + frames, warnings=warnings
            )
        )
    else:
        if speech:
            docs.append(ParsedDoc(parser="faster-whisper", parts=speech, warnings=warnings))
        if frames:
            docs.append(
                ParsedDoc(
                    parser=f"{opts.ocr_engine}-frames",
                    parts=frames,
                    suffix="#frames",
                    warnings=[] if speech else warnings,
                )
            )
    return ParseResult(docs=docs, media_seconds=duration, warnings=warnings)
