"""Prompt types: render a conversation into the raw prompt a model was trained on.

Every raw-prompt type of h2oGPT's ``PromptType`` is here, by h2oGPT's name, rendered exactly
as h2oGPT renders it: its fields are h2oGPT's ``get_prompt`` values
(:mod:`h2otui.engines.prompt_data`), and single-turn and two-turn renderings, with no,
the default ("auto") and a given system prompt, are pinned against output of h2oGPT's own
code (``tests/data/h2ogpt_prompts.json``). h2oGPT's ``prompt_dict`` keys work for ``custom``:
``promptA``, ``promptB``, ``PreInstruct``, ``PreInput``, ``PreResponse``,
``terminate_response``, ``chat_sep``, ``chat_turn_sep``, ``humanstr``, ``botstr``.

A conversation renders as h2oGPT's ``get_limited_prompt`` builds it::

    preamble                                   # promptB, may hold the system prompt
    first PreInstruct + user_1 + chat_sep + PreResponse + " "? + assistant_1 (+ chat_turn_sep)
    PreInstruct + user_2 + ...                 # chat_turn_sep only if the turn does not end with it
    PreInstruct + user_n + chat_sep + PreResponse          # the model continues here

The first PreInstruct differs for BOS-bearing types (``<s>[INST] ``, ``<bos>…``) and may hold
the system prompt (``llama2``); the space after PreResponse in past turns is h2oGPT's
``making_context`` rule for types whose models emit a leading space.

System prompts: ``"auto"`` (or no system message) picks the type's default system prompt,
``""`` means none. A type that has no system role gets the system prompt as an initial
exchange -- the user asks "Who are you and what do you do?" and the assistant answers with
the system prompt -- exactly as h2oGPT's ``user_prompt_for_fake_system_prompt`` does.
h2oGPT's quirks are kept on purpose, so an h2oGPT user gets the prompts their models were
tuned with: e.g. ``vicuna11`` with no system prompt starts with a space, ``qwen`` and ``yi``
always write a (possibly empty) system block, ``mixtral`` writes ``<<SYS>>`` before ``<s>``.

Stop sequences (:meth:`PromptTemplate.stop_sequences`): h2oGPT's ``terminate_response``, its
``PreResponse`` (h2oGPT's ``Prompter.stop_sequences``, sent to inference servers), the extra
words of its ``get_stopping`` (the ``### Human:`` family), plus -- ours -- the type's
user/assistant markers when the format uses them, so that types h2oGPT gives no
``terminate_response`` (``instruct``, ``quality``, ``mptinstruct``, …) stop at the next turn
instead of writing the user's part.

Where we differ from h2oGPT, on purpose:

* ``gemma``: h2oGPT writes the system prompt *before* ``<bos>`` (and "auto" means "I am
  Gemma, …" there); Gemma has no system role, so like Google's own chat template we put it at
  the top of the first user turn, and "auto" means none.
* ``dai_faq``: h2oGPT's ``chat_sep`` for it is a list, and rendering it raises ``TypeError``;
  we use the ``"\n\n"`` it holds.
* h2oGPT's Gradio clean-ups of chat history (``<br>`` turned into ``chat_turn_sep``, source
  lists cut out) and its character-count history truncation are not done here: history is
  plain text, and :mod:`h2otui.qa` fits the context by tokens.
* ``plain_qa`` and ``chatml`` are ours: a ``Question:`` / ``Answer:`` frame with stop
  sequences, which makes small *base* models (the embedded Gemma 3 270M) answer instead of
  rambling; and standard ChatML, which (unlike h2oGPT's ``qwen``) leaves out an empty system
  block.
* Not raw-prompt types, so not here: ``openai_chat``, ``anthropic``, ``google``,
  ``mistralai``, ``groq`` (the server renders; remote engines treat them as chat), and
  ``template`` / ``unknown`` (the model's own chat template). h2oGPT has no ``llama3`` or
  ``phi3`` type: it uses those models' chat templates, and so does h2otui.
"""

from __future__ import annotations

import ast
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from h2otui.engines.base import EngineConfigError, Message
from h2otui.engines.prompt_data import H2OGPT_BASE_MODELS, H2OGPT_COMMIT, H2OGPT_TEMPLATES

FAKE_SYSTEM_QUESTION = "Who are you and what do you do?"

#: prompt_type value meaning "use the model's own chat template"
TEMPLATE = "template"

#: h2oGPT's prompt_type values that mean "not set" (the model's chat template, else the
#: type for its base_model, else the engine's default)
UNSET_PROMPT_TYPES = frozenset({"", "unknown"})

