"""``ask --collection`` and ``batch`` end to end: real ingestion of generated files (a PDF
with a fact on page 3, speech audio starting at 6 s, text), real models, the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from paths import DATA

pytestmark = pytest.mark.slow

SPEECH_OFFSET_S = (
    6.0  # speech.wav: "The harbor inspection found a purple submarine near the lighthouse."
)


def make_pdf(path: Path, pages: list[str]) -> None:
    import pymupdf

    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page()
        page.insert_textbox(pymupdf.Rect(72, 72, 540, 770), text, fontsize=11)
    doc.save(str(path))
    doc.close()


def make_delayed_speech(path: Path, offset_s: float) -> None:
    with wave.open(str(DATA / "speech.wav")) as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        speech = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    silence = np.zeros(int(rate * offset_s) * channels, dtype=np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(np.concatenate([silence, speech]).tobytes())


@pytest.fixture(scope="module")
def qa_home(tmp_path_factory: pytest.TempPathFactory, shared_models_dir: Path) -> Path:
    """A data dir holding collection 'UserData' built by the real ingestion pipeline."""
    from h2otui.config import load_settings
    from h2otui.ingest import run_ingest

    home = tmp_path_factory.mktemp("qa-home")
    (home / "models").symlink_to(shared_models_dir, target_is_directory=True)
    docs = tmp_path_factory.mktemp("docs")
    make_pdf(
        docs / "report.pdf",
        [
            "Annual report of the research lab. This report covers the work of all teams.",
            "Budget overview: spending stayed flat compared to last year across departments.",
            "Project leadership: the Zephyr project was led by Dr. Amara Okafor, who joined the lab in 2019.",
            "Outlook: the lab plans to hire more engineers next year.",
        ],
    )
    (docs / "fleet.txt").write_text(
        "Logistics notes.\n\nThe delivery fleet consists of 42 electric vans, most of them "
        "parked at the Rotterdam depot.\n"
    )
    make_delayed_speech(docs / "harbor.wav", SPEECH_OFFSET_S)
    old = os.environ.get("H2OTUI_HOME")
    os.environ["H2OTUI_HOME"] = str(home)
    try:
        settings = load_settings()
        summary = run_ingest([docs], "UserData", settings, data_dir=home)
    finally:
        if old is None:
            os.environ.pop("H2OTUI_HOME", None)
        else:
            os.environ["H2OTUI_HOME"] = old
    assert not summary.failed, summary.failed
    return home


@pytest.fixture
def env(qa_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("H2OTUI_HOME", str(qa_home))
    return dict(os.environ)


def h2otui(
    *args: str, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "h2otui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_ask_json_has_the_documented_shape_and_cites_the_pdf_page(env) -> None:
    proc = h2otui(
        "ask", "Who led the Zephyr project?", "--collection", "UserData", "--json", env=env
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {
        "answer",
        "model",
        "collection",
        "action",
        "sources",
        "dropped",
        "usage",
        "timings",
    }
    assert (
        out["collection"] == "UserData"
        and out["action"] == "query"
        and out["model"] == "gemma3-270m"
    )
    assert "Okafor" in out["answer"]
    assert isinstance(out["dropped"], list)
    src = out["sources"][0]
    assert set(src) == {"n", "source", "page", "start_time", "end_time", "score", "text"}
    assert (
        src["n"] == 1
        and Path(src["source"]).name == "report.pdf"
        and Path(src["source"]).is_absolute()
    )
    assert src["page"] == 3
    assert "Okafor" in src["text"] and 0 < src["score"] <= 1
    assert [s["n"] for s in out["sources"]] == list(range(1, len(out["sources"]) + 1))
    assert out["usage"]["prompt_tokens"] > 0 and out["usage"]["completion_tokens"] > 0
    t = out["timings"]
    for key in ("embed_s", "search_s", "prompt_build_s", "time_to_first_token_s", "total_s"):
        assert isinstance(t[key], float) and t[key] >= 0, key
    assert t["time_to_first_token_s"] <= t["total_s"]


def test_audio_fact_is_retrieved_with_its_timestamp(qa_home: Path, env) -> None:
    from h2otui.qa.retrieval import Retriever
    from h2otui.store.collections import CollectionStore

    col = CollectionStore(qa_home).open("UserData")
    best = Retriever(col).search("What did the harbor inspection find?", top_k=3).passages[0]
    assert Path(best.source).name == "harbor.wav"
    assert "submarine" in best.text.lower()
    assert (
        best.start_time is not None
        and SPEECH_OFFSET_S - 2.0 <= best.start_time <= SPEECH_OFFSET_S + 2.0
    )
    assert best.end_time is not None and best.end_time > best.start_time


def test_ask_text_mode_lists_sources_and_quotes(env) -> None:
    proc = h2otui(
        "ask",
        "How many electric vans are in the delivery fleet?",
        "-c",
        "UserData",
        "--show-sources",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    answer, _, sources = proc.stdout.partition("\nSources:\n")
    assert "42" in answer
    trail, _, listed = sources.partition("\n")
    assert trail.startswith("(hybrid search: ") and "-> " in trail  # the retrieval trail
    assert listed.startswith("[1] fleet.txt (score ")
    assert '"' in sources and "electric vans" in sources


def test_missing_and_empty_collections_are_clear_errors(env, qa_home: Path) -> None:
    proc = h2otui("ask", "anything", "--collection", "Nope", env=env)
    assert proc.returncode == 2
    assert "Nope" in proc.stderr and "UserData" in proc.stderr and "Traceback" not in proc.stderr

    from h2otui.store.collections import CollectionStore

    CollectionStore(qa_home).create("Empty", "all-MiniLM-L6-v2", 384)
    proc = h2otui("ask", "anything", "--collection", "Empty", env=env)
    assert proc.returncode == 2
    assert "'Empty' is empty" in proc.stderr and "h2otui ingest" in proc.stderr

    proc = h2otui("ask", "anything", "-c", "UserData", "--doc", "/no/such.pdf", env=env)
    assert proc.returncode == 2 and "/no/such.pdf" in proc.stderr and "report.pdf" in proc.stderr


def read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_batch_is_resumable_after_a_kill(env, tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    qs = [
        {"id": "zephyr", "question": "Who led the Zephyr project?"},
        {"id": "vans", "question": "How many electric vans are in the delivery fleet?"},
        {"id": "harbor", "question": "What did the harbor inspection find?"},
        {"id": "budget", "question": "What happened to spending?"},
        {"id": "outlook", "question": "What does the lab plan for next year?"},
    ]
    questions.write_text("".join(json.dumps(q) + "\n" for q in qs))
    out = tmp_path / "answers.jsonl"
    args = [
        sys.executable,
        "-m",
        "h2otui",
        "batch",
        str(questions),
        "--collection",
        "UserData",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 300
        while len(read_lines(out)) < 2:  # wait for some answers, then kill mid-run
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "batch produced no answers"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    first = read_lines(out)
    assert 2 <= len(first) < len(qs)

    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    lines = read_lines(out)
    ids = [line["id"] for line in lines]
    assert sorted(ids) == sorted(q["id"] for q in qs)  # all answered, none twice
    assert lines[: len(first)] == first  # earlier answers untouched
    assert f"{len(qs) - len(first)} answered, {len(first)} already in" in rerun.stderr
    assert "p50" in rerun.stderr and "p95" in rerun.stderr
    for line in lines:
        assert line["question"] == next(q["question"] for q in qs if q["id"] == line["id"])
        assert set(line) >= {
            "answer",
            "model",
            "collection",
            "action",
            "sources",
            "dropped",
            "usage",
            "timings",
        }
    by_id = {line["id"]: line for line in lines}
    assert "Okafor" in by_id["zephyr"]["answer"]
    assert by_id["zephyr"]["sources"][0]["page"] == 3

    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "already in" in again.stderr
    assert read_lines(out) == lines


def test_batch_answers_each_question_with_each_model(env, tmp_path: Path) -> None:
    config = tmp_path / "models.toml"
    config.write_text(
        '[[models]]\nname = "gemma-small-ctx"\nengine = "llamacpp"\n'
        'model_path = "embedded:gemma3-270m-q4_k_m"\nprompt_type = "plain_qa"\n'
        "options = { n_ctx = 2048 }\n"
    )
    questions = tmp_path / "q.txt"
    questions.write_text(
        "Who led the Zephyr project?\nHow many electric vans are in the delivery fleet?\n"
    )
    out = tmp_path / "out.jsonl"
    proc = h2otui(
        "--config",
        str(config),
        "batch",
        str(questions),
        "-c",
        "UserData",
        "--out",
        str(out),
        "--models",
        "gemma3-270m,gemma-small-ctx",
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = read_lines(out)
    assert sorted((line["id"], line["model"]) for line in lines) == [
        ("1", "gemma-small-ctx"),
        ("1", "gemma3-270m"),
        ("2", "gemma-small-ctx"),
        ("2", "gemma3-270m"),
    ]
    assert all(line["sources"] for line in lines)
    assert "4 answered, 0 already in" in proc.stderr

    proc = h2otui(
        "batch", str(questions), "-c", "UserData", "--out", str(out), "--models", "nope", env=env
    )
    assert proc.returncode == 2 and "nope" in proc.stderr


def test_two_batches_sharing_one_out_answer_each_question_once(env, tmp_path: Path) -> None:
    questions = tmp_path / "q.txt"
    questions.write_text(
        "Who led the Zephyr project?\nHow many electric vans are in the delivery fleet?\n"
        "What does the lab plan for next year?\n"
    )
    out = tmp_path / "shared.jsonl"
    args = [sys.executable, "-m", "h2otui", "batch", str(questions), "-c", "UserData",
            "--out", str(out), "--max-new-tokens", "24"]  # fmt: skip
    runs = [
        subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    errs = [p.communicate(timeout=300)[1] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], errs
    keys = [(line["id"], line["model"]) for line in read_lines(out)]
    assert sorted(keys) == [("1", "gemma3-270m"), ("2", "gemma3-270m"), ("3", "gemma3-270m")]
    # they overlapped: one waited for the other, then found every answer already there
    waited = [e for e in errs if "waiting for another batch writing" in e]
    assert len(waited) == 1 and "already in" in waited[0], errs
    assert oct(out.stat().st_mode & 0o777) == "0o600"
