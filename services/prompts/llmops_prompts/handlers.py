"""The prompt store's use cases. Each runs in one unit of work; version creation and every label move
write their event through the outbox, and label moves and tag edits are audited."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.auth import Principal, Role
from llmops_common.errors import InvalidArgument, NotFound, PermissionDenied
from llmops_common.events.prompts import PromptLabelMoved, PromptVersionCreated
from llmops_common.pagination import Page
from llmops_common.templating import ChatMessage, Template, render
from llmops_common.validation import quote
from llmops_prompts.domain.model import (
    DEFAULT_LABELS,
    CreateVersion,
    Prompt,
    PromptVersion,
    VersionDiff,
    diff,
    validate_label,
    validate_prompt_name,
    validate_tags,
)
from llmops_prompts.store import LabelRecord, PromptsUnitOfWork, UnitOfWorkFactory

#: renders a template with variables (``RenderPool.render`` in the service)
Renderer = Callable[[Template, Mapping[str, Any]], Awaitable[str | list[ChatMessage]]]


async def create_prompt(uow: UnitOfWorkFactory, name: str, description: str, tags: dict[str, str], *,
                        actor: Principal, correlation_id: str | None = None) -> Prompt:
    validate_prompt_name(name)
    validate_tags(tags)
    async with uow() as tx:
        prompt = await tx.create_prompt(Prompt(name, description, dict(tags)))
        tx.audits.append(AuditEntry(actor.name, "prompt.created", name, correlation_id=correlation_id))
        await tx.commit()
    return prompt


async def update_tags(uow: UnitOfWorkFactory, name: str, set_tags: dict[str, str], remove: list[str], *,
                      actor: Principal, correlation_id: str | None = None) -> Prompt:
    validate_tags(set_tags)
    async with uow() as tx:
        prompt = await _require_prompt(tx, name)
        tags = {k: v for k, v in prompt.tags.items() if k not in remove} | set_tags
        updated = await tx.update_tags(name, tags)
        tx.audits.append(AuditEntry(actor.name, "prompt.tags_updated", name, before={"tags": prompt.tags},
                                    after={"tags": tags}, correlation_id=correlation_id))
        await tx.commit()
    assert updated is not None
    return updated


async def _require_prompt(tx: PromptsUnitOfWork, name: str) -> Prompt:
    prompt = await tx.get_prompt(name)
    if prompt is None:
        raise NotFound(f"prompt {quote(name)} not found", field="prompt_name")
    return prompt


async def create_version(uow: UnitOfWorkFactory, cmd: CreateVersion, *, actor: Principal,
                         correlation_id: str | None = None) -> PromptVersion:
    """A new immutable version (``latest`` follows it); a repeated ``request_id`` returns the first."""
    await asyncio.to_thread(cmd.validate)  # parses and compiles, never runs, the template: off the event loop
    async with uow() as tx:
        if cmd.request_id and (existing := await tx.find_version_by_request(cmd.prompt_name, cmd.request_id)):
            return existing
        number = await tx.next_version(cmd.prompt_name)
        if number is None:
            raise NotFound(f"prompt {quote(cmd.prompt_name)} not found", field="prompt_name")
        version = await tx.add_version(PromptVersion(cmd.prompt_name, number, cmd.template, dict(cmd.model_config),
                                                     cmd.commit_message, actor.name, cmd.digest(), cmd.request_id))
        tx.record(AuditEntry(actor.name, "version.created", cmd.prompt_name, number, reason=cmd.commit_message,
                             after={"sha256": version.sha256}, correlation_id=correlation_id),
                  PromptVersionCreated(prompt_name=cmd.prompt_name, version=number))
        await tx.commit()
    return version


async def get_prompt(uow: UnitOfWorkFactory, name: str, *, version: int | None = None,
                     label: str | None = None) -> tuple[Prompt, PromptVersion, str]:
    """By version, by label, or by default ``production`` then ``latest``; returns the label it resolved."""
    async with uow(readonly=True) as tx:
        prompt = await _require_prompt(tx, name)
        if version:
            found, resolved = await tx.get_version(name, version), ""
            if found is None:
                raise NotFound(f"prompt version {quote(name)}/{version} not found", field="version")
            return prompt, found, resolved
        for candidate in ([label] if label else list(DEFAULT_LABELS)):
            number = prompt.labels.get(candidate)
            if number:
                found = await tx.get_version(name, number)
                if found is not None:
                    return prompt, found, candidate
        if label:
            raise NotFound(f"label {quote(name)}@{quote(label)} not found", field="label")
        raise NotFound(f"prompt {quote(name)} has no versions yet", field="prompt_name")


async def list_prompts(uow: UnitOfWorkFactory, name_prefix: str, tags: dict[str, str],
                       page: Page) -> tuple[list[Prompt], tuple | None]:
    async with uow(readonly=True) as tx:
        rows = await tx.list_prompts(name_prefix, tags, page.after[0] if page.after else None, page.size)
    return rows, page.next_key(rows, lambda p: (p.name,))


async def list_versions(uow: UnitOfWorkFactory, name: str, page: Page) -> tuple[list[PromptVersion], tuple | None]:
    async with uow(readonly=True) as tx:
        await _require_prompt(tx, name)
        rows = await tx.list_versions(name, int(page.after[0]) if page.after else None, page.size)
    return rows, page.next_key(rows, lambda v: (v.version,))


def _authorize_label(label: str, actor: Principal, protected: frozenset[str]) -> None:
    if label in protected and actor.role < Role.APPROVER:
        raise PermissionDenied(f"label {label!r} is protected: moving it needs the approver role")


async def set_label(uow: UnitOfWorkFactory, name: str, label: str, version: int, *, reason: str = "",
                    actor: Principal, protected: frozenset[str], correlation_id: str | None = None
                    ) -> tuple[LabelRecord, int | None]:
    validate_label(label)
    _authorize_label(label, actor, protected)
    async with uow() as tx:
        await _require_prompt(tx, name)
        if await tx.get_version(name, version) is None:
            raise NotFound(f"prompt version {quote(name)}/{version} not found", field="version")
        before = await tx.get_label(name, label)
        record = await tx.put_label(LabelRecord(name, label, version, updated_by=actor.name))
        previous = before.version if before else None
        tx.record(AuditEntry(actor.name, "label.moved", name, version, label, reason,
                             {"version": previous} if before else None, {"version": version}, correlation_id),
                  PromptLabelMoved(prompt_name=name, label=label, previous_version=previous, new_version=version))
        await tx.commit()
    return record, previous


async def delete_label(uow: UnitOfWorkFactory, name: str, label: str, *, reason: str = "", actor: Principal,
                       protected: frozenset[str], correlation_id: str | None = None) -> int:
    validate_label(label)
    _authorize_label(label, actor, protected)
    async with uow() as tx:
        before = await tx.get_label(name, label)
        if before is None:
            raise NotFound(f"label {quote(name)}@{quote(label)} not found", field="label")
        await tx.delete_label(name, label)
        tx.record(AuditEntry(actor.name, "label.deleted", name, before.version, label, reason,
                             {"version": before.version}, None, correlation_id),
                  PromptLabelMoved(prompt_name=name, label=label, previous_version=before.version, new_version=None))
        await tx.commit()
    return before.version


async def render_in_process(template: Template, variables: Mapping[str, Any]) -> str | list[ChatMessage]:
    """The bounded in-process renderer (tests and tools); the service renders in a ``RenderPool``."""
    return render(template, variables)


async def render_prompt(uow: UnitOfWorkFactory, name: str, variables: dict[str, Any], *, version: int | None = None,
                        label: str | None = None, renderer: Renderer = render_in_process
                        ) -> tuple[PromptVersion, str | list[ChatMessage]]:
    _, found, _ = await get_prompt(uow, name, version=version, label=label)
    return found, await renderer(found.template, variables)


async def diff_versions(uow: UnitOfWorkFactory, name: str, from_version: int, to_version: int) -> VersionDiff:
    if from_version <= 0 or to_version <= 0:
        raise InvalidArgument("name two versions to compare", field="from_version")
    async with uow(readonly=True) as tx:
        old, new = await tx.get_version(name, from_version), await tx.get_version(name, to_version)
    if old is None or new is None:
        missing = from_version if old is None else to_version
        raise NotFound(f"prompt version {quote(name)}/{missing} not found", field="version")
    return diff(old, new)
