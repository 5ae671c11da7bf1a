"""Events owned by the serving context."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from llmops_common.events.envelope import EventPayload


class DeploymentUpdated(EventPayload, event_type="llmops.serving.deployment.updated"):
    """A replica switched ``deployment``'s route to ``model_version_uri`` after its smoke test passed."""

    deployment: str
    model_name: str
    version: int
    alias: str
    replica: str
    model_version_uri: str  # models:/<model_name>/<version>
    previous_version: int | None = None
    prompt_version: str | None = None


class DeploymentFailed(EventPayload, event_type="llmops.serving.deployment.failed"):
    """A replica could not switch to ``version`` and kept serving the one it had; ``stage`` says where."""

    deployment: str
    reason: str
    model_name: str
    alias: str
    version: int
    replica: str
    stage: Literal["resolve", "download", "verify", "load", "smoke", "switch"]


class InferenceCompleted(EventPayload, event_type="llmops.serving.inference.completed"):
    """One request's inference log record; ``prompt`` and ``output`` are None when redacted.

    ``deployment`` is the model the client asked for (``name@alias``, ``name/3``), ``release`` the
    alias it resolved through ("" for a pinned version); a chat prompt is its ``{role, content}`` list.
    """

    request_id: str
    deployment: str
    model_name: str
    version: int
    release: str = ""
    api: Literal["chat", "completions", "grpc"]
    prompt: str | list[dict[str, str]] | None = None
    output: str | None = None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    ttft_ms: float
    finish_reason: str
    key_id: str = ""
    user: str = ""
    session: str = ""
    metadata: dict[str, str] = {}
    created_at: datetime
