"""The prompt store's unit of work on PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from llmops_common.audit import AuditEntry
from llmops_common.db import like_prefix
from llmops_common.errors import AlreadyExists
from llmops_common.templating import ChatMessage, Delimiting, Template, VariableSpec, VariableType
from llmops_common.unit_of_work import PostgresUnitOfWork as PostgresTransaction
from llmops_prompts.domain.model import LATEST, Prompt, PromptVersion, template_json
from llmops_prompts.store import LabelRecord, PromptsUnitOfWork

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
            (entry.actor, entry.action, entry.subject, entry.version, entry.alias, entry.reason,
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
