"""Quality drift: has the share of negative feedback on a model version risen against a reference?"""

from __future__ import annotations

from llmops_common.errors import InvalidArgument
from llmops_monitoring.detectors.drift import ALPHA, DriftResult, two_proportion_test

MIN_FEEDBACK = 30  # rated inferences per window below which no verdict is given


def _counts(name: str, window: tuple[int, int]) -> tuple[int, int]:
    positives, total = window
    if not 0 <= positives <= total:
        raise InvalidArgument(f"{name}: need 0 <= positives <= total, got ({positives}, {total})", field=name)
    return positives, total


def feedback_drift(reference: tuple[int, int], current: tuple[int, int], *, alpha: float = ALPHA) -> DriftResult | None:
    """One-sided test that the negative-feedback rate (``1 - positives / total``) of ``current`` is higher
    than ``reference``'s; the statistic is the two-proportion z (Fisher's exact p-value for small counts,
    see ``two_proportion_test``). Improvement is not drift. ``None`` under ``MIN_FEEDBACK`` ratings."""
    ref_positives, ref_total = _counts("reference", reference)
    cur_positives, cur_total = _counts("current", current)
    if ref_total < MIN_FEEDBACK or cur_total < MIN_FEEDBACK:
        return None
    return two_proportion_test(
        "negative_feedback_rate.z",
        (ref_total - ref_positives, ref_total),
        (cur_total - cur_positives, cur_total),
        alpha=alpha,
        alternative="greater",
    )
