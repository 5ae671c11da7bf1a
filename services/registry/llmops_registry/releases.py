"""Aliases and releases, alias policies, promotions with gates and approvals, and rollback.

Every alias move goes through ``move_alias``: it takes the alias's move lock for the transaction (a
second, concurrent move gets ABORTED at once rather than waiting and overwriting), checks the caller's
expected version, writes the release with the version it replaces (what rollback restores), and
records one audit row and one ``alias.moved`` event.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.auth import Principal, Role
from llmops_common.errors import AlreadyExists, Conflict, FailedPrecondition, NotFound, PermissionDenied
from llmops_common.events.registry import (
    AliasMoved,
    PolicySet,
    PromotionApproved,
    PromotionRejected,
    PromotionRequested,
)
from llmops_common.pagination import Page
from llmops_common.validation import quote
from llmops_registry.domain.governance import (
    AliasPolicy,
    Decision,
    Pin,
    Promotion,
    PromotionStatus,
    Release,
    RequestPromotion,
    Rollback,
    SetAlias,
    evaluate_gates,
    latest_metrics,
    parse_model_uri,
    validate_alias,
)
from llmops_registry.domain.model import ModelVersion
from llmops_registry.store import PromotionQuery, RegistryUnitOfWork, UnitOfWorkFactory


def _release_json(release: Release | None) -> dict[str, Any] | None:
    return release.pin.as_json() if release else None


def _alias_moved(model_name: str, alias: str, before: Release | None, after: Pin | None) -> AliasMoved:
    """The ``alias.moved`` event from what the alias held to ``after`` (None: the alias was deleted)."""
    moved = {"new_version": after.version, "prompt_version": after.prompt_version or None,
             "parameters": dict(after.sampling_parameters)} if after else {}
    return AliasMoved(model_name=model_name, alias=alias, previous_version=before.version if before else None, **moved)


async def _require_version(tx: RegistryUnitOfWork, model_name: str, version: int) -> ModelVersion:
    found = await tx.get_version(model_name, version)
    if found is None:
        if await tx.get_model(model_name) is None:
            raise NotFound(f"registered model {quote(model_name)} not found", field="model_name")
        raise NotFound(f"model version {quote(model_name)}/{version} not found", field="version")
    return found


async def move_alias(tx: RegistryUnitOfWork, cmd: SetAlias, *, actor: str, action: str,
                     correlation_id: str | None) -> tuple[Release, Release | None]:
    model_name, alias = cmd.model_name, cmd.alias
    if not await tx.try_lock_alias(model_name, alias):
        raise Conflict(f"{model_name}@{alias} is being moved by another request; retry", field="alias")
    current = await tx.get_alias(model_name, alias)
    if cmd.expected_version is not None and (current.version if current else 0) != cmd.expected_version:
        held = current.version if current else "nothing"
        raise Conflict(f"{model_name}@{alias} holds {held}, not the expected {cmd.expected_version}",
                       field="expected_version")
    release = await tx.put_alias(Release.pinning(model_name, alias, cmd.pin, replacing=current, by=actor))
    tx.record(
        AuditEntry(actor, action, model_name, release.version, alias, cmd.reason, _release_json(current),
                   _release_json(release), correlation_id),
        _alias_moved(model_name, alias, current, cmd.pin),
    )
    return release, current


async def _refuse_if_protected(tx: RegistryUnitOfWork, model_name: str, alias: str) -> None:
    policy = await tx.get_policy(model_name, alias)
    if policy is not None and policy.protected:
        raise PermissionDenied(f"{model_name}@{alias} is protected: it moves only by an approved promotion "
                               "(RequestPromotion) or a rollback")


async def set_alias(uow: UnitOfWorkFactory, cmd: SetAlias, *, actor: Principal,
                    correlation_id: str | None = None) -> tuple[Release, Release | None]:
    cmd.validate()
    async with uow() as tx:
        await _require_version(tx, cmd.model_name, cmd.pin.version)
        await _refuse_if_protected(tx, cmd.model_name, cmd.alias)
        moved = await move_alias(tx, cmd, actor=actor.name, action="alias.set", correlation_id=correlation_id)
        await tx.commit()
    return moved


async def delete_alias(uow: UnitOfWorkFactory, model_name: str, alias: str, *, reason: str = "",
                       actor: Principal, correlation_id: str | None = None) -> Release:
    validate_alias(alias)
    async with uow() as tx:
        await _refuse_if_protected(tx, model_name, alias)
        if not await tx.try_lock_alias(model_name, alias):
            raise Conflict(f"{model_name}@{alias} is being moved by another request; retry", field="alias")
        current = await tx.get_alias(model_name, alias)
        if current is None:
            raise NotFound(f"alias {quote(model_name)}@{quote(alias)} not found", field="alias")
        await tx.delete_alias(model_name, alias)
        tx.record(
            AuditEntry(actor.name, "alias.deleted", model_name, current.version, alias, reason,
                       _release_json(current), None, correlation_id),
            _alias_moved(model_name, alias, current, None),
        )
        await tx.commit()
    return current


async def resolve(uow: UnitOfWorkFactory, uri: str) -> tuple[ModelVersion, Release | None]:
    """``models:/name/3``, ``models:/name@alias`` or ``models:/name@latest`` -> the version (and release)."""
    ref = parse_model_uri(uri)
    async with uow(readonly=True) as tx:
        if ref.version is not None:
            found, release = await tx.get_version(ref.model_name, ref.version), None
        elif ref.is_latest:
            found, release = await tx.latest_version(ref.model_name), None
        else:
            held = await tx.get_version_by_alias(ref.model_name, ref.alias or "")
            if held is None:
                raise NotFound(f"alias {quote(ref.model_name)}@{quote(ref.alias)} not found", field="uri")
            found, release = held
    if found is None:
        raise NotFound(f"{quote(uri)} not found", field="uri")
    return found, release


async def get_release(uow: UnitOfWorkFactory, model_name: str, alias: str) -> Release:
    async with uow(readonly=True) as tx:
        release = await tx.get_alias(model_name, alias)
    if release is None:
        raise NotFound(f"alias {quote(model_name)}@{quote(alias)} not found", field="alias")
    return release


# -- policies ------------------------------------------------------------------------------------------


async def set_policy(uow: UnitOfWorkFactory, policy: AliasPolicy, *, reason: str = "", actor: Principal,
                     correlation_id: str | None = None) -> AliasPolicy:
    policy.validate()
    async with uow() as tx:
        if await tx.get_model(policy.model_name) is None:
            raise NotFound(f"registered model {quote(policy.model_name)} not found", field="policy.model_name")
        before = await tx.get_policy(policy.model_name, policy.alias)
        stored = await tx.put_policy(replace(policy, updated_by=actor.name))
        tx.record(
            AuditEntry(actor.name, "policy.set", policy.model_name, None, policy.alias, reason,
                       _policy_json(before), _policy_json(stored), correlation_id),
            PolicySet(model_name=policy.model_name, alias=policy.alias, protected=policy.protected,
                      required_approvals=policy.required_approvals),
        )
        await tx.commit()
    return stored


def _policy_json(policy: AliasPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {"protected": policy.protected, "gates": [asdict(g) for g in policy.gates],
            "required_approvals": policy.required_approvals, "approver_role": policy.approver_role.name.lower(),
            "auto_request_on_evaluation": policy.auto_request_on_evaluation}


async def get_policy(uow: UnitOfWorkFactory, model_name: str, alias: str) -> AliasPolicy:
    async with uow(readonly=True) as tx:
        policy = await tx.get_policy(model_name, alias)
    if policy is None:
        raise NotFound(f"no policy on {quote(model_name)}@{quote(alias)}", field="alias")
    return policy


# -- promotions ----------------------------------------------------------------------------------------


async def open_promotion(tx: RegistryUnitOfWork, policy: AliasPolicy, cmd: RequestPromotion, *, requested_by: str,
                         correlation_id: str | None) -> Promotion:
    """Check the gates and open the request (in the caller's unit of work); with zero approvals
    required and the gates passed, promote at once."""
    model_name, version = cmd.model_name, cmd.pin.version
    candidate = await _require_version(tx, model_name, version)
    current = await tx.get_alias(model_name, policy.alias)
    holder = await tx.get_version(model_name, current.version) if current else None
    results = evaluate_gates(policy.gates, latest_metrics(candidate.evaluations),
                             latest_metrics(holder.evaluations) if holder else None)
    failed = [r for r in results if not r.passed]
    promotion = await tx.add_promotion(Promotion(
        str(uuid.uuid4()), model_name, policy.alias, version, cmd.pin.prompt_version,
        dict(cmd.pin.sampling_parameters), PromotionStatus.GATES_FAILED if failed else PromotionStatus.PENDING,
        requested_by, cmd.reason, tuple(results), policy.required_approvals, current.version if current else None,
        cmd.request_id,
    ))
    audit = AuditEntry(requested_by, "promotion.requested", model_name, version, policy.alias, cmd.reason,
                       _release_json(current), {"promotion_id": promotion.id, "status": promotion.status.value,
                                                "gates": [r.message for r in results]}, correlation_id)
    if failed:
        why = "; ".join(r.message for r in failed)
        await tx.close_promotion(promotion.id, PromotionStatus.GATES_FAILED)
        tx.record(audit, PromotionRejected(request_id=promotion.id, model_name=model_name, version=version,
                                           alias=policy.alias, rejected_by="policy", reason=why))
        return replace(promotion, status=PromotionStatus.GATES_FAILED)
    tx.record(audit, PromotionRequested(request_id=promotion.id, model_name=model_name, version=version,
                                        alias=policy.alias, requested_by=requested_by))
    if policy.required_approvals == 0:
        return await _complete(tx, promotion, approved_by="policy", approvals=0, correlation_id=correlation_id)
    return promotion


async def request_promotion(uow: UnitOfWorkFactory, cmd: RequestPromotion, *, actor: Principal,
                            correlation_id: str | None = None) -> Promotion:
    cmd.validate()
    async with uow() as tx:
        if cmd.request_id and (existing := await tx.find_promotion_by_request(cmd.model_name, cmd.request_id)):
            return existing
        policy = await tx.get_policy(cmd.model_name, cmd.alias)
        if policy is None:
            raise FailedPrecondition(f"{quote(cmd.model_name)}@{quote(cmd.alias)} has no policy: set the alias"
                                     " directly, or set a policy", field="alias")
        promotion = await open_promotion(tx, policy, cmd, requested_by=actor.name, correlation_id=correlation_id)
        await tx.commit()
    return promotion


async def _complete(tx: RegistryUnitOfWork, promotion: Promotion, *, approved_by: str, approvals: int,
                    correlation_id: str | None) -> Promotion:
    await tx.close_promotion(promotion.id, PromotionStatus.APPROVED)
    tx.record(
        AuditEntry(approved_by, "promotion.approved", promotion.model_name, promotion.version, promotion.alias,
                   after={"promotion_id": promotion.id, "approvals": approvals,
                          "required_approvals": promotion.required_approvals}, correlation_id=correlation_id),
        PromotionApproved(request_id=promotion.id, model_name=promotion.model_name, version=promotion.version,
                          alias=promotion.alias, approved_by=approved_by, approvals=approvals,
                          required_approvals=promotion.required_approvals),
    )
    await move_alias(tx, SetAlias(promotion.model_name, promotion.alias, promotion.pin,
                                  reason=f"promotion {promotion.id}"),
                     actor=approved_by, action="alias.promoted", correlation_id=correlation_id)
    return replace(promotion, status=PromotionStatus.APPROVED)


async def _decidable(tx: RegistryUnitOfWork, promotion_id: str, actor: Principal) -> tuple[Promotion, AliasPolicy]:
    promotion = await tx.get_promotion(promotion_id, lock=True)
    if promotion is None:
        raise NotFound(f"promotion {quote(promotion_id)} not found", field="promotion_id")
    if promotion.status is not PromotionStatus.PENDING:
        raise FailedPrecondition(f"promotion {promotion_id} is {promotion.status.value}, not pending")
    policy = await tx.get_policy(promotion.model_name, promotion.alias)
    role = policy.approver_role if policy else Role.APPROVER
    if actor.role < role:
        raise PermissionDenied(f"{actor.name} has role {actor.role.name.lower()}; deciding needs {role.name.lower()}")
    if actor.name == promotion.requested_by:
        raise PermissionDenied(f"{actor.name} requested this promotion and cannot decide on it")
    return promotion, policy or AliasPolicy(promotion.model_name, promotion.alias)


async def approve_promotion(uow: UnitOfWorkFactory, promotion_id: str, *, comment: str = "", actor: Principal,
                            correlation_id: str | None = None) -> Promotion:
    async with uow() as tx:
        promotion, _ = await _decidable(tx, promotion_id, actor)
        if not await tx.add_decision(promotion.id, Decision(actor.name, True, comment)):
            raise AlreadyExists(f"{actor.name} already decided on promotion {promotion_id}")
        approvals = promotion.approvals + 1
        if approvals >= promotion.required_approvals:
            await _complete(tx, promotion, approved_by=actor.name, approvals=approvals, correlation_id=correlation_id)
        else:
            tx.record(
                AuditEntry(actor.name, "promotion.approval_recorded", promotion.model_name, promotion.version,
                           promotion.alias, comment, after={"promotion_id": promotion.id, "approvals": approvals},
                           correlation_id=correlation_id),
                PromotionApproved(request_id=promotion.id, model_name=promotion.model_name, version=promotion.version,
                                  alias=promotion.alias, approved_by=actor.name, approvals=approvals,
                                  required_approvals=promotion.required_approvals),
            )
        await tx.commit()
    return await get_promotion(uow, promotion_id)


async def reject_promotion(uow: UnitOfWorkFactory, promotion_id: str, *, reason: str, actor: Principal,
                           correlation_id: str | None = None) -> Promotion:
    async with uow() as tx:
        promotion, _ = await _decidable(tx, promotion_id, actor)
        await tx.add_decision(promotion.id, Decision(actor.name, False, reason))
        await tx.close_promotion(promotion.id, PromotionStatus.REJECTED)
        tx.record(
            AuditEntry(actor.name, "promotion.rejected", promotion.model_name, promotion.version, promotion.alias,
                       reason, after={"promotion_id": promotion.id}, correlation_id=correlation_id),
            PromotionRejected(request_id=promotion.id, model_name=promotion.model_name, version=promotion.version,
                              alias=promotion.alias, rejected_by=actor.name, reason=reason),
        )
        await tx.commit()
    return await get_promotion(uow, promotion_id)


async def get_promotion(uow: UnitOfWorkFactory, promotion_id: str) -> Promotion:
    async with uow(readonly=True) as tx:
        promotion = await tx.get_promotion(promotion_id)
    if promotion is None:
        raise NotFound(f"promotion {quote(promotion_id)} not found", field="promotion_id")
    return promotion


async def list_promotions(uow: UnitOfWorkFactory, query: PromotionQuery,
                          page: Page) -> tuple[list[Promotion], tuple | None]:
    async with uow(readonly=True) as tx:
        rows = await tx.list_promotions(query, page)
    return rows, page.next_key(rows, lambda p: (p.created_at, p.id))


async def rollback(uow: UnitOfWorkFactory, cmd: Rollback, *, actor: Principal,
                   correlation_id: str | None = None) -> tuple[Release, Release | None]:
    """Point the alias back at the release it held before: that version with its pinned prompt version and
    parameters (approvers only, for a protected alias). A second rollback undoes the first."""
    cmd.validate()
    model_name, alias = cmd.model_name, cmd.alias
    async with uow() as tx:
        current = await tx.get_alias(model_name, alias)
        if current is None:
            raise NotFound(f"alias {quote(model_name)}@{quote(alias)} not found", field="alias")
        if current.previous is None:
            raise FailedPrecondition(f"{model_name}@{alias} has no earlier version to roll back to")
        policy = await tx.get_policy(model_name, alias)
        if policy is not None and policy.protected and actor.role < Role.APPROVER:
            raise PermissionDenied(f"rolling back protected {model_name}@{alias} needs the approver role")
        back = SetAlias(model_name, alias, current.previous, reason=cmd.reason, expected_version=current.version)
        moved = await move_alias(tx, back, actor=actor.name, action="alias.rolled_back",
                                 correlation_id=correlation_id)
        await tx.commit()
    return moved


