"""Aliases, releases, model URIs, alias policies with evaluation gates, and promotions."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from llmops_common.auth import Role
from llmops_common.errors import InvalidArgument
from llmops_common.validation import check_finite, check_not_reserved, check_request_id, fullmatch_name, quote
from llmops_registry.domain.model import EvaluationResult, validate_model_name

#: lower case only, so a case variant ('Production') can never sit beside a protected alias
ALIAS = re.compile(r"[a-z0-9_-]{1,255}")
VERSION_LIKE = re.compile(r"v\d+", re.IGNORECASE)
URI = re.compile(r"models:/(?P<name>[^/@]+)(?:/(?P<version>\d{1,18})|@(?P<alias>[^/@]+))")
LATEST = "latest"


def validate_alias(alias: str, *, field_name: str = "alias") -> None:
    """MLflow's alias rules, in lower case: letters, digits, '_' and '-', 1-255 characters; 'latest'
    (any case) is reserved and 'v<digits>' would read as a version."""
    check_not_reserved(alias, (LATEST,), field_name, "it always means the newest version")
    if VERSION_LIKE.fullmatch(alias):
        raise InvalidArgument(f"{quote(alias)} looks like a version ('v<digits>' is refused)", field=field_name)
    fullmatch_name(ALIAS, alias, field_name, "alias", "aliases are 1-255 lower-case letters, digits, '_' or '-'")


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
    match = URI.fullmatch(uri)
    if not match:
        raise InvalidArgument(f"expected models:/<name>/<version>, models:/<name>@<alias> or models:/<name>@latest,"
                              f" not {quote(uri)}", field=field_name)
    name = match["name"]
    validate_model_name(name, field_name=field_name)
    if match["version"]:
        return ModelRef(name, version=int(match["version"]))
    alias = match["alias"]
    if alias.lower() != LATEST:
        validate_alias(alias, field_name=field_name)
    return ModelRef(name, alias=alias)


Parameters = dict[str, Any]


@dataclass(frozen=True)
class Pin:
    """What a release pins: a model version, a prompt version and sampling parameters. The one packing
    of these fields that releases, their audit rows and their ``alias.moved`` events are built from."""

    version: int
    prompt_version: str = ""
    sampling_parameters: Parameters = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "prompt_version": self.prompt_version,
                "sampling_parameters": self.sampling_parameters}


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

    @classmethod
    def pinning(cls, model_name: str, alias: str, pin: Pin, *, replacing: Release | None, by: str) -> Release:
        """The release that moves ``alias`` to ``pin``, remembering what it replaces (what rollback restores)."""
        return cls(model_name, alias, pin.version, pin.prompt_version, dict(pin.sampling_parameters),
                   previous_version=replacing.version if replacing else None, updated_by=by,
                   previous_prompt_version=replacing.prompt_version if replacing else "",
                   previous_sampling_parameters=dict(replacing.sampling_parameters) if replacing else {})

    @property
    def pin(self) -> Pin:
        return Pin(self.version, self.prompt_version, self.sampling_parameters)

    @property
    def previous(self) -> Pin | None:
        """The pin this release replaced; None for an alias's first release."""
        if self.previous_version is None:
            return None
        return Pin(self.previous_version, self.previous_prompt_version, self.previous_sampling_parameters)


@dataclass(frozen=True)
class MetricGate:
    """Like MLflow's MetricThreshold: an absolute threshold and/or a minimum change against the holder."""

    metric: str
    threshold: float | None = None
    min_absolute_change: float | None = None
    min_relative_change: float | None = None
    greater_is_better: bool = True

    def validate(self, field: str = "policy.gates") -> None:
        if not self.metric:
            raise InvalidArgument("a gate needs a metric name", field=f"{field}.metric_name")
        for name in ("threshold", "min_absolute_change", "min_relative_change"):
            value = getattr(self, name)
            if value is not None:
                check_finite(value, f"{field}.{name}")
        if self.threshold is None and self.min_absolute_change is None and self.min_relative_change is None:
            raise InvalidArgument(f"gate on {quote(self.metric)} sets no threshold or minimum change", field=field)


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
        validate_alias(self.alias, field_name="policy.alias")
        if self.required_approvals < 0 or self.required_approvals > 10:
            raise InvalidArgument("required approvals must be between 0 and 10", field="policy.required_approvals")
        if self.approver_role < Role.APPROVER:
            raise InvalidArgument("approvers need at least the approver role", field="policy.approver_role")
        for index, gate in enumerate(self.gates):
            gate.validate(f"policy.gates[{index}]")


_NEVER = datetime.min.replace(tzinfo=UTC)  # ranks a result not yet recorded before every recorded one


def trusts_evaluations_from(role: Role) -> bool:
    """Only the evaluation service's identity (the service role) reports results that gates count.
    Everyone else, approvers and admins included, attaches informational results: the people who
    request or approve a promotion must not be able to supply its evidence."""
    return role is Role.SERVICE


def latest_metrics(evaluations: tuple[EvaluationResult, ...]) -> dict[str, float]:
    """Each metric's value from the trusted evaluation the registry recorded last that reported it;
    the submitter's own timestamp (``reported_at``) never ranks a result."""
    merged: dict[str, float] = {}
    trusted = (e for e in evaluations if e.trusted)
    for result in sorted(trusted, key=lambda e: (e.recorded_at or _NEVER, e.evaluation_run_id)):
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
            results.append(GateResult(gate, False, None, held, f"no trusted {gate.metric} result is attached"
                                                                 " (only the evaluation service's results count)"))
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
                        problems.append(f"{gate.metric} improves by {relative:.2%}, "
                                        f"needs {gate.min_relative_change:.2%}")
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

    @property
    def pin(self) -> Pin:
        return Pin(self.version, self.prompt_version, self.sampling_parameters)


# -- commands ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetAlias:
    """Point ``alias`` at ``pin``; with ``expected_version``, only if the alias holds that version now
    (0: only if it is unset)."""

    model_name: str
    alias: str
    pin: Pin
    reason: str = ""
    expected_version: int | None = None

    def validate(self) -> None:
        validate_alias(self.alias)


@dataclass(frozen=True)
class Rollback:
    """Point ``alias`` back at the release it held before."""

    model_name: str
    alias: str
    reason: str = ""

    def validate(self) -> None:
        validate_alias(self.alias)


@dataclass(frozen=True)
class RequestPromotion:
    """Ask to move the policy-governed ``alias`` to ``pin``; a repeated ``request_id`` returns the
    promotion it opened."""

    model_name: str
    alias: str
    pin: Pin
    reason: str = ""
    request_id: str = ""

    def validate(self) -> None:
        validate_alias(self.alias)
        check_request_id(self.request_id)
