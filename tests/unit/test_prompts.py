"""Every prompt type renders its documented format exactly (h2oGPT's prompter.py layout)."""

from __future__ import annotations

import pytest

from h2otui.engines.base import EngineConfigError, Message
from h2otui.engines.prompts import (
    FAKE_SYSTEM_QUESTION,
    PROMPT_TYPES,
    get_template,
    prompt_type_for_model,
    render,
    render_messages,
)

TWO_TURNS = [
    Message("user", "Hi"),
    Message("assistant", "Hello!"),
    Message("user", "How are you?"),
]
FQ = FAKE_SYSTEM_QUESTION

# (prompt type, without a system prompt, with system prompt "SYS")
EXPECTED = [
    (
        "plain",
        "Hi\nHello!\nHow are you?\n",
        f"{FQ}\nSYS\nHi\nHello!\nHow are you?\n",
    ),
    (
        "plain_qa",
        "Question: Hi\nAnswer: Hello!\n\nQuestion: How are you?\nAnswer:",
        "SYS\n\nQuestion: Hi\nAnswer: Hello!\n\nQuestion: How are you?\nAnswer:",
    ),
    (
        "instruct",
        "Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n"
        "\n### Instruction:\nHi\n\n### Response:\nHello!\n"
        "\n### Instruction:\nHow are you?\n\n### Response:\n",
        "Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n"
        f"\n### Instruction:\n{FQ}\n\n### Response:\nSYS\n"
        "\n### Instruction:\nHi\n\n### Response:\nHello!\n"
        "\n### Instruction:\nHow are you?\n\n### Response:\n",
    ),
    (
        "human_bot",
        "<human>: Hi\n<bot>: Hello!\n<human>: How are you?\n<bot>:",
        f"<human>: {FQ}\n<bot>: SYS\n<human>: Hi\n<bot>: Hello!\n<human>: How are you?\n<bot>:",
    ),
    (
        "llama2",
        "<s>[INST] Hi [/INST] Hello! </s><s>[INST] How are you? [/INST]",
        "<s>[INST] <<SYS>>\nSYS\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] How are you? [/INST]",
    ),
    (
        "mistral",
        "<s>[INST] Hi [/INST]Hello!</s> [INST] How are you? [/INST]",
        f"<s>[INST] {FQ} [/INST]SYS</s> [INST] Hi [/INST]Hello!</s> [INST] How are you? [/INST]",
    ),
    (
        "zephyr",
        "<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n<|user|>\nHow are you?</s>\n<|assistant|>\n",
        "<|system|>\nSYS</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n"
        "<|user|>\nHow are you?</s>\n<|assistant|>\n",
    ),
    (
        "vicuna11",
        "USER: Hi ASSISTANT: Hello!</s>USER: How are you? ASSISTANT:",
        "SYS USER: Hi ASSISTANT: Hello!</s>USER: How are you? ASSISTANT:",
    ),
    (
        "gemma",
        "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n",
        "<bos><start_of_turn>user\nSYS\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n",
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


def test_every_prompt_type_is_pinned() -> None:
    assert {name for name, _, _ in EXPECTED} == set(PROMPT_TYPES)


@pytest.mark.parametrize(
    ("ptype", "without", "with_system"), EXPECTED, ids=[e[0] for e in EXPECTED]
)
def test_two_turn_render(ptype: str, without: str, with_system: str) -> None:
    no_sys = render_messages([Message("system", ""), *TWO_TURNS], ptype)
    assert no_sys.text == without
    sys = render_messages([Message("system", "SYS"), *TWO_TURNS], ptype)
    assert sys.text == with_system


def test_single_turn_without_system_message_uses_auto_default() -> None:
    # no system message at all == "auto": the type's default system prompt (h2oGPT rule)
    zephyr = render_messages([Message("user", "Q")], "zephyr").text
    assert zephyr.startswith("<|system|>\nYou are an AI that follows instructions")
    assert (
        render_messages([Message("system", "auto"), Message("user", "Q")], "zephyr").text == zephyr
    )
    vicuna = render_messages([Message("user", "Q")], "vicuna11").text
    assert vicuna.startswith("A chat between a curious user") and vicuna.endswith(
        "USER: Q ASSISTANT:"
    )


@pytest.mark.parametrize(
    ("ptype", "stop"),
    [
        ("plain_qa", "\nQuestion:"),
        ("human_bot", "<human>:"),
        ("llama2", "[INST]"),
        ("zephyr", "</s>"),
        ("vicuna11", "</s>"),
        ("gemma", "<end_of_turn>"),
        ("chatml", "<|im_end|>"),
        ("mistral", "</s>"),
    ],
)
def test_terminate_response_in_stops(ptype: str, stop: str) -> None:
    assert stop in get_template(ptype).stop_sequences()


OPENCHAT_DICT = (
    "{'promptA': '', 'promptB': '', 'PreInstruct': 'GPT4 User: ', 'PreInput': None, "
    "'PreResponse': 'GPT4 Assistant:', 'terminate_response': ['GPT4 Assistant:', '<|end_of_turn|>'], "
    "'chat_sep': '<|end_of_turn|>', 'chat_turn_sep': '<|end_of_turn|>', 'humanstr': 'GPT4 User: ', "
    "'botstr': 'GPT4 Assistant:', 'generates_leading_space': False, 'system_prompt': ''}"
)


def test_custom_prompt_dict_from_h2ogpt_literal() -> None:
    # the openchat example from h2oGPT's FAQ ("Adding Prompt Templates"), passed as a string
    rendered = render_messages([Message("system", ""), *TWO_TURNS], "custom", OPENCHAT_DICT)
    assert rendered.text == (
        "GPT4 User: Hi<|end_of_turn|>GPT4 Assistant:Hello!<|end_of_turn|>"
        "GPT4 User: How are you?<|end_of_turn|>GPT4 Assistant:"
    )
    assert "<|end_of_turn|>" in rendered.stop
    # no system role in that dict: a system prompt becomes the initial exchange
    with_sys = render_messages([Message("system", "SYS"), *TWO_TURNS], "custom", OPENCHAT_DICT)
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


def test_base_model_picks_prompt_type_like_h2ogpt() -> None:
    assert prompt_type_for_model("meta-llama/Llama-2-7b-chat-hf") == "llama2"
    assert prompt_type_for_model("HuggingFaceH4/zephyr-7b-beta") == "zephyr"
    assert prompt_type_for_model("h2oai/h2ogpt-oasst1-512-12b") == "human_bot"
    assert prompt_type_for_model("some/unknown-model") is None
