"""Prompt types: render a conversation into the raw prompt a model was trained on.

Names and formats follow h2oGPT's ``prompter.py`` (``get_prompt`` / ``generate_prompt``),
with h2oGPT's ``prompt_dict`` keys: ``promptA``, ``promptB``, ``PreInstruct``,
``PreInput``, ``PreResponse``, ``terminate_response``, ``chat_sep``, ``chat_turn_sep``,
``humanstr``, ``botstr``. A conversation renders as::

    preamble                                   # promptA, holding the system prompt
    PreInstruct + user_1 + chat_sep + PreResponse + " "? + assistant_1 + chat_turn_sep
    ...
    PreInstruct + user_n + chat_sep + PreResponse          # the model continues here

(the space after ``PreResponse`` in past turns is h2oGPT's ``making_context`` rule for
types whose models emit a leading space).

System prompts: ``"auto"`` picks the type's default system prompt (h2oGPT's rule),
``""`` means none. A type that has no system role gets the system prompt as an
initial exchange -- the user asks "Who are you and what do you do?" and the assistant
answers with the system prompt -- exactly as h2oGPT's
``user_prompt_for_fake_system_prompt`` does.

The rendered format of each type for a two-turn conversation is pinned by
``tests/unit/test_prompts.py``; the README shows them.

Where we differ from h2oGPT, on purpose:

* ``gemma``: h2oGPT writes the system prompt *before* ``<bos>``; Gemma has no system
  role, so like Google's own chat template we put it at the top of the first user turn.
* ``plain_qa`` is ours: a ``Question:`` / ``Answer:`` frame with stop sequences, which
  makes small *base* models (the embedded Gemma 3 270M) answer instead of rambling.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from h2otui.engines.base import EngineConfigError, Message

FAKE_SYSTEM_QUESTION = "Who are you and what do you do?"

#: prompt_type value meaning "use the model's own chat template"
TEMPLATE = "template"


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    name: str
    preamble: str = ""
    """promptA: text before the first turn; ``{system}`` is replaced by the system prompt."""
    system_format: str = "{system}"
    """How a non-empty system prompt is written into the preamble / first instruct."""
    pre_instruct: str = ""
    first_pre_instruct: str | None = None
    """PreInstruct for the first turn only (BOS-bearing types); may hold ``{system}``."""
    pre_response: str = ""
    context_response_space: bool = False
    chat_sep: str = "\n"
    chat_turn_sep: str = "\n"
    terminate_response: tuple[str, ...] = ()
    humanstr: str | None = None
    botstr: str | None = None
    can_handle_system_prompt: bool = True
    default_system_prompt: str = ""
    doc: str = ""

    def stop_sequences(self) -> list[str]:
        stops = list(self.terminate_response)
        for s in (self.humanstr, self.botstr):
            if s and s.strip() and s not in stops:
                stops.append(s)
        return [s for s in stops if s]


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    text: str
    stop: list[str] = field(default_factory=list)


_VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. The assistant "
    "gives helpful, detailed, and polite answers to the user's questions."
)

PROMPT_TYPES: dict[str, PromptTemplate] = {
    t.name: t
    for t in [
        PromptTemplate(
            name="plain",
            doc="Text as-is, one turn per line; for base models and completion.",
            can_handle_system_prompt=False,
        ),
        PromptTemplate(
            name="plain_qa",
            doc="Question:/Answer: frame for small base models (h2otui's embedded default).",
            preamble="{system}",
            system_format="{system}\n\n",
            pre_instruct="Question: ",
            pre_response="Answer:",
            context_response_space=True,
            chat_sep="\n",
            chat_turn_sep="\n\n",
            terminate_response=("\nQuestion:", "\n\n\n"),
            humanstr="Question:",
            botstr=None,
        ),
        PromptTemplate(
            name="instruct",
            doc="Alpaca-style ### Instruction / ### Response.",
            preamble=(
                "Below is an instruction that describes a task. Write a response that "
                "appropriately completes the request.\n"
            ),
            pre_instruct="\n### Instruction:\n",
            pre_response="\n### Response:\n",
            chat_sep="\n",
            chat_turn_sep="\n",
            humanstr="### Instruction:",
            botstr="### Response:",
            can_handle_system_prompt=False,
        ),
        PromptTemplate(
            name="human_bot",
            doc="h2oGPT's own <human>: / <bot>: format.",
            pre_instruct="<human>: ",
            pre_response="<bot>:",
            context_response_space=True,
            chat_sep="\n",
            chat_turn_sep="\n",
            terminate_response=("\n<human>:", "\n<bot>:", "<human>:", "<bot>:"),
            humanstr="<human>:",
            botstr="<bot>:",
            can_handle_system_prompt=False,
        ),
        PromptTemplate(
            name="llama2",
            doc="Llama 2 chat: <s>[INST] <<SYS>> ... <</SYS>> ... [/INST].",
            pre_instruct="<s>[INST] ",
            first_pre_instruct="<s>[INST] {system}",
            system_format="<<SYS>>\n{system}\n<</SYS>>\n\n",
            pre_response="[/INST]",
            context_response_space=True,
            chat_sep=" ",
            chat_turn_sep=" </s>",
            terminate_response=("[INST]", "</s>"),
            humanstr="[INST]",
            botstr="[/INST]",
            default_system_prompt=(
                "You are a helpful, respectful and honest assistant. Always answer as "
                "helpfully as possible, while being safe."
            ),
        ),
        PromptTemplate(
            name="mistral",
            doc="Mistral instruct: <s>[INST] ... [/INST] (no system role).",
            pre_instruct="[INST] ",
            first_pre_instruct="<s>[INST] ",
            pre_response="[/INST]",
            chat_sep=" ",
            chat_turn_sep="</s> ",
            terminate_response=("[INST]", "</s>"),
            humanstr="[INST]",
            botstr="[/INST]",
            can_handle_system_prompt=False,
        ),
        PromptTemplate(
            name="zephyr",
            doc="Zephyr: <|system|> / <|user|> / <|assistant|> with </s>.",
            preamble="{system}",
            system_format="<|system|>\n{system}</s>\n",
            pre_instruct="<|user|>\n",
            pre_response="</s>\n<|assistant|>\n",
            chat_sep="",
            chat_turn_sep="</s>\n",
            terminate_response=("<|assistant|>", "</s>"),
            humanstr="<|user|>",
            botstr="<|assistant|>",
            default_system_prompt=(
                "You are an AI that follows instructions extremely well and as helpful as possible."
            ),
        ),
        PromptTemplate(
            name="vicuna11",
            doc="Vicuna v1.1: SYSTEM USER: ... ASSISTANT: ...</s>.",
            preamble="{system}",
            system_format="{system} ",
            pre_instruct="USER: ",
            pre_response="ASSISTANT:",
            context_response_space=True,
            chat_sep=" ",
            chat_turn_sep="</s>",
            terminate_response=("ASSISTANT:", "</s>"),
            humanstr="USER: ",
            botstr="ASSISTANT:",
            default_system_prompt=_VICUNA_SYSTEM,
        ),
        PromptTemplate(
            name="gemma",
            doc="Gemma instruct: <start_of_turn>user / model <end_of_turn>.",
            pre_instruct="<start_of_turn>user\n",
            first_pre_instruct="<bos><start_of_turn>user\n{system}",
            system_format="{system}\n\n",
            pre_response="<end_of_turn>\n<start_of_turn>model\n",
            chat_sep="",
            chat_turn_sep="<end_of_turn>\n",
            terminate_response=("<start_of_turn>", "<end_of_turn>", "<bos>"),
            humanstr="<start_of_turn>user",
            botstr="<start_of_turn>model",
        ),
        PromptTemplate(
            name="chatml",
            doc="ChatML (Qwen, Hermes, Yi): <|im_start|>role ... <|im_end|>.",
            preamble="{system}",
            system_format="<|im_start|>system\n{system}<|im_end|>\n",
            pre_instruct="<|im_start|>user\n",
            pre_response="<|im_end|>\n<|im_start|>assistant\n",
            chat_sep="",
            chat_turn_sep="<|im_end|>\n",
            terminate_response=("<|im_end|>",),
            humanstr="<|im_start|>user",
            botstr="<|im_start|>assistant",
            default_system_prompt=(
                "A conversation between a user and an LLM-based AI assistant. The assistant "
                "gives helpful and honest answers."
            ),
        ),
    ]
}

#: h2oGPT names that render like one of ours
ALIASES = {"qwen": "chatml"}

PROMPT_DICT_KEYS = {
    "promptA",
    "promptB",
    "PreInstruct",
    "PreInput",
    "PreResponse",
    "terminate_response",
    "chat_sep",
    "chat_turn_sep",
    "humanstr",
    "botstr",
    "generates_leading_space",
    "system_prompt",
    "can_handle_system_prompt",
}


def prompt_type_names() -> list[str]:
    return sorted([*PROMPT_TYPES, *ALIASES, "custom"])


def custom_template(prompt_dict: dict[str, Any] | str) -> PromptTemplate:
    """A template from h2oGPT's ``prompt_dict`` (a dict, or its Python-literal string)."""
    if isinstance(prompt_dict, str):
        try:
            prompt_dict = ast.literal_eval(prompt_dict)
        except (ValueError, SyntaxError) as exc:
            raise EngineConfigError(
                f"prompt_dict is not a valid Python dict literal: {exc}"
            ) from None
    if not isinstance(prompt_dict, dict):
        raise EngineConfigError("prompt_dict must be a dict of h2oGPT prompt keys")
    unknown = set(prompt_dict) - PROMPT_DICT_KEYS
    if unknown:
        raise EngineConfigError(
            f"prompt_dict has unknown keys {sorted(unknown)}; known: {sorted(PROMPT_DICT_KEYS)}"
        )

    def s(key: str, default: str = "") -> str:
        value = prompt_dict.get(key, default)
        return "" if value is None else str(value)

    terminate = prompt_dict.get("terminate_response") or []
    if isinstance(terminate, str):
        terminate = [terminate]
    pre_response = s("PreResponse")
    system = s("system_prompt")
    return PromptTemplate(
        name="custom",
        preamble=s("promptA") or s("promptB"),
        pre_instruct=s("PreInstruct"),
        pre_response=pre_response,
        context_response_space=bool(prompt_dict.get("generates_leading_space", False)),
        chat_sep=s("chat_sep", "\n"),
        chat_turn_sep=s("chat_turn_sep", "\n"),
        terminate_response=tuple(str(t) for t in terminate if t),
        humanstr=prompt_dict.get("humanstr") or None,
        botstr=prompt_dict.get("botstr") or None,
        can_handle_system_prompt=bool(prompt_dict.get("can_handle_system_prompt", bool(system))),
        default_system_prompt=system,
    )


