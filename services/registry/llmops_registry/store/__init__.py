"""The registry's store contract: the abstract unit of work (its methods are the documented contract),
the query types and the page-token key shapes its lists page by. Rows leave as domain entities.

``postgres`` holds the PostgreSQL adapter; ``memory`` the in-memory fake for unit tests, which
production code never imports.

A unit of work is one transaction: changes and the events they emit (through the outbox) commit
together, or, leaving the block without ``commit()``, neither does.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from llmops_common.audit import AuditEntry
from llmops_common.pagination import Int, KeyShape, Page, Text, Timestamp, Uuid
from llmops_common.unit_of_work import UnitOfWork
from llmops_registry.domain.deployment import Deployment, DeploymentSwitch
from llmops_registry.domain.governance import AliasPolicy, Decision, Promotion, PromotionStatus, Release
from llmops_registry.domain.model import EvaluationResult, ModelKind, ModelVersion, RegisteredModel

#: the sort keys the lists page by (what a page token may carry)
MODELS_PAGE = KeyShape("registry.models", (Text(),))
VERSIONS_PAGE = KeyShape("registry.versions", (Text(), Int(low=1)))
PROMOTIONS_PAGE = KeyShape("registry.promotions", (Timestamp(), Uuid()))
AUDIT_PAGE = KeyShape("registry.audit", (Int(low=1),))


class RegistryUnitOfWork(UnitOfWork):
    """One transaction over the registry's state, its audit log and its outbox."""

    producer = "registry"

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
        """Attach a result, stamping ``recorded_at`` with the store's clock (whatever the result says);
        False if this evaluation run was already attached."""


    # -- listing and search ------------------------------------------------------------------

    @abc.abstractmethod
    async def list_models(self, query: ModelQuery, page: Page) -> list[RegisteredModel]:
        """Models ordered by name, after ``page.after`` (a 1-tuple name), at most ``page.size``."""

    @abc.abstractmethod
    async def search_versions(self, query: VersionQuery, page: Page) -> list[ModelVersion]:
        """Versions ordered by (model name, version), after ``page.after``, at most ``page.size``."""

    @abc.abstractmethod
    async def latest_version(self, model_name: str) -> ModelVersion | None: ...

    # -- aliases and policies ------------------------------------------------------------------

    @abc.abstractmethod
    async def try_lock_alias(self, model_name: str, alias: str) -> bool:
        """Take the alias's move lock for this transaction; False if another move holds it."""

    @abc.abstractmethod
    async def get_alias(self, model_name: str, alias: str) -> Release | None: ...

    @abc.abstractmethod
    async def get_version_by_alias(self, model_name: str, alias: str) -> tuple[ModelVersion, Release] | None:
        """The version an alias holds and its release, in one lookup."""

    @abc.abstractmethod
    async def put_alias(self, release: Release) -> Release: ...

    @abc.abstractmethod
    async def delete_alias(self, model_name: str, alias: str) -> None: ...

    @abc.abstractmethod
    async def aliases_of(self, model_name: str, version: int) -> list[str]: ...

    @abc.abstractmethod
    async def get_policy(self, model_name: str, alias: str) -> AliasPolicy | None: ...

    @abc.abstractmethod
    async def put_policy(self, policy: AliasPolicy) -> AliasPolicy: ...

    @abc.abstractmethod
    async def auto_request_policies(self, model_name: str) -> list[AliasPolicy]: ...

    # -- promotions ------------------------------------------------------------------------------

    @abc.abstractmethod
    async def add_promotion(self, promotion: Promotion) -> Promotion: ...

    @abc.abstractmethod
    async def get_promotion(self, promotion_id: str, *, lock: bool = False) -> Promotion | None: ...

    @abc.abstractmethod
    async def find_promotion_by_request(self, model_name: str, request_id: str) -> Promotion | None: ...

    @abc.abstractmethod
    async def add_decision(self, promotion_id: str, decision: Decision) -> bool:
        """False if this actor already decided on this promotion."""

    @abc.abstractmethod
    async def close_promotion(self, promotion_id: str, status: PromotionStatus) -> None: ...

    @abc.abstractmethod
    async def list_promotions(self, query: PromotionQuery, page: Page) -> list[Promotion]:
        """Newest first: ordered by (created_at, id) descending."""

    # -- lineage and audit -----------------------------------------------------------------------

    @abc.abstractmethod
    async def versions_based_on(self, ref: str) -> list[ModelVersion]:
        """Versions whose base_model_version is ``ref`` (``models:/name/N``)."""

    @abc.abstractmethod
    async def record_deployment(self, switch: DeploymentSwitch) -> None:
        """Keep the switch in the history (once per event id) and make its version the (deployment,
        replica)'s current one, unless a switch loaded later is already recorded (out-of-order delivery)."""

    @abc.abstractmethod
    async def deployments_of(self, model_name: str, version: int) -> list[Deployment]:
        """Every (deployment, replica) that served this version, from its latest switch to it, marked
        ``current`` while it still serves it; ordered by (deployment, replica)."""

    @abc.abstractmethod
    async def list_audit(self, query: AuditQuery, page: Page) -> list[AuditEntry]:
        """Newest first: ordered by id descending."""


UnitOfWorkFactory = Callable[..., RegistryUnitOfWork]  # called as uow() or uow(readonly=True)


@dataclass(frozen=True)
class ModelQuery:
    name_prefix: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionQuery:
    model_name: str = ""
    name_prefix: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    kind: ModelKind | None = None
    base_model_version: str = ""
    alias: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True)
class PromotionQuery:
    model_name: str = ""
    alias: str = ""
    status: PromotionStatus | None = None


@dataclass(frozen=True)
class AuditQuery:
    model_name: str = ""
    actor: str = ""
    action: str = ""
    after: datetime | None = None
    before: datetime | None = None
