"""Embedding and simple drift on generated prompt populations embedded with the offline MiniLM.

Prompts are templates x topic fillers x modifiers. The reference distribution is an even mix of five
topics; a "30% topic shift" replaces 30% of a window with prompts on a sixth topic. Null window pairs
are disjoint draws from the reference pool, so every detection among them is a false alarm.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from llmops_common.errors import InvalidArgument
from llmops_common.refusals import is_refusal
from llmops_common.testing.monitoring_data import TOPICS, new_topic_prompts, reference_prompts, topic_prompts
from llmops_monitoring.detectors.drift import (
    MIN_EMBEDDING_WINDOW,
    MIN_SIMPLE_WINDOW,
    embedding_drift,
    simple_drift,
)
from llmops_monitoring.detectors.embeddings import MiniLMEmbedder
from llmops_monitoring.domain.records import Inference

WINDOW = 200
SHIFT = 0.3


@pytest.fixture(scope="module")
def pools() -> tuple[np.ndarray, np.ndarray]:
    """MiniLM embeddings of the reference pool (840 prompts) and the new topic (168), computed once."""
    reference, new = reference_prompts(), new_topic_prompts()
    rows = MiniLMEmbedder().encode(reference + new)
    return rows[: len(reference)], rows[len(reference) :]


def _null_pair(reference: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    chosen = rng.choice(len(reference), size=2 * WINDOW, replace=False)
    return reference[chosen[:WINDOW]], reference[chosen[WINDOW:]]


def _shifted_pair(reference: np.ndarray, new: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    shifted = int(SHIFT * WINDOW)
    chosen = rng.choice(len(reference), size=2 * WINDOW - shifted, replace=False)
    current = np.vstack([reference[chosen[WINDOW:]], new[rng.choice(len(new), size=shifted, replace=False)]])
    return reference[chosen[:WINDOW]], current


def _rates(pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    hits: dict[str, int] = {"domain_classifier": 0, "mmd": 0}
    for seed, (reference, current) in enumerate(pairs):
        for result in embedding_drift(reference, current, seed=seed, permutations=200):
            hits[result.method] += result.drifted
    return {method: count / len(pairs) for method, count in hits.items()}


def test_a_30_percent_topic_shift_is_detected_by_both_methods(pools: tuple[np.ndarray, np.ndarray]) -> None:
    reference, new = pools
    rng = np.random.default_rng(1)
    power = _rates([_shifted_pair(reference, new, rng) for _ in range(20)])
    assert power["domain_classifier"] >= 0.9, power
    assert power["mmd"] >= 0.9, power
    results = embedding_drift(*_shifted_pair(reference, new, rng))
    for result in results:
        assert 0.0 <= result.p_value < 0.05
    auc, mmd = results
    assert auc.statistic > auc.threshold > 0.5
    assert mmd.statistic > mmd.threshold


def test_same_distribution_windows_stay_quiet(pools: tuple[np.ndarray, np.ndarray]) -> None:
    """Each test runs at alpha = 0.05, so over 60 null pairs the expected false-alarm rate is 0.05; the
    chance that an honest 5% test exceeds 0.1 on 60 pairs is about 2.6% (binomial tail), and the pairs
    are seeded, so the bound holds deterministically while still catching a miscalibrated test."""
    reference, _ = pools
    rng = np.random.default_rng(2)
    false_alarms = _rates([_null_pair(reference, rng) for _ in range(60)])
    assert false_alarms["domain_classifier"] <= 0.1, false_alarms
    assert false_alarms["mmd"] <= 0.1, false_alarms


def test_large_windows_are_subsampled_and_still_detect(pools: tuple[np.ndarray, np.ndarray]) -> None:
    reference, new = pools
    current = np.vstack([reference[:300], new[:130]])
    results = embedding_drift(reference, current, max_samples=120, permutations=100)
    assert [r.method for r in results] == ["domain_classifier", "mmd"]
    assert all(r.drifted for r in results), results


def test_windows_under_the_minimum_size_give_nothing() -> None:
    rows = np.eye(MIN_EMBEDDING_WINDOW, 8)
    assert embedding_drift(rows[:-1], rows) == []
    assert embedding_drift(rows, rows[:-1]) == []


def test_bad_embeddings_are_invalid_arguments() -> None:
    good = np.ones((60, 4))
    with pytest.raises(InvalidArgument) as mismatch:
        embedding_drift(good, np.ones((60, 5)))
    assert mismatch.value.field == "current"
    with pytest.raises(InvalidArgument):
        embedding_drift(np.full((60, 4), np.nan), good)
    with pytest.raises(InvalidArgument):
        embedding_drift(np.ones(60), good)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    row=arrays(np.float64, 6, elements=st.floats(-1, 1, allow_nan=False)),
    n=st.integers(0, 80),
    m=st.integers(0, 80),
)
def test_identical_rows_never_drift_and_never_raise(row: np.ndarray, n: int, m: int) -> None:
    results = embedding_drift(np.tile(row, (n, 1)), np.tile(row, (m, 1)), permutations=50)
    if min(n, m) < MIN_EMBEDDING_WINDOW:
        assert results == []
    else:
        assert [r.drifted for r in results] == [False, False]
        assert all(0.0 <= r.p_value <= 1.0 for r in results)


@settings(max_examples=20, deadline=None)
@given(
    reference=arrays(np.float64, (MIN_EMBEDDING_WINDOW, 3), elements=st.floats(-1e3, 1e3, allow_nan=False)),
    current=arrays(np.float64, (MIN_EMBEDDING_WINDOW + 3, 3), elements=st.floats(-1e3, 1e3, allow_nan=False)),
)
def test_arbitrary_finite_windows_give_valid_results(reference: np.ndarray, current: np.ndarray) -> None:
    for result in embedding_drift(reference, current, permutations=50):
        assert 0.0 <= result.p_value <= 1.0
        assert np.isfinite(result.statistic) and np.isfinite(result.threshold)
        assert result.drifted == (result.p_value < 0.05)


def _inference(i: int, prompt: str, output: str = "Sure, here it is.", latency: float = 100.0) -> Inference:
    return Inference(
        inference_id=f"inf-{i}",
        model_version="models:/m/1",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        prompt=prompt,
        output=output,
        prompt_tokens=len(prompt.split()),
        completion_tokens=len(output.split()),
        latency_ms=latency,
    )


def _window(rng: np.random.Generator, size: int, **overrides: object) -> list[Inference]:
    prompts = topic_prompts(TOPICS["cooking"]) + topic_prompts(TOPICS["travel"])
    rows = []
    for i in range(size):
        fields = {"prompt": prompts[rng.integers(len(prompts))], "latency": float(rng.normal(100, 10))}
        fields.update({k: (v(i) if callable(v) else v) for k, v in overrides.items()})
        rows.append(_inference(i, **fields))
    return rows


def _by_method(results: list) -> dict[str, bool]:
    return {r.method: r.drifted for r in results}


def test_simple_drift_is_quiet_on_the_same_traffic() -> None:
    rng = np.random.default_rng(3)
    results = simple_drift(_window(rng, 300), _window(rng, 300))
    assert len(results) == 7
    assert not any(r.drifted for r in results), results


def test_simple_drift_flags_latency_scripts_lengths_and_refusals() -> None:
    rng = np.random.default_rng(4)
    reference = _window(rng, 300)
    slow = _window(rng, 300, latency=lambda i: 100.0 + 40.0 * (i % 2))
    assert _by_method(simple_drift(reference, slow))["latency_ms.ks"]
    cyrillic = _window(rng, 300, prompt=lambda i: "Как приготовить борщ?" if i % 3 == 0 else "How do I bake bread?")
    flags = _by_method(simple_drift(reference, cyrillic))
    assert flags["script_mix.chi2"] and flags["prompt_chars.ks"]
    refusing = _window(rng, 300, output=lambda i: "I'm sorry, I can't help with that." if i % 4 == 0 else "Sure.")
    assert _by_method(simple_drift(reference, refusing))["refusal_rate.z"]


def test_simple_drift_needs_a_minimum_window() -> None:
    rng = np.random.default_rng(5)
    assert simple_drift(_window(rng, MIN_SIMPLE_WINDOW - 1), _window(rng, 300)) == []
    assert len(simple_drift(_window(rng, MIN_SIMPLE_WINDOW), _window(rng, MIN_SIMPLE_WINDOW))) == 7


@pytest.mark.parametrize(
    ("output", "refusal"),
    [
        ("I'm sorry, but I can't help with that request.", True),
        ("I cannot assist with creating malware.", True),
        ("As an AI, I am unable to share that.", True),
        ("I can\u2019t provide that information.", True),
        ("Sure! Preheat the oven to 220C.", False),
        ("Sorrel is a leafy herb; you can help it grow with shade.", False),
    ],
)
def test_refusals_are_recognised(output: str, refusal: bool) -> None:
    assert is_refusal(output) is refusal
