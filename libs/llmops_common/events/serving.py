"""Events owned by the serving context."""

from __future__ import annotations

from llmops_common.events.envelope import EventPayload


class DeploymentUpdated(EventPayload, event_type="llmops.serving.deployment.updated"):
    deployment: str
    model_name: str
    version: int


class DeploymentFailed(EventPayload, event_type="llmops.serving.deployment.failed"):
    deployment: str
    reason: str


class InferenceCompleted(EventPayload, event_type="llmops.serving.inference.completed"):
    request_id: str
    deployment: str
    model_name: str
    version: int
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