def get_template(
    prompt_type: str, prompt_dict: dict[str, Any] | str | None = None
) -> PromptTemplate:
    if prompt_type == "custom":
        if prompt_dict is None:
            raise EngineConfigError("prompt_type 'custom' needs a prompt_dict")
        return custom_template(prompt_dict)
    name = ALIASES.get(prompt_type, prompt_type)
    try:
        return PROMPT_TYPES[name]
    except KeyError:
        raise EngineConfigError(
            f"unknown prompt_type '{prompt_type}' (known: {', '.join(prompt_type_names())})"
        ) from None


def _split(messages: Sequence[Message]) -> tuple[str | None, list[tuple[str, str]], str]:
    """(system, [(user, assistant), ...], final user message)."""
    system: str | None = None
    rest = list(messages)
    if rest and rest[0].role == "system":
        system = rest.pop(0).content
    if not rest or rest[-1].role != "user":
        raise ValueError("a conversation must end with a user message")
    final = rest.pop().content
    pairs: list[tuple[str, str]] = []
    pending_user: str | None = None
    for m in rest:
        if m.role == "user":
            if pending_user is not None:
                pairs.append((pending_user, ""))
            pending_user = m.content
        elif m.role == "assistant":
            pairs.append((pending_user or "", m.content))
            pending_user = None
        else:
            raise ValueError("system messages may only come first")
    if pending_user is not None:
        pairs.append((pending_user, ""))
    return system, pairs, final


