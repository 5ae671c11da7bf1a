"""Events owned by the registry context."""

from __future__ import annotations

from llmops_common.events.envelope import EventPayload


class ModelVersionCreated(EventPayload, event_type="llmops.registry.model_version.created"):
    model_name: str
    version: int
    artifact_uri: str
    kind: str
    base_model_version: str | None = None
    training_run_id: str | None = None


class AliasMoved(EventPayload, event_type="llmops.registry.alias.moved"):
    model_name: str
    alias: str
    previous_version: int | None = None
    new_version: int | None = None
    prompt_version: str | None = None
    parameters: dict[str, float | int | str] = {}


class PromotionRequested(EventPayload, event_type="llmops.registry.promotion.requested"):
    request_id: str
    model_name: str
    version: int
    alias: str
    requested_by: str


class PromotionApproved(EventPayload, event_type="llmops.registry.promotion.approved"):
    """One approval decision; the promotion is complete when ``approvals >= required_approvals``."""

    request_id: str
    model_name: str
    version: int
    alias: str
    approved_by: str
    approvals: int = 1
    required_approvals: int = 1


class PromotionRejected(EventPayload, event_type="llmops.registry.promotion.rejected"):
    request_id: str
    model_name: str
    version: int
    alias: str
    rejected_by: str
    reason: str


class ModelCreated(EventPayload, event_type="llmops.registry.model.created"):
    model_name: str


class PolicySet(EventPayload, event_type="llmops.registry.policy.set"):
    model_name: str
    alias: str
    protected: bool
    required_approvals: int


class EvaluationAttached(EventPayload, event_type="llmops.registry.evaluation.attached"):
    model_name: str
    version: int
    evaluation_run_id: str
    metrics: dict[str, float]
