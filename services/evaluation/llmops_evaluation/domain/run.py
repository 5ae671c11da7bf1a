"""An evaluation run's lifecycle: PENDING -> RUNNING -> COMPLETED | FAILED. A worker holds a RUNNING
run under a lease it renews; a run whose lease lapsed (its worker died) is taken again from the start,
up to a bounded number of attempts."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from llmops_evaluation.domain.spec import EvaluationSpec


class RunStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED})
STAGES = ("resolving", "generating", "scoring", "judging", "reporting")


@dataclass(frozen=True)
class Progress:
    stage: str = ""
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class RunError:
    code: str  # the domain error code, e.g. "failed_precondition"
    message: str
    field: str = ""


@dataclass
class EvaluationRun:
    run_id: str
    spec: EvaluationSpec
    created_by: str
    status: RunStatus = RunStatus.PENDING
    request_id: str = ""
    correlation_id: str = ""
    resolved_models: dict[str, str] = field(default_factory=dict)  # role -> models:/name/N
    progress: Progress = field(default_factory=Progress)
    metrics: dict[str, float] = field(default_factory=dict)  # flat, as llmops.evaluation.run.completed has them
    report_uri: str = ""
    html_report_uri: str = ""
    error: RunError | None = None
    attempts: int = 0
    lease_owner: str = ""
    lease_expires_at: datetime | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL
