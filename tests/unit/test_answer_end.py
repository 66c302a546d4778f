"""Where a one-line (plain_qa) document answer ends: at a real boundary, never mid-sentence
because the model hard-wrapped its answer like the documents it read (issue 19, item 5)."""

from __future__ import annotations

import pytest

from h2otui.qa.pipeline import AnswerEnd


def _run(chunks: list[str]) -> tuple[str, bool]:
    end, out = AnswerEnd(), ""
    for chunk in chunks:
        text, done = end.feed(chunk)
        out += text
        if done:
            return out.rstrip(), True  # the pipeline strips the answer
    return out, False


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        # the reported cut: "...in a format that is" -- a wrapped line goes on
        (
            ["Sheets are stored in a format that is\nused in multiple ", "tools.\nQuestion: why"],
            ("Sheets are stored in a format that is used in multiple tools.", True),
        ),
        # a finished sentence and a line break: the answer is over (small models ramble on)
        (["It has 42 vans. ", "\n", "The depot"], ("It has 42 vans.", True)),
        (["Yes!\nNo"], ("Yes!", True)),
        # a blank line ends it even mid-sentence
        (["a line without an end\n", "\nnext paragraph"], ("a line without an end", True)),
        # one token at a time, the break split from the words around it
        (
            ["used", " in", "\n", "multiple", " ways", ".", "\n", "Next"],
            ("used in multiple ways.", True),
        ),
        (["no break yet"], ("no break yet", False)),
    ],
)
def test_answers_end_at_a_real_boundary(chunks: list[str], expected: tuple[str, bool]) -> None:
    assert _run(chunks) == expected
