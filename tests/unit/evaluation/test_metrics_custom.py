"""Custom metrics through the ``llmops.evaluation.metrics`` entry-point group: discovered, loaded from an
installed entry point (here: real ``EntryPoint`` objects pointing at functions in this module, served by
a patched ``importlib.metadata.entry_points``), scored as a mean with an interval, and refused, named,
when they raise or return the wrong number or non-finite scores."""

from __future__ import annotations

from importlib import metadata

import numpy as np
import pytest

from llmops_common.errors import InvalidArgument
from llmops_evaluation.domain.results import Example, Generation, ModelOutputs
from llmops_evaluation.metrics import custom
from llmops_evaluation.metrics.suite import MetricSuite, greater_is_better, known_metrics

MODULE = __name__


def answer_length_ratio(predictions, references, inputs):
    """Characters of the answer per character of the reference (the inputs are checked to be passed)."""
    assert all(prompt.startswith("Q") for prompt in inputs)
    return [len(p) / max(len(r), 1) for p, r in zip(predictions, references, strict=True)]


def edit_distance(predictions, references, inputs):
    return [abs(len(p) - len(r)) for p, r in zip(predictions, references, strict=True)]


edit_distance.greater_is_better = False


def crashes(predictions, references, inputs):
    raise ZeroDivisionError("the plugin divided by zero")


def too_short(predictions, references, inputs):
    return [1.0] * (len(predictions) - 1)


def not_finite(predictions, references, inputs):
    return [1.0] * (len(predictions) - 1) + [float("nan")]


def not_numbers(predictions, references, inputs):
    return ["high"] * len(predictions)


NOT_CALLABLE = 3

PLUGINS = ("answer_length_ratio", "edit_distance", "crashes", "too_short", "not_finite", "not_numbers")


@pytest.fixture
def installed(monkeypatch):
    entries = [metadata.EntryPoint(name, f"{MODULE}:{name}", custom.GROUP) for name in PLUGINS]
    entries += [metadata.EntryPoint("not_callable", f"{MODULE}:NOT_CALLABLE", custom.GROUP),
                metadata.EntryPoint("missing_module", "llmops_no_such_plugin:metric", custom.GROUP),
                metadata.EntryPoint("bleu", f"{MODULE}:crashes", custom.GROUP)]  # a built-in name wins
    other_group = metadata.EntryPoint("elsewhere", f"{MODULE}:crashes", "some.other.group")
    real = metadata.entry_points

    def entry_points(**selection):
        if selection.get("group") == custom.GROUP:
            return metadata.EntryPoints(entries + [other_group]).select(**selection)
        return real(**selection)

    monkeypatch.setattr(metadata, "entry_points", entry_points)


EXAMPLES = [Example(str(i), f"Q{i}", ref) for i, ref in enumerate(["abcd", "ab", "abcdef", "a"])]
OUTPUTS = ModelOutputs("candidate", "models:/m/1", tuple(
    Generation(str(i), out) for i, out in enumerate(["abcd", "abcd", "abc", ""])))


def test_installed_metrics_are_known_and_only_from_the_group(installed) -> None:
    assert {"answer_length_ratio", "edit_distance", "crashes"} <= known_metrics()
    assert "elsewhere" not in known_metrics()
    assert greater_is_better("answer_length_ratio") and not greater_is_better("edit_distance")


def test_a_custom_metric_is_a_mean_with_an_interval(installed) -> None:
    suite = MetricSuite(["answer_length_ratio", "edit_distance"], bootstrap_samples=300)
    scores = suite.score(EXAMPLES, OUTPUTS)
    np.testing.assert_allclose(scores.per_sample["answer_length_ratio"], [1.0, 2.0, 0.5, 0.0])
    summary = suite.summarize(scores)
    ratio = summary["answer_length_ratio"]
    assert ratio.value == pytest.approx(0.875) and ratio.count == 4 and ratio.greater_is_better
    assert 0.0 <= ratio.interval.low <= ratio.interval.high <= 2.0
    assert summary["edit_distance"].value == pytest.approx(1.5) and not summary["edit_distance"].greater_is_better
    assert scores.sample_scores()[1] == {"answer_length_ratio": 2.0, "edit_distance": 2.0}
    comparison = {c.metric: c for c in suite.compare(scores, scores, "champion")}
    assert comparison["edit_distance"].verdict == "no change" and comparison["edit_distance"].test == "paired_bootstrap"


def test_a_built_in_name_is_never_taken_by_a_plugin(installed) -> None:
    summary = MetricSuite(["bleu"]).summarize(MetricSuite(["bleu"]).score(EXAMPLES, OUTPUTS))
    assert summary["bleu"].signature.startswith("nrefs:1")


@pytest.mark.parametrize(("name", "says"), [
    ("crashes", "raised ZeroDivisionError: 'the plugin divided by zero'"),
    ("too_short", "returned 3 scores of shape (3,) for 4 examples"),
    ("not_finite", "non-finite score (nan) for example 3"),
    ("not_numbers", "did not return numbers"),
])
def test_a_misbehaving_metric_is_refused_by_name(installed, name, says) -> None:
    suite = MetricSuite([name])
    with pytest.raises(InvalidArgument) as caught:
        suite.score(EXAMPLES, OUTPUTS)
    assert caught.value.field == "spec.metrics"
    assert f"custom metric {name!r}" in caught.value.message and says in caught.value.message


@pytest.mark.parametrize(("name", "says"), [("not_callable", "is not callable"),
                                            ("missing_module", "could not be loaded: ModuleNotFoundError")])
def test_a_broken_entry_point_is_refused_by_name_when_the_suite_is_built(installed, name, says) -> None:
    with pytest.raises(InvalidArgument) as caught:
        MetricSuite([name])
    assert says in caught.value.message and repr(name) in caught.value.message


def test_a_module_path_is_not_a_metric_name(installed) -> None:
    with pytest.raises(InvalidArgument) as caught:
        MetricSuite([f"{MODULE}:answer_length_ratio"])
    assert "unknown metric" in caught.value.message
    with pytest.raises(InvalidArgument):
        custom.load("os:system")
