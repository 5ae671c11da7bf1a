"""Typed events: the envelope, the type registry, subjects and streams, and each context's payloads.

Importing this package registers every payload class, so ``parse_envelope`` knows them all.
"""

from llmops_common.events import evaluation, ingestion, monitoring, pipelines, prompts, registry, serving, training
from llmops_common.events.envelope import EVENT_TYPES, Envelope, EventPayload, parse_envelope

__all__ = [
    "EVENT_TYPES",
    "Envelope",
    "EventPayload",
    "parse_envelope",
    "evaluation",
    "ingestion",
    "monitoring",
    "pipelines",
    "prompts",
    "registry",
    "serving",
    "training",
]
