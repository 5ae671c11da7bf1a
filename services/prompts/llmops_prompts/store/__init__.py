"""The prompt store's contract: the abstract unit of work, its record types and the page-token key
shapes its lists page by.

``postgres`` holds the PostgreSQL adapter; ``memory`` the in-memory fake for unit tests, which
production code never imports.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from llmops_common.pagination import Int, KeyShape, Text
from llmops_common.unit_of_work import UnitOfWork
from llmops_prompts.domain.model import Prompt, PromptVersion

#: the sort keys the lists page by (what a page token may carry)
PROMPTS_PAGE = KeyShape("prompts.prompts", (Text(),))
VERSIONS_PAGE = KeyShape("prompts.versions", (Int(low=1),))


@dataclass(frozen=True)
class LabelRecord:
    prompt_name: str
    label: str
    version: int
    updated_at: datetime | None = None
    updated_by: str = ""


class PromptsUnitOfWork(UnitOfWork):
    producer = "prompts"

    @abc.abstractmethod
    async def create_prompt(self, prompt: Prompt) -> Prompt:
        """Raise AlreadyExists for a taken name."""

    @abc.abstractmethod
    async def get_prompt(self, name: str) -> Prompt | None: ...

    @abc.abstractmethod
    async def update_tags(self, name: str, tags: dict[str, str]) -> Prompt | None: ...

    @abc.abstractmethod
    async def list_prompts(self, name_prefix: str, tags: dict[str, str], after: str | None,
                           limit: int) -> list[Prompt]: ...

    @abc.abstractmethod
    async def next_version(self, name: str) -> int | None:
        """Reserve the next version number (locks the prompt row); None for an unknown prompt."""

    @abc.abstractmethod
    async def add_version(self, version: PromptVersion) -> PromptVersion: ...

    @abc.abstractmethod
    async def get_version(self, name: str, version: int) -> PromptVersion | None: ...

    @abc.abstractmethod
    async def find_version_by_request(self, name: str, request_id: str) -> PromptVersion | None: ...

    @abc.abstractmethod
    async def list_versions(self, name: str, after: int | None, limit: int) -> list[PromptVersion]:
        """Newest first."""

    @abc.abstractmethod
    async def get_label(self, name: str, label: str) -> LabelRecord | None: ...

    @abc.abstractmethod
    async def put_label(self, record: LabelRecord) -> LabelRecord: ...

    @abc.abstractmethod
    async def delete_label(self, name: str, label: str) -> None: ...


UnitOfWorkFactory = Callable[..., PromptsUnitOfWork]  # called as uow() or uow(readonly=True)
