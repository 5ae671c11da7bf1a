"""Serving's ``inference.completed`` events as inference log rows, scored by the injection detector on
the way in."""

from __future__ import annotations

from typing import Any

from llmops_common.events.serving import InferenceCompleted
from llmops_monitoring.domain.records import Inference

MAX_TEXT = 100_000  # characters of a prompt or output kept in the log


def prompt_text(prompt: str | list[dict[str, str]] | None) -> str:
    """A chat prompt as ``role: content`` lines (what the model saw); None (redacted) as ""."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt[:MAX_TEXT]
    return "".join(f"{m.get('role', '')}: {m.get('content', '')}\n" for m in prompt)[:MAX_TEXT]


def user_text(prompt: str | list[dict[str, str]] | None) -> str:
    """What the user wrote: a chat's user turns, or the whole completion prompt (what detectors read)."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt[:MAX_TEXT]
    return "\n".join(m.get("content", "") for m in prompt if m.get("role") == "user")[:MAX_TEXT]


def inference_from_event(payload: InferenceCompleted, scores: dict[str, float]) -> Inference:
    return Inference(
        inference_id=payload.request_id, model_version=f"models:/{payload.model_name}/{payload.version}",
        created_at=payload.created_at, release=payload.release, deployment=payload.deployment, api=payload.api,
        key_id=payload.key_id, user=payload.user, session=payload.session, prompt=prompt_text(payload.prompt),
        output=(payload.output or "")[:MAX_TEXT], prompt_tokens=payload.prompt_tokens,
        completion_tokens=payload.completion_tokens, latency_ms=payload.latency_ms, ttft_ms=payload.ttft_ms,
        finish_reason=payload.finish_reason, scores=scores)


def injection_scores(score: Any) -> dict[str, float]:
    """An ``InjectionScore`` as the log's score columns."""
    values = {"injection": score.score, "injection_pattern": score.pattern, "injection_similarity": score.similarity}
    if score.classifier is not None:
        values["injection_classifier"] = score.classifier
    return {k: float(v) for k, v in values.items()}
