"""Malicious users: a window's inferences rolled up per API key, user and session. A subject is suspect
when it sends injection attempts (the per-request injection score at or above a threshold), keeps
triggering refusals, or sends requests far faster than the window's typical subject. One alert
candidate per suspect subject; the statistic is the strongest signal, the others go in ``details``."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from llmops_common.refusals import is_refusal
from llmops_monitoring.domain.records import AlertCandidate, Inference, Severity

DETECTOR = "malicious_user"
#: the detector score (``Inference.scores``) that the injection detector stores per inference
INJECTION_SCORE = "injection"
SUBJECT_KINDS = ("key", "user", "session")
MAX_EXAMPLES = 5
#: a window shorter than this is measured as this long, so a burst of two requests is no "rate"
MIN_WINDOW_MINUTES = 1.0


@dataclass
class _Tally:
    requests: int = 0
    attacks: int = 0
    refusals: int = 0
    versions: set[str] = field(default_factory=set)
    ranked: list[tuple[float, bool, str]] = field(default_factory=list)  # (injection, refused, id)


def _subject(inference: Inference, kind: str) -> str:
    return {"key": inference.key_id, "user": inference.user, "session": inference.session}[kind]


def _tally(inferences: Iterable[Inference], injection_threshold: float,
           refused: Callable[[str], bool]) -> dict[tuple[str, str], _Tally]:
    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    for inference in inferences:
        injection = float(inference.scores.get(INJECTION_SCORE, 0.0))
        refusal = bool(inference.output) and refused(inference.output)
        for kind in SUBJECT_KINDS:
            subject = _subject(inference, kind)
            if not subject:
                continue
            tally = tallies[kind, subject]
            tally.requests += 1
            tally.attacks += injection >= injection_threshold
            tally.refusals += refusal
            tally.versions.add(inference.model_version)
            tally.ranked.append((injection, refusal, inference.inference_id))
    return tallies


def malicious_subjects(inferences: list[Inference], *, injection_threshold: float = 0.5, min_attacks: int = 3,
                       share_threshold: float = 0.5, spike_factor: float = 10.0, baseline_rate: float = 1.0,
                       window_start: datetime | None = None, window_end: datetime | None = None,
                       refused: Callable[[str], bool] = is_refusal) -> list[AlertCandidate]:
    """Suspect subjects of one window, each a candidate (``subject_kind`` key, user or session):

    - attacks: at least ``min_attacks`` requests scored >= ``injection_threshold``; critical when they
      are at least ``share_threshold`` of the subject's requests, a warning otherwise;
    - refusals: at least ``min_attacks`` outputs that are refusals, at least ``share_threshold`` of them;
    - spike: requests per minute above ``spike_factor`` times the median subject rate of the same kind
      in the window, or times ``baseline_rate`` (requests per minute) when that is higher.

    The window defaults to the inferences' own time span. Examples are the worst inference ids: highest
    injection score first, then refusals."""
    if not inferences:
        return []
    start = window_start or min(i.created_at for i in inferences)
    end = window_end or max(i.created_at for i in inferences)
    minutes = max((end - start).total_seconds() / 60.0, MIN_WINDOW_MINUTES)
    tallies = _tally(inferences, injection_threshold, refused)
    medians = {kind: statistics.median([t.requests for (k, _), t in tallies.items() if k == kind] or [0])
               for kind in SUBJECT_KINDS}
    candidates = []
    for (kind, subject), tally in sorted(tallies.items()):
        rate_limit = spike_factor * max(medians[kind] / minutes, baseline_rate)
        candidate = _judge(kind, subject, tally, minutes, rate_limit, min_attacks, share_threshold, start, end)
        if candidate is not None:
            candidates.append(candidate)
    return candidates


def _judge(kind: str, subject: str, tally: _Tally, minutes: float, rate_limit: float, min_attacks: int,
           share_threshold: float, start: datetime, end: datetime) -> AlertCandidate | None:
    attack_share = tally.attacks / tally.requests
    refusal_share = tally.refusals / tally.requests
    rate = tally.requests / minutes
    if tally.attacks >= min_attacks:
        severity = Severity.CRITICAL if attack_share >= share_threshold else Severity.WARNING
        statistic, value, threshold = "attack_share", attack_share, share_threshold
        message = f"{tally.attacks} injection attempts in {tally.requests} requests"
    elif tally.refusals >= min_attacks and refusal_share >= share_threshold:
        severity, statistic, value, threshold = Severity.WARNING, "refusal_share", refusal_share, share_threshold
        message = f"{tally.refusals} refusals triggered in {tally.requests} requests"
    elif rate > rate_limit:
        severity, statistic, value, threshold = Severity.WARNING, "requests_per_minute", rate, rate_limit
        message = f"{rate:.1f} requests per minute, over {rate_limit:.1f}"
    else:
        return None
    worst = sorted(tally.ranked, key=lambda r: (-r[0], not r[1], r[2]))[:MAX_EXAMPLES]
    return AlertCandidate(
        detector=DETECTOR, kind="abuse", severity=severity, message=f"{kind} {subject}: {message}",
        statistic=statistic, value=value, threshold=threshold, window_start=start, window_end=end,
        subject_kind=kind, subject=subject, examples=tuple(i for _, _, i in worst),
        details={"requests": tally.requests, "attacks": tally.attacks, "attack_share": attack_share,
                 "refusals": tally.refusals, "refusal_share": refusal_share, "requests_per_minute": rate,
                 "rate_limit": rate_limit, "model_versions": sorted(tally.versions)})
