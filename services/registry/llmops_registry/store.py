"""The registry's store: an abstract unit of work (the documented contract), its Postgres
implementation, and an in-memory fake for unit tests. Rows leave as domain entities.

A unit of work is one transaction: changes and the events they emit (through the outbox) commit
together, or, leaving the block without ``commit()``, neither does.
"""

from __future__ import annotations

import abc
import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Self

import psycopg
from psycopg_pool import AsyncConnectionPool

from llmops_common.errors import AlreadyExists
from llmops_common.events import Envelope
from llmops_common.inbox import claim_event
from llmops_common.outbox import add_to_outbox
from llmops_registry.domain.model import EvaluationResult, Lineage, ModelKind, ModelVersion, RegisteredModel


class RegistryUnitOfWork(abc.ABC):
    """One transaction over the registry's state and its outbox."""

    async def __aenter__(self) -> Self:
        self.events: list[Envelope[Any]] = []
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.rollback()

    def emit(self, envelope: Envelope[Any]) -> None:
        """Queue an event; it is written to the outbox by ``commit`` in the same transaction."""
        self.events.append(envelope)

    @abc.abstractmethod
    async def commit(self) -> None: ...

    @abc.abstractmethod
    async def rollback(self) -> None:
        """Discard uncommitted work (a no-op after commit)."""

    @abc.abstractmethod
    async def create_model(self, model: RegisteredModel) -> RegisteredModel:
        """Insert; raise AlreadyExists for a taken name."""

    @abc.abstractmethod
    async def get_model(self, name: str) -> RegisteredModel | None: ...

    @abc.abstractmethod
    async def next_version(self, model_name: str) -> int | None:
        """Reserve the model's next version number (locks the model row); None for an unknown model."""

    @abc.abstractmethod
    async def add_version(self, version: ModelVersion) -> ModelVersion: ...

    @abc.abstractmethod
    async def get_version(self, model_name: str, version: int) -> ModelVersion | None: ...

    @abc.abstractmethod
    async def find_version_by_request(self, model_name: str, request_id: str) -> ModelVersion | None: ...

    @abc.abstractmethod
    async def add_evaluation(self, model_name: str, version: int, result: EvaluationResult) -> bool:
        """Attach a result; False if this evaluation run was already attached."""

    @abc.abstractmethod
    async def claim_event(self, consumer: str, event_id: uuid.UUID) -> bool:
        """Record the event in the inbox; False if ``consumer`` already handled it."""


UnitOfWorkFactory = Callable[[], RegistryUnitOfWork]


# -- Postgres ----------------------------------------------------------------------------------------

_VERSION_COLUMNS = (
    "model_name, version, artifact_uri, kind, base_model_version, format, size_bytes, sha256, tags, lineage,"
    " created_by, request_id, created_at"
)


class PostgresUnitOfWork(RegistryUnitOfWork):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._conn: psycopg.AsyncConnection | None = None
        self._tx: psycopg.AsyncTransaction | None = None
        self._ctx: Any = None

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._ctx = self.pool.connection()
        self._conn = await self._ctx.__aenter__()
        self._tx = self._conn.transaction()
        await self._tx.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._tx is not None:  # not committed: roll back
                await self._tx.__aexit__(psycopg.Rollback, psycopg.Rollback(), None)
        finally:
            self._tx = None
            await self._ctx.__aexit__(None, None, None)

    @property
    def conn(self) -> psycopg.AsyncConnection:
        assert self._conn is not None, "unit of work not entered"
        return self._conn

    async def commit(self) -> None:
        if self.events:
            await add_to_outbox(self.conn, *self.events)
        assert self._tx is not None
        await self._tx.__aexit__(None, None, None)
        self._tx = None
        self.events = []

    async def rollback(self) -> None:
        self.events = []

    async def create_model(self, model: RegisteredModel) -> RegisteredModel:
        try:
            async with self.conn.transaction():  # savepoint: a duplicate leaves the outer transaction usable
                cur = await self.conn.execute(
                    "INSERT INTO registered_models (name, description, tags) VALUES (%s, %s, %s)"
                    " RETURNING name, description, tags, latest_version, created_at, updated_at",
                    (model.name, model.description, json.dumps(model.tags)),
                )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(f"registered model {model.name!r} already exists", field="name") from None
        return _model(await cur.fetchone())

    async def get_model(self, name: str) -> RegisteredModel | None:
        cur = await self.conn.execute(
            "SELECT name, description, tags, latest_version, created_at, updated_at FROM registered_models"
            " WHERE name = %s",
            (name,),
        )
        row = await cur.fetchone()
        return _model(row) if row else None

    async def next_version(self, model_name: str) -> int | None:
        cur = await self.conn.execute(
            "UPDATE registered_models SET latest_version = latest_version + 1, updated_at = now()"
            " WHERE name = %s RETURNING latest_version",
            (model_name,),
        )
        row = await cur.fetchone()
        return int(row[0]) if row else None

    async def add_version(self, version: ModelVersion) -> ModelVersion:
        cur = await self.conn.execute(
            f"INSERT INTO model_versions ({_VERSION_COLUMNS}) VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())"
            f" RETURNING {_VERSION_COLUMNS}",
            (
                version.model_name, version.version, version.artifact_uri, version.kind.value,
                version.base_model_version or None, version.format, version.size_bytes, version.sha256,
                json.dumps(version.tags), json.dumps(_lineage_json(version.lineage)), version.created_by,
                version.request_id or None,
            ),
        )
        return _version(await cur.fetchone(), ())

    async def get_version(self, model_name: str, version: int) -> ModelVersion | None:
        cur = await self.conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM model_versions WHERE model_name = %s AND version = %s",
            (model_name, version),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        return _version(row, await self._evaluations(model_name, version))

    async def find_version_by_request(self, model_name: str, request_id: str) -> ModelVersion | None:
        cur = await self.conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM model_versions WHERE model_name = %s AND request_id = %s",
            (model_name, request_id),
        )
        row = await cur.fetchone()
        return _version(row, await self._evaluations(row[0], row[1])) if row else None

    async def add_evaluation(self, model_name: str, version: int, result: EvaluationResult) -> bool:
        cur = await self.conn.execute(
            "INSERT INTO evaluation_results (model_name, version, evaluation_run_id, metrics, report_uri,"
            " completed_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (model_name, version, result.evaluation_run_id, json.dumps(result.metrics), result.report_uri or None,
             result.completed_at),
        )
        return cur.rowcount == 1

    async def claim_event(self, consumer: str, event_id: uuid.UUID) -> bool:
        return await claim_event(self.conn, consumer, event_id)

    async def _evaluations(self, model_name: str, version: int) -> tuple[EvaluationResult, ...]:
        cur = await self.conn.execute(
            "SELECT evaluation_run_id, metrics, report_uri, completed_at FROM evaluation_results"
            " WHERE model_name = %s AND version = %s ORDER BY completed_at, evaluation_run_id",
            (model_name, version),
        )
        return tuple(EvaluationResult(r[0], dict(r[1]), r[2] or "", r[3]) for r in await cur.fetchall())


