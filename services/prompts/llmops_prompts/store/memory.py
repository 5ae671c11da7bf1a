"""An in-memory fake of the prompt store's unit of work, for unit tests (production code never imports it)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.errors import AlreadyExists
from llmops_common.events import Envelope
from llmops_common.unit_of_work import InMemoryUnitOfWork as InMemoryTransaction
from llmops_prompts.domain.model import LATEST, Prompt, PromptVersion
from llmops_prompts.store import LabelRecord, PromptsUnitOfWork


class InMemoryPrompts:
    def __init__(self) -> None:
        self.prompts: dict[str, Prompt] = {}
        self.versions: dict[tuple[str, int], PromptVersion] = {}
        self.labels: dict[tuple[str, str], LabelRecord] = {}
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.audit: list[AuditEntry] = []
        self.outbox: list[Envelope[Any]] = []

    def unit_of_work(self, *, readonly: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)


class InMemoryUnitOfWork(InMemoryTransaction, PromptsUnitOfWork):
    tables = ("prompts", "versions", "labels", "inbox")

    def _labels_of(self, name: str) -> dict[str, int]:
        labels = {label: r.version for (p, label), r in self.labels.items() if p == name}
        latest = self.prompts[name].latest_version if name in self.prompts else 0
        return labels | ({LATEST: latest} if latest else {})

    async def create_prompt(self, prompt: Prompt) -> Prompt:
        if prompt.name in self.prompts:
            raise AlreadyExists(f"prompt {prompt.name!r} already exists", field="name")
        now = datetime.now(UTC)
        self.prompts[prompt.name] = replace(prompt, created_at=now, updated_at=now)
        return self.prompts[prompt.name]

    async def get_prompt(self, name: str) -> Prompt | None:
        prompt = self.prompts.get(name)
        return replace(prompt, labels=self._labels_of(name)) if prompt else None

    async def update_tags(self, name: str, tags: dict[str, str]) -> Prompt | None:
        if name not in self.prompts:
            return None
        self.prompts[name] = replace(self.prompts[name], tags=dict(tags), updated_at=datetime.now(UTC))
        return await self.get_prompt(name)

    async def list_prompts(self, name_prefix: str, tags: dict[str, str], after: str | None, limit: int) -> list[Prompt]:
        names = sorted(n for n, p in self.prompts.items() if n.startswith(name_prefix)
                       and tags.items() <= p.tags.items() and (after is None or n > after))
        return [await self.get_prompt(n) for n in names[:limit]]  # type: ignore[misc]

    async def next_version(self, name: str) -> int | None:
        prompt = self.prompts.get(name)
        if prompt is None:
            return None
        self.prompts[name] = replace(prompt, latest_version=prompt.latest_version + 1)
        return prompt.latest_version + 1

    async def add_version(self, version: PromptVersion) -> PromptVersion:
        self.versions[(version.prompt_name, version.version)] = replace(version, created_at=datetime.now(UTC))
        return self.versions[(version.prompt_name, version.version)]

    async def get_version(self, name: str, version: int) -> PromptVersion | None:
        found = self.versions.get((name, version))
        if found is None:
            return None
        return replace(found, labels=tuple(sorted(lbl for lbl, v in self._labels_of(name).items() if v == version)))

    async def find_version_by_request(self, name: str, request_id: str) -> PromptVersion | None:
        return next((v for (n, _), v in self.versions.items() if n == name and v.request_id == request_id), None)

    async def list_versions(self, name: str, after: int | None, limit: int) -> list[PromptVersion]:
        numbers = sorted((v for (n, v) in self.versions if n == name and (after is None or v < after)), reverse=True)
        return [await self.get_version(name, v) for v in numbers[:limit]]  # type: ignore[misc]

    async def get_label(self, name: str, label: str) -> LabelRecord | None:
        return self.labels.get((name, label))

    async def put_label(self, record: LabelRecord) -> LabelRecord:
        self.labels[(record.prompt_name, record.label)] = replace(record, updated_at=datetime.now(UTC))
        return self.labels[(record.prompt_name, record.label)]

    async def delete_label(self, name: str, label: str) -> None:
        self.labels.pop((name, label), None)
