"""``h2otui chats list|export``: the chat history from the command line."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from h2otui.safe_text import json_dumps, say

if TYPE_CHECKING:
    from h2otui.config import Settings

EXPORT_FORMATS = ("md", "json")


def list_chats(settings: Settings, *, as_json: bool = False, out: TextIO | None = None) -> int:
    from h2otui.store.chats import ChatStore

    out = out or sys.stdout
    with ChatStore.open(settings.data_path) as store:
        chats = store.list_chats()
    if as_json:
        rows = [
            {
                "id": c.id,
                "title": c.title,
                "model": c.model,
                "messages": c.message_count,
                "created_at": c.created_at,
                "updated_at": c.updated_at,
            }
            for c in chats
        ]
        out.write(json_dumps(rows, indent=2) + "\n")
        return 0
    if not chats:
        out.write("No saved chats yet. Open the app with `h2otui` and ask something.\n")
        return 0
    width = max(2, *(len(str(c.id)) for c in chats))
    out.write(f"{'ID':>{width}}  {'UPDATED':16}  {'MSGS':>4}  {'MODEL':16}  TITLE\n")
    for c in chats:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated_at))
        # titles and model ids come from the user's words and from servers
        say(
            out,
            f"{c.id:>{width}}  {when:16}  {c.message_count:>4}  {c.model[:16]:16}  "
            f"{c.title or 'Untitled chat'}\n",
        )
    return 0


def export_chat(
    settings: Settings, chat_id: int, fmt: str, dest: Path | None = None, out: TextIO | None = None
) -> int:
    """Write one chat as Markdown or JSON to ``dest`` (or stdout)."""
    from h2otui.store.chats import ChatStore, export_json, export_markdown

    with ChatStore.open(settings.data_path) as store:
        export = store.export(chat_id)
    text = export_markdown(export, _source_label) if fmt == "md" else export_json(export) + "\n"
    if dest is None:
        (out or sys.stdout).write(text)
    else:
        dest.write_text(text, encoding="utf-8")
    return 0


def _source_label(n: int, saved: dict[str, Any]) -> str:
    """A saved source as ``ask --show-sources`` cites it: ``[1] report.pdf p.3 (score 0.81)``."""
    from h2otui.qa.citations import Passage

    try:
        return Passage.from_meta(saved).label(n)
    except (TypeError, ValueError):
        return f"[{n}] {saved.get('source', '?')}"
