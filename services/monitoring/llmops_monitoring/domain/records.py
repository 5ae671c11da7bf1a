"""What monitoring keeps: logged inferences with their detector scores, feedback on them, alerts
(deduplicated while open) and the block list. Plain data, validated where it enters."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Inference:
    inference_id: str
    model_version: str  # models:/name/N
    created_at: datetime
    release: str = ""  # name@alias
    deployment: str = ""  # what the client asked for
    api: str = ""
    key_id: str = ""
    user: str = ""
    session: str = ""
    prompt: str = ""  # a chat prompt as "role: content" lines; "" when redacted
    output: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    ttft_ms: float = 0.0
    finish_reason: str = ""
    scores: dict[str, float] = field(default_factory=dict)  # detector -> score


@dataclass(frozen=True)
class Feedback:
    feedback_id: str
    inference_id: str
    rating: str = ""  # "positive" | "negative" | ""
    score: float | None = None  # 1..5
    categories: tuple[str, ...] = ()
    comment: str = ""
    correction: str = ""
    user: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    given_by: str = ""  # the API key's name
    request_id: str = ""
    model_version: str = ""  # copied from the inference
    created_at: datetime | None = None


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class AlertCandidate:
    """What a detector proposes: the statistic it measured, the threshold it crossed, over which window."""

    detector: str  # e.g. "embedding_drift.mmd", "malicious_user"
    kind: str  # drift | abuse | quality | latency | error_rate
    severity: Severity
    message: str
    statistic: str
    value: float
    threshold: float
    window_start: datetime
    window_end: datetime
    model_version: str = ""
    subject_kind: str = ""  # key | user | session
    subject: str = ""
    examples: tuple[str, ...] = ()  # inference ids
    details: dict[str, object] = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        """One open alert per detector, model version and subject."""
        return "|".join((self.detector, self.model_version, self.subject_kind, self.subject))


@dataclass
class Alert:
    alert_id: str
    candidate: AlertCandidate
    status: AlertStatus = AlertStatus.OPEN
    occurrences: int = 1
    raised_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""
    resolved_at: datetime | None = None
    resolved_by: str = ""


@dataclass(frozen=True)
class BlockEntry:
    subject_kind: str  # key | user
    subject: str
    alert_id: str
    reason: str
    created_at: datetime | None = None
