"""Sampling parameters, shared by the settings (defaults) and every engine (per request).

A neutral module: :mod:`h2otui.config` builds these from ``[generation]`` and the engines
consume them, so it imports neither (``h2otui.engines.base`` re-exports the class).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SamplingParams(BaseModel):
    """Sampling parameters shared by every engine (h2oGPT's names)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    max_new_tokens: int = Field(256, ge=1, description="Most tokens to generate.")
    temperature: float = Field(0.0, ge=0.0, le=5.0, description="0 means greedy.")
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    top_k: int = Field(40, ge=0, description="0 disables top-k filtering.")
    repetition_penalty: float = Field(1.0, gt=0.0, le=5.0)
    stop: list[str] = Field(default_factory=list, description="Extra stop sequences.")
    seed: int | None = Field(None, description="Random seed; None picks one.")
    do_sample: bool = Field(
        False, description="Sample; when false, decoding is greedy whatever temperature says."
    )

    @property
    def greedy(self) -> bool:
        return not self.do_sample or self.temperature == 0.0
