"""OCR engines: RapidOCR (embedded: PP-OCRv4 ONNX models ship in the wheel) and
python-doctr (only with local weight files; nothing is downloaded).

Engines are loaded once per process and reused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.ingest.base import ModelUnavailableError

if TYPE_CHECKING:
    import numpy as np

    from h2otui.config import IngestSettings

_ENGINES: dict[tuple[Any, ...], Any] = {}


def _threads() -> int:
    from h2otui.ingest import base

    return base.worker_threads()


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        # RapidOCR's default scales every image UP to a 736 px short side, which makes a
        # small sign or a video frame 5-10x slower to read; cap the long side instead.
        self._ocr = RapidOCR(
            intra_op_num_threads=_threads(),
            inter_op_num_threads=1,
            det_limit_type="max",
            det_limit_side_len=1600,
        )

    def read(self, image: np.ndarray) -> str:
        result, _ = self._ocr(image)
        if not result:
            return ""
        # rows of [box, text, score]; order top-to-bottom, then left-to-right by line
        items = sorted(
            result, key=lambda r: (round(min(p[1] for p in r[0]) / 12), min(p[0] for p in r[0]))
        )
        lines: list[str] = []
        last_row = None
        for box, text, _score in items:
            row = round(min(p[1] for p in box) / 12)
            if last_row is not None and row == last_row and lines:
                lines[-1] += " " + text
            else:
                lines.append(text)
            last_row = row
        return "\n".join(lines)


class DoctrEngine:
    name = "doctr"

    def __init__(self, det_path: str, reco_path: str) -> None:
        try:
            import torch
            from doctr.models import crnn_vgg16_bn, db_resnet50, ocr_predictor
        except ImportError:
            raise ModelUnavailableError(
                "ocr_engine = 'doctr' needs python-doctr: pip install 'python-doctr[torch]', "
                "then set ingest.doctr_det_model and ingest.doctr_reco_model to local weight "
                "files (or use ocr_engine = 'rapidocr', the embedded default)"
            ) from None
        missing = [
            f"ingest.{key} = {val!r}"
            for key, val in (("doctr_det_model", det_path), ("doctr_reco_model", reco_path))
            if not val or not Path(val).expanduser().is_file()
        ]
        if missing:
            raise ModelUnavailableError(
                "ocr_engine = 'doctr' needs local weights (nothing is downloaded): "
                + ", ".join(missing)
                + " is not a file. Download db_resnet50 / crnn_vgg16_bn .pt files on a "
                "connected machine, or use ocr_engine = 'rapidocr'."
            )
        det = db_resnet50(pretrained=False, pretrained_backbone=False)
        det.load_state_dict(torch.load(Path(det_path).expanduser(), map_location="cpu"))
        reco = crnn_vgg16_bn(pretrained=False, pretrained_backbone=False)
        reco.load_state_dict(torch.load(Path(reco_path).expanduser(), map_location="cpu"))
        self._predictor = ocr_predictor(det, reco, pretrained=False)

    def read(self, image: np.ndarray) -> str:
        result = self._predictor([image])
        return str(result.render()).strip()


def get_engine(opts: IngestSettings) -> RapidOcrEngine | DoctrEngine:
    key = (opts.ocr_engine, opts.doctr_det_model, opts.doctr_reco_model)
    engine = _ENGINES.get(key)
    if engine is None:
        if opts.ocr_engine == "doctr":
            engine = DoctrEngine(opts.doctr_det_model, opts.doctr_reco_model)
        else:
            engine = RapidOcrEngine()
        _ENGINES[key] = engine
    return engine


def ocr_image(image: np.ndarray, opts: IngestSettings) -> str:
    """Text in an RGB uint8 image (H, W, 3)."""
    from h2otui.ingest.base import report_phase

    report_phase("ocr")
    return get_engine(opts).read(image)
