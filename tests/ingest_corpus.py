"""Generate ingestion fixtures: PDFs (text and image-only pages), text images, audio in
several containers (from the committed espeak-ng WAV), videos with on-screen text and a
speech track, text-like files, HTML and docx, plus bad inputs. Nothing is downloaded."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
from paths import DATA

SPEECH_WAV = (
    DATA / "speech.wav"
)  # "The harbor inspection found a purple submarine near the lighthouse."
SPEECH_WORD = "submarine"


def text_image(text: str, size: tuple[int, int] = (900, 220), font_size: int = 56):
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=font_size)
    draw.text((30, size[1] // 2 - font_size // 2), text, fill="black", font=font)
    return img


def make_pdf(path: Path, pages: list[str], scanned: list[str] = ()) -> Path:
    """Text pages (one string per page) then image-only pages showing ``scanned`` text."""
    import io

    import pymupdf

    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page()
        page.insert_textbox(pymupdf.Rect(72, 72, 540, 770), text, fontsize=11)
    for text in scanned:
        buf = io.BytesIO()
        text_image(text, (1400, 300), 72).save(buf, format="PNG")
        page = doc.new_page()
        page.insert_image(pymupdf.Rect(36, 100, 576, 216), stream=buf.getvalue())
    doc.save(str(path))
    doc.close()
    return path


def speech_samples() -> tuple[np.ndarray, int]:
    with wave.open(str(SPEECH_WAV)) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return data, rate


def write_audio(
    path: Path, codec: str, samples: np.ndarray | None = None, rate: int = 16000
) -> Path:
    """Encode mono int16 samples (default: the speech WAV) with PyAV."""
    import av

    if samples is None:
        samples, rate = speech_samples()
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate if codec != "libopus" else 48000)
        stream.layout = "mono"
        _encode_audio(out, stream, samples, rate)
    return path


def _encode_audio(container, stream, samples: np.ndarray, rate: int) -> None:
    import av
    from av.audio.resampler import AudioResampler

    frame = av.AudioFrame.from_ndarray(
        samples.reshape(1, -1).astype(np.int16), format="s16", layout="mono"
    )
    frame.sample_rate = rate
    frame.pts = 0
    frame.time_base = Fraction(1, rate)
    cc = stream.codec_context
    resampler = AudioResampler(
        format=cc.format, layout="mono", rate=cc.sample_rate, frame_size=cc.frame_size or None
    )
    for f in resampler.resample(frame) + resampler.resample(None):
        for packet in stream.encode(f):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def write_video(
    path: Path,
    scenes: list[str],
    *,
    seconds_per_scene: float = 2.0,
    with_audio: bool = True,
    codec: str = "mpeg4",
    audio_codec: str = "aac",
    fps: int = 5,
) -> Path:
    """A video showing each text of ``scenes`` (blank frames for "") in turn, with the
    speech WAV as its audio track when ``with_audio``."""
    import av

    size = (640, 360)
    frames_per_scene = int(seconds_per_scene * fps)
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=fps)
        v.width, v.height = size
        v.pix_fmt = "yuv420p"
        a = (
            out.add_stream(audio_codec, rate=16000 if audio_codec != "libopus" else 48000)
            if with_audio
            else None
        )
        if a is not None:
            a.layout = "mono"
        for text in scenes:
            img = text_image(text, size, 48) if text else text_image("", size)
            arr = np.asarray(img)
            for _ in range(frames_per_scene):
                frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
                for packet in v.encode(frame):
                    out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
        if a is not None:
            samples, rate = speech_samples()
            _encode_audio(out, a, samples, rate)
    return path


def write_docx(path: Path, paragraphs: list[str]) -> Path:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "cell"
    table.rows[0].cells[1].text = "tabulated quokka"
    d.save(str(path))
    return path
