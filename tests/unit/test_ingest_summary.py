"""What the ingest summary and progress say (issue 13): pages only when there are some,
a rate over the work rather than the model loading, and an ETA that failed, skipped and
unchanged files do not throw off."""

from __future__ import annotations

from h2otui.commands.ingest import summary_line
from h2otui.config import load_settings
from h2otui.ingest.events import FileDone, IngestSummary
from h2otui.ingest.pipeline import IngestPipeline


def test_the_summary_counts_files_and_names_pages_only_when_there_are_some() -> None:
    text_only = IngestSummary("Notes", added=["a.txt", "b.md"], chunks_written=12,
                              elapsed_s=9.0, working_s=3.0, embedding_model="m")  # fmt: skip
    line = summary_line(text_only)
    assert line.startswith("12 chunks from 2 files in 9.0s")
    assert "pages" not in line
    # 12 chunks in the 3 s of work, not 12 in 9 s with the model's loading
    assert "(4.0 chunks/s after 6.0s of start-up)" in line

    mixed = IngestSummary("Docs", added=["r.pdf"], updated=["t.mp3"], chunks_written=30,
                          pages=40, media_seconds=150, elapsed_s=10, working_s=10)  # fmt: skip
    line = summary_line(mixed)
    assert line.startswith("30 chunks from 2 files (40 pages, 2.5 media minutes) in 10.0s")
    assert "(3.0 chunks/s)" in line
    assert IngestSummary("E").to_dict()["chunks_per_s"] == 0.0


def test_the_eta_rate_counts_only_files_that_were_ingested(tmp_path) -> None:
    pipeline = IngestPipeline([tmp_path], "Eta", load_settings(), data_dir=tmp_path)
    pipeline.sizes = {"big.pdf": 5_000_000, "ok.txt": 1_000, "todo.txt": 1_000,
                      "same.txt": 9_000_000}  # fmt: skip
    pipeline._finish("big.pdf", FileDone("big.pdf", "failed", error="not a valid PDF"))
    pipeline._finish("same.txt", FileDone("same.txt", "unchanged"))
    pipeline._finish("ok.txt", FileDone("ok.txt", "added", 3))
    assert pipeline.files_done == 3
    # only the ingested file's bytes are done; what is left is the file still to do
    assert pipeline.bytes_done == 1_000
    assert sum(pipeline.sizes.values()) - pipeline.bytes_done == 1_000
