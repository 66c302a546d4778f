"""The collections screen (F4), driven with Pilot on real LanceDB collections in the temp
data dir and the real embedded MiniLM: list, documents, rename, remove a document,
delete; add files through the picker and watch the queue; the retrieval inspector
against ``ask --json``; loading state, tiny sizes and hostile names."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile import MARKUP
from qa_support import Chunk, facts_corpus, write_collection
from textual.widgets import DataTable, DirectoryTree, Input, Label, Static
from textual.worker import WorkerCancelled
from tui_fakes import ScriptedEngine, factory_for

from h2otui.app import make_app
from h2otui.screens.add_documents import AddDocumentsScreen
from h2otui.screens.collections import CollectionsScreen
from h2otui.screens.document_view import DocumentScreen


def cells(table: DataTable, column: int = 0) -> list[str]:  # type: ignore[type-arg]
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


async def settle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait for the screens' workers. A directory tree's loader runs for as long as the
    tree is mounted: it is left out (its nodes are waited for by :func:`tree_loaded`)."""
    for _ in range(3):
        workers = [w for w in app.workers if not isinstance(w.node, DirectoryTree)]
        with contextlib.suppress(WorkerCancelled):
            await asyncio.wait_for(app.workers.wait_for_complete(workers), 60)
        await pilot.pause()


async def tree_child(pilot, tree, name: str):  # type: ignore[no-untyped-def]
    for _ in range(200):
        found = [n for n in tree.root.children if n.data is not None and n.data.path.name == name]
        if found:
            return found[0]
        await pilot.pause(0.05)
    raise AssertionError(f"{name} never showed in the tree")


async def open_screen(app, pilot) -> CollectionsScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f4")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, CollectionsScreen)
    return screen


@pytest.fixture
def facts(settings):  # type: ignore[no-untyped-def]
    hostile = [
        Chunk(f"/docs/{name}", f"Hostile file {i} mentions the harbour.")
        for i, name in enumerate(MARKUP)
    ]
    return write_collection(settings.data_path, "Facts", facts_corpus() + hostile)


async def test_list_documents_rename_remove_and_delete(settings, facts):
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_screen(app, pilot)
        table = screen.query_one("#collections", DataTable)
        assert cells(table) == ["Facts"]
        row = [str(c) for c in table.get_row_at(0)]
        assert row[1] == str(facts.count_documents()) and row[2] == str(facts.count_chunks())
        assert "all-MiniLM-L6-v2 (384)" in row[4]
        docs = screen.query_one("#documents", DataTable)
        paths = cells(docs)
        assert "/docs/report.pdf" in paths
        for name in MARKUP:  # literal, not markup
            assert f"/docs/{name}" in paths

        # open a document: its pages and chunks with page numbers
        docs.move_cursor(row=paths.index("/docs/report.pdf"))
        docs.focus()
        await pilot.press("o")
        await settle(app, pilot)
        assert isinstance(app.screen, DocumentScreen)
        text = str(app.screen.query_one("#doc-text", Static).render())
        assert "p.3" in text and "Amara Okafor" in text and "3 parts" in text
        await pilot.press("escape")
        await pilot.pause()

        # rename
        await pilot.press("r")
        await pilot.pause()
        prompt = app.screen.query_one(Input)
        prompt.value = "Knowledge"
        await pilot.press("enter")
        await settle(app, pilot)
        assert cells(table) == ["Knowledge"]
        assert screen.selected == "Knowledge"

        # remove a document (asks first)
        docs.move_cursor(row=cells(docs).index("/docs/vault.txt"))
        docs.focus()
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await settle(app, pilot)
        assert "/docs/vault.txt" not in cells(docs)
        from h2otui.store.collections import CollectionStore

        col = CollectionStore(settings.data_path).open("Knowledge")
        assert "/docs/vault.txt" not in col.document_paths()
        assert col.count_chunks() == facts.count_chunks() - 1

        # delete: n keeps it, y deletes it
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("n")
        await settle(app, pilot)
        assert cells(table) == ["Knowledge"]
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await settle(app, pilot)
        assert cells(table) == []
        assert "no collections yet" in str(screen.query_one("#coll-empty", Label).render())
        assert CollectionStore(settings.data_path).names() == []


