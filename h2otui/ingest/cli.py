"""What ``h2otui ingest`` and ``h2otui collections ...`` do; h2otui/cli.py holds only
the thin typer commands. Output: a rich progress bar and tables on stderr / stdout, or
JSON with ``--json`` (progress then goes to stderr only when it is a terminal)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from h2otui.config import Settings
    from h2otui.ingest.events import IngestSummary

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def run_ingest_command(
    settings: Settings,
    paths: list[str],
    collection: str,
    *,
    exclude: list[str],
    workers: int | None,
    sync: bool,
    reembed: bool,
    force: bool,
    as_json: bool,
) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from h2otui.ingest import ingest
    from h2otui.ingest.events import (
        FileDone,
        IngestFinished,
        IngestPhase,
        IngestProgress,
        IngestStarted,
    )

    err = _console(stderr=True)
    show = err.is_terminal or not as_json
    summary: IngestSummary | None = None
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files"),
        TextColumn("{task.fields[extra]}"),
        TimeElapsedColumn(),
        TextColumn("ETA {task.fields[eta]}"),
        console=err,
        transient=True,
        disable=not show or not err.is_terminal,
    )
    task_id = None
    with progress:
        for event in ingest(
            paths, collection, settings, exclude=exclude, workers=workers, sync=sync,
            reembed=reembed, force=force,
        ):  # fmt: skip
            if isinstance(event, IngestStarted):
                task_id = progress.add_task(
                    f"ingest → {event.collection}", total=event.files_total, extra="", eta="?"
                )
            elif isinstance(event, IngestPhase) and task_id is not None:
                progress.update(task_id, description=event.name)
            elif isinstance(event, IngestProgress) and task_id is not None:
                extra = f"{event.pages} pages"
                if event.media_seconds:
                    extra += f", {event.media_seconds / 60:.1f} media min"
                extra += f", {event.chunks} chunks, {event.chunks_per_s:.1f} chunks/s"
                eta = "-" if event.eta_s is None else f"{event.eta_s:.0f}s"
                progress.update(
                    task_id, completed=event.files_done, extra=extra, eta=eta,
                    description=f"ingest → {collection}",
                )  # fmt: skip
            elif isinstance(event, FileDone) and show and not progress.disable:
                if event.outcome in ("failed", "skipped"):
                    progress.console.print(
                        f"[yellow]{event.outcome}[/] {event.path}: {event.error}"
                    )
            elif isinstance(event, IngestFinished):
                summary = event.summary
    assert summary is not None
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print_summary(summary)
    return EXIT_OK if summary.ok else EXIT_PARTIAL


def print_summary(summary: IngestSummary) -> None:
    from rich.table import Table

    out = _console()
    counts = Table(title=f"Ingested into {summary.collection!r}", show_header=True)
    for name in ("added", "updated", "unchanged", "removed", "failed", "skipped"):
        counts.add_column(name, justify="right")
    counts.add_row(
        *(
            str(len(getattr(summary, n)))
            for n in ("added", "updated", "unchanged", "removed", "failed", "skipped")
        )
    )
    out.print(counts)
    media = f", {summary.media_seconds / 60:.1f} media minutes" if summary.media_seconds else ""
    rate = summary.chunks_written / summary.elapsed_s if summary.elapsed_s else 0.0
    out.print(
        f"{summary.chunks_written} chunks from {summary.pages} pages{media} in "
        f"{summary.elapsed_s:.1f}s ({rate:.1f} chunks/s), embedded with {summary.embedding_model}"
    )
    if summary.failed or summary.skipped or summary.warnings:
        problems = Table(show_header=True, title="Files not ingested")
        problems.add_column("status")
        problems.add_column("file", overflow="fold")
        problems.add_column("reason", overflow="fold")
        for path, reason in summary.failed:
            problems.add_row("[red]failed[/]", path, reason)
        for path, reason in summary.skipped:
            problems.add_row("[yellow]skipped[/]", path, reason)
        for path, warning in summary.warnings:
            problems.add_row("[cyan]warning[/]", path, warning)
        out.print(problems)


def _store(settings: Settings) -> Any:
    from h2otui.store.collections import CollectionStore

    return CollectionStore(settings.data_path)


def collections_list(settings: Settings, as_json: bool) -> int:
    infos = _store(settings).list()
    if as_json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return EXIT_OK
    from rich.table import Table

    if not infos:
        _console().print("no collections yet: `h2otui ingest PATH --collection NAME` makes one")
        return EXIT_OK
    table = Table(show_header=True)
    for col, justify in (("name", "left"), ("documents", "right"), ("chunks", "right"),
                         ("size", "right"), ("embedding model", "left")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for i in infos:
        table.add_row(i.name, str(i.documents), str(i.chunks), _human_bytes(i.size_bytes),
                      f"{i.embedding_model} ({i.dim})")  # fmt: skip
    _console().print(table)
    return EXIT_OK


def collections_show(settings: Settings, name: str, as_json: bool) -> int:
    col = _store(settings).open(name)
    rows = col.document_rows()
    if as_json:
        info = col.info().to_dict()
        info["documents_list"] = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows
        ]
        print(json.dumps(info, indent=2))
        return EXIT_OK
    from rich.table import Table

    info = col.info()
    out = _console()
    out.print(
        f"[bold]{info.name}[/]: {info.documents} documents, {info.chunks} chunks, "
        f"{_human_bytes(info.size_bytes)}, embedded with {info.embedding_model} ({info.dim})"
    )
    table = Table(show_header=True)
    table.add_column("document", overflow="fold")
    table.add_column("status")
    table.add_column("chunks", justify="right")
    table.add_column("parser")
    table.add_column("error / warnings", overflow="fold")
    for r in rows:
        style = {"ok": "green", "failed": "red", "skipped": "yellow"}.get(r["status"], "")
        table.add_row(r["path"], f"[{style}]{r['status']}[/]", str(r["chunk_count"]),
                      r["parser"] or "", r["error"] or r["warnings"] or "")  # fmt: skip
    out.print(table)
    return EXIT_OK


def collections_delete(settings: Settings, name: str, yes: bool) -> int:
    store = _store(settings)
    col = store.open(name)  # raises with the list of collections
    if not yes:
        if not sys.stdin.isatty():
            _console(stderr=True).print(
                f"error: deleting {name!r} needs confirmation: pass --yes", style="red"
            )
            return EXIT_USAGE
        import typer

        if not typer.confirm(
            f"Delete collection {name!r} ({col.count_documents()} documents, "
            f"{col.count_chunks()} chunks)?"
        ):
            return EXIT_ERROR
    store.delete(name)
    _console().print(f"deleted collection {name!r}")
    return EXIT_OK


def collections_remove_doc(settings: Settings, name: str, path: str) -> int:
    col = _store(settings).open(name)
    target = str(Path(path).expanduser().absolute())
    removed = col.remove_document(target) or col.remove_document(path)
    if not removed:
        _console(stderr=True).print(f"error: {path} is not in collection {name!r}", style="red")
        return EXIT_ERROR
    _console().print(f"removed {path} from {name!r} ({removed} document(s))")
    return EXIT_OK
