"""The monitoring store's contract: the abstract unit of work (its methods are the documented contract).
``postgres`` holds the PostgreSQL adapter (the inference log partitioned by day); ``memory`` the
in-memory fake for unit tests. A unit of work is one transaction with its outbox and inbox."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from llmops_common.pagination import KeyShape, Page, Text, Timestamp, Uuid
from llmops_common.unit_of_work import UnitOfWork
from llmops_monitoring.domain.records import Alert, AlertCandidate, AlertStatus, BlockEntry, Feedback, Inference

#: inferences newest first, by (created_at, inference_id); alerts newest first, by (raised_at, alert_id)
INFERENCES_PAGE = KeyShape("monitoring.inferences", (Timestamp(), Text()))
ALERTS_PAGE = KeyShape("monitoring.alerts", (Timestamp(), Uuid()))


@dataclass(frozen=True)
class InferenceQuery:
    model_version: str = ""
    release: str = ""
    key_id: str = ""
    user: str = ""
    session: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None
    min_injection_score: float = 0.0


@dataclass(frozen=True)
class AlertQuery:
    statuses: tuple[AlertStatus, ...] = ()
    min_severity: str = ""  # info < warning < critical
    kind: str = ""
    model_version: str = ""
    raised_after: datetime | None = None
    raised_before: datetime | None = None


@dataclass(frozen=True)
class FeedbackQuery:
    model_version: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None
    rating: str = ""  # "" any
    min_score: float | None = None
    corrections_only: bool = False


@dataclass(frozen=True)
class FeedbackRow:
    """Feedback with the inference it is about (for curation and reports)."""

    feedback: Feedback
    inference: Inference


class MonitoringUnitOfWork(UnitOfWork):
    producer = "monitoring"

    # -- the inference log ----------------------------------------------------------------------------

    @abc.abstractmethod
    async def add_inferences(self, inferences: list[Inference]) -> int:
        """Insert (a day's partition is created on first use); an id already logged is skipped. Returns
        how many were new."""

    @abc.abstractmethod
    async def get_inference(self, inference_id: str) -> Inference | None: ...

    @abc.abstractmethod
    async def list_inferences(self, query: InferenceQuery, page: Page) -> list[Inference]:
        """Newest first: (created_at, inference_id) descending, after ``page.after``."""

    @abc.abstractmethod
    async def window(self, start: datetime, end: datetime, *, model_version: str = "",
                     limit: int = 10_000) -> list[Inference]:
        """Inferences with start <= created_at < end (of one model version when given), oldest first, at
        most ``limit`` (the newest ``limit`` when more)."""

    @abc.abstractmethod
    async def model_versions_since(self, since: datetime) -> list[str]:
        """Model versions with traffic since ``since``."""

    @abc.abstractmethod
    async def drop_days_before(self, day: date) -> int:
        """Retention: drop the log's partitions of days before ``day`` (their feedback stays, unlinked
        inferences are gone). Returns how many days were dropped."""

    # -- feedback ----------------------------------------------------------------------------------

    @abc.abstractmethod
    async def add_feedback(self, feedback: Feedback) -> Feedback:
        """Insert, stamping ``created_at``; a taken ``request_id`` raises AlreadyExists."""

    @abc.abstractmethod
    async def find_feedback_by_request(self, request_id: str) -> Feedback | None: ...

    @abc.abstractmethod
    async def feedback_rows(self, query: FeedbackQuery, limit: int) -> list[FeedbackRow]:
        """Feedback with its inference (whose log row still exists), oldest first."""

    # -- alerts ------------------------------------------------------------------------------------

    @abc.abstractmethod
    async def raise_alert(self, alert_id: str, candidate: AlertCandidate, now: datetime) -> tuple[Alert, bool]:
        """Open an alert, or when one with the same ``dedup_key`` is open or acknowledged, count one more
        occurrence on it (True only for a new alert)."""

    @abc.abstractmethod
    async def get_alert(self, alert_id: str, *, lock: bool = False) -> Alert | None:
        """A malformed id is None."""

    @abc.abstractmethod
    async def save_alert(self, alert: Alert) -> None:
        """Write status, occurrences and the acknowledgement and resolution fields."""

    @abc.abstractmethod
    async def list_alerts(self, query: AlertQuery, page: Page) -> list[Alert]:
        """Newest first: (raised_at, alert_id) descending, after ``page.after``."""

    # -- the block list ----------------------------------------------------------------------------

    @abc.abstractmethod
    async def add_block(self, entry: BlockEntry) -> None:
        """Block the subject (once: an existing block of it is kept)."""

    @abc.abstractmethod
    async def remove_blocks(self, alert_id: str) -> int:
        """End the blocks an alert made."""

    @abc.abstractmethod
    async def blocks(self) -> list[BlockEntry]: ...


UnitOfWorkFactory = Callable[..., MonitoringUnitOfWork]
