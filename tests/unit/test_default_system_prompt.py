"""What a system prompt of "auto" stands for, per engine (shown by the chat options)."""

from __future__ import annotations

from h2otui.engines.prompting import PromptingEngine
from h2otui.engines.prompts import PROMPT_TYPES, TEMPLATE


class _Engine(PromptingEngine):
    engine_name = "test"

    @classmethod
    def from_entry(cls, entry, settings):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def stream(self, request):  # type: ignore[no-untyped-def]
        yield None

    def count_tokens(self, text: str) -> int:
        return len(text)

    @property
    def context_length(self) -> int:
        return 100


def test_a_prompt_types_default_is_what_auto_renders_as():
    engine = _Engine(prompt_type="llama2")
    assert engine.default_system_prompt() == PROMPT_TYPES["llama2"].default_system_prompt
    assert engine.default_system_prompt().startswith("You are a helpful")


def test_unknown_before_the_type_is_resolved_or_when_a_template_decides():
    assert _Engine().default_system_prompt() is None  # resolved at load
    assert _Engine(prompt_type=TEMPLATE).default_system_prompt() is None
