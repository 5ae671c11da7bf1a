"""Per-subject abuse aggregation: an attacking key among benign ones gives exactly one candidate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_monitoring.abuse import DETECTOR, INJECTION_SCORE, malicious_subjects
from llmops_monitoring.domain.records import Inference, Severity

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
REFUSAL = "I'm sorry, but I can't help with that."


def _inference(n: int, key: str, *, score: float = 0.0, output: str = "Paris is the capital.", user: str = "",
               session: str = "", minutes: float = 0.0) -> Inference:
    return Inference(inference_id=f"{key}-{n}", model_version="models:/m/1", created_at=T0 + timedelta(minutes=minutes),
                     key_id=key, user=user, session=session, prompt="q", output=output,
                     scores={INJECTION_SCORE: score})


def _benign(keys: int = 5, per_key: int = 20) -> list[Inference]:
    return [_inference(n, f"benign{k}", score=0.05 * (n % 5), user=f"u{k}", session=f"s{k}-{n % 3}",
                       minutes=n * 3) for k in range(keys) for n in range(per_key)]


def test_an_attacking_key_gives_exactly_one_critical_candidate_and_benign_keys_nothing() -> None:
    attacks = [_inference(n, "attacker", score=0.6 + n / 100 if n % 5 else 0.1, output=REFUSAL if n % 2 else "ok",
                          minutes=n * 3) for n in range(20)]
    candidates = malicious_subjects(_benign() + attacks, injection_threshold=0.5, min_attacks=3,
                                    share_threshold=0.5, spike_factor=10, baseline_rate=1.0)
    assert len(candidates) == 1
    (alert,) = candidates
    assert (alert.detector, alert.kind, alert.subject_kind, alert.subject) == (DETECTOR, "abuse", "key", "attacker")
    assert alert.severity is Severity.CRITICAL
    assert alert.statistic == "attack_share" and alert.value == 16 / 20 and alert.threshold == 0.5
    assert alert.details["attacks"] == 16 and alert.details["refusals"] == 10
    assert alert.examples == tuple(f"attacker-{n}" for n in (19, 18, 17, 16, 14))  # the highest scores
    assert (alert.window_start, alert.window_end) == (T0, T0 + timedelta(minutes=57))


def test_attacks_below_the_share_threshold_are_a_warning_and_below_min_attacks_nothing() -> None:
    few = [_inference(n, "probe", score=0.9 if n < 2 else 0.0, minutes=n) for n in range(20)]
    some = [_inference(n, "mixed", score=0.9 if n < 4 else 0.0, minutes=n) for n in range(20)]
    (candidate,) = malicious_subjects(_benign() + few + some, min_attacks=3)
    assert candidate.subject == "mixed" and candidate.severity is Severity.WARNING


def test_users_and_sessions_are_subjects_too() -> None:
    attacks = [_inference(n, f"k{n}", score=0.95, user="mallory", session="s-evil", minutes=n) for n in range(6)]
    found = {(c.subject_kind, c.subject) for c in malicious_subjects(_benign() + attacks, min_attacks=3)}
    assert found == {("user", "mallory"), ("session", "s-evil")}  # each key alone made one attack only


def test_refusals_triggered_flag_a_subject_without_injection_scores() -> None:
    refused = [_inference(n, "refused", output=REFUSAL, minutes=n * 3) for n in range(10)]
    (candidate,) = malicious_subjects(_benign() + refused, min_attacks=3, share_threshold=0.5)
    assert (candidate.subject, candidate.statistic, candidate.value) == ("refused", "refusal_share", 1.0)


def test_a_request_spike_against_the_median_subject_rate_is_flagged() -> None:
    flood = [_inference(n, "flood", minutes=n * 0.02) for n in range(1500)]
    (candidate,) = malicious_subjects(_benign() + flood, spike_factor=10, baseline_rate=1.0)
    assert candidate.subject == "flood" and candidate.statistic == "requests_per_minute"
    assert candidate.value > candidate.threshold == 10.0  # the baseline exceeds the median rate here


def test_the_refusal_predicate_is_injectable() -> None:
    odd = [_inference(n, "odd", output="zzz", minutes=n * 3) for n in range(5)]
    (candidate,) = malicious_subjects(_benign() + odd, refused=lambda text: text == "zzz")
    assert candidate.subject == "odd" and candidate.statistic == "refusal_share"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", ""]), st.floats(0, 0.49), st.floats(0, 60)),
                max_size=60))
def test_subjects_with_only_low_scores_at_a_steady_rate_are_never_flagged(rows: list) -> None:
    inferences = [_inference(n, key, score=score, minutes=minute) for n, (key, score, minute) in enumerate(rows)]
    assert malicious_subjects(inferences, spike_factor=100, baseline_rate=100.0) == []
