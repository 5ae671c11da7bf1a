"""The prompt store's unit of work: the abstract contract, PostgreSQL, and an in-memory fake."""

from __future__ import annotations

import abc
import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psycopg

from llmops_common.db import like_prefix
from llmops_common.errors import AlreadyExists
from llmops_common.pagination import Int, KeyShape, Text
from llmops_common.events import Envelope
from llmops_common.templating import ChatMessage, Delimiting, Template, VariableSpec, VariableType
from llmops_common.unit_of_work import PostgresUnitOfWork as PostgresTransaction
from llmops_common.unit_of_work import InMemoryUnitOfWork as InMemoryTransaction
from llmops_common.unit_of_work import UnitOfWork
from llmops_prompts.domain.model import LATEST, Prompt, PromptVersion, template_json

#: the sort keys the lists page by (what a page token may carry)
PROMPTS_PAGE = KeyShape("prompts.prompts", (Text(),))
VERSIONS_PAGE = KeyShape("prompts.versions", (Int(low=1),))


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    prompt_name: str
    version: int | None = None
    label: str | None = None
    reason: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    correlation_id: str | None = None


@dataclass(frozen=True)
class LabelRecord:
    prompt_name: str
    label: str
    version: int
    updated_at: datetime | None = None
    updated_by: str = ""


class PromptsUnitOfWork(UnitOfWork):
    @abc.abstractmethod
    async def create_prompt(self, prompt: Prompt) -> Prompt:
        """Raise AlreadyExists for a taken name."""

    @abc.abstractmethod
    async def get_prompt(self, name: str) -> Prompt | None: ...

    @abc.abstractmethod
    async def update_tags(self, name: str, tags: dict[str, str]) -> Prompt | None: ...

    @abc.abstractmethod
    async def list_prompts(self, name_prefix: str, tags: dict[str, str], after: str | None, limit: int) -> list[Prompt]: ...

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


# -- Postgres ------------------------------------------------------------------------------------------

_PROMPT_SELECT = (
    "SELECT p.name, p.description, p.tags, p.latest_version, p.created_at, p.updated_at,"
    " COALESCE((SELECT json_object_agg(l.label, l.version) FROM labels l WHERE l.prompt_name = p.name), '{}'::json)"
    " FROM prompts p"
)
_VERSION_SELECT = (
    "SELECT v.prompt_name, v.version, v.body, v.model_config, v.commit_message, v.author, v.sha256, v.request_id,"
    " v.created_at, COALESCE((SELECT array_agg(l.label ORDER BY l.label) FROM labels l"
    "   WHERE l.prompt_name = v.prompt_name AND l.version = v.version), '{}'),"
    " (SELECT p.latest_version = v.version FROM prompts p WHERE p.name = v.prompt_name)"
    " FROM prompt_versions v"
)


