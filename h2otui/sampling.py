"""Sampling parameters, shared by the settings (defaults) and every engine (per request).

A neutral module: :mod:`h2otui.config` builds these from ``[generation]`` and the engines
consume them, so it imports neither (``h2otui.engines.base`` re-exports the class).

Two rules every view and engine share live here: :func:`samples` (a temperature above 0
samples; the CLI's ``--temperature`` and the TUI's options dialog both follow it) and
:meth:`SamplingParams.for_request` (sampling without a seed gets a fresh random seed per
request, so answers differ from run to run and the seed used can be reported).
"""

from __future__ import annotations

import secrets

from pydantic import BaseModel, ConfigDict, Field


def samples(temperature: float) -> bool:
    """Whether a request with ``temperature`` samples: above 0 it does, 0 is greedy.

    One rule for every way a user sets a temperature (``--temperature``, the chat
    options dialog), so setting one is enough: a separate "sample" switch that had to
    be turned on as well made a temperature silently do nothing.
    """
    return temperature > 0


#: seeds are drawn below 2**31: every engine (llama.cpp, OpenAI, TGI) accepts them
SEED_BITS = 31


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

    def for_request(self) -> SamplingParams:
        """The parameters one request runs with: sampling without a seed gets a random
        one, drawn now, so it can be reported (``ask --json``) and reused (``--seed``).

        llama.cpp derives an unset seed from the model's fixed default, so without this
        every run of ``ask --temperature 1.5`` printed the same text, although
        ``config.toml`` promises "unset = random". Greedy or seeded parameters are
        returned as they are.
        """
        if self.greedy or self.seed is not None:
            return self
        return self.model_copy(update={"seed": secrets.randbits(SEED_BITS)})
