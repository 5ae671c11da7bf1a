"""The registry's unit of work on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

import psycopg

from llmops_common.audit import AuditEntry
from llmops_common.auth import Role
from llmops_common.db import like_prefix
from llmops_common.errors import AlreadyExists
from llmops_common.pagination import Page
from llmops_common.unit_of_work import PostgresUnitOfWork as PostgresTransaction
from llmops_registry.domain.deployment import Deployment, DeploymentSwitch
from llmops_registry.domain.governance import (
    AliasPolicy,
    Decision,
    GateResult,
    MetricGate,
    Promotion,
    PromotionStatus,
    Release,
)
from llmops_registry.domain.model import EvaluationResult, Lineage, ModelKind, ModelVersion, RegisteredModel
from llmops_registry.store import AuditQuery, ModelQuery, PromotionQuery, RegistryUnitOfWork, VersionQuery

_VERSION_COLUMNS = (
    "model_name, version, artifact_uri, kind, base_model_version, format, size_bytes, sha256, tags, lineage,"
    " created_by, request_id, created_at"
)
# One query returns a version with its evaluations and the aliases that hold it.
_VERSION_FIELDS = (
    "v.model_name, v.version, v.artifact_uri, v.kind, v.base_model_version, v.format, v.size_bytes,"
    " v.sha256, v.tags, v.lineage, v.created_by, v.request_id, v.created_at,"
    " COALESCE((SELECT json_agg(json_build_array(e.evaluation_run_id, e.metrics, e.report_uri, e.reported_at,"
    "   e.attached_by, e.trusted, e.recorded_at)"
    "   ORDER BY e.recorded_at, e.evaluation_run_id) FROM evaluation_results e"
    "   WHERE e.model_name = v.model_name AND e.version = v.version), '[]'::json),"
    " COALESCE((SELECT array_agg(a.alias ORDER BY a.alias) FROM aliases a"
    "   WHERE a.model_name = v.model_name AND a.version = v.version), '{}')"
)
_VERSION_SELECT = f"SELECT {_VERSION_FIELDS} FROM model_versions v"
_MODEL_COLUMNS = "name, description, tags, latest_version, created_at, updated_at"
_MODEL_SELECT = (
    f"SELECT {_MODEL_COLUMNS}, COALESCE((SELECT json_object_agg(a.alias, a.version) FROM aliases a"
    " WHERE a.model_name = m.name), '{}'::json) FROM registered_models m"
)
_ALIAS_COLUMNS = (
    "model_name, alias, version, prompt_version, sampling_parameters, previous_version, updated_at, updated_by,"
    " previous_prompt_version, previous_sampling_parameters"
)
_POLICY_COLUMNS = (
    "model_name, alias, protected, gates, required_approvals, approver_role, auto_request, updated_at, updated_by"
)
_PROMOTION_COLUMNS = (
    "p.id, p.model_name, p.alias, p.version, p.prompt_version, p.sampling_parameters, p.status, p.requested_by,"
    " p.reason, p.gate_results, p.required_approvals, p.previous_version, p.request_id, p.created_at, p.closed_at,"
    " COALESCE((SELECT json_agg(json_build_array(d.actor, d.approved, d.comment, d.decided_at)"
    "   ORDER BY d.decided_at) FROM promotion_decisions d WHERE d.promotion_id = p.id), '[]'::json)"
)
_AUDIT_COLUMNS = "id, occurred_at, actor, action, model_name, version, alias, reason, before, after, correlation_id"


class PostgresUnitOfWork(PostgresTransaction, RegistryUnitOfWork):
    """The registry's unit of work on PostgreSQL."""

    # models and versions

    async def create_model(self, model: RegisteredModel) -> RegisteredModel:
        try:
            async with self.conn.transaction():  # savepoint: a duplicate leaves the outer transaction usable
                row = await self._one(
                    f"INSERT INTO registered_models (name, description, tags) VALUES (%s, %s, %s)"
                    f" RETURNING {_MODEL_COLUMNS}, '{{}}'::json",
                    (model.name, model.description, json.dumps(model.tags)),
                )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(f"registered model {model.name!r} already exists", field="name") from None
        return _model(row)

    async def get_model(self, name: str) -> RegisteredModel | None:
        row = await self._one(f"{_MODEL_SELECT} WHERE m.name = %s", (name,))
        return _model(row) if row else None

    async def next_version(self, model_name: str) -> int | None:
        row = await self._one(
            "UPDATE registered_models SET latest_version = latest_version + 1, updated_at = now()"
            " WHERE name = %s RETURNING latest_version",
            (model_name,),
        )
        return int(row[0]) if row else None

    async def add_version(self, version: ModelVersion) -> ModelVersion:
        row = await self._one(
            f"WITH v AS (INSERT INTO model_versions ({_VERSION_COLUMNS}) VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())"
            f" RETURNING {_VERSION_COLUMNS}),"
            " t AS (INSERT INTO model_version_tags (key, value, model_name, version)"
            " SELECT e.key, e.value, v.model_name, v.version FROM v, jsonb_each_text(v.tags) AS e)"
            f" SELECT {_VERSION_COLUMNS}, '[]'::json, '{{}}'::text[] FROM v",
            (
                version.model_name, version.version, version.artifact_uri, version.kind.value,
                version.base_model_version or None, version.format, version.size_bytes, version.sha256,
                json.dumps(version.tags), json.dumps(_lineage_json(version.lineage)), version.created_by,
                version.request_id or None,
            ),
        )
        return _version(row)

    async def get_version(self, model_name: str, version: int) -> ModelVersion | None:
        row = await self._one(f"{_VERSION_SELECT} WHERE v.model_name = %s AND v.version = %s", (model_name, version))
        return _version(row) if row else None

    async def find_version_by_request(self, model_name: str, request_id: str) -> ModelVersion | None:
        row = await self._one(f"{_VERSION_SELECT} WHERE v.model_name = %s AND v.request_id = %s",
                              (model_name, request_id))
        return _version(row) if row else None

    async def latest_version(self, model_name: str) -> ModelVersion | None:
        row = await self._one(
            f"{_VERSION_SELECT} WHERE v.model_name = %s ORDER BY v.version DESC LIMIT 1", (model_name,)
        )
        return _version(row) if row else None

    async def add_evaluation(self, model_name: str, version: int, result: EvaluationResult) -> bool:
        cur = await self.conn.execute(
            "INSERT INTO evaluation_results (model_name, version, evaluation_run_id, metrics, report_uri,"
            " reported_at, attached_by, trusted, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())"
            " ON CONFLICT DO NOTHING",
            (model_name, version, result.evaluation_run_id, json.dumps(result.metrics), result.report_uri or None,
             result.reported_at, result.attached_by, result.trusted),
        )
        return cur.rowcount == 1

    async def list_models(self, query: ModelQuery, page: Page) -> list[RegisteredModel]:
        where, params = ["TRUE"], []
        if query.name_prefix:
            where.append("m.name LIKE %s")
            params.append(like_prefix(query.name_prefix))
        if query.tags:
            where.append("m.tags @> %s")
            params.append(json.dumps(query.tags))
        if page.after:
            where.append("m.name > %s")
            params.append(page.after[0])
        rows = await self._all(
            f"{_MODEL_SELECT} WHERE {' AND '.join(where)} ORDER BY m.name LIMIT %s",
            [*params, page.size],
        )
        return [_model(r) for r in rows]

    async def search_versions(self, query: VersionQuery, page: Page) -> list[ModelVersion]:
        where, params, source, key = ["TRUE"], [], "model_versions v", "v"
        if query.tags:  # walk the tag index in result order; any further tags filter the rows it yields
            (tag, value), *_ = sorted(query.tags.items())
            source = ("model_version_tags t JOIN model_versions v"
                      " ON v.model_name = t.model_name AND v.version = t.version")
            key = "t"
            where += ["t.key = %s", "t.value = %s"]
            params += [tag, value]
        for clause, value in (
            ("v.model_name = %s", query.model_name),
            ("v.model_name LIKE %s", like_prefix(query.name_prefix) if query.name_prefix else ""),
            ("v.tags @> %s", json.dumps(query.tags) if query.tags else ""),
            ("v.kind = %s", query.kind.value if query.kind else ""),
            ("v.base_model_version = %s", query.base_model_version),
            ("EXISTS (SELECT 1 FROM aliases a WHERE a.model_name = v.model_name AND a.version = v.version"
             " AND a.alias = %s)", query.alias),
            ("v.created_at >= %s", query.created_after),
            ("v.created_at < %s", query.created_before),
        ):
            if value:
                where.append(clause)
                params.append(value)
        if page.after:
            where.append(f"({key}.model_name, {key}.version) > (%s, %s)")
            params.extend(page.after)
        rows = await self._all(
            f"SELECT {_VERSION_FIELDS} FROM {source} WHERE {' AND '.join(where)}"
            f" ORDER BY {key}.model_name, {key}.version LIMIT %s",
            [*params, page.size],
        )
        return [_version(r) for r in rows]

    # aliases and policies

    async def try_lock_alias(self, model_name: str, alias: str) -> bool:
        row = await self._one("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (f"{model_name}@{alias}",))
        return bool(row and row[0])

    async def get_alias(self, model_name: str, alias: str) -> Release | None:
        row = await self._one(f"SELECT {_ALIAS_COLUMNS} FROM aliases WHERE model_name = %s AND alias = %s",
                              (model_name, alias))
        return _release(row) if row else None

    async def get_version_by_alias(self, model_name: str, alias: str) -> tuple[ModelVersion, Release] | None:
        release_fields = ", ".join(f"r.{c.strip()}" for c in _ALIAS_COLUMNS.split(","))
        row = await self._one(
            f"SELECT {_VERSION_FIELDS}, {release_fields} FROM aliases r"
            " JOIN model_versions v ON v.model_name = r.model_name AND v.version = r.version"
            " WHERE r.model_name = %s AND r.alias = %s",
            (model_name, alias),
        )
        return (_version(row[:15]), _release(row[15:])) if row else None

    async def put_alias(self, release: Release) -> Release:
        row = await self._one(
            f"INSERT INTO aliases ({_ALIAS_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, now(), %s, %s, %s)"
            " ON CONFLICT (model_name, alias) DO UPDATE SET version = EXCLUDED.version,"
            " prompt_version = EXCLUDED.prompt_version, sampling_parameters = EXCLUDED.sampling_parameters,"
            " previous_version = EXCLUDED.previous_version, updated_at = now(), updated_by = EXCLUDED.updated_by,"
            " previous_prompt_version = EXCLUDED.previous_prompt_version,"
            " previous_sampling_parameters = EXCLUDED.previous_sampling_parameters"
            f" RETURNING {_ALIAS_COLUMNS}",
            (release.model_name, release.alias, release.version, release.prompt_version,
             json.dumps(release.sampling_parameters), release.previous_version, release.updated_by,
             release.previous_prompt_version, json.dumps(release.previous_sampling_parameters)),
        )
        return _release(row)

    async def delete_alias(self, model_name: str, alias: str) -> None:
        await self.conn.execute("DELETE FROM aliases WHERE model_name = %s AND alias = %s", (model_name, alias))

    async def aliases_of(self, model_name: str, version: int) -> list[str]:
        rows = await self._all("SELECT alias FROM aliases WHERE model_name = %s AND version = %s ORDER BY alias",
                               (model_name, version))
        return [r[0] for r in rows]

    async def get_policy(self, model_name: str, alias: str) -> AliasPolicy | None:
        row = await self._one(f"SELECT {_POLICY_COLUMNS} FROM alias_policies WHERE model_name = %s AND alias = %s",
                              (model_name, alias))
        return _policy(row) if row else None

    async def put_policy(self, policy: AliasPolicy) -> AliasPolicy:
        row = await self._one(
            f"INSERT INTO alias_policies ({_POLICY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, now(), %s)"
            " ON CONFLICT (model_name, alias) DO UPDATE SET protected = EXCLUDED.protected, gates = EXCLUDED.gates,"
            " required_approvals = EXCLUDED.required_approvals, approver_role = EXCLUDED.approver_role,"
            " auto_request = EXCLUDED.auto_request, updated_at = now(), updated_by = EXCLUDED.updated_by"
            f" RETURNING {_POLICY_COLUMNS}",
            (policy.model_name, policy.alias, policy.protected, json.dumps([asdict(g) for g in policy.gates]),
             policy.required_approvals, policy.approver_role.name.lower(), policy.auto_request_on_evaluation,
             policy.updated_by),
        )
        return _policy(row)

    async def auto_request_policies(self, model_name: str) -> list[AliasPolicy]:
        rows = await self._all(
            f"SELECT {_POLICY_COLUMNS} FROM alias_policies WHERE model_name = %s AND auto_request ORDER BY alias",
            (model_name,),
        )
        return [_policy(r) for r in rows]

    # promotions

    async def add_promotion(self, promotion: Promotion) -> Promotion:
        await self.conn.execute(
            "INSERT INTO promotions (id, model_name, alias, version, prompt_version, sampling_parameters, status,"
            " requested_by, reason, gate_results, required_approvals, previous_version, request_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (promotion.id, promotion.model_name, promotion.alias, promotion.version, promotion.prompt_version,
             json.dumps(promotion.sampling_parameters), promotion.status.value, promotion.requested_by,
             promotion.reason, json.dumps([_gate_result_json(g) for g in promotion.gate_results]),
             promotion.required_approvals, promotion.previous_version, promotion.request_id or None),
        )
        found = await self.get_promotion(promotion.id)
        assert found is not None
        return found

    async def get_promotion(self, promotion_id: str, *, lock: bool = False) -> Promotion | None:
        try:
            uuid.UUID(promotion_id)
        except ValueError:
            return None
        row = await self._one(
            f"SELECT {_PROMOTION_COLUMNS} FROM promotions p WHERE p.id = %s" + (" FOR UPDATE" if lock else ""),
            (promotion_id,),
        )
        return _promotion(row) if row else None

    async def find_promotion_by_request(self, model_name: str, request_id: str) -> Promotion | None:
        row = await self._one(f"SELECT {_PROMOTION_COLUMNS} FROM promotions p WHERE p.model_name = %s"
                              " AND p.request_id = %s", (model_name, request_id))
        return _promotion(row) if row else None

    async def add_decision(self, promotion_id: str, decision: Decision) -> bool:
        cur = await self.conn.execute(
            "INSERT INTO promotion_decisions (promotion_id, actor, approved, comment) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (promotion_id, decision.actor, decision.approved, decision.comment),
        )
        return cur.rowcount == 1

    async def close_promotion(self, promotion_id: str, status: PromotionStatus) -> None:
        await self.conn.execute("UPDATE promotions SET status = %s, closed_at = now() WHERE id = %s",
                                (status.value, promotion_id))

    async def list_promotions(self, query: PromotionQuery, page: Page) -> list[Promotion]:
        where, params = ["TRUE"], []
        for clause, value in (("p.model_name = %s", query.model_name), ("p.alias = %s", query.alias),
                              ("p.status = %s", query.status.value if query.status else "")):
            if value:
                where.append(clause)
                params.append(value)
        if page.after:
            where.append("(p.created_at, p.id) < (%s, %s)")
            params.extend(page.after)
        rows = await self._all(
            f"SELECT {_PROMOTION_COLUMNS} FROM promotions p WHERE {' AND '.join(where)}"
            " ORDER BY p.created_at DESC, p.id DESC LIMIT %s",
            [*params, page.size],
        )
        return [_promotion(r) for r in rows]

    # lineage and audit

    async def versions_based_on(self, ref: str) -> list[ModelVersion]:
        rows = await self._all(f"{_VERSION_SELECT} WHERE v.base_model_version = %s ORDER BY v.model_name, v.version"
                               " LIMIT 1000", (ref,))
        return [_version(r) for r in rows]

    async def record_deployment(self, switch: DeploymentSwitch) -> None:
        await self.conn.execute(
            "WITH s AS (INSERT INTO deployment_switches (event_id, deployment, replica, model_name, version, alias,"
            " previous_version, prompt_version, loaded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (event_id) DO NOTHING RETURNING event_id, deployment, replica, model_name, version,"
            " loaded_at)"
            " INSERT INTO deployments (event_id, deployment, replica, model_name, version, loaded_at) SELECT * FROM s"
            " ON CONFLICT (deployment, replica) DO UPDATE SET event_id = EXCLUDED.event_id,"
            " model_name = EXCLUDED.model_name, version = EXCLUDED.version, loaded_at = EXCLUDED.loaded_at"
            " WHERE deployments.loaded_at <= EXCLUDED.loaded_at",
            (switch.event_id, switch.deployment, switch.replica, switch.model_name, switch.version, switch.alias,
             switch.previous_version, switch.prompt_version, switch.loaded_at),
        )

    async def deployments_of(self, model_name: str, version: int) -> list[Deployment]:
        rows = await self._all(
            "SELECT DISTINCT ON (s.deployment, s.replica) s.deployment, s.replica, s.model_name, s.version, s.alias,"
            " s.prompt_version, s.loaded_at, (d.model_name, d.version) = (s.model_name, s.version)"
            " FROM deployment_switches s JOIN deployments d ON d.deployment = s.deployment AND d.replica = s.replica"
            " WHERE s.model_name = %s AND s.version = %s"
            " ORDER BY s.deployment, s.replica, s.loaded_at DESC LIMIT 1000",
            (model_name, version),
        )
        return [Deployment(d, r, m, int(v), alias, prompt, loaded_at, bool(current))
                for d, r, m, v, alias, prompt, loaded_at, current in rows]

    async def append_audit(self, entry: AuditEntry) -> None:
        await self.conn.execute(
            "INSERT INTO audit_log (actor, action, model_name, version, alias, reason, before, after, correlation_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (entry.actor, entry.action, entry.subject, entry.version, entry.alias, entry.reason,
             _json_or_none(entry.before), _json_or_none(entry.after), entry.correlation_id),
        )

    async def list_audit(self, query: AuditQuery, page: Page) -> list[AuditEntry]:
        where, params = ["TRUE"], []
        for clause, value in (("model_name = %s", query.model_name), ("actor = %s", query.actor),
                              ("action = %s", query.action), ("occurred_at >= %s", query.after),
                              ("occurred_at < %s", query.before)):
            if value:
                where.append(clause)
                params.append(value)
        if page.after:
            where.append("id < %s")
            params.append(page.after[0])
        rows = await self._all(
            f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT %s",
            [*params, page.size],
        )
        return [_audit(r) for r in rows]


