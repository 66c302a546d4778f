"""The retrieval inspector applies the context budget as an answer does: on a real
collection (the real MiniLM) with the real embedded Gemma's tokenizer, a
``qa.max_input_tokens`` that leaves room for one source drops the others; the inspector
says which and why, and its sources are exactly those ``run_qa`` puts in the prompt."""

from __future__ import annotations

import pytest
from qa_support import facts_corpus, write_collection

from h2otui.qa.inspect import BEYOND_TOP_K, CUT, OVER_MAX_INPUT, USED, inspect_retrieval
from h2otui.qa.pipeline import QARequest, Retrieved, run_qa
from h2otui.qa.prompts import DOCS_JOINER, passage_block
from h2otui.sampling import SamplingParams

pytestmark = pytest.mark.slow

QUESTION = "Who led the Zephyr project?"


async def test_inspector_marks_what_the_context_budget_drops_as_an_answer_does(
    settings, embedded_engine
):
    col = write_collection(settings.data_path, "Facts", facts_corpus())
    unbudgeted = inspect_retrieval(col, QUESTION, settings.qa)
    assert len(unbudgeted.sources) >= 2, "the question must retrieve several sources"
    assert any("context budget not checked" in n for n in unbudgeted.notes)
    first = embedded_engine.count_tokens(passage_block(1, unbudgeted.sources[0]) + DOCS_JOINER)
    qa = settings.replace("qa.max_input_tokens", first + 1).qa

    inspection = inspect_retrieval(
        col, QUESTION, qa, engine=embedded_engine, system=None, max_new_tokens=16
    )
    assert [p.chunk_ids for p in inspection.sources] == [unbudgeted.sources[0].chunk_ids]
    verdicts = {c.passage.chunk_ids[0]: c.verdict for c in inspection.chunks}
    for p in unbudgeted.sources[1:]:  # the less relevant sources: dropped by the budget
        assert verdicts[p.chunk_ids[0]] == OVER_MAX_INPUT
    assert verdicts[unbudgeted.sources[0].chunk_ids[0]] == USED
    assert set(verdicts.values()) <= {USED, OVER_MAX_INPUT, CUT, BEYOND_TOP_K}
    assert inspection.settings["max_input_tokens"] == first + 1
    assert inspection.settings["context_length"] == embedded_engine.context_length

    # what an answer puts in its prompt, with the same settings
    events = run_qa(
        embedded_engine, col, QARequest(question=QUESTION), qa, SamplingParams(max_new_tokens=16)
    )
    retrieved = None
    async for event in events:
        if isinstance(event, Retrieved):
            retrieved = event
            break
    await events.aclose()
    assert retrieved is not None
    assert [p.chunk_ids for p in retrieved.passages] == [p.chunk_ids for p in inspection.sources]
    budget_dropped = {
        d.passage.chunk_ids[0] for d in retrieved.dropped if d.reason == "max_input_tokens"
    }
    assert budget_dropped == {k for k, v in verdicts.items() if v == OVER_MAX_INPUT}