def resolve_system_prompt(template: PromptTemplate, system: str | None) -> str:
    if system is None or system == "auto":
        return template.default_system_prompt
    return system


def render(template: PromptTemplate, messages: Sequence[Message]) -> RenderedPrompt:
    """Render ``messages`` with ``template`` (see the module docstring for the layout)."""
    system_raw, pairs, final = _split(messages)
    system = resolve_system_prompt(template, system_raw)

    sys_text = ""
    if system:
        if template.can_handle_system_prompt:
            sys_text = template.system_format.format(system=system)
        else:
            pairs = [(FAKE_SYSTEM_QUESTION, system), *pairs]

    uses_first = template.first_pre_instruct is not None
    out: list[str] = []
    if not uses_first or "{system}" not in (template.first_pre_instruct or ""):
        out.append(template.preamble.replace("{system}", sys_text))

    def instruct(i: int) -> str:
        if i == 0 and template.first_pre_instruct is not None:
            return template.first_pre_instruct.replace("{system}", sys_text)
        return template.pre_instruct

    space = " " if template.context_response_space else ""
    for i, (user, assistant) in enumerate(pairs):
        out.append(instruct(i) + user + template.chat_sep + template.pre_response + space)
        out.append(assistant + template.chat_turn_sep)
    out.append(instruct(len(pairs)) + final + template.chat_sep + template.pre_response)
    return RenderedPrompt("".join(out), template.stop_sequences())