def _model(row: tuple) -> RegisteredModel:
    name, description, tags, latest, created_at, updated_at = row
    return RegisteredModel(name, description, dict(tags), int(latest), created_at, updated_at)


def _lineage_json(lineage: Lineage) -> dict[str, Any]:
    return {
        "dataset_versions": list(lineage.dataset_versions),
        "prompt_version": lineage.prompt_version,
        "training_run_id": lineage.training_run_id,
        "code_version": lineage.code_version,
        "config_hash": lineage.config_hash,
    }


def _version(row: tuple, evaluations: tuple[EvaluationResult, ...]) -> ModelVersion:
    (model_name, version, uri, kind, base, fmt, size, sha, tags, lineage, created_by, request_id, created_at) = row
    lineage = dict(lineage)
    lineage["dataset_versions"] = tuple(lineage.get("dataset_versions", ()))
    return ModelVersion(
        model_name, int(version), uri, ModelKind(kind), base or "", fmt, int(size), sha, dict(tags),
        Lineage(**lineage), created_by, request_id or "", created_at, evaluations,
    )


# -- in memory -----------------------------------------------------------------------------------------


class InMemoryRegistry:
    """The committed state the fake units of work share."""

    def __init__(self) -> None:
        self.models: dict[str, RegisteredModel] = {}
        self.versions: dict[tuple[str, int], ModelVersion] = {}
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.outbox: list[Envelope[Any]] = []

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)


class InMemoryUnitOfWork(RegistryUnitOfWork):
    """Stages changes on copies and publishes them to the shared state only on commit."""

    def __init__(self, state: InMemoryRegistry) -> None:
        self.state = state

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.models = dict(self.state.models)
        self.versions = dict(self.state.versions)
        self.inbox = set(self.state.inbox)
        return self

    async def commit(self) -> None:
        self.state.models, self.state.versions, self.state.inbox = self.models, self.versions, self.inbox
        self.state.outbox.extend(self.events)
        self.events = []

    async def rollback(self) -> None:
        self.events = []

    async def create_model(self, model: RegisteredModel) -> RegisteredModel:
        if model.name in self.models:
            raise AlreadyExists(f"registered model {model.name!r} already exists", field="name")
        now = datetime.now(UTC)
        created = RegisteredModel(model.name, model.description, dict(model.tags), 0, now, now)
        self.models[model.name] = created
        return created

    async def get_model(self, name: str) -> RegisteredModel | None:
        return self.models.get(name)

    async def next_version(self, model_name: str) -> int | None:
        model = self.models.get(model_name)
        if model is None:
            return None
        self.models[model_name] = replace(model, latest_version=model.latest_version + 1, updated_at=datetime.now(UTC))
        return model.latest_version + 1

    async def add_version(self, version: ModelVersion) -> ModelVersion:
        stored = replace(version, created_at=datetime.now(UTC))
        self.versions[(version.model_name, version.version)] = stored
        return stored

    async def get_version(self, model_name: str, version: int) -> ModelVersion | None:
        return self.versions.get((model_name, version))

    async def find_version_by_request(self, model_name: str, request_id: str) -> ModelVersion | None:
        return next(
            (v for v in self.versions.values() if v.model_name == model_name and v.request_id == request_id), None
        )

    async def add_evaluation(self, model_name: str, version: int, result: EvaluationResult) -> bool:
        current = self.versions[(model_name, version)]
        if any(e.evaluation_run_id == result.evaluation_run_id for e in current.evaluations):
            return False
        self.versions[(model_name, version)] = replace(current, evaluations=(*current.evaluations, result))
        return True

    async def claim_event(self, consumer: str, event_id: uuid.UUID) -> bool:
        if (consumer, event_id) in self.inbox:
            return False
        self.inbox.add((consumer, event_id))
        return True
