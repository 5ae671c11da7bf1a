"""Aliases, releases, model URIs, alias policies with evaluation gates, promotions, and audit entries."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from llmops_common.auth import Role
from llmops_common.errors import InvalidArgument
from llmops_registry.domain.model import EvaluationResult, validate_model_name

ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
VERSION_LIKE = re.compile(r"^v\d+$", re.IGNORECASE)
URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/@]+))$")
LATEST = "latest"


def validate_alias(alias: str) -> None:
    """MLflow's alias rules: letters, digits, '_' and '-', 1-255 characters; 'latest' (any case) is
    reserved and 'v<digits>' would read as a version."""
    if not ALIAS.match(alias or ""):
        raise InvalidArgument("aliases are 1-255 letters, digits, '_' or '-'", field="alias")
    if alias.lower() == LATEST:
        raise InvalidArgument("'latest' is reserved: it always means the newest version", field="alias")
    if VERSION_LIKE.match(alias):
        raise InvalidArgument(f"{alias!r} looks like a version ('v<digits>' is refused)", field="alias")


@dataclass(frozen=True)
class ModelRef:
    """A parsed ``models:/name/3``, ``models:/name@alias`` or ``models:/name@latest``."""

    model_name: str
    version: int | None = None
    alias: str | None = None

    @property
    def is_latest(self) -> bool:
        return self.alias is not None and self.alias.lower() == LATEST


def parse_model_uri(uri: str, *, field_name: str = "uri") -> ModelRef:
    match = URI.match(uri or "")
    if not match:
        raise InvalidArgument("expected models:/<name>/<version>, models:/<name>@<alias> or models:/<name>@latest",
                              field=field_name)
    name = match["name"]
    validate_model_name(name, field_name=field_name)
    if match["version"]:
        return ModelRef(name, version=int(match["version"]))
    return ModelRef(name, alias=match["alias"])


Parameters = dict[str, Any]


@dataclass(frozen=True)
class Release:
    """What an alias holds: a model version, a pinned prompt version and sampling parameters."""

    model_name: str
    alias: str
    version: int
    prompt_version: str = ""
    sampling_parameters: Parameters = field(default_factory=dict)
    previous_version: int | None = None
    updated_at: datetime | None = None
    updated_by: str = ""
    previous_prompt_version: str = ""
    previous_sampling_parameters: Parameters = field(default_factory=dict)


@dataclass(frozen=True)
class MetricGate:
    """Like MLflow's MetricThreshold: an absolute threshold and/or a minimum change against the holder."""

    metric: str
    threshold: float | None = None
    min_absolute_change: float | None = None
    min_relative_change: float | None = None
    greater_is_better: bool = True

    def validate(self) -> None:
        if not self.metric:
            raise InvalidArgument("a gate needs a metric name", field="gates")
        if self.threshold is None and self.min_absolute_change is None and self.min_relative_change is None:
            raise InvalidArgument(f"gate on {self.metric!r} sets no threshold or minimum change", field="gates")


@dataclass(frozen=True)
class GateResult:
    gate: MetricGate
    passed: bool
    candidate_value: float | None
    current_value: float | None
    message: str


@dataclass(frozen=True)
class AliasPolicy:
    model_name: str
    alias: str
    protected: bool = True
    gates: tuple[MetricGate, ...] = ()
    required_approvals: int = 1
    approver_role: Role = Role.APPROVER
    auto_request_on_evaluation: bool = False
    updated_at: datetime | None = None
    updated_by: str = ""

    def validate(self) -> None:
        validate_model_name(self.model_name, field_name="policy.model_name")
        validate_alias(self.alias)
        if self.required_approvals < 0 or self.required_approvals > 10:
            raise InvalidArgument("required approvals must be between 0 and 10", field="required_approvals")
        if self.approver_role < Role.APPROVER:
            raise InvalidArgument("approvers need at least the approver role", field="approver_role")
        for gate in self.gates:
            gate.validate()


def latest_metrics(evaluations: tuple[EvaluationResult, ...]) -> dict[str, float]:
    """Each metric's value from the most recent evaluation that reported it."""
    merged: dict[str, float] = {}
    for result in sorted(evaluations, key=lambda e: (e.completed_at, e.evaluation_run_id)):
        merged.update(result.metrics)
    return merged


def evaluate_gates(
    gates: tuple[MetricGate, ...], candidate: dict[str, float], current: dict[str, float] | None
) -> list[GateResult]:
    """Check every gate; ``current`` is the holder's metrics (None when the alias is unset)."""
    results = []
    for gate in gates:
        value = candidate.get(gate.metric)
        held = current.get(gate.metric) if current is not None else None
        if value is None:
            results.append(GateResult(gate, False, None, held, f"no {gate.metric} result is attached"))
            continue
        sign = 1.0 if gate.greater_is_better else -1.0
        problems = []
        if gate.threshold is not None and sign * (value - gate.threshold) < 0:
            op = ">=" if gate.greater_is_better else "<="
            problems.append(f"{gate.metric}={value:g} is not {op} {gate.threshold:g}")
        if current is not None and (gate.min_absolute_change is not None or gate.min_relative_change is not None):
            if held is None:
                problems.append(f"the current holder has no {gate.metric} to compare with")
            else:
                change = sign * (value - held)
                if gate.min_absolute_change is not None and change < gate.min_absolute_change:
                    problems.append(f"{gate.metric} improves by {change:g}, needs {gate.min_absolute_change:g}")
                if gate.min_relative_change is not None:
                    relative = change / abs(held) if held else float("inf") if change > 0 else 0.0
                    if relative < gate.min_relative_change:
                        problems.append(f"{gate.metric} improves by {relative:.2%}, needs {gate.min_relative_change:.2%}")
        passed = not problems
        results.append(GateResult(gate, passed, value, held, "passed" if passed else "; ".join(problems)))
    return results


class PromotionStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    GATES_FAILED = "gates_failed"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Decision:
    actor: str
    approved: bool
    comment: str
    decided_at: datetime | None = None


@dataclass(frozen=True)
class Promotion:
    id: str
    model_name: str
    alias: str
    version: int
    prompt_version: str
    sampling_parameters: Parameters
    status: PromotionStatus
    requested_by: str
    reason: str
    gate_results: tuple[GateResult, ...]
    required_approvals: int
    previous_version: int | None
    request_id: str = ""
    decisions: tuple[Decision, ...] = ()
    created_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def approvals(self) -> int:
        return sum(1 for d in self.decisions if d.approved)


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    model_name: str
    version: int | None = None
    alias: str | None = None
    reason: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    correlation_id: str | None = None
    id: int | None = None
    occurred_at: datetime | None = None