async def test_add_files_with_the_picker_and_watch_the_queue(settings, tmp_path, monkeypatch):
    docs = tmp_path / "library"
    (docs / "drafts").mkdir(parents=True)
    for i in range(3):
        (docs / f"paper{i}.md").write_text(
            f"# Paper {i}\n\nThe otter census {i} counted {i + 7} otters."
        )
    (docs / "skip.log").write_text("not wanted")
    (docs / "drafts" / "draft.md").write_text("A draft about beavers.")
    monkeypatch.chdir(tmp_path)
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(120, 36)) as pilot:
        app.ingests.workers = 0  # parse in-process: the worker processes are tested elsewhere
        screen = await open_screen(app, pilot)
        assert "no collections yet" in str(screen.query_one("#coll-empty", Label).render())
        await pilot.press("a")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, AddDocumentsScreen)
        picker.query_one("#add-collection", Input).value = "Otters"
        picker.query_one("#add-glob", Input).value = "*.md"
        picker.query_one("#add-exclude", Input).value = "drafts"
        await pilot.pause()
        tree = picker.query_one("#add-tree")
        tree.focus()
        await pilot.pause()
        # the library folder, under the root (the current directory); s chooses it
        node = await tree_child(pilot, tree, "library")
        tree.move_cursor(node)  # type: ignore[attr-defined]
        await pilot.press("s")
        await pilot.pause()
        assert picker.chosen == [str(docs)]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.ingests.busy or app.ingests.snapshot()[0].state == "done"

        # leaving the screen does not stop it; the chat stays usable meanwhile
        await pilot.press("f2")
        await pilot.pause()
        await asyncio.to_thread(app.ingests.wait_idle, 120)
        await pilot.press("f4")
        await pilot.pause(0.5)
        await settle(app, pilot)
        (job,) = app.ingests.snapshot()
        assert job.state == "done", job.message
        files = screen.query_one("#queue-files", DataTable)
        shown = dict(zip(cells(files), cells(files, 1), strict=True))
        assert {Path(p).name: s for p, s in shown.items()} == {
            "paper0.md": "added", "paper1.md": "added", "paper2.md": "added"
        }  # fmt: skip
        status = str(screen.query_one("#queue-status", Static).render())
        assert "Otters: done" in status and "3/3 files" in status and "chunks/s" in status
        assert cells(screen.query_one("#collections", DataTable)) == ["Otters"]
        assert len(cells(screen.query_one("#documents", DataTable))) == 3


