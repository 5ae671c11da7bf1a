"""Subjects and streams: one JetStream stream per context (``llmops.<context>.>``), file storage,
a duplicate window; and one dead-letter stream for ``llmops.dlq.<context>``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the specs are read without nats-py (the CLI's subject filters); only config() needs it
    from nats.js.api import StreamConfig

CONTEXTS = ("ingestion", "prompts", "training", "evaluation", "registry", "serving", "monitoring", "pipelines")
DUPLICATE_WINDOW_SECONDS = 120.0
DLQ_STREAM = "LLMOPS_DLQ"


def stream_name(context: str) -> str:
    return f"LLMOPS_{context.upper()}"


def dlq_subject(context: str) -> str:
    return f"llmops.dlq.{context}"


def context_of(subject: str) -> str:
    parts = subject.split(".")
    if len(parts) < 2 or parts[0] != "llmops":
        raise ValueError(f"{subject!r} is not an llmops subject")
    return parts[1]


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    duplicate_window: float = DUPLICATE_WINDOW_SECONDS
    max_age_days: float = 30.0

    def config(self) -> StreamConfig:
        from nats.js.api import RetentionPolicy, StorageType, StreamConfig

        return StreamConfig(
            name=self.name,
            subjects=list(self.subjects),
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            duplicate_window=self.duplicate_window,
            max_age=self.max_age_days * 86400,
        )


def all_streams() -> list[StreamSpec]:
    specs = [StreamSpec(stream_name(c), (f"llmops.{c}.>",)) for c in CONTEXTS]
    specs.append(StreamSpec(DLQ_STREAM, ("llmops.dlq.>",), max_age_days=90.0))
    return specs
