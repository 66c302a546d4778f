"""The sampling rules every view and engine share (issue 13, defects 5 and 7)."""

from __future__ import annotations

from h2otui.sampling import SEED_BITS, SamplingParams, samples


def test_a_temperature_above_zero_samples() -> None:
    assert samples(0.7) and samples(1e-3)
    assert not samples(0.0)


def test_sampling_without_a_seed_draws_one_per_request() -> None:
    params = SamplingParams(temperature=1.5, do_sample=True)
    seeds = {params.for_request().seed for _ in range(8)}
    assert None not in seeds
    assert len(seeds) > 1, "the same seed every request"
    assert all(0 <= s < 2**SEED_BITS for s in seeds if s is not None)
    assert params.seed is None  # the settings' parameters are not changed


def test_a_given_seed_and_greedy_decoding_are_kept() -> None:
    seeded = SamplingParams(temperature=1.5, do_sample=True, seed=7)
    assert seeded.for_request().seed == 7
    greedy = SamplingParams(temperature=0.0)
    assert greedy.for_request().seed is None
