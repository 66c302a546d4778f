"""One document of a collection, as citations see it: its pages / transcript segments /
frames, and its chunks with their page numbers or time spans. Read in a thread worker;
the text is the document's, so it is shown as plain text with controls made visible."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from h2otui.safe_text import visible

if TYPE_CHECKING:
    from h2otui.config import Settings


def where(row: dict[str, Any]) -> str:
    """``p.3``, ``03:12-03:41`` or ``@ 01:05``: the location a citation shows."""
    from h2otui.qa.citations import fmt_time

    if row.get("page") is not None:
        return f"p.{row['page']}"
    if row.get("start_time") is not None:
        end = f"-{fmt_time(row['end_time'])}" if row.get("end_time") is not None else ""
        return f"{fmt_time(row['start_time'])}{end}"
    if row.get("frame_time") is not None:
        return f"@ {fmt_time(row['frame_time'])}"
    return ""


def render_document(parts: list[dict[str, Any]], chunks: list[dict[str, Any]]) -> Text:
    out = Text()
    out.append(f"{len(parts)} parts · {len(chunks)} chunks\n\n", style="bold")
    by_part: dict[int, list[dict[str, Any]]] = {}
    for c in chunks:
        by_part.setdefault(int(c.get("part_index") or 0), []).append(c)
    for part in parts:
        idx = int(part.get("part_index") or 0)
        loc = where(part) or f"part {idx + 1}"
        out.append(f"── {loc} ({part.get('kind') or 'text'}) ──\n", style="bold cyan")
        for c in by_part.get(idx, []):
            out.append(f"chunk {c.get('chunk_index')} {where(c)}: ", style="green")
            out.append(visible(" ".join(str(c.get("text") or "").split())) + "\n")
        out.append("\n")
    return out


class DocumentScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, settings: Settings, collection: str, doc: dict[str, Any]) -> None:
        super().__init__()
        self.settings = settings
        self.collection = collection
        self.doc = doc

    def compose(self) -> ComposeResult:
        with Vertical(id="doc-dialog"):
            yield Label(Text(visible(str(self.doc.get("path")))), id="doc-path")
            meta = (
                f"{self.doc.get('status')} · parser {self.doc.get('parser') or '-'} · "
                f"{self.doc.get('chunk_count')} chunks"
            )
            if self.doc.get("error"):
                meta += f" · {self.doc['error']}"
            yield Label(Text(visible(meta)), id="doc-meta")
            with VerticalScroll(id="doc-scroll"):
                yield Static(Text("loading…"), id="doc-text")
            yield Label("Esc close", id="doc-help")

    def on_mount(self) -> None:
        self.query_one("#doc-scroll").focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from h2otui.store.collections import CollectionStore

        try:
            col = CollectionStore(self.settings.data_path).open(self.collection)
            doc_id = str(self.doc["doc_id"])
            parts = col.read_parts([doc_id])
            chunks = col.document_chunks([doc_id])
            text = render_document(parts, chunks)
        except Exception as exc:
            text = Text(visible(f"cannot read the document: {exc}"), style="red")
        self.app.call_from_thread(self.query_one("#doc-text", Static).update, text)

    def action_close(self) -> None:
        self.dismiss(None)
