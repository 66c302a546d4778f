"""The collections screen: manage document collections and ingest from inside the app.

Left, the collections (documents, chunks, size on disk, embedding model, last ingest);
right, three tabs for the selected one: its documents (status, parser, pages or
duration, chunks, error), the ingest queue (each file's state and reason, progress with
rate and ETA) and the retrieval inspector (the ranked chunks a question would get, and
why). Everything is read in thread workers: the screen is usable -- and says
"loading" -- before LanceDB has even been imported.

Ingest runs in the app's :class:`~h2otui.ingest.background.IngestQueue` (``app.ingests``),
not in this screen: leaving the screen or starting a chat does not stop it. The screen
polls the queue's snapshot a few times a second; it renders, it does not orchestrate.

Every name on screen (collections, files, errors, chunk text) is untrusted: it goes
through :func:`h2otui.safe_text.visible` into a Rich ``Text`` and is never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static, TabbedContent, TabPane

from h2otui.messages import SettingsChanged
from h2otui.safe_text import visible

if TYPE_CHECKING:
    from h2otui.app import H2oTuiApp
    from h2otui.config import Settings
    from h2otui.ingest.background import IngestJob, IngestQueue
    from h2otui.qa.inspect import Inspection

LOADING = "loading collections…"
NO_COLLECTIONS = "no collections yet: n creates one, a adds files to it"
MAX_QUEUE_ROWS = 5000  # files listed for one job (the counts cover all of them)
STATE_STYLE = {
    "added": "green",
    "updated": "green",
    "unchanged": "dim",
    "ok": "green",
    "failed": "red",
    "skipped": "yellow",
    "removed": "yellow",
    "parsing": "cyan",
    "ocr": "magenta",
    "asr": "magenta",
    "embedding": "cyan",
    "waiting": "dim",
}


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def plain(value: object, style: str = "") -> Text:
    """A cell for untrusted text: controls made visible, never markup."""
    return Text(visible("" if value is None else str(value)), style=style)


def fmt_span(seconds: float | None) -> str:
    from h2otui.qa.citations import fmt_time

    return fmt_time(seconds)


class CollectionsScreen(Screen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_collection", "New"),
        Binding("a", "add_documents", "Add files"),
        Binding("r", "rename", "Rename"),
        Binding("d", "delete", "Delete"),
        Binding("x", "remove_document", "Remove doc"),
        Binding("f", "rerun_failed", "Re-run failed"),
        Binding("o", "open_document", "Open doc"),
        Binding("c", "cancel_ingest", "Cancel ingest"),
        Binding("i", "inspect", "Inspect"),
        Binding("ctrl+r", "refresh", "Reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        #: None until the first listing arrives
        self.collections: list[dict[str, Any]] | None = None
        self.selected: str | None = None
        self.documents: list[dict[str, Any]] | None = None
        self._queue_seen = -1
        self._queue_job: str | None = None
        self._queue_rows: dict[str, tuple[str, str]] = {}
        self._jobs_done: set[str] = set()
        self.inspection: Inspection | None = None

    @property
    def h2o(self) -> H2oTuiApp:
        return cast("H2oTuiApp", self.app)

    @property
    def settings(self) -> Settings:
        return self.h2o.settings

    @property
    def queue(self) -> IngestQueue:
        return self.h2o.ingests

    # --- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="coll-body"):
            with Vertical(id="coll-left"):
                yield Label("Collections", id="coll-title")
                yield DataTable(id="collections", cursor_type="row", zebra_stripes=True)
                yield Label(LOADING, id="coll-empty", markup=False)
            with TabbedContent(id="coll-tabs", initial="tab-documents"):
                with TabPane("Documents", id="tab-documents"):
                    yield Label("", id="docs-title", markup=False)
                    yield DataTable(id="documents", cursor_type="row", zebra_stripes=True)
                with TabPane("Ingest queue", id="tab-queue"):
                    yield Static("", id="queue-status")
                    yield DataTable(id="queue-files", cursor_type="row", zebra_stripes=True)
                with TabPane("Inspect retrieval", id="tab-inspect"):
                    yield Input(
                        placeholder="a question to retrieve for (Enter)", id="inspect-query"
                    )
                    yield Static("", id="inspect-settings")
                    yield DataTable(id="inspect-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="ingest-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#collections", DataTable)
        for name in ("name", "docs", "chunks", "size", "embedding model", "last ingest"):
            table.add_column(name, key=name)
        docs = self.query_one("#documents", DataTable)
        for name in ("document", "status", "parser", "pages / duration", "chunks", "error"):
            docs.add_column(name, key=name)
        files = self.query_one("#queue-files", DataTable)
        for name in ("file", "state", "reason"):
            files.add_column(name, key=name)
        inspect = self.query_one("#inspect-table", DataTable)
        for name in ("fused", "source", "verdict", "vector", "cosine", "bm25", "rrf", "where", "text"):  # fmt: skip
            inspect.add_column(name, key=name)
        self.load_collections()
        self.set_interval(0.25, self.refresh_queue)
        self.refresh_queue()

    def on_settings_changed(self, message: SettingsChanged) -> None:
        if message.new.data_path != message.old.data_path:
            self.load_collections()

    # --- loading ----------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.load_collections()

    @work(thread=True, exclusive=True, group="collections-list", exit_on_error=False)
    def load_collections(self) -> None:
        from h2otui.store.collections import CollectionStore

        store = CollectionStore(self.settings.data_path)
        rows: list[dict[str, Any]] = []
        error = ""
        try:
            for name in store.names():
                try:
                    col = store.open(name)
                    info = col.info().to_dict()
                    info["last_ingest"] = col.last_ingest()
                except Exception as exc:  # one unreadable collection: listed as such
                    info = {"name": name, "error": str(exc)}
                rows.append(info)
        except Exception as exc:
            error = f"cannot read the collections in {store.path}: {exc}"
        self.app.call_from_thread(self._show_collections, rows, error)

    def _show_collections(self, rows: list[dict[str, Any]], error: str) -> None:
        self.collections = rows
        table = self.query_one("#collections", DataTable)
        table.clear()
        for r in rows:
            if "error" in r:
                cells = [plain(r["name"]), plain("?"), plain("?"), plain(""),
                         plain(f"unreadable: {r['error']}", "red"), plain("")]  # fmt: skip
            else:
                last = r.get("last_ingest")
                cells = [
                    plain(r["name"], "bold"),
                    plain(r["documents"]),
                    plain(r["chunks"]),
                    plain(human_bytes(r["size_bytes"])),
                    plain(f"{r['embedding_model']} ({r['dim']})"),
                    plain(last.strftime("%Y-%m-%d %H:%M") if last else "never"),
                ]
            table.add_row(*cells, key=r["name"])
        empty = self.query_one("#coll-empty", Label)
        empty.update(Text(visible(error or ("" if rows else NO_COLLECTIONS))))
        empty.display = bool(error or not rows)
        names = [r["name"] for r in rows]
        if self.selected not in names:
            self.selected = names[0] if names else None
        if self.selected is not None:
            table.move_cursor(row=names.index(self.selected))
            self.load_documents(self.selected)
        else:
            self.documents = None
            self.query_one("#documents", DataTable).clear()
            self.query_one("#docs-title", Label).update("")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key  # None when the table was emptied under the cursor
        if event.data_table.id != "collections" or key is None or key.value is None:
            return
        name = str(key.value)
        if name != self.selected:
            self.selected = name
            self.load_documents(name)

    @work(thread=True, exclusive=True, group="collections-docs", exit_on_error=False)
    def load_documents(self, name: str) -> None:
        from h2otui.store.collections import CollectionStore

        try:
            rows = CollectionStore(self.settings.data_path).open(name).document_rows()
            error = ""
        except Exception as exc:
            rows, error = [], str(exc)
        self.app.call_from_thread(self._show_documents, name, rows, error)

    def _show_documents(self, name: str, rows: list[dict[str, Any]], error: str) -> None:
        if name != self.selected:
            return  # the selection moved on while this loaded
        self.documents = rows
        table = self.query_one("#documents", DataTable)
        table.clear()
        failed = sum(1 for r in rows if r["status"] == "failed")
        title = f"{name}: {len(rows)} documents" + (
            f", {failed} failed (f re-runs them)" if failed else ""
        )
        self.query_one("#docs-title", Label).update(Text(visible(error or title)))
        for r in rows:
            if r.get("media_seconds"):
                extent = fmt_span(r["media_seconds"])
            elif r.get("pages"):
                extent = f"{r['pages']} pages"
            else:
                extent = ""
            table.add_row(
                plain(r["path"]),
                plain(r["status"], STATE_STYLE.get(r["status"], "")),
                plain(r["parser"] or ""),
                plain(extent),
                plain(r["chunk_count"]),
                plain(r["error"] or r["warnings"] or ""),
                key=r["doc_id"],
            )

    # --- selection helpers ------------------------------------------------------------

    def _need_collection(self) -> str | None:
        if self.collections is None:
            self.notify("The collections are still loading.", timeout=3)
            return None
        if self.selected is None:
            self.notify("No collection selected: n creates one.", timeout=3)
        return self.selected

    def _selected_document(self) -> dict[str, Any] | None:
        if self._need_collection() is None:
            return None
        if not self.documents:
            self.notify("The collection has no documents (yet).", timeout=3)
            return None
        table = self.query_one("#documents", DataTable)
        row = table.cursor_row
        if not 0 <= row < len(self.documents):
            return None
        return self.documents[row]

    def _busy_with(self, name: str) -> bool:
        job = self.queue.running_job()
        if job is not None and job.collection == name:
            self.notify(
                f"An ingest into {name!r} is running: wait for it or cancel it (c) first.",
                severity="warning",
            )
            return True
        return False

    # --- create / rename / delete -----------------------------------------------------

    def action_new_collection(self) -> None:
        from h2otui.screens.text_prompt import TextPromptScreen

        def created(name: str | None) -> None:
            if name:
                self.create_collection(name)

        self.app.push_screen(TextPromptScreen("New collection name"), created)

    @work(thread=True, group="collections-write", exit_on_error=False)
    def create_collection(self, name: str) -> None:
        from h2otui.ingest.embedding import shared_embedder
        from h2otui.store.collections import CollectionStore, StoreError, validate_name

        store = CollectionStore(self.settings.data_path)
        try:
            validate_name(name)
            if store.exists(name):
                raise StoreError(f"a collection named {name!r} already exists")
            self.app.call_from_thread(self.notify, "Loading the embedding model…", timeout=3)
            embedder = shared_embedder(self.settings)
            store.create(name, embedder.model_id, embedder.dim)
        except Exception as exc:
            self.app.call_from_thread(self._error, "Create collection", str(exc))
            return
        self.selected = name
        self.app.call_from_thread(self.notify, f"Created collection {name!r}.", timeout=3)
        self.app.call_from_thread(self.load_collections)

    def action_rename(self) -> None:
        from h2otui.screens.text_prompt import TextPromptScreen

        name = self._need_collection()
        if name is None or self._busy_with(name):
            return

        def renamed(new: str | None) -> None:
            if new and new != name:
                self.rename_collection(name, new)

        self.app.push_screen(TextPromptScreen(f"Rename {name!r} to", name), renamed)

    @work(thread=True, group="collections-write", exit_on_error=False)
    def rename_collection(self, name: str, new: str) -> None:
        from h2otui.store.collections import CollectionStore

        try:
            CollectionStore(self.settings.data_path).rename(name, new)
        except Exception as exc:
            self.app.call_from_thread(self._error, "Rename collection", str(exc))
            return
        self.selected = new
        self.app.call_from_thread(self.notify, f"Renamed {name!r} to {new!r}.", timeout=3)
        self.app.call_from_thread(self.load_collections)

    def action_delete(self) -> None:
        from h2otui.screens.confirm import ConfirmScreen

        name = self._need_collection()
        if name is None or self._busy_with(name):
            return
        info = next((r for r in self.collections or [] if r["name"] == name), {})
        what = (
            f" ({info['documents']} documents, {info['chunks']} chunks)" if "chunks" in info else ""
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_collection(name)

        question = f"Delete collection {name!r}{what}? This cannot be undone."
        self.app.push_screen(ConfirmScreen(question, yes="Delete", danger=True), answered)

    @work(thread=True, group="collections-write", exit_on_error=False)
    def delete_collection(self, name: str) -> None:
        from h2otui.store.collections import CollectionStore

        try:
            CollectionStore(self.settings.data_path).delete(name)
        except Exception as exc:
            self.app.call_from_thread(self._error, "Delete collection", str(exc))
            return
        if self.selected == name:
            self.selected = None
        self.app.call_from_thread(self.notify, f"Deleted collection {name!r}.", timeout=3)
        self.app.call_from_thread(self.load_collections)

    # --- documents --------------------------------------------------------------------

    def action_remove_document(self) -> None:
        from h2otui.screens.confirm import ConfirmScreen

        doc = self._selected_document()
        name = self.selected
        if doc is None or name is None or self._busy_with(name):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_document(name, str(doc["path"]))

        question = f"Remove {doc['path']} from {name!r}? The file itself is not touched."
        self.app.push_screen(ConfirmScreen(question, yes="Remove", danger=True), answered)

    @work(thread=True, group="collections-write", exit_on_error=False)
    def remove_document(self, name: str, path: str) -> None:
        from h2otui.store.collections import CollectionStore

        try:
            removed = CollectionStore(self.settings.data_path).open(name).remove_document(path)
        except Exception as exc:
            self.app.call_from_thread(self._error, "Remove document", str(exc))
            return
        self.app.call_from_thread(
            partial(self.notify, markup=False),
            f"Removed {visible(path)} ({removed} document(s)).",
            timeout=3,
        )
        self.app.call_from_thread(self.load_collections)

    def action_rerun_failed(self) -> None:
        name = self._need_collection()
        if name is None:
            return
        failed = [str(r["path"]) for r in self.documents or [] if r["status"] == "failed"]
        if not failed:
            self.notify(f"No failed documents in {name!r}.", timeout=3)
            return
        self._queue_ingest(name, failed, [])

    def action_open_document(self) -> None:
        from h2otui.screens.document_view import DocumentScreen

        doc = self._selected_document()
        if doc is None or self.selected is None:
            return
        self.app.push_screen(DocumentScreen(self.settings, self.selected, doc))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "documents":
            event.stop()
            self.action_open_document()

    # --- ingest -----------------------------------------------------------------------

    def action_add_documents(self) -> None:
        from h2otui.screens.add_documents import AddDocumentsScreen, AddRequest

        name = self.selected if self.collections is not None else None

        def chosen(request: AddRequest | None) -> None:
            if request is not None:
                self._queue_ingest(request.collection, request.paths, request.exclude)

        self.app.push_screen(AddDocumentsScreen(name or "UserData"), chosen)

    def _queue_ingest(self, name: str, paths: list[str], exclude: list[str]) -> None:
        try:
            self.queue.add(name, paths, exclude)
        except Exception as exc:
            self._error("Add documents", str(exc))
            return
        self.query_one("#coll-tabs", TabbedContent).active = "tab-queue"
        self.refresh_queue()

    def action_cancel_ingest(self) -> None:
        job = self.queue.cancel()
        if job is None and self.queue.elsewhere:
            pid = f" (pid {self.queue.owner_pid})" if self.queue.owner_pid else ""
            self.notify(f"The ingest runs in another h2otui{pid}: cancel it there.", timeout=4)
        elif job is None:
            self.notify("No ingest is running.", timeout=3)
        else:
            self.notify(
                f"Cancelling the ingest into {job.collection!r}: the files already written are kept.",
                timeout=4,
            )
        self.refresh_queue()

    def refresh_queue(self) -> None:
        queue = self.queue
        if queue.changes == self._queue_seen:
            return
        self._queue_seen = queue.changes
        jobs = queue.snapshot()
        status = self.query_one("#ingest-status", Static)
        running = next((j for j in jobs if j.state == "running"), None)
        status.update(describe_job(running) if running else "")
        status.display = running is not None
        lines = [describe_job(j) for j in jobs[-4:]]
        self.query_one("#queue-status", Static).update(
            Text("\n").join(lines) if lines else Text("No ingest queued: a adds files.")
        )
        self._show_queue_files(running or (jobs[-1] if jobs else None))
        finished = [j for j in jobs if not j.active and j.id not in self._jobs_done]
        if finished:
            self._jobs_done.update(j.id for j in finished)
            if self.collections is not None:
                self.load_collections()

    def _show_queue_files(self, job: IngestJob | None) -> None:
        """The shown job's files; rows are updated in place (a running ingest changes a
        few files per refresh, not thousands)."""
        table = self.query_one("#queue-files", DataTable)
        job_id = job.id if job is not None else None
        if job_id != self._queue_job:
            table.clear()
            self._queue_job, self._queue_rows = job_id, {}
        if job is None:
            return
        for f in list(job.files.values())[:MAX_QUEUE_ROWS]:
            now = (f.state, f.reason)
            before = self._queue_rows.get(f.path)
            state = plain(f.state, STATE_STYLE.get(f.state, ""))
            if before is None:
                table.add_row(plain(f.path), state, plain(f.reason), key=f.path)
            elif before != now:
                table.update_cell(f.path, "state", state)
                table.update_cell(f.path, "reason", plain(f.reason))
            self._queue_rows[f.path] = now

    # --- retrieval inspector ----------------------------------------------------------

    def action_inspect(self) -> None:
        self.query_one("#coll-tabs", TabbedContent).active = "tab-inspect"
        self.query_one("#inspect-query", Input).focus()

    def inspect_question(self, collection: str, question: str) -> None:
        """Open the inspector on ``question`` against ``collection`` ("why these
        sources?" from a chat answer)."""
        self.selected = collection
        if self.collections is not None:
            names = [r["name"] for r in self.collections]
            if collection in names:
                self.query_one("#collections", DataTable).move_cursor(row=names.index(collection))
        self.action_inspect()
        self.query_one("#inspect-query", Input).value = question
        self.query_one("#inspect-settings", Static).update(Text("retrieving…"))
        self.run_inspection(collection, question)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "inspect-query":
            return
        event.stop()
        name = self._need_collection()
        query = event.value.strip()
        if name is None or not query:
            return
        self.query_one("#inspect-settings", Static).update(Text("retrieving…"))
        self.run_inspection(name, query)

    @work(thread=True, exclusive=True, group="collections-inspect", exit_on_error=False)
    def run_inspection(self, name: str, query: str) -> None:
        from h2otui.qa.collection import open_collection
        from h2otui.qa.inspect import inspect_retrieval

        settings = self.settings
        engine, note = None, ""
        try:
            # the chat's model, for its context budget: loaded as a question would load it
            engine = self.app.call_from_thread(self.h2o.engines.load, settings.default_model)
        except Exception as exc:  # no model at hand: the ranks are still worth seeing
            note = f"{settings.default_model} unavailable: {exc}"
        try:
            from h2otui.chat.session import qa_system_prompt

            col = open_collection(settings, name)
            result = inspect_retrieval(
                col, query, settings.qa, engine=engine, budget_note=note,
                system=qa_system_prompt(settings, None) if engine is not None else None,
                max_new_tokens=settings.generation.max_new_tokens,
            )  # fmt: skip
        except Exception as exc:
            self.app.call_from_thread(self._show_inspection_error, str(exc))
            return
        self.app.call_from_thread(self._show_inspection, result)

    def _show_inspection_error(self, error: str) -> None:
        self.query_one("#inspect-settings", Static).update(plain(error, "red"))

    def _show_inspection(self, result: Inspection) -> None:
        self.inspection = result
        s = result.settings
        summary = (
            f"{s['collection']} · {s['search']} search · top_k_docs {s['top_k_docs']} · "
            f"cut_distance {s['cut_distance']} · rrf_k {s['rrf_k']} · "
            f"{s['candidates']} candidates → {len(result.sources)} sources"
        )
        if "context_length" in s:
            summary += (
                f" · budget of {s['model']}: context {s['context_length']}, "
                f"max_new_tokens {s['max_new_tokens']}, max_input_tokens "
                f"{s['max_input_tokens']}, prompt {s['prompt_tokens']} tokens"
            )
        if result.notes:
            summary += " · " + "; ".join(result.notes)
        self.query_one("#inspect-settings", Static).update(plain(summary))
        table = self.query_one("#inspect-table", DataTable)
        table.clear()
        verdict_style = {
            "used": "green",
            "used (cut to fit)": "yellow",
            "cut_distance": "red",
            "context budget": "red",
            "max_input_tokens": "red",
        }
        for c in result.chunks:
            p = c.passage
            table.add_row(
                plain(c.fused_rank),
                plain(f"[{c.source_n}]" if c.source_n else "", "bold"),
                plain(c.verdict, verdict_style.get(c.verdict, "dim")),
                plain(c.vector_rank or "-"),
                plain("-" if c.cosine is None else f"{c.cosine:.3f}"),
                plain(c.text_rank or "-"),
                plain(f"{c.fused_score:.4f}"),
                plain(f"{Path(p.source).name} {p.location()}".strip()),
                plain(" ".join(p.text.split())[:80]),
            )

    # --- helpers ----------------------------------------------------------------------

    def _error(self, title: str, message: str) -> None:
        self.notify(visible(message), title=title, severity="error", timeout=10, markup=False)

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        """Every collections action, for the command palette (Ctrl+P)."""
        return [
            ("New collection", "Create an empty collection (n)", self.action_new_collection),
            ("Add documents", "Pick files and folders to ingest (a)", self.action_add_documents),
            ("Rename collection", "Give the selected collection a new name (r)", self.action_rename),
            ("Delete collection", "Delete the selected collection (asks first) (d)", self.action_delete),
            ("Remove document", "Remove the selected document (asks first) (x)", self.action_remove_document),
            ("Re-run failed documents", "Ingest the failed documents again (f)", self.action_rerun_failed),
            ("Open document", "Its pages / segments and chunks (o)", self.action_open_document),
            ("Cancel ingest", "Stop the running ingest; written files stay (c)", self.action_cancel_ingest),
            ("Inspect retrieval", "See the ranked chunks a question gets (i)", self.action_inspect),
        ]  # fmt: skip


def describe_job(job: IngestJob) -> Text:
    """One line: collection, state, files done / total, rate, ETA, and the message."""
    from h2otui.ingest.background import ELSEWHERE

    if job.state == ELSEWHERE:  # another h2otui runs it: all this one knows is where
        return plain(f"ingest → {job.collection}: {job.message}", "dim")
    p = job.progress
    total = len(job.files) or (p.files_total if p else 0)
    done = p.files_done if p else 0
    parts = [f"ingest → {job.collection}: {job.state}", f"{done}/{total} files"]
    if p is not None:
        parts.append(f"{p.chunks} chunks, {p.chunks_per_s:.1f} chunks/s")
        if job.state == "running":
            parts.append("ETA " + ("?" if p.eta_s is None else f"{p.eta_s:.0f}s"))
    if job.summary is not None and job.state != "running":
        s = job.summary
        parts.append(f"{len(s.added)} added, {len(s.updated)} updated, "
                     f"{len(s.unchanged)} unchanged, {len(s.failed)} failed")  # fmt: skip
    if job.message:
        parts.append(job.message)
    style = {"failed": "red", "cancelled": "yellow", "done": "green"}.get(job.state, "")
    return plain(" · ".join(parts), style)
