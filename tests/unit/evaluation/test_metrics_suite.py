"""MetricSuite's contract: which metrics it computes and how each is aggregated, failed generations
counted and scored empty, throughput and cost, judge-style per-sample values with gaps, and paired
comparisons (antisymmetry, identical systems, directions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_common.errors import InvalidArgument
from llmops_evaluation.domain.results import Example, Generation, ModelOutputs
from llmops_evaluation.metrics import suite as suite_module
from llmops_evaluation.metrics.suite import DEFAULT_METRICS, MetricSuite, greater_is_better, known_metrics

EXAMPLES = [Example(str(i), f"Question {i}?", ref) for i, ref in enumerate(
    ["Paris is the capital of France.", "Water boils at 100 degrees.", "The answer is 42.", "Blue."])]


def repeated(times: int) -> list[Example]:
    return [Example(str(i), "", EXAMPLES[i % len(EXAMPLES)].reference) for i in range(len(EXAMPLES) * times)]


def outputs(texts, role="candidate", *, errors=(), wall_seconds=4.0):
    generations = tuple(Generation(str(i), "" if i in errors else text, error="context overflow" if i in errors else "",
                                   output_tokens=len(text.split()), latency_ms=100.0 * (i + 1),
                                   reference_nll=1.0 + i, reference_tokens=4)
                        for i, text in enumerate(texts))
    return ModelOutputs(role, "models:/m/1", generations, wall_seconds=wall_seconds)


GOOD = ["Paris is the capital of France.", "Water boils at 100 degrees.", "The answer is 42.", "Blue."]
BAD = ["I cannot help with that.", "Water is wet.", "It is 41.", "Red."]


def test_empty_names_mean_the_default_set_and_unknown_names_are_refused() -> None:
    assert MetricSuite().names == DEFAULT_METRICS
    with pytest.raises(InvalidArgument) as caught:
        MetricSuite(["bleu", "blue"])
    assert caught.value.field == "spec.metrics" and "'blue'" in caught.value.message
    assert {"judge_score", *DEFAULT_METRICS} <= known_metrics()


def test_directions() -> None:
    assert greater_is_better("bleu") and greater_is_better("judge_score") and greater_is_better("rougeLsum")
    assert not any(greater_is_better(name) for name in ("perplexity", "latency_ms", "refusal_rate",
                                                        "cost_per_1k_tokens", "generation_failures"))


def test_only_the_asked_metrics_are_computed() -> None:
    scores = MetricSuite(["rouge1", "exact_match"]).score(EXAMPLES, outputs(GOOD))
    assert set(scores.per_sample) == {"rouge1", "exact_match"} and not scores.stats
    summary = MetricSuite(["rouge1", "exact_match"]).summarize(scores)
    assert list(summary) == ["rouge1", "exact_match"]
    assert summary["exact_match"].value == 1.0 and summary["rouge1"].value == 1.0


def test_every_default_metric_is_summarized_with_intervals_except_counts_and_throughput() -> None:
    suite = MetricSuite(price_per_hour=7.2)
    scores = suite.score(EXAMPLES, outputs(GOOD, errors=(3,), wall_seconds=2.0))
    summary = suite.summarize(scores)
    assert list(summary) == list(DEFAULT_METRICS)
    for name in ("tokens_per_second", "cost_per_1k_tokens", "generation_failures"):
        assert summary[name].interval is None
    for name in set(DEFAULT_METRICS) - {"tokens_per_second", "cost_per_1k_tokens", "generation_failures"}:
        interval = summary[name].interval
        assert interval is not None and interval.confidence == 0.95 and interval.low <= interval.high, name
    tokens = 6 + 5 + 4  # the failed example's output is empty and its tokens are not counted
    assert summary["generation_failures"].value == 1.0
    assert summary["output_tokens"].value == pytest.approx(tokens / 4)
    assert summary["tokens_per_second"].value == pytest.approx(tokens / 2.0)
    assert summary["cost_per_1k_tokens"].value == pytest.approx(7.2 * 2.0 / 3600 / tokens * 1000)
    assert summary["latency_ms"].value == pytest.approx(200.0) and summary["latency_ms"].count == 3
    assert summary["exact_match"].value == pytest.approx(0.75)  # the failure scores as an empty output
    assert scores.sample_scores()[3]["exact_match"] == 0.0 and "latency_ms" not in scores.sample_scores()[3]


def test_refusal_rate_and_exact_match_per_example() -> None:
    scores = MetricSuite(["refusal_rate", "exact_match"]).score(EXAMPLES, outputs(BAD))
    assert scores.per_sample["refusal_rate"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert scores.per_sample["exact_match"].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_misaligned_outputs_and_mismatched_baselines_are_refused() -> None:
    suite = MetricSuite(["rouge1"])
    with pytest.raises(InvalidArgument) as caught:
        suite.score(EXAMPLES, outputs(GOOD[:3]))
    assert caught.value.field == "outputs.generations"
    shuffled = outputs(GOOD)
    shuffled = ModelOutputs("candidate", "models:/m/1", shuffled.generations[::-1])
    with pytest.raises(InvalidArgument):
        suite.score(EXAMPLES, shuffled)
    with pytest.raises(InvalidArgument):
        suite.compare(suite.score(EXAMPLES, outputs(GOOD)), suite.score(EXAMPLES[:2], outputs(GOOD[:2])), "champion")


def test_judge_scores_with_failures_are_left_out_of_the_mean_and_the_interval() -> None:
    suite = MetricSuite(["exact_match", "judge_score"])
    scores = suite.score(EXAMPLES, outputs(GOOD))
    suite.add_per_sample(scores, "judge_score", np.array([5.0, np.nan, 3.0, 4.0]))
    value = suite.summarize(scores)["judge_score"]
    assert value.value == pytest.approx(4.0) and value.count == 3
    assert 3.0 <= value.interval.low <= value.interval.high <= 5.0
    assert "judge_score" not in scores.sample_scores()[1] and scores.sample_scores()[0]["judge_score"] == 5.0
    with pytest.raises(InvalidArgument):
        suite.add_per_sample(scores, "judge_score", np.ones(3))
    suite.add_per_sample(scores, "judge_score", np.full(4, np.nan))
    empty = suite.summarize(scores)["judge_score"]
    assert math.isnan(empty.value) and empty.interval is None and empty.count == 0


def test_a_better_candidate_is_better_and_the_comparison_is_antisymmetric() -> None:
    suite = MetricSuite(["bleu", "chrf", "rougeL", "refusal_rate", "latency_ms"], ar_trials=500)
    good = suite.score(repeated(10), outputs(GOOD * 10))
    bad = suite.score(repeated(10), outputs(BAD * 10, role="champion"))
    ahead = {c.metric: c for c in suite.compare(good, bad, "champion")}
    behind = {c.metric: c for c in suite.compare(bad, good, "candidate")}
    assert ahead["bleu"].verdict == ahead["rougeL"].verdict == ahead["refusal_rate"].verdict == "better"
    assert ahead["bleu"].test == "approximate_randomization" and ahead["rougeL"].test == "paired_bootstrap"
    assert ahead["latency_ms"].verdict == "no change"  # same latencies
    for name, comparison in ahead.items():
        assert behind[name].delta == pytest.approx(-comparison.delta)
        assert behind[name].interval.low == pytest.approx(-comparison.interval.high)
        assert behind[name].p_value == pytest.approx(comparison.p_value)
    assert behind["bleu"].verdict == "worse" and behind["refusal_rate"].verdict == "worse"


def test_identical_systems_are_no_change_everywhere() -> None:
    suite = MetricSuite(["bleu", "chrf", "rouge1", "exact_match", "perplexity"], ar_trials=200)
    scores = suite.score(EXAMPLES, outputs(BAD))
    for comparison in suite.compare(scores, scores, "champion"):
        assert comparison.delta == 0.0 and comparison.verdict == "no change"
        assert comparison.interval.low == comparison.interval.high == 0.0
        if comparison.test == "paired_bootstrap":
            assert comparison.p_value == 1.0


def test_no_examples_give_values_without_intervals_and_no_comparisons() -> None:
    suite = MetricSuite(["bleu", "chrf", "rougeLsum", "exact_match", "perplexity", "generation_failures"])
    scores = suite.score([], ModelOutputs("candidate", "models:/m/1", ()))
    summary = suite.summarize(scores)
    assert all(value.interval is None for value in summary.values())
    assert summary["bleu"].value == 0.0 and math.isnan(summary["exact_match"].value)
    assert suite.compare(scores, scores, "champion") == [] and scores.sample_scores() == []


def test_metrics_without_values_on_either_side_are_not_compared() -> None:
    suite = MetricSuite(["rouge1", "judge_score"])
    candidate, baseline = suite.score(EXAMPLES, outputs(GOOD)), suite.score(EXAMPLES, outputs(BAD))
    suite.add_per_sample(candidate, "judge_score", np.array([5.0, 4.0, 3.0, 4.0]))
    suite.add_per_sample(baseline, "judge_score", np.full(4, np.nan))
    assert [c.metric for c in suite.compare(candidate, baseline, "champion")] == ["rouge1"]


def test_the_seed_fixes_the_intervals() -> None:
    scores = MetricSuite(["rouge1"]).score(repeated(5), outputs(BAD * 5))
    first, again = (MetricSuite(["rouge1"], seed=1).summarize(scores) for _ in range(2))
    other = MetricSuite(["rouge1"], seed=2).summarize(scores)
    assert first == again and first["rouge1"].interval != other["rouge1"].interval


def test_interval_width_follows_the_confidence() -> None:
    scores = MetricSuite(["rouge1"]).score(repeated(5), outputs(BAD * 5))
    narrow = MetricSuite(["rouge1"], confidence=0.6).summarize(scores)["rouge1"].interval
    wide = MetricSuite(["rouge1"], confidence=0.99).summarize(scores)["rouge1"].interval
    assert wide.low < narrow.low <= narrow.high < wide.high and wide.confidence == 0.99


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=30), st.integers(0, 2**32))
def test_property_paired_delta_interval_is_the_difference_of_means_on_shared_resamples(pairs, seed) -> None:
    suite = MetricSuite(["judge_score"], bootstrap_samples=200, seed=seed)
    examples = [Example(str(i), "", "") for i in range(len(pairs))]
    scored = []
    for side in (0, 1):
        generations = tuple(Generation(e.record_id) for e in examples)
        scores = suite.score(examples, ModelOutputs("r", "models:/m/1", generations))
        suite.add_per_sample(scores, "judge_score", np.array([p[side] for p in pairs]))
        scored.append(scores)
    (comparison,) = suite.compare(scored[0], scored[1], "champion")
    differences = [a - b for a, b in pairs]
    assert comparison.delta == pytest.approx(np.mean(differences), abs=1e-12)
    assert min(differences) - 1e-12 <= comparison.interval.low <= comparison.interval.high <= max(differences) + 1e-12
    assert 0 < comparison.p_value <= 1


def test_ar_trials_default_to_sacrebleus() -> None:
    from sacrebleu.significance import PairedTest

    assert suite_module.AR_TRIALS == PairedTest._DEFAULT_SAMPLES["ar"] == MetricSuite().ar_trials
