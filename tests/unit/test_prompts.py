"""Every prompt type renders exactly as h2oGPT renders it.

The expected strings in ``tests/data/h2ogpt_prompts.json`` were produced once, offline, by
h2oGPT's own ``prompter.py`` / ``gen.py`` code (the commit is recorded in the file): for
every raw-prompt ``PromptType``, one and two turns, with no, the default ("auto") and a
given system prompt, plus h2oGPT's stop strings.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from paths import DATA

from h2otui.engines.base import EngineConfigError, Message
from h2otui.engines.prompt_data import H2OGPT_BASE_MODELS
from h2otui.engines.prompts import (
    FAKE_SYSTEM_QUESTION,
    PROMPT_TYPES,
    SOURCE_COMMIT,
    get_template,
    prompt_type_for_model,
    render,
    render_messages,
)

H2OGPT = json.loads((DATA / "h2ogpt_prompts.json").read_text(encoding="utf-8"))
TYPES: dict[str, dict[str, Any]] = H2OGPT["prompt_types"]
FQ = FAKE_SYSTEM_QUESTION
#: types h2otui renders differently on purpose (module docstring, README)
CHANGED = {"gemma", "dai_faq"}


def conversation(name: str, system: str) -> list[Message]:
    """The fixture's conversation ``name`` as messages, after a system message."""
    messages = [Message("system", system)]
    for user, assistant in H2OGPT["conversations"][name]:
        messages.append(Message("user", user))
        if assistant is not None:
            messages.append(Message("assistant", assistant))
    return messages


def pinned_cases() -> list[tuple[str, str, str, str]]:
    cases = []
    for ptype, entry in TYPES.items():
        for key, expected in entry["renders"].items():
            convo, system = key.split("/")
            if (ptype == "gemma" and system != "none") or ptype == "dai_faq":
                continue  # the deliberate differences, tested below
            cases.append((ptype, convo, system, expected))
    return cases


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """h2oGPT's human_bot_orig writes the date and time; the fixture pinned its clock."""
    clock = H2OGPT["fixed_clock"]
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: clock[fmt])


def test_fixture_comes_from_the_recorded_h2ogpt_commit() -> None:
    assert H2OGPT["h2ogpt_commit"] == SOURCE_COMMIT
    assert len(TYPES) >= 60


def test_every_h2ogpt_raw_prompt_type_is_supported() -> None:
    missing = set(TYPES) - set(PROMPT_TYPES)
    assert not missing
    for name in ("mixtral", "open_chat", "falcon_chat", "wizard2", "instruct_vicuna"):
        assert PROMPT_TYPES[name].origin == "h2ogpt"
    assert {n for n, t in PROMPT_TYPES.items() if t.origin == "changed"} == CHANGED


@pytest.mark.usefixtures("pinned_clock")
@pytest.mark.parametrize(
    ("ptype", "convo", "system", "expected"),
    pinned_cases(),
    ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in pinned_cases()],
)
def test_renders_exactly_as_h2ogpt(ptype: str, convo: str, system: str, expected: str) -> None:
    system_prompt = H2OGPT["system_prompts"][system]
    assert render_messages(conversation(convo, system_prompt), ptype).text == expected


@pytest.mark.parametrize("ptype", sorted(TYPES))
def test_stops_include_h2ogpt_stop_strings(ptype: str) -> None:
    entry = TYPES[ptype]
    stops = set(get_template(ptype).stop_sequences())
    h2ogpt_stops = {
        *entry["terminate_response"],
        *entry["stop_sequences"],
        *entry["stopping_words"],
    }
    assert h2ogpt_stops <= stops
    assert "" not in stops


@pytest.mark.parametrize(
    ("ptype", "stop"),
    [
        ("plain_qa", "\nQuestion:"),
        ("instruct", "### Instruction:"),  # h2oGPT has none: the next turn's marker is ours
        ("quality", "### Instruction:"),
        ("mptinstruct", "### Instruction"),
        ("llama2", "[INST]"),
        ("zephyr", "</s>"),
        ("vicuna11", "USER:"),
        ("gemma", "<end_of_turn>"),
        ("chatml", "<|im_end|>"),
        ("mixtral", "</s>"),
        ("open_chat", "<|end_of_turn|>"),
        ("instruct_vicuna", "### Human:"),
    ],
)
def test_answers_end_at_the_next_turn(ptype: str, stop: str) -> None:
    assert stop in get_template(ptype).stop_sequences()