def _json_or_none(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _model(row: tuple) -> RegisteredModel:
    name, description, tags, latest, created_at, updated_at, aliases = row
    return RegisteredModel(name, description, dict(tags), int(latest), created_at, updated_at,
                           {k: int(v) for k, v in aliases.items()})


def _lineage_json(lineage: Lineage) -> dict[str, Any]:
    return {
        "dataset_versions": list(lineage.dataset_versions),
        "prompt_version": lineage.prompt_version,
        "training_run_id": lineage.training_run_id,
        "code_version": lineage.code_version,
        "config_hash": lineage.config_hash,
    }


def _version(row: tuple) -> ModelVersion:
    (model_name, version, uri, kind, base, fmt, size, sha, tags, lineage, created_by, request_id, created_at,
     evaluations, aliases) = row
    lineage = dict(lineage)
    lineage["dataset_versions"] = tuple(lineage.get("dataset_versions", ()))
    return ModelVersion(
        model_name, int(version), uri, ModelKind(kind), base or "", fmt, int(size), sha, dict(tags),
        Lineage(**lineage), created_by, request_id or "", created_at,
        tuple(EvaluationResult(e[0], dict(e[1]), e[2] or "", _ts(e[3]) if e[3] else None, e[4], e[5], _ts(e[6]))
              for e in evaluations),
        tuple(aliases),
    )


def _ts(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _release(row: tuple) -> Release:
    model_name, alias, version, prompt_version, params, previous, updated_at, updated_by, prev_prompt, prev_params = row
    return Release(model_name, alias, int(version), prompt_version, dict(params),
                   int(previous) if previous is not None else None, updated_at, updated_by, prev_prompt,
                   dict(prev_params))


def _policy(row: tuple) -> AliasPolicy:
    model_name, alias, protected, gates, approvals, approver_role, auto, updated_at, updated_by = row
    return AliasPolicy(model_name, alias, protected, tuple(MetricGate(**g) for g in gates), int(approvals),
                       Role.parse(approver_role), auto, updated_at, updated_by)


def _gate_result_json(result: GateResult) -> dict[str, Any]:
    return {"gate": asdict(result.gate), "passed": result.passed, "candidate_value": result.candidate_value,
            "current_value": result.current_value, "message": result.message}


def _promotion(row: tuple) -> Promotion:
    (pid, model_name, alias, version, prompt_version, params, status, requested_by, reason, gates, approvals,
     previous, request_id, created_at, closed_at, decisions) = row
    return Promotion(
        str(pid), model_name, alias, int(version), prompt_version, dict(params), PromotionStatus(status),
        requested_by, reason,
        tuple(GateResult(MetricGate(**g["gate"]), g["passed"], g["candidate_value"], g["current_value"],
                         g["message"]) for g in gates),
        int(approvals), int(previous) if previous is not None else None, request_id or "",
        tuple(Decision(d[0], d[1], d[2], _ts(d[3])) for d in decisions), created_at, closed_at,
    )


def _audit(row: tuple) -> AuditEntry:
    entry_id, occurred_at, actor, action, model_name, version, alias, reason, before, after, corr = row
    return AuditEntry(actor, action, model_name, int(version) if version is not None else None, alias, reason,
                      before, after, corr, int(entry_id), occurred_at)
