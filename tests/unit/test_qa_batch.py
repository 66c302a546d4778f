"""Batch input formats, resume bookkeeping, and several models per question."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from h2otui.commands.batch import BatchInputError, answered_keys, percentile, read_questions


def test_jsonl_txt_and_csv_inputs(tmp_path: Path) -> None:
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text(
        '{"question": "First?", "id": "a"}\n\n'
        '{"question": "Second?", "collection": "Other", "action": "extract"}\n'
    )
    items = read_questions(jsonl)
    assert [(i.id, i.question, i.collection, i.action) for i in items] == [
        ("a", "First?", None, None),
        ("2", "Second?", "Other", "extract"),
    ]
    txt = tmp_path / "q.txt"
    txt.write_text("# my questions\nOne?\n\n  Two?  \n")
    assert [(i.id, i.question) for i in read_questions(txt)] == [("1", "One?"), ("2", "Two?")]
    csv = tmp_path / "q.csv"
    csv.write_text('id,question,action\nx1,"Who, exactly?",query\n,Where?,\n')
    assert [(i.id, i.question, i.action) for i in read_questions(csv)] == [
        ("x1", "Who, exactly?", "query"),
        ("2", "Where?", None),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"question": "ok"}\nnot json\n', "bad.jsonl:2: not valid JSON"),
        ("noq.jsonl", '{"id": 1}\n', 'noq.jsonl:1: expected an object with a non-empty "question"'),
        (
            "dup.jsonl",
            '{"id": "a", "question": "x"}\n{"id": "a", "question": "y"}\n',
            "id 'a' appears twice",
        ),
        ("nocol.csv", "query,text\nx,y\n", "needs a 'question' column"),
        ("q.docx", "x", "unsupported file type '.docx'"),
    ],
)
def test_bad_inputs_name_the_file_and_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(BatchInputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        read_questions(path)
    with pytest.raises(BatchInputError, match="no such file"):
        read_questions(tmp_path / "missing.jsonl")


def test_answered_keys_repairs_a_torn_last_line(tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    good = [{"id": "1", "model": "m", "answer": "a"}, {"id": "2", "model": "m", "answer": "b"}]
    out.write_text("".join(json.dumps(g) + "\n" for g in good) + '{"id": "3", "model": "m", "ans')
    assert answered_keys(out) == {("1", "m"), ("2", "m")}
    # the half-written line is gone, so the next append starts on a fresh line
    assert out.read_text() == "".join(json.dumps(g) + "\n" for g in good)
    assert answered_keys(tmp_path / "none.jsonl") == set()


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.95) == pytest.approx(3.85)
