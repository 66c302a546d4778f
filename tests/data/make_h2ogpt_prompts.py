"""Regenerate ``h2ogpt_prompts.json`` by running h2oGPT's own prompt code (not run by tests).

    git clone https://github.com/h2oai/h2ogpt /tmp/h2ogpt   # any commit; it is recorded
    python tests/data/make_h2ogpt_prompts.py /tmp/h2ogpt > tests/data/h2ogpt_prompts.json

It runs h2oGPT's ``get_limited_prompt`` -> ``history_to_context`` -> ``Prompter.generate_prompt``
(``src/gen.py``, ``src/prompter.py``) and ``stopping.get_stopping`` for every raw-prompt
``PromptType``: one and two turns, with no, the default ("auto") and a given system prompt.
Only the parts that need a real model are replaced (a tokenizer that never truncates, a few
``utils`` helpers), and the clock is pinned for ``human_bot_orig``. Needs torch and
transformers (``stopping.py`` imports them); h2oGPT's own requirements are not needed.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

#: not raw-prompt types: the server or the model's chat template renders
CHAT_API = {
    "template",
    "unknown",
    "custom",
    "openai_chat",
    "anthropic",
    "google",
    "mistralai",
    "groq",
}
FIXED_CLOCK = {"%Y-%m-%d": "2024-01-02", "%H:%M:%S %p %Z": "03:04:05 AM UTC"}
CONVERSATIONS = {
    "single": [["What is 2+2?", None]],
    "two_turns": [["Hi", "Hello!"], ["How are you?", None]],
}
SYSTEM_PROMPTS = {"none": "", "auto": "auto", "custom": "You are a terse assistant."}


class FakeTokenizer:
    """Enough of a tokenizer for prompt building: huge context, 4 characters a token."""

    model_max_length = 1_000_000
    chat_template = None

    def __call__(self, text: str, return_tensors: str | None = None) -> dict[str, Any]:
        import torch

        return {"input_ids": torch.tensor([[7] * max(1, len(text))])}


def _shim_modules() -> None:
    utils = types.ModuleType("utils")
    utils.FakeTokenizer = FakeTokenizer  # type: ignore[attr-defined]
    utils.get_gradio_tmp = lambda: "/nonexistent-gradio-tmp"  # type: ignore[attr-defined]
    utils.get_token_count = lambda x, *a, **k: len(x or "") // 4  # type: ignore[attr-defined]
    utils.get_docs_tokens = lambda *a, **k: (0, None, 0)  # type: ignore[attr-defined]
    utils.str_to_list = lambda x, allow_none=False: x  # type: ignore[attr-defined]
    sys.modules["utils"] = utils

    class Pipeline:
        @staticmethod
        def limit_prompt(text: str | None, tokenizer: Any, **kwargs: Any) -> tuple[str, int]:
            text = text or ""
            return text, len(text) // 4

    pipeline = types.ModuleType("h2oai_pipeline")
    pipeline.H2OTextGenerationPipeline = Pipeline  # type: ignore[attr-defined]
    sys.modules["h2oai_pipeline"] = pipeline


def _functions(path: Path, names: list[str], namespace: dict[str, Any]) -> None:
    """Define h2oGPT's functions ``names`` from ``path`` (without importing the module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    keep = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
    assert {n.name for n in keep} == set(names), names
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(path), "exec"), namespace)


def main(checkout: Path) -> dict[str, Any]:
    src = checkout / "src"
    sys.path.insert(0, str(src))
    _shim_modules()
    import enums
    import prompter
    import stopping

    ns: dict[str, Any] = dict(vars(enums))
    ns.update(
        functools=functools,
        os=os,
        Prompter=prompter.Prompter,
        generate_prompt=prompter.generate_prompt,
        gradio_to_llm=prompter.gradio_to_llm,
        apply_chat_template=prompter.apply_chat_template,
        get_use_chat_template=prompter.get_use_chat_template,
        **{k: getattr(sys.modules["utils"], k) for k in ("get_token_count", "get_docs_tokens")},
        str_to_list=sys.modules["utils"].str_to_list,  # type: ignore[attr-defined]
    )
    _functions(src / "gradio_funcs.py", ["merge_chat_conversation_history"], ns)
    gen_functions = ["history_to_context", "get_limited_prompt", "remove_refs", "get_cutoffs"]
    _functions(src / "gen.py", [*gen_functions, "count_overhead_tokens"], ns)
    prompter.time.strftime = lambda fmt, *a: FIXED_CLOCK[fmt]

    def render(ptype: str, system: str, convo: list[list[str | None]]) -> str:
        p = prompter.Prompter(ptype, None, system_prompt=system, tokenizer=FakeTokenizer())
        out = ns["get_limited_prompt"](
            convo[-1][0],
            "",
            FakeTokenizer(),
            prompter=p,
            prompt_type=ptype,
            max_new_tokens=256,
            system_prompt=system,
            allow_chat_system_prompt=True,
            chat_conversation=[list(x) for x in convo[:-1]],
            model_max_length=1_000_000,
            memory_restriction_level=0,
            langchain_mode="Disabled",
            add_chat_history_to_context=True,
            hyde_level=0,
        )
        return out[0]

    result: dict[str, Any] = {}
    for t in enums.PromptType:
        if t.name in CHAT_API:
            continue
        renders: dict[str, Any] = {}
        for sname, system in SYSTEM_PROMPTS.items():
            for cname, convo in CONVERSATIONS.items():
                try:
                    renders[f"{cname}/{sname}"] = render(t.name, system, convo)
                except Exception as exc:  # h2oGPT's own failure is a fact worth pinning
                    renders[f"{cname}/{sname}"] = {"error": f"{type(exc).__name__}: {exc}"}
        fields, _ = prompter.get_prompt(
            t.name, None, "", False, False, return_dict=True, system_prompt="auto"
        )
        p = prompter.Prompter(t.name, None, system_prompt="auto", tokenizer=FakeTokenizer())
        crit = stopping.get_stopping(t.name, None, FakeTokenizer(), "cpu", None, prompter=p)
        result[t.name] = {
            "renders": renders,
            "terminate_response": p.terminate_response,
            "stop_sequences": sorted(p.stop_sequences),
            "humanstr": fields["humanstr"],
            "botstr": fields["botstr"],
            "can_handle_system_prompt": fields["can_handle_system_prompt"],
            "generates_leading_space": fields["generates_leading_space"],
            "stopping_words": list(crit[0].stop_words) if len(crit) else [],
        }
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "h2ogpt_commit": commit,
        "how": (
            "Produced by running h2oGPT's own src/prompter.py and gen.py (get_limited_prompt ->"
            " history_to_context -> Prompter.generate_prompt; stopping.get_stopping) for every"
            " PromptType, with shims only for tokenizers (no truncation) and a pinned clock for"
            " human_bot_orig; see tests/data/make_h2ogpt_prompts.py."
        ),
        "fixed_clock": FIXED_CLOCK,
        "conversations": CONVERSATIONS,
        "system_prompts": SYSTEM_PROMPTS,
        "prompt_types": result,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]).resolve()), indent=1, ensure_ascii=False))
