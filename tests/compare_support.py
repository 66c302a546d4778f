"""Helpers for the compare tests: settings with several models (in-process and remote
entries, none of them loaded for real) and an engine factory handing each model its own
scripted engine."""

from __future__ import annotations

from typing import Any

from tui_fakes import ScriptedEngine

from h2otui.config import load_settings

#: in-process (llama.cpp) entries and entries on a server (never contacted: scripted)
LOCAL = ("local-a", "local-b")
REMOTE = ("remote-c", "remote-d")


def compare_settings(**overrides: Any):  # type: ignore[no-untyped-def]
    models = [{"name": n, "engine": "llamacpp", "model_path": f"/nowhere/{n}.gguf"} for n in LOCAL]
    models += [
        {"name": n, "inference_server": "http://127.0.0.1:9", "base_model": n} for n in REMOTE
    ]
    return load_settings(overrides={"models": models, "default_model": LOCAL[0], **overrides})


def engines_for(names, **kwargs: Any) -> dict[str, ScriptedEngine]:  # type: ignore[no-untyped-def]
    """One scripted engine per model; each answers with its own name by default."""
    out = {}
    for n in names:
        kw = dict(kwargs)
        kw.setdefault("answer", (f"{n}", " says", " hi."))
        out[n] = ScriptedEngine(model_name=n, **kw)
    return out


def factory(engines: dict[str, ScriptedEngine]):  # type: ignore[no-untyped-def]
    def build(entry, settings):  # type: ignore[no-untyped-def]
        return engines[entry.name]

    return build
