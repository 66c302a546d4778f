"""What every engine that renders prompts itself shares (llama.cpp, TGI, OpenAI completions).

A raw-prompt engine turns a conversation into text with a **prompt type**
(:mod:`h2otui.engines.prompts`). :class:`PromptingEngine` owns that once for all of them:

* the configured ``prompt_type`` / ``prompt_dict`` / ``base_model`` / ``system_prompt``;
* failing early (in ``from_entry``) on a prompt type that does not exist;
* resolving the type: the forced one, else the model's own chat template, else h2oGPT's
  type for ``base_model``, else for the served model id, else the engine's default;
* the model entry's system prompt as the first message when the conversation has none
  (the prompt type then writes it in, or as h2oGPT's fake "Who are you?" exchange for
  types without a system role);
* rendering a request (a raw ``prompt`` verbatim, else the messages) and merging the
  prompt type's stop sequences with the request's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from h2otui.engines.base import Engine, GenerationRequest, Message
from h2otui.engines.prompts import (
    TEMPLATE,
    UNSET_PROMPT_TYPES,
    get_template,
    prompt_type_for_model,
    render,
)

if TYPE_CHECKING:
    from h2otui.config import ModelEntry


def merge_stops(*groups: Sequence[str]) -> list[str]:
    """Stop sequences from several sources, in order, without duplicates or empties."""
    return [s for s in dict.fromkeys(s for group in groups for s in group) if s]


class PromptingEngine(Engine):
    """Base of engines that render conversations into raw prompts with a prompt type."""

    #: the prompt type used when nothing else decides one
    default_prompt_type: ClassVar[str] = "plain"
    #: prompt types this engine does not render with a template of ours (a chat template,
    #: the server's or the model's, does); they are not checked in :meth:`check_prompt_type`
    unrendered_prompt_types: ClassVar[frozenset[str]] = frozenset({TEMPLATE})

    def __init__(
        self,
        *,
        prompt_type: str | None = None,
        prompt_dict: dict[str, Any] | str | None = None,
        base_model: str | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if prompt_type in UNSET_PROMPT_TYPES:
            prompt_type = None  # h2oGPT's "unknown": decided as if unset
        self._forced_prompt_type = prompt_type
        self._prompt_dict = prompt_dict
        self.base_model = base_model
        self.system_prompt = system_prompt
        self.prompt_type = prompt_type or ""

    @classmethod
    def check_prompt_type(cls, entry: ModelEntry) -> None:
        """Raise the prompt module's clear error now if the entry's prompt type is bad,
        rather than at the first question."""
        unchecked = cls.unrendered_prompt_types | UNSET_PROMPT_TYPES
        if entry.prompt_type and entry.prompt_type not in unchecked:
            get_template(entry.prompt_type, entry.prompt_dict)

    @staticmethod
    def prompt_settings(entry: ModelEntry) -> dict[str, Any]:
        """The keyword arguments of :meth:`__init__` that come from a model entry."""
        return {
            "prompt_type": entry.prompt_type,
            "prompt_dict": entry.prompt_dict,
            "base_model": entry.base_model,
            "system_prompt": entry.system_prompt,
        }

    def resolve_prompt_type(self, served: str | None = None, *, has_template: bool = False) -> str:
        """The forced type, else the model's chat template (``has_template``), else h2oGPT's
        type for ``base_model`` / the ``served`` model id, else :attr:`default_prompt_type`."""
        if self._forced_prompt_type:
            return self._forced_prompt_type
        if has_template:
            return TEMPLATE
        return (
            prompt_type_for_model(self.base_model)
            or prompt_type_for_model(served)
            or self.default_prompt_type
        )

    def _with_system(self, messages: Sequence[Message]) -> list[Message]:
        """``messages`` with the entry's system prompt first, unless they bring their own."""
        msgs = list(messages)
        if self.system_prompt is not None and not (msgs and msgs[0].role == "system"):
            msgs.insert(0, Message("system", self.system_prompt))
        return msgs

    def render_messages(self, messages: Sequence[Message]) -> tuple[str, list[str]]:
        """The raw prompt for ``messages`` and the prompt type's stop sequences."""
        rendered = render(
            get_template(self.prompt_type, self._prompt_dict), self._with_system(messages)
        )
        return rendered.text, rendered.stop

    def render(self, request: GenerationRequest) -> tuple[str, list[str]]:
        """The raw prompt and the prompt type's stops for ``request`` (a raw ``prompt``
        is used verbatim and brings no stops of its own)."""
        if request.prompt is not None:
            return request.prompt, []
        return self.render_messages(request.messages)

    def prompt_and_stops(self, request: GenerationRequest) -> tuple[str, list[str]]:
        """:meth:`render`, with the request's own stop sequences merged in."""
        text, stops = self.render(request)
        return text, merge_stops(stops, request.params.stop)

    def render_prompt(self, messages: Sequence[Message]) -> str:
        return self.render_messages(messages)[0]
