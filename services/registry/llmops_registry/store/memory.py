"""An in-memory fake of the registry's unit of work, for unit tests (production code never imports it)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.errors import AlreadyExists
from llmops_common.events import Envelope
from llmops_common.pagination import Page
from llmops_common.unit_of_work import InMemoryUnitOfWork as InMemoryTransaction
from llmops_registry.domain.deployment import Deployment, DeploymentSwitch
from llmops_registry.domain.governance import AliasPolicy, Decision, Promotion, PromotionStatus, Release
from llmops_registry.domain.model import EvaluationResult, ModelVersion, RegisteredModel
from llmops_registry.store import AuditQuery, ModelQuery, PromotionQuery, RegistryUnitOfWork, VersionQuery


class InMemoryRegistry:
    """The committed state the fake units of work share."""

    def __init__(self) -> None:
        self.models: dict[str, RegisteredModel] = {}
        self.versions: dict[tuple[str, int], ModelVersion] = {}
        self.aliases: dict[tuple[str, str], Release] = {}
        self.policies: dict[tuple[str, str], AliasPolicy] = {}
        self.promotions: dict[str, Promotion] = {}
        self.deployments: dict[tuple[str, str], DeploymentSwitch] = {}  # (deployment, replica) -> current
        self.deployment_switches: dict[uuid.UUID, DeploymentSwitch] = {}
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.audit: list[AuditEntry] = []
        self.outbox: list[Envelope[Any]] = []

    def unit_of_work(self, *, readonly: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)


class InMemoryUnitOfWork(InMemoryTransaction, RegistryUnitOfWork):
    """Stages changes on copies and publishes them to the shared state only on commit."""

    tables = ("models", "versions", "aliases", "policies", "promotions", "deployments", "deployment_switches",
              "inbox")

    async def create_model(self, model: RegisteredModel) -> RegisteredModel:
        if model.name in self.models:
            raise AlreadyExists(f"registered model {model.name!r} already exists", field="name")
        now = datetime.now(UTC)
        created = RegisteredModel(model.name, model.description, dict(model.tags), 0, now, now)
        self.models[model.name] = created
        return created

    async def get_model(self, name: str) -> RegisteredModel | None:
        model = self.models.get(name)
        if model is None:
            return None
        return replace(model, aliases={a: r.version for (m, a), r in self.aliases.items() if m == name})

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

    def _with_aliases(self, version: ModelVersion) -> ModelVersion:
        held = tuple(sorted(a for (m, a), r in self.aliases.items() if m == version.model_name
                            and r.version == version.version))
        return replace(version, aliases=held)

    async def get_version(self, model_name: str, version: int) -> ModelVersion | None:
        found = self.versions.get((model_name, version))
        return self._with_aliases(found) if found else None

    async def find_version_by_request(self, model_name: str, request_id: str) -> ModelVersion | None:
        return next(
            (v for v in self.versions.values() if v.model_name == model_name and v.request_id == request_id), None
        )

    async def latest_version(self, model_name: str) -> ModelVersion | None:
        mine = [v for (m, _), v in self.versions.items() if m == model_name]
        return self._with_aliases(max(mine, key=lambda v: v.version)) if mine else None

    async def add_evaluation(self, model_name: str, version: int, result: EvaluationResult) -> bool:
        current = self.versions[(model_name, version)]
        if any(e.evaluation_run_id == result.evaluation_run_id for e in current.evaluations):
            return False
        stored = replace(result, recorded_at=datetime.now(UTC))
        self.versions[(model_name, version)] = replace(current, evaluations=(*current.evaluations, stored))
        return True

    async def list_models(self, query: ModelQuery, page: Page) -> list[RegisteredModel]:
        rows = sorted((m for m in self.models.values() if m.name.startswith(query.name_prefix)
                       and query.tags.items() <= m.tags.items()), key=lambda m: m.name)
        return [m for m in rows if not page.after or m.name > page.after[0]][: page.size]

    async def search_versions(self, query: VersionQuery, page: Page) -> list[ModelVersion]:
        def matches(v: ModelVersion) -> bool:
            return ((not query.model_name or v.model_name == query.model_name)
                    and v.model_name.startswith(query.name_prefix) and query.tags.items() <= v.tags.items()
                    and (query.kind is None or v.kind is query.kind)
                    and (not query.base_model_version or v.base_model_version == query.base_model_version)
                    and (not query.alias or query.alias in v.aliases))
        rows = sorted((self._with_aliases(v) for v in self.versions.values()), key=lambda v: (v.model_name, v.version))
        return [v for v in rows if matches(v) and (not page.after or (v.model_name, v.version) > tuple(page.after))][
            : page.size]

    async def try_lock_alias(self, model_name: str, alias: str) -> bool:
        return True

    async def get_alias(self, model_name: str, alias: str) -> Release | None:
        return self.aliases.get((model_name, alias))

    async def get_version_by_alias(self, model_name: str, alias: str) -> tuple[ModelVersion, Release] | None:
        release = self.aliases.get((model_name, alias))
        version = await self.get_version(model_name, release.version) if release else None
        return (version, release) if version and release else None

    async def put_alias(self, release: Release) -> Release:
        stored = replace(release, updated_at=datetime.now(UTC))
        self.aliases[(release.model_name, release.alias)] = stored
        return stored

    async def delete_alias(self, model_name: str, alias: str) -> None:
        self.aliases.pop((model_name, alias), None)

    async def aliases_of(self, model_name: str, version: int) -> list[str]:
        return sorted(a for (m, a), r in self.aliases.items() if m == model_name and r.version == version)

    async def get_policy(self, model_name: str, alias: str) -> AliasPolicy | None:
        return self.policies.get((model_name, alias))

    async def put_policy(self, policy: AliasPolicy) -> AliasPolicy:
        stored = replace(policy, updated_at=datetime.now(UTC))
        self.policies[(policy.model_name, policy.alias)] = stored
        return stored

    async def auto_request_policies(self, model_name: str) -> list[AliasPolicy]:
        return sorted((p for (m, _), p in self.policies.items() if m == model_name and p.auto_request_on_evaluation),
                      key=lambda p: p.alias)

    async def add_promotion(self, promotion: Promotion) -> Promotion:
        stored = replace(promotion, created_at=datetime.now(UTC))
        self.promotions[promotion.id] = stored
        return stored

    async def get_promotion(self, promotion_id: str, *, lock: bool = False) -> Promotion | None:
        return self.promotions.get(promotion_id)

    async def find_promotion_by_request(self, model_name: str, request_id: str) -> Promotion | None:
        return next((p for p in self.promotions.values() if p.model_name == model_name
                     and p.request_id == request_id), None)

    async def add_decision(self, promotion_id: str, decision: Decision) -> bool:
        promotion = self.promotions[promotion_id]
        if any(d.actor == decision.actor for d in promotion.decisions):
            return False
        self.promotions[promotion_id] = replace(promotion, decisions=(*promotion.decisions, decision))
        return True

    async def close_promotion(self, promotion_id: str, status: PromotionStatus) -> None:
        self.promotions[promotion_id] = replace(self.promotions[promotion_id], status=status,
                                                closed_at=datetime.now(UTC))

    async def list_promotions(self, query: PromotionQuery, page: Page) -> list[Promotion]:
        rows = [p for p in self.promotions.values() if (not query.model_name or p.model_name == query.model_name)
                and (not query.alias or p.alias == query.alias) and (query.status is None or p.status is query.status)]
        return sorted(rows, key=lambda p: p.created_at or datetime.min.replace(tzinfo=UTC), reverse=True)[: page.size]

    async def versions_based_on(self, ref: str) -> list[ModelVersion]:
        return sorted((v for v in self.versions.values() if v.base_model_version == ref),
                      key=lambda v: (v.model_name, v.version))

    async def record_deployment(self, switch: DeploymentSwitch) -> None:
        if switch.event_id in self.deployment_switches:
            return
        self.deployment_switches[switch.event_id] = switch
        key = (switch.deployment, switch.replica)
        if key not in self.deployments or self.deployments[key].loaded_at <= switch.loaded_at:
            self.deployments[key] = switch

    async def deployments_of(self, model_name: str, version: int) -> list[Deployment]:
        latest: dict[tuple[str, str], DeploymentSwitch] = {}
        for s in self.deployment_switches.values():
            key = (s.deployment, s.replica)
            if (s.model_name, s.version) == (model_name, version) and (
                    key not in latest or latest[key].loaded_at < s.loaded_at):
                latest[key] = s
        return [Deployment(s.deployment, s.replica, s.model_name, s.version, s.alias, s.prompt_version, s.loaded_at,
                           (self.deployments[k].model_name, self.deployments[k].version) == (model_name, version))
                for k, s in sorted(latest.items())]

    async def append_audit(self, entry: AuditEntry) -> None:
        self.state.audit.append(replace(entry, id=len(self.state.audit) + 1, occurred_at=datetime.now(UTC)))

    async def list_audit(self, query: AuditQuery, page: Page) -> list[AuditEntry]:
        rows = [e for e in reversed(self.state.audit) if (not query.model_name or e.subject == query.model_name)
                and (not query.actor or e.actor == query.actor) and (not query.action or e.action == query.action)
                and (not page.after or (e.id or 0) < page.after[0])]
        return rows[: page.size]
