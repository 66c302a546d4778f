"""``h2otui chat --plain``: a line-mode chat loop, for terminals where a full-screen app is
not wanted."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from h2otui.config import Settings


def run_repl(settings: Settings, model: str | None = None) -> int:
    return asyncio.run(_repl(settings, model))


async def _repl(settings: Settings, model: str | None) -> int:
    from h2otui.chat.session import system_prompt_for
    from h2otui.engines import create_engine
    from h2otui.engines.base import Finished, GenerationRequest, TextDelta
    from h2otui.qa.context import build_messages

    entry = settings.model(model)
    engine = create_engine(entry, settings)
    print(f"h2otui chat with {entry.name}. Empty line or Ctrl-D quits; Ctrl-C stops an answer.")
    await engine.load()
    history: list[tuple[str, str]] = []
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                line = await loop.run_in_executor(None, lambda: input("you> "))
            except EOFError:
                break
            if not line.strip():
                break
            request = GenerationRequest(
                build_messages(system_prompt_for(settings, entry), history, line),
                settings.generation.to_sampling(),
            )
            parts: list[str] = []
            sys.stdout.write("bot> ")
            async for event in engine.stream(request):
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif isinstance(event, Finished) and event.error:
                    sys.stdout.write(f"\n[error: {event.error}]")
            sys.stdout.write("\n")
            history.append((line, "".join(parts).strip()))
    finally:
        await engine.aclose()
    return 0
