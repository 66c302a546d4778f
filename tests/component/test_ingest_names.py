"""File names that are not UTF-8 (bytes from another system's archive, an old Latin-1
disk): one of them must not cost the whole run. They are stored UTF-8-safe (their bad
bytes as ``\\xNN``), re-runs see them unchanged, and ``--sync`` / remove-doc work on
them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _write(folder: Path, name: bytes, text: str) -> str:
    path = os.path.join(os.fsencode(folder), name)
    with open(path, "wb") as fh:
        fh.write(text.encode())
    return os.fsdecode(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    _write(d, b"good.txt", "The osprey nests by the river.")
    _write(d, b"caf\xe9.txt", "The heron waits by the mill in the shallow water.")
    _write(d, b"na\xefve\xff.md", "# Notes\n\nThe kingfisher dives for small fish.")
    _write(d, b"bro\xe9ken.pdf", "%PDF-1.4 not really a PDF")
    return d


def test_non_utf8_names_are_ingested_re_run_synced_and_removed(folder):
    from h2otui.config import Settings
    from h2otui.ingest import run_ingest
    from h2otui.store.collections import CollectionStore

    cafe = os.fsdecode(os.path.join(os.fsencode(folder), b"caf\xe9.txt"))
    summary = run_ingest([str(folder)], "Names", Settings())
    assert sorted(Path(p).name for p in summary.added) == [
        "caf\udce9.txt", "good.txt", "na\udcefve\udcff.md"
    ]  # fmt: skip
    assert [Path(p).name for p, _ in summary.failed] == ["bro\udce9ken.pdf"]

    col = CollectionStore(Settings().data_path).open("Names")
    by_name = {Path(r["path"]).name: r["status"] for r in col.document_rows()}
    # readable in a citation: the bad bytes are shown as Python and `ls -b` show them
    assert by_name == {"caf\\xe9.txt": "ok", "good.txt": "ok", "na\\xefve\\xff.md": "ok",
                       "bro\\xe9ken.pdf": "failed"}  # fmt: skip
    hits = col.text_search("heron", 3)
    assert [Path(h["source"]).name for h in hits] == ["caf\\xe9.txt"]

    again = run_ingest([str(folder)], "Names", Settings())
    assert len(again.unchanged) == 3 and not again.added and not again.updated

    os.remove(os.fsencode(cafe))
    synced = run_ingest([str(folder)], "Names", Settings(), sync=True)
    assert [Path(p).name for p in synced.removed] == ["caf\\xe9.txt"]
    naive = os.fsdecode(os.path.join(os.fsencode(folder), b"na\xefve\xff.md"))
    assert col.remove_document(naive) == 1
    assert sorted(Path(r["path"]).name for r in col.document_rows()) == [
        "bro\\xe9ken.pdf", "good.txt"
    ]  # fmt: skip
