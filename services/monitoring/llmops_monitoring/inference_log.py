"""Serving's ``inference.completed`` events as inference log rows, scored by the injection detector on
the way in."""

from __future__ import annotations

from typing import Any

from llmops_common.events.serving import InferenceCompleted
from llmops_monitoring.domain.records import Inference

MAX_TEXT = 100_000  # characters of a prompt or output kept in the log


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """Text as PostgreSQL can store it: NUL (which it refuses) as U+FFFD, cut at ``limit``."""
    return text[:limit].replace("\x00", "\ufffd")


def prompt_text(prompt: str | list[dict[str, str]] | None) -> str:
    """A chat prompt as ``role: content`` lines (what the model saw); None (redacted) as ""."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return clean(prompt)
    return clean("".join(f"{m.get('role', '')}: {m.get('content', '')}\n" for m in prompt))


def user_text(prompt: str | list[dict[str, str]] | None) -> str:
    """What the user wrote: a chat's user turns, or the whole completion prompt (what detectors read)."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return clean(prompt)
    return clean("\n".join(m.get("content", "") for m in prompt if m.get("role") == "user"))


def inference_from_event(payload: InferenceCompleted, scores: dict[str, float]) -> Inference:
    return Inference(
        inference_id=clean(payload.request_id, 200),
        model_version=clean(f"models:/{payload.model_name}/{payload.version}", 400),
        created_at=payload.created_at, release=clean(payload.release, 300), deployment=clean(payload.deployment, 400),
        api=payload.api, key_id=clean(payload.key_id, 200), user=clean(payload.user, 200),
        session=clean(payload.session, 200), prompt=prompt_text(payload.prompt), output=clean(payload.output or ""),
        prompt_tokens=payload.prompt_tokens, completion_tokens=payload.completion_tokens,
        latency_ms=payload.latency_ms, ttft_ms=payload.ttft_ms, finish_reason=clean(payload.finish_reason, 64),
        scores=scores)


def injection_scores(score: Any) -> dict[str, float]:
    """An ``InjectionScore`` as the log's score columns."""
    values = {"injection": score.score, "injection_pattern": score.pattern, "injection_similarity": score.similarity}
    if score.classifier is not None:
        values["injection_classifier"] = score.classifier
    return {k: float(v) for k, v in values.items()}
