"""Quality drift: a one-sided test that the negative-feedback rate rose."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from llmops_common.errors import InvalidArgument
from llmops_monitoring.detectors.quality import MIN_FEEDBACK, feedback_drift


def test_a_rise_in_negative_feedback_is_drift() -> None:
    result = feedback_drift((90, 100), (70, 100))
    assert result is not None and result.drifted
    assert result.method == "negative_feedback_rate.z"
    assert result.statistic > result.threshold > 0
    assert result.p_value < 0.05


def test_improvement_and_equal_rates_are_not_drift() -> None:
    improved = feedback_drift((70, 100), (90, 100))
    same = feedback_drift((80, 100), (160, 200))
    assert improved is not None and not improved.drifted and improved.statistic < 0
    assert same is not None and not same.drifted and same.statistic == pytest.approx(0.0)


def test_small_counts_use_fishers_exact_test() -> None:
    result = feedback_drift((100, 100), (94, 100))
    assert result is not None
    fisher = stats.fisher_exact([[6, 94], [0, 100]], alternative="greater").pvalue
    assert result.p_value == pytest.approx(fisher)
    assert result.drifted


def test_all_positive_in_both_windows_is_quiet() -> None:
    result = feedback_drift((50, 50), (60, 60))
    assert result is not None and not result.drifted and result.p_value == 1.0


def test_windows_under_the_minimum_give_nothing() -> None:
    assert feedback_drift((MIN_FEEDBACK - 2, MIN_FEEDBACK - 1), (10, 100)) is None
    assert feedback_drift((10, 100), (0, MIN_FEEDBACK - 1)) is None
    assert feedback_drift((0, MIN_FEEDBACK), (0, MIN_FEEDBACK)) is not None


@pytest.mark.parametrize(
    ("reference", "current", "field"), [((5, 4), (1, 40), "reference"), ((1, 40), (-1, 40), "current")]
)
def test_impossible_counts_are_invalid(reference: tuple[int, int], current: tuple[int, int], field: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        feedback_drift(reference, current)
    assert error.value.field == field


def test_false_alarm_rate_and_power_on_simulated_feedback() -> None:
    """2000 pairs of 200 ratings at the same 20% negative rate alarm about alpha = 5% of the time (an
    honest test lands in 3.5-6.5% with overwhelming probability); a rise to 40% is caught nearly always."""
    rng = np.random.default_rng(0)

    def alarm_rate(current_negative: float, pairs: int) -> float:
        results = [
            feedback_drift((200 - rng.binomial(200, 0.2), 200), (200 - rng.binomial(200, current_negative), 200))
            for _ in range(pairs)
        ]
        return float(np.mean([r is not None and r.drifted for r in results]))

    false_alarms = alarm_rate(0.2, 2000)
    assert 0.02 <= false_alarms <= 0.065, false_alarms
    assert alarm_rate(0.4, 200) >= 0.95


@given(
    ref_total=st.integers(MIN_FEEDBACK, 10_000),
    cur_total=st.integers(MIN_FEEDBACK, 10_000),
    ref_share=st.floats(0, 1),
    cur_share=st.floats(0, 1),
)
def test_any_valid_counts_give_a_consistent_result(
    ref_total: int, cur_total: int, ref_share: float, cur_share: float
) -> None:
    result = feedback_drift((round(ref_share * ref_total), ref_total), (round(cur_share * cur_total), cur_total))
    assert result is not None
    assert 0.0 <= result.p_value <= 1.0
    assert np.isfinite(result.statistic)
    assert result.drifted == (result.p_value < 0.05)
