"""``h2otui ingest``: a rich progress bar on stderr and a summary table, or the summary as
JSON with ``--json`` (progress then goes to stderr only when it is a terminal)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from h2otui.commands.exit_codes import EXIT_OK, EXIT_PARTIAL

if TYPE_CHECKING:
    from h2otui.config import Settings
    from h2otui.ingest.events import IngestSummary


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


#: the width given to tables and lines written to a pipe or a file: wide enough that
#: they are sized to their content, never wrapped mid-word at an imagined 80 columns
UNBOUNDED_WIDTH = 10_000


def console(stderr: bool = False) -> Any:
    """A Rich console for command output: the terminal's width on a terminal; on a pipe or
    a file (``| grep``, ``> out.txt``) the content's own width, unless ``COLUMNS`` says
    otherwise, so each table row stays on one line."""
    import os
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None
    if "COLUMNS" not in os.environ and not (hasattr(stream, "isatty") and stream.isatty()):
        width = UNBOUNDED_WIDTH
    return Console(stderr=stderr, highlight=False, width=width)


def cell(value: object, style: str = "") -> Any:
    """A table cell / console line for untrusted text (a path, a server's error, a model
    id): a Rich ``Text``, so brackets are never parsed as markup, with every control made
    visible (:func:`h2otui.safe_text.visible`)."""
    from rich.text import Text

    from h2otui.safe_text import visible

    return Text(visible(str(value)), style=style)


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
        IngestWaiting,
    )

    err = console(stderr=True)
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
            elif isinstance(event, IngestWaiting):
                progress.console.print(event.name, markup=False)  # always: we are blocked
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
                        cell(event.outcome, "yellow") + cell(f" {event.path}: {event.error}")
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

    out = console()
    counts = Table(title=cell(f"Ingested into {summary.collection!r}"), show_header=True)
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
        cell(
            f"{summary.chunks_written} chunks from {summary.pages} pages{media} in "
            f"{summary.elapsed_s:.1f}s ({rate:.1f} chunks/s), "
            f"embedded with {summary.embedding_model}"
        )
    )
    if summary.failed or summary.skipped or summary.warnings:
        problems = Table(show_header=True, title="Files not ingested")
        problems.add_column("status")
        problems.add_column("file", overflow="fold")
        problems.add_column("reason", overflow="fold")
        for path, reason in summary.failed:
            problems.add_row(cell("failed", "red"), cell(path), cell(reason))
        for path, reason in summary.skipped:
            problems.add_row(cell("skipped", "yellow"), cell(path), cell(reason))
        for path, warning in summary.warnings:
            problems.add_row(cell("warning", "cyan"), cell(path), cell(warning))
        out.print(problems)
