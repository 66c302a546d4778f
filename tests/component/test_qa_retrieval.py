"""Retrieval on real LanceDB collections with real all-MiniLM-L6-v2 vectors."""

from __future__ import annotations

from pathlib import Path

import pytest
from qa_support import Chunk, facts_corpus, write_collection

from h2otui.qa.citations import Passage, fmt_time
from h2otui.qa.retrieval import QAError, Retriever, merge_neighbors, rrf_fuse

FACTS = [
    # (question, source file, page, start_time)
    ("Who led the Zephyr project?", "report.pdf", 3, None),
    ("How many electric vans are in the delivery fleet?", "fleet.txt", None, None),
    ("What did customer churn fall to after the pricing change?", "talk.mp3", None, 192.0),
]


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory):
    return write_collection(tmp_path_factory.mktemp("facts"), "Facts", facts_corpus())


@pytest.mark.parametrize("mode", ["hybrid", "vector", "text"])
@pytest.mark.parametrize(("question", "name", "page", "start"), FACTS)
def test_each_fact_is_found_with_its_page_or_time(facts, mode, question, name, page, start) -> None:
    result = Retriever(facts).search(question, mode=mode, top_k=3)
    best = result.passages[0]
    assert Path(best.source).name == name
    assert best.page == page
    assert best.start_time == start
    if mode == "text":  # text mode embeds nothing: no cosine score unless asked for
        assert best.score is None
    else:
        assert best.score is not None and 0.3 < best.score <= 1.0


def test_text_mode_embeds_nothing_unless_scores_are_asked_for(facts) -> None:
    r = Retriever(facts)
    found = r.search("Zephyr project leadership", mode="text", top_k=3)
    assert r._embedder is None  # never loaded
    assert found.embed_s == 0.0 and found.passages
    assert all(p.score is None and p.found_by == ("text",) for p in found.passages)
    scored = r.search("Zephyr project leadership", mode="text", top_k=3, scores=True)
    assert r._embedder is not None
    assert [p.chunk_ids for p in scored.passages] == [p.chunk_ids for p in found.passages]
    assert all(p.score is not None and 0.0 < p.score <= 1.0 for p in scored.passages)


