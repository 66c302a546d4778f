"""Context filling with the real embedded model's tokenizer."""

from __future__ import annotations

import pytest

from h2otui.engines.base import Message
from h2otui.qa.citations import Passage
from h2otui.qa.context import TokenCounter, fill_context, pack_parts
from h2otui.qa.prompts import DEFAULT_PRE_PROMPT_QUERY, DEFAULT_PROMPT_QUERY, query_prompt
from h2otui.qa.retrieval import QAError

N_CTX = 512


@pytest.fixture(scope="module")
def small_engine(tmp_path_factory: pytest.TempPathFactory):
    """The embedded Gemma 3 270M with a 512-token context (loaded synchronously)."""
    import os

    from h2otui.config import load_settings
    from h2otui.engines import create_engine

    home = tmp_path_factory.mktemp("ctx-home")
    old = os.environ.get("H2OTUI_HOME")
    os.environ["H2OTUI_HOME"] = str(home)
    try:
        settings = load_settings(
            overrides={
                "models": [
                    {
                        "name": "gemma-512",
                        "engine": "llamacpp",
                        "model_path": "embedded:gemma3-270m-q4_k_m",
                        "prompt_type": "plain_qa",
                        "options": {"n_ctx": N_CTX},
                    }
                ]
            }
        )
        engine = create_engine(settings.model("gemma-512"), settings)
        engine._load_sync()
    finally:
        if old is None:
            os.environ.pop("H2OTUI_HOME", None)
        else:
            os.environ["H2OTUI_HOME"] = old
    yield engine
    engine._llm.close()


def passages(n: int, words: int = 40) -> list[Passage]:
    return [
        Passage(
            text=" ".join(f"fact{i}-{j}" for j in range(words)),
            source=f"/d/doc{i}.txt",
            score=1.0 - i / 100,
        )
        for i in range(n)
    ]


def build(question: str):
    return lambda ps: query_prompt(
        question, ps, pre_prompt=DEFAULT_PRE_PROMPT_QUERY, prompt=DEFAULT_PROMPT_QUERY
    )


def test_never_exceeds_the_context_and_reports_drops(small_engine) -> None:
    ps = passages(30)
    filled = fill_context(
        small_engine, build_user=build("What is fact3?"), passages=ps, max_new_tokens=64
    )
    counter = TokenCounter(small_engine)
    exact = counter.text(small_engine.render_prompt(filled.messages))
    assert exact == filled.prompt_tokens
    assert exact + 64 <= N_CTX
    assert 1 <= len(filled.passages) < 30
    # the most relevant are kept, the least relevant dropped, in that order
    assert filled.passages == ps[: len(filled.passages)]
    dropped = [d.passage for d in filled.dropped]
    assert dropped == list(reversed(ps[len(filled.passages) :]))
    assert all(d.reason == "context" and d.tokens and d.tokens > 0 for d in filled.dropped)
    # and the context was used: one more passage would not have fitted
    more = fill_context(
        small_engine,
        build_user=build("What is fact3?"),
        passages=ps[: len(filled.passages) + 1],
        max_new_tokens=64,
    )
    assert len(more.passages) == len(filled.passages)


def test_max_input_tokens_caps_the_documents(small_engine) -> None:
    ps = passages(10, words=10)
    filled = fill_context(
        small_engine, build_user=build("q?"), passages=ps, max_new_tokens=32, max_input_tokens=120
    )
    counter = TokenCounter(small_engine)
    base = counter.prompt([*filled.messages[:-1], Message("user", build("q?")([]))])
    assert filled.prompt_tokens - base <= 120 + 8
    assert filled.dropped and {d.reason for d in filled.dropped} == {"max_input_tokens"}


def test_least_relevant_chunks_go_before_oldest_history(small_engine) -> None:
    history = [
        (f"old question {i} " + "blah " * 30, f"old answer {i} " + "meh " * 30) for i in range(4)
    ]
    ps = passages(5, words=30)
    filled = fill_context(
        small_engine,
        build_user=build("What is fact0?"),
        passages=ps,
        history=history,
        max_new_tokens=64,
    )
    kinds = [d.kind for d in filled.dropped]
    assert "chunk" in kinds and "history" in kinds
    # every chunk drop comes before the first history drop, and one chunk survives
    assert kinds.index("history") > max(i for i, k in enumerate(kinds) if k == "chunk")
    assert filled.passages == ps[:1]
    # the newest turns are the ones kept
    assert filled.history == history[len(history) - len(filled.history) :]
    turns = [d.turn for d in filled.dropped if d.kind == "history"]
    assert turns == sorted(turns) and turns[0] == 0
    assert filled.prompt_tokens + 64 <= N_CTX


def test_a_single_huge_passage_is_cut_to_fit(small_engine) -> None:
    huge = Passage(text="word " * 2000, source="/d/huge.txt", score=0.9)
    filled = fill_context(small_engine, build_user=build("q?"), passages=[huge], max_new_tokens=64)
    assert len(filled.passages) == 1 and filled.passages[0].truncated
    assert filled.passages[0].text.strip() and len(filled.passages[0].text) < len(huge.text)
    assert filled.prompt_tokens + 64 <= N_CTX
    assert filled.dropped[-1].reason == "truncated"


def test_a_question_longer_than_the_context_is_a_clear_error(small_engine) -> None:
    with pytest.raises(QAError, match="question and prompts alone"):
        fill_context(
            small_engine, build_user=build("why " * 600), passages=passages(2), max_new_tokens=64
        )


def test_pack_parts_splits_and_groups_within_budget(small_engine) -> None:
    counter = TokenCounter(small_engine)
    parts = [Passage(text=f"short part {i}.", source="/d/a.txt", part_index=i) for i in range(5)]
    parts.append(Passage(text="long " * 900, source="/d/b.pdf", page=7, part_index=5))
    batches = pack_parts(counter, parts, 200)
    assert all(sum(counter.text(p.text) + 4 for p in b) <= 200 for b in batches)
    assert [p.text for p in batches[0][:5]] == [
        p.text for p in parts[:5]
    ]  # small parts grouped, in order
    pieces = [p for b in batches for p in b if p.source == "/d/b.pdf"]
    assert len(pieces) >= 4 and all(p.page == 7 for p in pieces)
    assert sum(p.text.count("long") for p in pieces) == 900
