"""``h2otui collections list|show|delete|remove-doc``: tables (or JSON) of what the
collections hold, and the two ways of removing something."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2otui.commands.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from h2otui.commands.ingest import cell, console, human_bytes

if TYPE_CHECKING:
    from h2otui.config import Settings


def _store(settings: Settings) -> Any:
    from h2otui.store.collections import CollectionStore

    return CollectionStore(settings.data_path)


def list_collections(settings: Settings, as_json: bool) -> int:
    infos = _store(settings).list()
    if as_json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return EXIT_OK
    from rich.table import Table

    if not infos:
        console().print("no collections yet: `h2otui ingest PATH --collection NAME` makes one")
        return EXIT_OK
    table = Table(show_header=True)
    for col, justify in (("name", "left"), ("documents", "right"), ("chunks", "right"),
                         ("size", "right"), ("embedding model", "left")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for i in infos:
        table.add_row(cell(i.name), str(i.documents), str(i.chunks), human_bytes(i.size_bytes),
                      cell(f"{i.embedding_model} ({i.dim})"))  # fmt: skip
    console().print(table)
    return EXIT_OK


def show_collection(settings: Settings, name: str, as_json: bool) -> int:
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
    out = console()
    out.print(
        cell(info.name, "bold")
        + cell(
            f": {info.documents} documents, {info.chunks} chunks, "
            f"{human_bytes(info.size_bytes)}, embedded with {info.embedding_model} ({info.dim})"
        )
    )
    table = Table(show_header=True)
    table.add_column("document", overflow="fold")
    table.add_column("status")
    table.add_column("chunks", justify="right")
    table.add_column("parser")
    table.add_column("error / warnings", overflow="fold")
    for r in rows:
        style = {"ok": "green", "failed": "red", "skipped": "yellow"}.get(r["status"], "")
        table.add_row(cell(r["path"]), cell(r["status"], style), str(r["chunk_count"]),
                      cell(r["parser"] or ""), cell(r["error"] or r["warnings"] or ""))  # fmt: skip
    out.print(table)
    return EXIT_OK


def delete_collection(settings: Settings, name: str, yes: bool) -> int:
    store = _store(settings)
    col = store.open(name)  # raises with the list of collections
    if not yes:
        if not sys.stdin.isatty():
            console(stderr=True).print(
                cell(f"error: deleting {name!r} needs confirmation: pass --yes", "red")
            )
            return EXIT_USAGE
        import typer

        if not typer.confirm(
            f"Delete collection {name!r} ({col.count_documents()} documents, "
            f"{col.count_chunks()} chunks)?"
        ):
            return EXIT_ERROR
    store.delete(name)
    console().print(cell(f"deleted collection {name!r}"))
    return EXIT_OK


def remove_document(settings: Settings, name: str, path: str) -> int:
    col = _store(settings).open(name)
    target = str(Path(path).expanduser().absolute())
    removed = col.remove_document(target) or col.remove_document(path)
    if not removed:
        console(stderr=True).print(cell(f"error: {path} is not in collection {name!r}", "red"))
        return EXIT_USAGE
    console().print(cell(f"removed {path} from {name!r} ({removed} document(s))"))
    return EXIT_OK