def test_ask_in_text_mode_loads_no_embedder(tmp_path: Path) -> None:
    """``ask --search text``: no query embedder is loaded or run (nor onnxruntime or
    tokenizers imported); the answer still cites its sources, without cosine scores."""
    import json
    import os
    import subprocess
    import sys

    home = Path(os.environ["H2OTUI_HOME"])
    write_collection(home, "Facts", facts_corpus())
    # the CLI ends with os._exit (skipping interpreter teardown): report the modules there
    probe = (
        "import atexit, os, sys, runpy\n"
        "def report():\n"
        "    loaded = sorted(m for m in ('onnxruntime', 'tokenizers') if m in sys.modules)\n"
        "    print('LOADED', loaded, file=sys.stderr, flush=True)\n"
        "real_exit = os._exit\n"
        "def _exit(code):\n"
        "    report()\n"
        "    real_exit(code)\n"
        "os._exit = _exit\n"
        "atexit.register(report)\n"
        "sys.argv = ['h2otui', *sys.argv[1:]]\n"
        "runpy.run_module('h2otui', run_name='__main__')\n"
    )
    question = "How many electric vans are in the delivery fleet?"
    proc = subprocess.run(
        [sys.executable, "-c", probe, "ask", question, "-c", "Facts", "--search", "text",
         "--max-new-tokens", "8", "--json"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stderr, proc.stderr
    out = json.loads(proc.stdout)
    assert out["retrieval"]["mode"] == "text"
    assert out["timings"]["load_embedder_s"] is None
    assert out["timings"]["embed_s"] == 0.0
    assert out["sources"][0]["source"] == "/docs/fleet.txt"
    assert out["sources"][0]["score"] is None  # no cosine without an embedding
    assert Passage(text="t", source="/docs/fleet.txt").label(1) == "[1] fleet.txt"


def test_hybrid_finds_a_rare_exact_term_that_vector_search_misses(tmp_path: Path) -> None:
    chunks = [
        Chunk(f"/logs/code{i}.txt", f"Access code {code} issued.")
        for i, code in enumerate(
            ["QZY-7782", "QZW-7780", "QXZ-7791", "ZQX-7881", "QZV-7718", "QZZ-7771"]
        )
    ]
    chunks.append(
        Chunk(
            "/logs/generator.txt",
            "The backup generator in hall B was serviced on Tuesday; oil and filters were "
            "replaced, the fuel tank was topped up, and the technician noted QZX-7781 on the "
            "work order before signing off.",
        )
    )
    chunks += [
        Chunk(
            f"/logs/misc{i}.txt", f"Routine inspection {i} of the cooling system found no problems."
        )
        for i in range(10)
    ]
    col = write_collection(tmp_path, "Logs", chunks)
    retriever = Retriever(col)
    question = "Where is QZX-7781 mentioned?"
    vector = [p.source for p in retriever.search(question, mode="vector", top_k=3).passages]
    hybrid = retriever.search(question, mode="hybrid", top_k=3).passages
    assert "/logs/generator.txt" not in vector  # look-alike codes crowd it out
    assert hybrid[0].source == "/logs/generator.txt"
    assert "text" in hybrid[0].found_by
    # the vector side still contributes its own best matches
    assert {p.source for p in hybrid[1:]} <= set(vector)


def test_cut_distance_drops_weak_vector_matches(facts) -> None:
    r = Retriever(facts)
    question = "Describe the migration patterns of arctic terns."
    strict = r.search(question, mode="vector", top_k=3, cut_distance=0.82)
    loose = r.search(question, mode="vector", top_k=3, cut_distance=2.0)
    assert len(loose.passages) == 3
    assert all(p.distance is not None and p.distance <= 0.82 for p in strict.passages)
    assert len(strict.passages) < 3
    assert strict.cut and all(p.distance > 0.82 for p in strict.cut)


def test_document_filter(facts) -> None:
    r = Retriever(facts)
    result = r.search(
        "Who led the Zephyr project?", top_k=5, docs=["/docs/fleet.txt"], cut_distance=2.0
    )
    assert result.passages
    assert {p.source for p in result.passages} == {"/docs/fleet.txt"}


def test_top_k_minus_one_returns_every_candidate_ranked(facts) -> None:
    r = Retriever(facts)
    result = r.search("Who led the Zephyr project?", top_k=-1, cut_distance=2.0)
    assert len(result.passages) == len(facts_corpus())
    assert Path(result.passages[0].source).name == "report.pdf"


def test_bad_arguments_are_clear_errors(facts) -> None:
    r = Retriever(facts)
    with pytest.raises(QAError, match="search mode"):
        r.search("x", mode="fuzzy")
    with pytest.raises(QAError, match="top_k"):
        r.search("x", top_k=0)


def test_text_mode_without_index_says_what_to_do(tmp_path: Path) -> None:
    col = write_collection(tmp_path, "NoFts", facts_corpus()[:3], fts=False)
    with pytest.raises(QAError, match="full-text index"):
        Retriever(col).search("Zephyr", mode="text")
    # hybrid falls back to vector and notes why
    result = Retriever(col).search("Who led the Zephyr project?", mode="hybrid")
    assert result.passages and result.notes


def test_rrf_fusion_rewards_agreement() -> None:
    fused = rrf_fuse([["a", "b", "c"], ["b", "d"]], k=60)
    assert max(fused, key=fused.get) == "b"
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)


def test_merge_neighbors_joins_consecutive_chunks_once() -> None:
    text = "Alpha beta gamma delta epsilon zeta eta theta."
    a = Passage(
        text=text[:25],
        source="/d/x.pdf",
        doc_id="x",
        page=4,
        chunk_ids=["x:0"],
        chunk_index=0,
        char_start=0,
        char_end=25,
        score=0.5,
    )
    b = Passage(
        text=text[20:],
        source="/d/x.pdf",
        doc_id="x",
        page=4,
        chunk_ids=["x:1"],
        chunk_index=1,
        char_start=20,
        char_end=len(text),
        score=0.8,
    )
    other = Passage(text="unrelated", source="/d/y.txt", doc_id="y", chunk_ids=["y:0"], score=0.6)
    merged = merge_neighbors([b, other, a])
    assert len(merged) == 2
    assert merged[0].text == text  # overlap written once
    assert merged[0].score == 0.8 and merged[0].chunk_ids == ["x:0", "x:1"]
    assert merged[1] is other


def test_citation_labels() -> None:
    pdf = Passage(text="t", source="/home/u/report.pdf", page=12, score=0.8312)
    talk = Passage(text="t", source="/m/talk.mp4", start_time=192.0, end_time=221.4)
    frame = Passage(text="t", source="/m/talk.mp4", frame_time=65.0)
    assert pdf.label(1) == "[1] report.pdf p.12 (score 0.83)"
    assert talk.label(2) == "[2] talk.mp4 03:12-03:41"
    assert frame.label(3) == "[3] talk.mp4 @ 01:05"
    assert fmt_time(3725) == "1:02:05"
    src = pdf.as_source(1)
    assert src == {
        "n": 1,
        "source": "/home/u/report.pdf",
        "page": 12,
        "start_time": None,
        "end_time": None,
        "score": 0.8312,
        "text": "t",
    }


QUESTIONS = [q for q, *_ in FACTS] + ["Rotterdam depot vans", "pricing change churn"]


def _lancedb_only(col, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(col, "_memory_chunks", lambda: None)


def test_in_memory_search_returns_what_lancedb_returns(facts, monkeypatch) -> None:
    """Small collections are searched on an in-memory copy: same rows, same order, same
    distances as LanceDB's exact search; full-text rows identical too."""
    import numpy as np

    col = facts
    assert col.prepare_search()
    # an id the copy does not know (a write in between): LanceDB is asked instead
    assert col._memory_chunks().rows_of(["no-such-chunk"], [1.0], vectors=False) is None
    embed = Retriever(col).embed
    fast = {
        q: (col.vector_search(embed(q), 8), col.text_search(q, 8, vectors=True)) for q in QUESTIONS
    }
    _lancedb_only(col, monkeypatch)
    for q, (vec_rows, text_rows) in fast.items():
        ref = col.vector_search(embed(q), 8)
        assert [r["chunk_id"] for r in vec_rows] == [r["chunk_id"] for r in ref]
        for mine, theirs in zip(vec_rows, ref, strict=True):
            assert mine["_distance"] == pytest.approx(theirs.pop("_distance"), abs=1e-5)
            assert {k: v for k, v in mine.items() if k != "_distance"} == theirs
        ref_text = col.text_search(q, 8, vectors=True)
        assert [r["chunk_id"] for r in text_rows] == [r["chunk_id"] for r in ref_text]
        for mine, theirs in zip(text_rows, ref_text, strict=True):
            assert np.allclose(np.asarray(mine.pop("vector")), np.asarray(theirs.pop("vector")))
            assert mine == theirs


def test_in_memory_copy_follows_writes_and_size_limit(tmp_path: Path, monkeypatch) -> None:
    import h2otui.store.collections as collections

    col = write_collection(tmp_path, "Grow", facts_corpus())
    r = Retriever(col)
    question = "Which lighthouse keeper logged the storm of 1911?"
    before = r.search(question, mode="hybrid", top_k=1, cut_distance=None).passages[0]
    row = col.chunks.to_arrow().to_pylist()[0]  # a row of the table's schema, to edit
    text = "The lighthouse keeper Ida Brand logged the storm of 1911 in the harbour journal."
    row.update(
        chunk_id="lighthouse:0:0", doc_id="lighthouse", source="/docs/lighthouse.txt", text=text,
        vector=r.embed(text).tolist(),
    )  # fmt: skip
    col.chunks.add([row])  # a new version of the table: the in-memory copy is re-read
    after = r.search(question, mode="vector", top_k=1, cut_distance=None).passages[0]
    assert before.source != "/docs/lighthouse.txt" and after.source == "/docs/lighthouse.txt"
    # over the size limit: LanceDB answers, with the same result
    monkeypatch.setattr(collections, "MEMORY_SEARCH_MAX_ROWS", 3)
    col.chunks.add([{**row, "chunk_id": "lighthouse:0:1", "chunk_index": 1}])
    assert not col.prepare_search()
    again = r.search(question, mode="vector", top_k=1, cut_distance=None).passages[0]
    assert again.source == "/docs/lighthouse.txt"