def render_messages(
    messages: Sequence[Message],
    prompt_type: str,
    prompt_dict: dict[str, Any] | str | None = None,
) -> RenderedPrompt:
    return render(get_template(prompt_type, prompt_dict), messages)


def with_stops(template: PromptTemplate, extra: Sequence[str]) -> PromptTemplate:
    return replace(template, terminate_response=(*template.terminate_response, *extra))


# h2oGPT's prompt_type_to_model_name, for the types we render (prompter.py); used when a
# model entry names a base_model but no prompt_type.
_MODEL_PROMPT_TYPES: dict[str, tuple[str, ...]] = {
    "human_bot": (
        "h2oai/h2ogpt-oasst1-512-12b",
        "h2oai/h2ogpt-oasst1-512-20b",
        "h2oai/h2ogpt-oig-oasst1-512-6_9b",
        "h2oai/h2ogpt-research-oasst1-llama-65b",
        "h2oai/h2ogpt-oasst1-falcon-40b",
    ),
    "instruct": ("TheBloke/llama-30b-supercot-SuperHOT-8K-fp16", "TheBloke/Nous-Hermes-13B-GPTQ"),
    "vicuna11": ("lmsys/vicuna-33b-v1.3", "lmsys/vicuna-7b-v1.5", "lmsys/vicuna-13b-v1.5"),
    "llama2": (
        "meta-llama/Llama-2-7b-chat-hf",
        "meta-llama/Llama-2-13b-chat-hf",
        "meta-llama/Llama-2-70b-chat-hf",
        "h2oai/h2ogpt-4096-llama2-7b-chat",
        "h2oai/h2ogpt-4096-llama2-13b-chat",
        "h2oai/h2ogpt-4096-llama2-70b-chat",
        "TheBloke/Llama-2-7B-Chat-GGUF",
        "TheBloke/Llama-2-13B-chat-AWQ",
        "TheBloke/Llama-2-70B-chat-AWQ",
    ),
    "mistral": (
        "mistralai/Mistral-7B-Instruct-v0.1",
        "mistralai/Mistral-7B-Instruct-v0.2",
        "TheBloke/Mistral-7B-Instruct-v0.1-GGUF",
        "TheBloke/Mistral-7B-Instruct-v0.2-GGUF",
    ),
    "zephyr": (
        "HuggingFaceH4/zephyr-7b-alpha",
        "HuggingFaceH4/zephyr-7b-beta",
        "TheBloke/zephyr-7B-beta-GGUF",
        "TheBloke/zephyr-7B-beta-AWQ",
    ),
    "gemma": ("google/gemma-2b-it", "google/gemma-7b-it", "gg-hf/gemma-2b-it", "gg-hf/gemma-7b-it"),
    "chatml": ("Qwen/Qwen1.5-7B-Chat", "Qwen/Qwen2-7B-Instruct", "01-ai/Yi-34B-Chat"),
    "plain": (
        "EleutherAI/gpt-j-6B",
        "EleutherAI/pythia-12b",
        "tiiuae/falcon-7b",
        "meta-llama/Llama-2-7b",
        "mistralai/Mistral-7B-v0.1",
        "gpt2",
    ),
}
_MODEL_TO_PROMPT = {
    model.lower(): ptype for ptype, models in _MODEL_PROMPT_TYPES.items() for model in models
}


def prompt_type_for_model(base_model: str | None) -> str | None:
    """The prompt type h2oGPT would pick for ``base_model``, or None if unknown."""
    if not base_model:
        return None
    return _MODEL_TO_PROMPT.get(base_model.strip().lower())