def test_plain_qa_does_not_stop_on_answer() -> None:
    assert "Answer:" not in get_template("plain_qa").stop_sequences()


def test_gemma_puts_the_system_prompt_in_the_first_user_turn() -> None:
    # h2oGPT: "SYS<bos><start_of_turn>user\n..." -- Gemma has no system role
    turns = [Message("user", "Hi"), Message("assistant", "Hello!"), Message("user", "How?")]
    text = render_messages([Message("system", "SYS"), *turns], "gemma").text
    assert text == (
        "<bos><start_of_turn>user\nSYS\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!"
        "<end_of_turn>\n<start_of_turn>user\nHow?<end_of_turn>\n<start_of_turn>model\n"
    )
    # "auto" means no system prompt (h2oGPT's is "I am Gemma, ..." before <bos>)
    auto = render_messages([Message("user", "Q")], "gemma").text
    assert auto == TYPES["gemma"]["renders"]["single/none"].replace("What is 2+2?", "Q")


def test_dai_faq_renders_where_h2ogpt_raises() -> None:
    assert "TypeError" in TYPES["dai_faq"]["renders"]["single/none"]["error"]
    text = render_messages(conversation("two_turns", ""), "dai_faq").text
    assert text == (
        "Answer the following Driverless AI question.\n"
        "\n### Driverless AI frequently asked question:\nHi\n\n"
        "\n### Driverless AI documentation answer:\nHello!\n\n"
        "\n### Driverless AI frequently asked question:\nHow are you?\n\n"
        "\n### Driverless AI documentation answer:\n"
    )


def test_system_text_is_never_a_format_string() -> None:
    # braces in a system prompt or a message are text, not placeholders
    msgs = [Message("system", "{system} {date} {0}"), Message("user", "{time}")]
    assert render_messages(msgs, "llama2").text == (
        "<s>[INST] <<SYS>>\n{system} {date} {0}\n<</SYS>>\n\n{time} [/INST]"
    )


OURS = [
    (
        "plain_qa",
        "Question: Hi\nAnswer: Hello!\n\nQuestion: How are you?\nAnswer:",
        "SYS\n\nQuestion: Hi\nAnswer: Hello!\n\nQuestion: How are you?\nAnswer:",
    ),
    (
        "chatml",
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|>system\nSYS<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n",
    ),
]


@pytest.mark.parametrize(("ptype", "without", "with_system"), OURS, ids=[o[0] for o in OURS])
def test_our_own_types(ptype: str, without: str, with_system: str) -> None:
    assert PROMPT_TYPES[ptype].origin == "h2otui"
    assert render_messages(conversation("two_turns", ""), ptype).text == without
    assert render_messages(conversation("two_turns", "SYS"), ptype).text == with_system


def test_single_turn_without_system_message_uses_auto_default() -> None:
    # no system message at all == "auto": the type's default system prompt (h2oGPT rule)
    for ptype in ("zephyr", "vicuna11", "llama2"):
        bare = render_messages([Message("user", "What is 2+2?")], ptype).text
        assert bare == TYPES[ptype]["renders"]["single/auto"]


OPENCHAT_DICT = (
    "{'promptA': '', 'promptB': '', 'PreInstruct': 'GPT4 User: ', 'PreInput': None, "
    "'PreResponse': 'GPT4 Assistant:', 'terminate_response': ['GPT4 Assistant:', '<|end_of_turn|>'], "
    "'chat_sep': '<|end_of_turn|>', 'chat_turn_sep': '<|end_of_turn|>', 'humanstr': 'GPT4 User: ', "
    "'botstr': 'GPT4 Assistant:', 'generates_leading_space': False, 'system_prompt': ''}"
)