async def test_a_missing_path_fails_with_its_reason_and_the_rest_is_kept(settings, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("The lighthouse keeper counts gulls every morning.")
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(120, 36)) as pilot:
        # a real parser process, spawned from the app (whose stderr has no fileno)
        app.ingests.workers = 1
        screen = await open_screen(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#add-collection", Input).value = "Gulls"
        app.screen.query_one("#add-paths", Input).value = f"{good} '{tmp_path}/no such.pdf'"
        await pilot.press("ctrl+s")
        await asyncio.to_thread(app.ingests.wait_idle, 120)
        await pilot.pause(0.5)
        await settle(app, pilot)
        files = screen.query_one("#queue-files", DataTable)
        rows = {
            Path(cells(files)[i]).name: (cells(files, 1)[i], cells(files, 2)[i])
            for i in range(files.row_count)
        }
        assert rows["good.txt"][0] == "added"
        assert rows["no such.pdf"][0] == "failed" and rows["no such.pdf"][1]
        assert "Gulls: failed" in str(screen.query_one("#queue-status", Static).render())


async def test_inspector_ranks_match_ask_json(settings, facts):
    question = "Who led the Zephyr project?"
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(160, 40)) as pilot:
        # "why these sources?" from a chat answer opens the inspector on its question
        from h2otui.widgets.sources_panel import DocumentsPanel

        chat = app.screen
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        chat.query_one(DocumentsPanel).select_collection("Facts")
        await pilot.press("escape")
        chat.query_one("#input").focus()
        await pilot.press(*question, "enter")
        await settle(app, pilot)
        assert chat.session.turns, "the question was not answered"
        await chat.action_why_sources()
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CollectionsScreen)
        assert screen.inspection is not None and screen.inspection.query == question
        screen.inspection = None

        await pilot.press("escape")
        screen.query_one("#collections", DataTable).focus()
        await pilot.press("i")
        await pilot.pause()
        query = screen.query_one("#inspect-query", Input)
        assert query.has_focus
        query.value = question
        await pilot.press("enter")
        await settle(app, pilot)
        inspection = screen.inspection
        assert inspection is not None
        table = screen.query_one("#inspect-table", DataTable)
        assert table.row_count == len(inspection.chunks) > 3
        header = str(screen.query_one("#inspect-settings", Static).render())
        assert "hybrid search" in header and "top_k_docs 3" in header and "cut_distance" in header
        # the chat model's context budget was applied (nothing to drop at this size)
        assert "budget of gemma3-270m: context 4096" in header, header
        assert inspection.settings["prompt_tokens"] > 0
        # the sources rows, in order, are those marked used
        used = [c for c in inspection.chunks if c.verdict == "used"]
        assert used and used[0].fused_rank == 1
        assert "report.pdf p.3" in cells(table, 7)[0]
        for c in inspection.chunks:  # the ranks are consistent with the fused score
            assert c.vector_rank or c.text_rank

    proc = subprocess.run(
        [sys.executable, "-m", "h2otui", "ask", question, "--collection", "Facts", "--json",
         "--max-new-tokens", "1"],
        capture_output=True, text=True, env=dict(os.environ), timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    asked = [(s["source"], s["page"], s["score"]) for s in out["sources"]]
    inspected = [
        (p.source, p.page, None if p.score is None else round(float(p.score), 4))
        for p in inspection.sources
    ]
    assert asked == inspected
    assert out["retrieval"]["candidates"] == inspection.settings["candidates"]


async def test_usable_while_loading_tiny_sizes_and_resizes(settings, facts, monkeypatch):
    import threading

    from h2otui.store import collections as store_collections

    release = threading.Event()
    real_names = store_collections.CollectionStore.names

    def slow_names(self):  # type: ignore[no-untyped-def]
        release.wait(timeout=30)
        return real_names(self)

    monkeypatch.setattr(store_collections.CollectionStore, "names", slow_names)
    app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CollectionsScreen)
        assert "loading" in str(screen.query_one("#coll-empty", Label).render())
        for key in ("d", "r", "x", "f", "o", "c", "a"):  # nothing to act on yet: no crash
            await pilot.press(key)
            await pilot.pause()
            if isinstance(app.screen, AddDocumentsScreen):
                await pilot.press("escape")
                await pilot.pause()
        assert isinstance(app.screen, CollectionsScreen)
        for size in ((20, 6), (8, 3), (60, 12), (1, 1)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
        release.set()
        await settle(app, pilot)
        await pilot.resize_terminal(12, 5)
        await pilot.pause()
        await pilot.resize_terminal(120, 30)
        await settle(app, pilot)
        assert cells(screen.query_one("#collections", DataTable)) == ["Facts"]


async def test_a_queue_run_by_another_app_is_shown_read_only(settings, tmp_path):
    """Two processes on one data dir: another h2otui owns the ingest queue (holds its
    lock). This app lists that one's jobs as running there, with its pid; files added
    here join the queue file for it to run, and nothing of its queue is lost."""
    from paths import PYTHONPATH

    from h2otui.ingest.background import OWNER_LOCK, QUEUE_FILE

    data = settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    queue_file = data / QUEUE_FILE
    theirs = {"id": "theirs0001", "collection": "Theirs", "paths": ["/x/a.pdf"],
              "exclude": [], "state": "running"}  # fmt: skip
    queue_file.write_text(json.dumps({"version": 1, "jobs": [theirs]}))
    hold = (
        "import sys; from pathlib import Path; from h2otui.locking import FileLock; "
        f"lock = FileLock(Path({str(data / OWNER_LOCK)!r})); assert lock.acquire(False); "
        "print('held', flush=True); sys.stdin.read()"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", hold], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=PYTHONPATH),
    )  # fmt: skip
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        app = make_app(settings, engine_factory=factory_for(ScriptedEngine()))
        async with app.run_test(size=(120, 30)) as pilot:
            screen = await open_screen(app, pilot)
            await pilot.pause(0.3)
            status = str(screen.query_one("#queue-status", Static).render())
            assert f"Theirs: running in another h2otui (pid {other.pid})" in status, status
            assert not app.ingests.owner and not app.ingests.busy
            mine = tmp_path / "mine.txt"
            mine.write_text("The kestrel hovers over the verge.")
            screen._queue_ingest("Mine", [str(mine)], [])
            await pilot.pause(0.3)
            status = str(screen.query_one("#queue-status", Static).render())
            assert "Mine: queued in another h2otui" in status, status
            assert not app.ingests.busy  # the owner runs it, not this app
        saved = json.loads(queue_file.read_text())["jobs"]
        assert [j["collection"] for j in saved] == ["Theirs", "Mine"]
    finally:
        other.kill()
        other.wait()
