"""``h2otui ask``: one question to one model, streamed to stdout or printed as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from h2otui.engines.base import (
    Finished,
    FinishReason,
    GenerationRequest,
    Message,
    SamplingParams,
    TextDelta,
    Usage,
)

if TYPE_CHECKING:
    from h2otui.config import ModelEntry, Settings
    from h2otui.engines.base import Engine


def sampling_params(settings: Settings) -> SamplingParams:
    return settings.generation.to_sampling()


def system_prompt_for(settings: Settings, entry: ModelEntry, override: str | None = None) -> str:
    """CLI/TUI override > the model entry's system prompt > generation.system_prompt."""
    if override is not None:
        return override
    if entry.system_prompt is not None:
        return entry.system_prompt
    return settings.generation.system_prompt


def build_messages(
    system: str, question: str, history: list[tuple[str, str]] | None = None
) -> list[Message]:
    messages = [Message("system", system)]
    for user, assistant in history or []:
        messages += [Message("user", user), Message("assistant", assistant)]
    messages.append(Message("user", question))
    return messages


def run_ask(
    settings: Settings,
    question: str,
    *,
    model: str | None = None,
    system: str | None = None,
    as_json: bool = False,
) -> int:
    """Answer ``question``; returns the process exit code."""
    return asyncio.run(_ask(settings, question, model=model, system=system, as_json=as_json))


async def _ask(
    settings: Settings, question: str, *, model: str | None, system: str | None, as_json: bool
) -> int:
    from h2otui.engines import create_engine

    entry = settings.model(model)
    engine: Engine = create_engine(entry, settings)
    start = time.perf_counter()
    await engine.load()
    load_s = time.perf_counter() - start
    request = GenerationRequest(
        build_messages(system_prompt_for(settings, entry, system), question),
        sampling_params(settings),
    )
    parts: list[str] = []
    usage: Usage | None = None
    finish = Finished(FinishReason.ERROR, "no answer")
    out = sys.stdout
    try:
        async for event in engine.stream(request):
            match event:
                case TextDelta(text=text):
                    parts.append(text)
                    if not as_json:
                        out.write(text)
                        out.flush()
                case Usage():
                    usage = event
                case Finished():
                    finish = event
    except asyncio.CancelledError:
        # Ctrl-C: keep what was printed, report it as cancelled
        finish = Finished(FinishReason.CANCELLED)
    finally:
        await engine.aclose()

    answer = "".join(parts)
    if as_json:
        out.write(json.dumps(_result(entry.name, engine, answer, finish, usage, load_s)) + "\n")
    else:
        if not answer.endswith("\n"):
            out.write("\n")
        if finish.reason is FinishReason.ERROR:
            sys.stderr.write(f"error: generation stopped: {finish.error}\n")
        elif finish.reason is FinishReason.CANCELLED:
            sys.stderr.write("[stopped]\n")
    out.flush()
    if finish.reason is FinishReason.CANCELLED:
        return 130
    return 1 if finish.reason is FinishReason.ERROR else 0


def _result(
    model: str, engine: Engine, answer: str, finish: Finished, usage: Usage | None, load_s: float
) -> dict[str, Any]:
    return {
        "answer": answer,
        "model": model,
        "prompt_type": engine.prompt_type,
        "finish_reason": finish.reason.value,
        "error": finish.error,
        "usage": usage.as_dict() if usage else None,
        "timings": {
            "load_s": round(load_s, 4),
            "time_to_first_token_s": (
                round(usage.time_to_first_token_s, 4)
                if usage and usage.time_to_first_token_s is not None
                else None
            ),
            "total_s": round(usage.total_s, 4) if usage else None,
            "tokens_per_s": round(usage.tokens_per_s, 2) if usage else None,
        },
    }
