"""Events owned by the prompts context."""

from __future__ import annotations

from llmops_common.events.envelope import EventPayload


class PromptVersionCreated(EventPayload, event_type="llmops.prompts.version.created"):
    prompt_name: str
    version: int


class PromptLabelMoved(EventPayload, event_type="llmops.prompts.label.moved"):
    prompt_name: str
    label: str
    previous_version: int | None = None
    new_version: int | None = None