def test_custom_prompt_dict_from_h2ogpt_literal() -> None:
    # the openchat example from h2oGPT's FAQ ("Adding Prompt Templates"), passed as a string
    two = conversation("two_turns", "")
    rendered = render_messages(two, "custom", OPENCHAT_DICT)
    assert rendered.text == (
        "GPT4 User: Hi<|end_of_turn|>GPT4 Assistant:Hello!<|end_of_turn|>"
        "GPT4 User: How are you?<|end_of_turn|>GPT4 Assistant:"
    )
    assert "<|end_of_turn|>" in rendered.stop
    # no system role in that dict: a system prompt becomes the initial exchange
    with_sys = render_messages(conversation("two_turns", "SYS"), "custom", OPENCHAT_DICT)
    assert with_sys.text.startswith(
        f"GPT4 User: {FQ}<|end_of_turn|>GPT4 Assistant:SYS<|end_of_turn|>"
    )


def test_custom_prompt_dict_errors_are_clear() -> None:
    with pytest.raises(EngineConfigError, match="needs a prompt_dict"):
        get_template("custom")
    with pytest.raises(EngineConfigError, match="unknown keys"):
        get_template("custom", {"PreInstructt": "x"})
    with pytest.raises(EngineConfigError, match="not a valid Python dict"):
        get_template("custom", "{'a': ")
    with pytest.raises(EngineConfigError, match=r"unknown prompt_type 'nope'.*llama2"):
        get_template("nope")


def test_conversation_must_end_with_user() -> None:
    with pytest.raises(ValueError, match="end with a user message"):
        render(get_template("plain"), [Message("user", "a"), Message("assistant", "b")])


def test_every_base_model_maps_to_a_prompt_type_we_render() -> None:
    assert set(H2OGPT_BASE_MODELS) <= set(PROMPT_TYPES)
    for ptype, models in H2OGPT_BASE_MODELS.items():
        for model in models:
            found = prompt_type_for_model(model)
            assert found in PROMPT_TYPES
            # a name listed under two types goes to the later one, as in h2oGPT
            assert found == ptype or model in {
                m for t, ms in H2OGPT_BASE_MODELS.items() for m in ms if t != ptype
            }


@pytest.mark.parametrize(
    ("base_model", "ptype"),
    [
        ("meta-llama/Llama-2-7b-chat-hf", "llama2"),
        ("HuggingFaceH4/zephyr-7b-beta", "zephyr"),
        ("h2oai/h2ogpt-oasst1-512-12b", "human_bot"),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mixtral"),
        ("tiiuae/falcon-180B-chat", "falcon_chat"),
        ("AlekseyKorshuk/vicuna-7b", "instruct_vicuna"),
        ("google/flan-t5-xxl", "simple_instruct"),
        ("h2oai/h2ogpt-gm-oasst1-en-1024-20b", "prompt_answer"),
        ("openchat/openchat_3.5", "open_chat_correct"),  # listed twice; the later type wins
        ("Qwen/Qwen1.5-7B-Chat", "qwen"),
        ("h2oai/h2o-danube-1.8b-chat", "danube"),
        ("  MISTRALAI/Mistral-7B-Instruct-v0.2 ", "mistral"),
        ("/models/gguf/zephyr-7b-beta.Q5_K_M.gguf", "zephyr"),  # a local file, by its name
        ("gpt-4o", None),  # chat APIs are not raw-prompt types
        ("some/unknown-model", None),
        ("", None),
        (None, None),
    ],
)
def test_base_model_picks_prompt_type_like_h2ogpt(
    base_model: str | None, ptype: str | None
) -> None:
    assert prompt_type_for_model(base_model) == ptype


def test_h2ogpt_unknown_prompt_type_means_unset() -> None:
    # h2oGPT model_lock entries may say prompt_type 'unknown': the chat template, else the
    # base_model's type -- not an "unknown prompt_type" error
    from h2otui.config import load_settings
    from h2otui.engines import create_engine

    entry = {
        "name": "z",
        "inference_server": "http://127.0.0.1:9",
        "base_model": "HuggingFaceH4/zephyr-7b-beta",
        "prompt_type": "unknown",
    }
    settings = load_settings(overrides={"models": [entry]})
    assert create_engine(settings.model("z"), settings).resolve_prompt_type() == "zephyr"