class PostgresUnitOfWork(PostgresTransaction, PromptsUnitOfWork):
    async def create_prompt(self, prompt: Prompt) -> Prompt:
        try:
            async with self.conn.transaction():
                await self.conn.execute("INSERT INTO prompts (name, description, tags) VALUES (%s, %s, %s)",
                                        (prompt.name, prompt.description, json.dumps(prompt.tags)))
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(f"prompt {prompt.name!r} already exists", field="name") from None
        created = await self.get_prompt(prompt.name)
        assert created is not None
        return created

    async def get_prompt(self, name: str) -> Prompt | None:
        row = await self._one(f"{_PROMPT_SELECT} WHERE p.name = %s", (name,))
        return _prompt(row) if row else None

    async def update_tags(self, name: str, tags: dict[str, str]) -> Prompt | None:
        cur = await self.conn.execute("UPDATE prompts SET tags = %s, updated_at = now() WHERE name = %s",
                                      (json.dumps(tags), name))
        return await self.get_prompt(name) if cur.rowcount else None

    async def list_prompts(self, name_prefix: str, tags: dict[str, str], after: str | None, limit: int) -> list[Prompt]:
        where, params = ["TRUE"], []
        if name_prefix:
            where.append("p.name LIKE %s")
            params.append(like_prefix(name_prefix))
        if tags:
            where.append("p.tags @> %s")
            params.append(json.dumps(tags))
        if after:
            where.append("p.name > %s")
            params.append(after)
        rows = await self._all(f"{_PROMPT_SELECT} WHERE {' AND '.join(where)} ORDER BY p.name LIMIT %s",
                               [*params, limit])
        return [_prompt(r) for r in rows]

    async def next_version(self, name: str) -> int | None:
        row = await self._one("UPDATE prompts SET latest_version = latest_version + 1, updated_at = now()"
                              " WHERE name = %s RETURNING latest_version", (name,))
        return int(row[0]) if row else None

    async def add_version(self, version: PromptVersion) -> PromptVersion:
        await self.conn.execute(
            "INSERT INTO prompt_versions (prompt_name, version, body, model_config, commit_message, author, sha256,"
            " request_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (version.prompt_name, version.version, json.dumps(template_json(version.template), default=str),
             json.dumps(version.model_config), version.commit_message, version.author, version.sha256,
             version.request_id or None),
        )
        stored = await self.get_version(version.prompt_name, version.version)
        assert stored is not None
        return stored

    async def get_version(self, name: str, version: int) -> PromptVersion | None:
        row = await self._one(f"{_VERSION_SELECT} WHERE v.prompt_name = %s AND v.version = %s", (name, version))
        return _version(row) if row else None

    async def find_version_by_request(self, name: str, request_id: str) -> PromptVersion | None:
        row = await self._one(f"{_VERSION_SELECT} WHERE v.prompt_name = %s AND v.request_id = %s", (name, request_id))
        return _version(row) if row else None

    async def list_versions(self, name: str, after: int | None, limit: int) -> list[PromptVersion]:
        rows = await self._all(
            f"{_VERSION_SELECT} WHERE v.prompt_name = %s AND (%s::bigint IS NULL OR v.version < %s)"
            " ORDER BY v.version DESC LIMIT %s", (name, after, after, limit))
        return [_version(r) for r in rows]

    async def get_label(self, name: str, label: str) -> LabelRecord | None:
        row = await self._one("SELECT prompt_name, label, version, updated_at, updated_by FROM labels"
                              " WHERE prompt_name = %s AND label = %s", (name, label))
        return LabelRecord(row[0], row[1], int(row[2]), row[3], row[4]) if row else None

    async def put_label(self, record: LabelRecord) -> LabelRecord:
        row = await self._one(
            "INSERT INTO labels (prompt_name, label, version, updated_by) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (prompt_name, label) DO UPDATE SET version = EXCLUDED.version, updated_at = now(),"
            " updated_by = EXCLUDED.updated_by RETURNING prompt_name, label, version, updated_at, updated_by",
            (record.prompt_name, record.label, record.version, record.updated_by))
        return LabelRecord(row[0], row[1], int(row[2]), row[3], row[4])

    async def delete_label(self, name: str, label: str) -> None:
        await self.conn.execute("DELETE FROM labels WHERE prompt_name = %s AND label = %s", (name, label))

    async def append_audit(self, entry: AuditEntry) -> None:
        await self.conn.execute(
            "INSERT INTO audit_log (actor, action, prompt_name, version, label, reason, before, after, correlation_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (entry.actor, entry.action, entry.prompt_name, entry.version, entry.label, entry.reason,
             json.dumps(entry.before) if entry.before is not None else None,
             json.dumps(entry.after) if entry.after is not None else None, entry.correlation_id))


def _prompt(row: tuple) -> Prompt:
    name, description, tags, latest, created_at, updated_at, labels = row
    labels = {k: int(v) for k, v in labels.items()} | ({LATEST: int(latest)} if latest else {})
    return Prompt(name, description, dict(tags), int(latest), labels, created_at, updated_at)


def template_from_json(body: dict[str, Any]) -> Template:
    variables = tuple(
        VariableSpec(v["name"], VariableType(v["type"]), v["required"], v.get("default"), v.get("description", ""),
                     Delimiting(v.get("delimiting", "none")), v.get("delimiter_tag", ""))
        for v in body.get("variables", [])
    )
    if "text" in body:
        return Template(text=body["text"], variables=variables)
    return Template(messages=tuple(ChatMessage(m["role"], m["content"]) for m in body["messages"]), variables=variables)


def _version(row: tuple) -> PromptVersion:
    name, version, body, model_config, message, author, sha, request_id, created_at, labels, is_latest = row
    return PromptVersion(name, int(version), template_from_json(body), dict(model_config), message, author, sha,
                         request_id or "", tuple(labels) + ((LATEST,) if is_latest else ()), created_at)


# -- in memory -----------------------------------------------------------------------------------------


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


