"""Which part of a source matched the question (highlighted in the TUI)."""

from __future__ import annotations

from h2otui.qa.citations import matched_span

TEXT = "Intro about nothing. The churn rate in 2023 rose to 12 percent. Other stuff.\nMore."


def part(text: str, question: str) -> str | None:
    span = matched_span(text, question)
    return None if span is None else text[span[0] : span[1]]


def test_the_sentence_sharing_most_words_with_the_question():
    assert part(TEXT, "What was the churn rate in 2023?") == (
        "The churn rate in 2023 rose to 12 percent."
    )


def test_two_sentences_only_when_together_they_match_more():
    text = "Revenue grew in Europe. Costs fell in Asia. Nothing else."
    assert part(text, "How did revenue and costs change?") == (
        "Revenue grew in Europe. Costs fell in Asia."
    )


def test_no_shared_word_no_match():
    assert part(TEXT, "the of what") is None
    assert part(TEXT, "zebra") is None
    assert part("", "churn") is None
