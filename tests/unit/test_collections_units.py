"""Pure pieces of the collections screen: typed paths, globs over chosen folders, the
exclude patterns the picker passes to discovery, and the queue's job line."""

from __future__ import annotations

from pathlib import Path

from h2otui.ingest.background import IngestJob, QueuedFile
from h2otui.ingest.discovery import _excluded
from h2otui.ingest.events import IngestProgress
from h2otui.screens.add_documents import split_paths, split_patterns, with_globs
from h2otui.screens.collections import describe_job


def test_typed_paths_split_like_a_shell_line(tmp_path):
    line = f"{tmp_path}/a.pdf '{tmp_path}/with space.md' \"{tmp_path}/q [1].txt\" ~/notes"
    assert split_paths(line) == [
        f"{tmp_path}/a.pdf", f"{tmp_path}/with space.md", f"{tmp_path}/q [1].txt",
        str(Path("~/notes").expanduser()),
    ]  # fmt: skip
    assert split_paths("'unbalanced quote.pdf") == ["'unbalanced", "quote.pdf"]
    assert split_patterns("*.pdf, *.md  *.txt") == ["*.pdf", "*.md", "*.txt"]


def test_a_folder_chosen_with_a_glob_filter_means_its_matching_files(tmp_path):
    folder = tmp_path / "lib"
    folder.mkdir()
    file = tmp_path / "one.txt"
    file.write_text("x")
    assert with_globs([str(folder), str(file)], ["*.pdf", "*.md"]) == [
        f"{folder}/**/*.pdf", f"{folder}/**/*.md", str(file)
    ]  # fmt: skip
    assert with_globs([str(folder)], []) == [str(folder)]


def test_an_excluded_folder_name_also_excludes_the_files_under_it():
    # what AddDocumentsScreen.action_add passes for "drafts"
    patterns = ["drafts", "*/drafts/*"]
    assert _excluded(Path("/lib/drafts/a.md"), patterns)
    assert not _excluded(Path("/lib/final/a.md"), patterns)


def test_the_job_line_has_progress_rate_eta_and_is_plain_text():
    job = IngestJob("Notes", ["/x"], state="running", message="[bold]not markup")
    job.files = {"/x/a": QueuedFile("/x/a", "added"), "/x/b": QueuedFile("/x/b")}
    job.progress = IngestProgress(1, 2, 3, 0.0, 10, 2.5, 4.0, 6.0)
    line = describe_job(job)
    assert line.plain == (
        "ingest → Notes: running · 1/2 files · 10 chunks, 2.5 chunks/s · ETA 6s · [bold]not markup"
    )
    assert not line.spans
