"""The QA pipeline end to end with the real embedded model: query, summarize, extract."""

from __future__ import annotations

from pathlib import Path

import pytest
from qa_support import Chunk, facts_corpus, write_collection

from h2otui.config import QASettings, load_settings
from h2otui.engines.base import SamplingParams, TextDelta
from h2otui.qa.pipeline import Progress, QADone, QARequest, Retrieved, run_qa
from h2otui.qa.retrieval import QAError

pytestmark = pytest.mark.slow


def engine_with_context(n_ctx: int):
    from h2otui.engines import create_engine

    settings = load_settings(
        overrides={
            "models": [
                {
                    "name": f"gemma-{n_ctx}",
                    "engine": "llamacpp",
                    "model_path": "embedded:gemma3-270m-q4_k_m",
                    "prompt_type": "plain_qa",
                    "options": {"n_ctx": n_ctx},
                }
            ]
        }
    )
    return create_engine(settings.model(f"gemma-{n_ctx}"), settings)


async def run(engine, col, request, params=None, qa=None):
    events = []
    async for event in run_qa(
        engine, col, request, qa or QASettings(), params or SamplingParams(max_new_tokens=48)
    ):
        events.append(event)
    assert isinstance(events[-1], QADone)
    return events, events[-1].result


async def test_grounded_answer_with_numbered_sources(tmp_path: Path, embedded_engine) -> None:
    col = write_collection(tmp_path, "Facts", facts_corpus())
    events, result = await run(embedded_engine, col, QARequest("Who led the Zephyr project?"))
    # sources are announced before the answer streams
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    retrieved = [i for i, e in enumerate(events) if isinstance(e, Retrieved)]
    assert retrieved and retrieved[0] < first_text
    assert "Okafor" in result.answer
    assert Path(result.sources[0].source).name == "report.pdf" and result.sources[0].page == 3
    assert result.sources[0].text.startswith("The Zephyr project was led by")
    out = result.as_json()
    assert out["sources"][0]["n"] == 1 and out["sources"][0]["page"] == 3
    assert out["usage"]["llm_calls"] == 1 and out["usage"]["prompt_tokens"] > 0
    for key in ("embed_s", "search_s", "prompt_build_s", "time_to_first_token_s", "total_s"):
        assert out["timings"][key] is not None and out["timings"][key] >= 0


async def test_audio_fact_cites_its_time_span(tmp_path: Path, embedded_engine) -> None:
    col = write_collection(tmp_path, "Facts", facts_corpus())
    _, result = await run(
        embedded_engine, col, QARequest("What did customer churn fall to after the pricing change?")
    )
    assert "3.1" in result.answer
    best = result.sources[0]
    assert (best.start_time, best.end_time) == (192.0, 201.0)
    assert best.label(1).startswith("[1] talk.mp3 03:12-03:21")


def long_report() -> list[Chunk]:
    topics = [
        "revenue grew by twelve percent thanks to the new subscription plan",
        "the Oslo office opened in April with forty engineers",
        "server costs fell after the move to ARM machines",
        "customer satisfaction reached a record score of 91",
        "the mobile app was rewritten and crashes dropped by half",
        "two new board members joined: Ines Duarte and Tomas Berg",
        "the company planted 5000 trees as part of its climate pledge",
        "support response times improved to under two hours",
    ]
    chunks = []
    for page, topic in enumerate(topics, 1):
        body = (f"Page {page}. In this section, {topic}. " * 6).strip()
        chunks.append(Chunk("/docs/annual.pdf", body, page=page, part_index=page - 1))
    return chunks


async def test_summarize_a_document_longer_than_the_context_by_map_reduce(tmp_path: Path) -> None:
    col = write_collection(tmp_path, "Annual", long_report())
    engine = engine_with_context(640)
    try:
        events, result = await run(
            engine, col, QARequest("", action="summarize"), SamplingParams(max_new_tokens=40)
        )
    finally:
        await engine.aclose()
    progress = [e.message for e in events if isinstance(e, Progress)]
    assert any("round 1" in m for m in progress), progress
    assert progress[-1] == "writing the summary"
    # several map calls, then at least one reduce call
    assert result.usage["llm_calls"] >= 3
    assert result.answer.strip()
    assert {s.page for s in result.sources} == set(range(1, 9))  # every page was read
    assert result.usage["prompt_tokens"] > 640  # more text than one context holds


async def test_extract_returns_one_result_per_part(tmp_path: Path, embedded_engine) -> None:
    col = write_collection(tmp_path, "Annual", long_report()[:3])
    events, result = await run(
        embedded_engine,
        col,
        QARequest("the main fact", action="extract", docs=["/docs/annual.pdf"]),
    )
    assert [r["n"] for r in result.results] == [1, 2, 3]
    assert all(r["text"].strip() for r in result.results)
    assert [s.page for s in result.sources] == [1, 2, 3]
    assert result.usage["llm_calls"] == 3
    assert result.as_json()["results"] == result.results
    assert sum(isinstance(e, Progress) for e in events) == 3


async def test_summarize_unknown_document_is_a_clear_error(tmp_path: Path, embedded_engine) -> None:
    col = write_collection(tmp_path, "Annual", long_report()[:2])
    with pytest.raises(QAError, match=r"no text for /nope\.pdf"):
        await run(embedded_engine, col, QARequest("", action="summarize", docs=["/nope.pdf"]))