#: the h2oGPT commit whose prompter.py the h2oGPT types reproduce
SOURCE_COMMIT = H2OGPT_COMMIT


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    name: str
    preamble: str = ""
    """promptB: text before the first turn; ``{system}`` is replaced by the formatted system
    prompt, ``{date}`` / ``{time}`` by the current date and time (h2oGPT's ``human_bot_orig``)."""
    system_format: str = "{system}"
    """How a non-empty system prompt is written where ``{system}`` stands."""
    pre_instruct: str = ""
    first_pre_instruct: str | None = None
    """PreInstruct for the first turn only (BOS-bearing types); may hold ``{system}``."""
    pre_response: str = ""
    context_response_space: bool = False
    """Past turns get a space after PreResponse (h2oGPT's ``making_context``)."""
    chat_sep: str = "\n"
    chat_turn_sep: str = "\n"
    terminate_response: tuple[str, ...] = ()
    extra_stops: tuple[str, ...] = ()
    """More stop words h2oGPT's ``get_stopping`` uses for this type."""
    humanstr: str | None = None
    botstr: str | None = None
    can_handle_system_prompt: bool = True
    default_system_prompt: str = ""
    stop_at_pre_response: bool = True
    """PreResponse is a stop sequence too (h2oGPT's ``Prompter.stop_sequences``)."""
    doc: str = ""
    origin: str = "h2ogpt"
    """``h2ogpt`` (rendered as h2oGPT does), ``changed`` (h2oGPT's name, rendered differently
    on purpose: see the module docstring) or ``h2otui`` (ours)."""

    def stop_sequences(self) -> list[str]:
        """Where an answer ends: h2oGPT's stop strings for the type, then its turn markers."""
        stops = [*self.terminate_response, *self.extra_stops]
        if self.stop_at_pre_response:
            stops.append(self.pre_response)
        used = self.pre_instruct + (self.first_pre_instruct or "") + self.pre_response
        for marker in (self.humanstr, self.botstr):
            if marker and marker.strip() and marker.strip() in used:
                stops.append(marker.strip())
        return [s for s in dict.fromkeys(stops) if s]


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    text: str
    stop: list[str] = field(default_factory=list)


def _h2ogpt_types() -> dict[str, PromptTemplate]:
    types = {t.name: t for t in (PromptTemplate(**fields) for fields in H2OGPT_TEMPLATES)}
    gemma = types["gemma"]
    types["gemma"] = replace(
        gemma,
        preamble="",
        first_pre_instruct=f"{gemma.first_pre_instruct}{{system}}",
        system_format="{system}\n\n",
        default_system_prompt="",
        origin="changed",
        doc="System prompt at the top of the first user turn (Google's template), not before <bos>.",
    )
    types["dai_faq"] = PromptTemplate(
        name="dai_faq",
        preamble="Answer the following Driverless AI question.\n",
        pre_instruct="\n### Driverless AI frequently asked question:\n",
        pre_response="\n### Driverless AI documentation answer:\n",
        chat_sep="\n\n",
        chat_turn_sep="\n\n",
        terminate_response=("\n\n",),
        humanstr="\n### Driverless AI frequently asked question:\n",
        botstr="\n### Driverless AI documentation answer:\n",
        can_handle_system_prompt=False,
        origin="changed",
        doc="h2oGPT's chat_sep for it is a list (rendering raises); the '\\n\\n' it holds.",
    )
    return types


_OURS = [
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
        stop_at_pre_response=False,  # "Answer:" may well appear inside an answer
        origin="h2otui",
    ),
    PromptTemplate(
        name="chatml",
        doc="ChatML (Qwen, Hermes, Yi) without h2oGPT's empty system block.",
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
        origin="h2otui",
    ),
]

PROMPT_TYPES: dict[str, PromptTemplate] = {**_h2ogpt_types(), **{t.name: t for t in _OURS}}

#: other names for a type (none today; kept for callers that resolve names through it)
ALIASES: dict[str, str] = {}

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


def _fill_clock(text: str) -> str:
    if "{date}" in text or "{time}" in text:
        # h2oGPT's human_bot_orig preamble: the date and time the prompt is made
        text = text.replace("{date}", time.strftime("%Y-%m-%d"))
        text = text.replace("{time}", time.strftime("%H:%M:%S %p %Z"))
    return text


def render(template: PromptTemplate, messages: Sequence[Message]) -> RenderedPrompt:
    """Render ``messages`` with ``template`` (see the module docstring for the layout)."""
    system_raw, pairs, final = _split(messages)
    system = resolve_system_prompt(template, system_raw)

    sys_text = ""
    if system:
        if template.can_handle_system_prompt:
            sys_text = template.system_format.replace("{system}", system)
        else:
            pairs = [(FAKE_SYSTEM_QUESTION, system), *pairs]

    def instruct(i: int) -> str:
        if i == 0 and template.first_pre_instruct is not None:
            return template.first_pre_instruct.replace("{system}", sys_text)
        return template.pre_instruct

    out = [_fill_clock(template.preamble).replace("{system}", sys_text)]
    past_response = template.pre_response + (" " if template.context_response_space else "")
    for i, (user, assistant) in enumerate(pairs):
        turn = instruct(i) + user + template.chat_sep + past_response + assistant
        if not turn.endswith(template.chat_turn_sep):
            turn += template.chat_turn_sep
        out.append(turn)
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


# h2oGPT's inverse of prompt_type_to_model_name: lower-cased names, a later type wins
_MODEL_TO_PROMPT = {
    model.strip().lower(): ptype for ptype, models in H2OGPT_BASE_MODELS.items() for model in models
}


def base_models_for(prompt_type: str) -> tuple[str, ...]:
    """The base_model names h2oGPT maps to ``prompt_type`` (may be empty)."""
    return H2OGPT_BASE_MODELS.get(prompt_type, ())


def prompt_type_for_model(base_model: str | None) -> str | None:
    """The prompt type h2oGPT would pick for ``base_model``, or None if unknown.

    Like h2oGPT, a model id matches case-insensitively, and a local file path matches by its
    file name (``zephyr-7b-beta.Q5_K_M.gguf``)."""
    if not base_model or not base_model.strip():
        return None
    name = base_model.strip().lower()
    found = _MODEL_TO_PROMPT.get(name)
    if found is None and os.sep in name:
        found = _MODEL_TO_PROMPT.get(os.path.basename(name))
    return found
