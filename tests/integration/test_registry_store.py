"""The registry's handlers on real PostgreSQL, S3 and NATS: alias races, governance, audit and events,
search pagination, and the evaluation consumer under redelivery."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from llmops_common.auth import Principal, Role
from llmops_common.db import migrate, service_migrations
from llmops_common.errors import Conflict, FailedPrecondition, PermissionDenied
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunCompleted
from llmops_common.outbox import OutboxRelay
from llmops_common.pagination import PageTokens
from llmops_common.storage import ArtifactStore
from llmops_common.testing.waiting import wait_for
from llmops_registry import handlers, releases
from llmops_registry.domain.governance import (
    AliasPolicy,
    MetricGate,
    Pin,
    PromotionStatus,
    RequestPromotion,
    Rollback,
    SetAlias,
    latest_metrics,
)
from llmops_registry.domain.model import CreateModelVersion, EvaluationResult, ModelKind, RegisterModel
from llmops_registry.store import AUDIT_PAGE, MODELS_PAGE, VERSIONS_PAGE, AuditQuery, VersionQuery

pytestmark = pytest.mark.integration
DEV = Principal("k1", "dev", Role.DEVELOPER)
ANN = Principal("k2", "ann", Role.APPROVER)
ADMIN = Principal("k3", "root", Role.ADMIN)
EVALUATOR = Principal("k4", "evaluator", Role.SERVICE)
TOKENS = PageTokens(b"test page-token key")


async def counts(pg_pool) -> tuple[int, int]:
    async with pg_pool.connection() as conn:
        audit = (await (await conn.execute("SELECT count(*) FROM audit_log")).fetchone())[0]
        outbox = (await (await conn.execute("SELECT count(*) FROM outbox")).fetchone())[0]
    return audit, outbox


async def test_concurrent_alias_moves_exactly_one_wins(registry, pg_pool):
    await handlers.register_model(registry, RegisterModel("m"), actor=DEV)
    for _ in range(3):
        await registry.new_version("m")
    await releases.set_alias(registry, SetAlias("m", "champion", Pin(1)), actor=DEV)
    before = await counts(pg_pool)

    results = await asyncio.gather(
        *(releases.set_alias(registry,
                             SetAlias("m", "champion", Pin(2 + i % 2), expected_version=1), actor=DEV)
          for i in range(8)),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))
    assert (await releases.get_release(registry, "m", "champion")).version == winners[0][0].version
    after = await counts(pg_pool)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)  # one audit row, one event: nothing half-written

    # a move while another transaction holds the alias is refused at once, not queued behind it
    async with registry() as holder:
        assert await holder.try_lock_alias("m", "champion")
        with pytest.raises(Conflict, match="being moved"):
            await asyncio.wait_for(releases.set_alias(registry, SetAlias("m", "champion", Pin(1)), actor=DEV), 2)


async def test_governed_promotion_on_postgres(registry, pg_pool):
    await handlers.register_model(registry, RegisterModel("gov"), actor=DEV)
    weak, strong = await registry.new_version("gov"), await registry.new_version("gov")
    for version, bleu in ((weak, 20.0), (strong, 35.0)):
        await handlers.attach_evaluation_command(registry, "gov", version,
                                                 EvaluationResult(f"ev{version}", {"bleu": bleu}, "",
                                                                  datetime.now(UTC)),
                                                 actor=EVALUATOR)
    await releases.set_policy(registry, AliasPolicy("gov", "production", True, (MetricGate("bleu", threshold=30.0),),
                                                    required_approvals=1), actor=ADMIN)
    with pytest.raises(PermissionDenied):
        await releases.set_alias(registry, SetAlias("gov", "production", Pin(strong)), actor=ADMIN)
    failed = await releases.request_promotion(registry, RequestPromotion("gov", "production", Pin(weak)), actor=DEV)
    assert failed.status is PromotionStatus.GATES_FAILED
    retried = RequestPromotion("gov", "production", Pin(strong), request_id="r-1")
    pending = await releases.request_promotion(registry, retried, actor=DEV)
    assert pending.status is PromotionStatus.PENDING
    again = await releases.request_promotion(registry, retried, actor=DEV)
    assert again.id == pending.id
    with pytest.raises(PermissionDenied):
        await releases.approve_promotion(registry, pending.id, actor=Principal("k9", "dev", Role.ADMIN))
    approved = await releases.approve_promotion(registry, pending.id, actor=ANN, comment="lgtm")
    assert approved.status is PromotionStatus.APPROVED and approved.decisions[0].actor == "ann"
    version, release = await releases.resolve(registry, "models:/gov@production")
    assert version.version == strong and release.version == strong and version.aliases == ("production",)
    assert (await releases.resolve(registry, "models:/gov@latest"))[0].version == strong
    with pytest.raises(FailedPrecondition, match="no earlier version"):
        await releases.rollback(registry, Rollback("gov", "production"), actor=ANN)

    audit, outbox = await counts(pg_pool)
    assert audit == outbox
    rows, _ = await handlers.list_audit(registry, AuditQuery("gov"), TOKENS.page(100, "", AUDIT_PAGE))
    assert [r.action for r in rows][:3] == ["alias.promoted", "promotion.approved", "promotion.requested"]


async def test_search_by_tag_pages_through_everything_once(registry):
    await handlers.register_model(registry, RegisterModel("a"), actor=DEV)
    await handlers.register_model(registry, RegisterModel("b"), actor=DEV)
    for i in range(25):
        await registry.new_version("a" if i % 2 else "b", team=f"t{i % 3}")
    seen, token = [], ""
    while True:
        rows, last = await handlers.search_versions(registry, VersionQuery(tags={"team": "t0"}),
                                                    TOKENS.page(4, token, VERSIONS_PAGE))
        seen += [(v.model_name, v.version) for v in rows]
        if last is None:
            break
        token = TOKENS.token(last, VERSIONS_PAGE)
    assert len(seen) == len(set(seen)) == 9
    assert seen == sorted(seen)


async def test_evaluation_consumer_is_idempotent_under_redelivery(registry, pg_pool, make_bus, unique_name):
    await handlers.register_model(registry, RegisterModel("ev"), actor=DEV)
    version = await registry.new_version("ev")
    await releases.set_policy(registry, AliasPolicy("ev", "staging", protected=False, required_approvals=0,
                                                    auto_request_on_evaluation=True), actor=ADMIN)
    bus = make_bus()
    handled = []

    async def on_completed(envelope):
        handled.append(await handlers.record_evaluation(registry, envelope))

    bus.subscribe(EvaluationRunCompleted.event_type, durable=f"reg-{unique_name}", handler=on_completed,
                  accept=[EvaluationRunCompleted.event_type])
    await bus.start()
    # start from now: drop what other tests published on this subject
    await bus.js.purge_stream("LLMOPS_EVALUATION", subject=EvaluationRunCompleted.event_type)
    completed = Envelope.wrap(EvaluationRunCompleted(evaluation_run_id=f"run-{unique_name}", model_name="ev",
                                                     model_version=version, metrics={"bleu": 40.0}), producer="t")
    await bus.publish(completed)
    await bus.publish_raw(completed.subject, completed.to_bytes(), {"Nats-Msg-Id": f"copy-{unique_name}"})
    await wait_for(lambda: len(handled) == 2, what="both deliveries")
    assert handled == [True, False]
    found = await handlers.get_model_version(registry, "ev", version)
    assert [e.evaluation_run_id for e in found.evaluations] == [f"run-{unique_name}"]
    # the policy asked for it: the evaluated version was promoted to staging, once
    assert (await releases.get_release(registry, "ev", "staging")).version == version
    audit, outbox = await counts(pg_pool)
    assert audit == outbox

    relay = OutboxRelay(pg_pool, bus.publish_many, schema=unique_name)
    assert await relay.relay_once() == outbox


async def test_lineage_links_data_prompt_run_base_adapter_and_aliases(registry, settings_for, unique_name):
    from llmops_registry.domain.model import Lineage
    from llmops_registry.lineage import lineage

    artifacts = ArtifactStore.from_settings(settings_for())
    uri = f"s3://llmops-models/{unique_name}/weights"
    await handlers.register_model(registry, RegisterModel("base"), actor=DEV)
    await handlers.register_model(registry, RegisterModel("tuned"), actor=DEV)
    base = await registry.new_version("base")
    adapter = await handlers.create_model_version(
        registry, artifacts,
        CreateModelVersion("tuned", uri, ModelKind.ADAPTER, base_model_version=f"models:/base/{base}",
                           lineage=Lineage(("support@abc123",), "support-prompt/2", "run-7", "git:deadbeef", "cfg1")),
        actor=DEV,
    )
    with pytest.raises(FailedPrecondition, match="does not exist"):
        await handlers.create_model_version(
            registry, artifacts, CreateModelVersion("tuned", uri, ModelKind.ADAPTER,
                                                    base_model_version="models:/base/99"),
            actor=DEV)
    await releases.set_alias(registry, SetAlias("tuned", "candidate", Pin(adapter.version)), actor=DEV)

    up = await lineage(registry, "tuned", adapter.version)
    kinds = {n.kind for n in up.nodes.values()}
    assert {"dataset_version", "prompt_version", "training_run", "code_version", "model_version", "alias"} <= kinds
    assert (f"models:/base/{base}", f"models:/tuned/{adapter.version}", "base_of") in {
        (e.from_id, e.to_id, e.relation) for e in up.edges}
    down = await lineage(registry, "base", base)
    assert f"models:/tuned/{adapter.version}" in down.nodes


async def test_list_models_delete_alias_and_reject(registry, pg_pool):
    from llmops_common.errors import NotFound
    from llmops_registry.store import ModelQuery

    for i in range(5):
        await handlers.register_model(registry, RegisterModel(f"lm-{i}", tags={"tier": "gold" if i % 2 else "silver"}),
                                      actor=DEV)
    first, cursor = await handlers.list_models(registry, ModelQuery("lm-"), TOKENS.page(2, "", MODELS_PAGE))
    second, cursor2 = await handlers.list_models(registry, ModelQuery("lm-"),
                                                  TOKENS.page(2, TOKENS.token(cursor, MODELS_PAGE), MODELS_PAGE))
    third, cursor3 = await handlers.list_models(registry, ModelQuery("lm-"),
                                                 TOKENS.page(2, TOKENS.token(cursor2, MODELS_PAGE), MODELS_PAGE))
    assert [m.name for m in first + second + third] == [f"lm-{i}" for i in range(5)] and cursor3 is None
    gold, _ = await handlers.list_models(registry, ModelQuery("lm-", {"tier": "gold"}),
                                         TOKENS.page(10, "", MODELS_PAGE))
    assert [m.name for m in gold] == ["lm-1", "lm-3"]

    version = await registry.new_version("lm-0")
    await releases.set_alias(registry, SetAlias("lm-0", "canary", Pin(version)), actor=DEV)
    assert (await handlers.get_model(registry, "lm-0")).aliases == {"canary": version}
    audit_before, outbox_before = await counts(pg_pool)
    assert (await releases.delete_alias(registry, "lm-0", "canary", actor=DEV)).version == version
    assert await counts(pg_pool) == (audit_before + 1, outbox_before + 1)
    with pytest.raises(NotFound):
        await releases.delete_alias(registry, "lm-0", "canary", actor=DEV)

    await releases.set_policy(registry, AliasPolicy("lm-0", "production", True, (), required_approvals=1), actor=ADMIN)
    with pytest.raises(PermissionDenied):
        await releases.delete_alias(registry, "lm-0", "production", actor=ADMIN)
    pending = await releases.request_promotion(registry,
                                               RequestPromotion("lm-0", "production", Pin(version)), actor=DEV)
    rejected = await releases.reject_promotion(registry, pending.id, reason="not yet", actor=ANN)
    assert rejected.status is PromotionStatus.REJECTED and rejected.decisions[0].approved is False
    with pytest.raises(NotFound):
        await releases.resolve(registry, "models:/lm-0@production")


async def test_gates_count_only_trusted_results_ranked_by_the_registrys_clock(registry):
    await handlers.register_model(registry, RegisterModel("tr"), actor=DEV)
    mine, dated = await registry.new_version("tr"), await registry.new_version("tr")
    await releases.set_policy(registry, AliasPolicy("tr", "production", True, (MetricGate("bleu", threshold=30.0),)),
                              actor=ADMIN)
    future = datetime(2999, 1, 1, tzinfo=UTC)
    shown = await handlers.attach_evaluation_command(registry, "tr", mine,
                                                     EvaluationResult("by-hand", {"bleu": 99.0}, "", future), actor=DEV)
    (own,) = shown.evaluations
    assert (own.attached_by, own.trusted, own.reported_at) == ("dev", False, future)
    assert own.recorded_at <= datetime.now(UTC)
    refused = await releases.request_promotion(registry, RequestPromotion("tr", "production", Pin(mine)), actor=DEV)
    assert refused.status is PromotionStatus.GATES_FAILED and "no trusted bleu" in refused.gate_results[0].message

    completed = Envelope.wrap(EvaluationRunCompleted(evaluation_run_id="by-event", model_name="tr", model_version=mine,
                                                     metrics={"bleu": 99.0}), producer="evaluation")
    assert await handlers.record_evaluation(registry, completed)
    passed = await releases.request_promotion(registry, RequestPromotion("tr", "production", Pin(mine)), actor=DEV)
    assert passed.status is PromotionStatus.PENDING

    # a trusted result dated in the future does not outrank one recorded after it
    await handlers.attach_evaluation_command(registry, "tr", dated,
                                             EvaluationResult("early", {"bleu": 99.0}, "", future), actor=EVALUATOR)
    later = await handlers.attach_evaluation_command(registry, "tr", dated,
                                                     EvaluationResult("later", {"bleu": 10.0}), actor=EVALUATOR)
    assert [e.evaluation_run_id for e in later.evaluations] == ["early", "later"]
    assert latest_metrics(later.evaluations) == {"bleu": 10.0}
    assert (await releases.request_promotion(registry,
                                             RequestPromotion("tr", "production", Pin(dated)), actor=DEV)).status \
        is PromotionStatus.GATES_FAILED


async def test_existing_evaluations_are_trusted_only_if_the_event_consumer_attached_them(pg_pool, unique_name):
    """Migration 0005: a row attached by the evaluation consumer (its audit row and inbox claim share one
    transaction) is trusted; one attached over the API, even by a key named like the service, is not."""
    migrations = service_migrations("llmops_registry")
    before = [m for m in migrations if not m.id.startswith("llmops_registry/") or m.id < "llmops_registry/0005"]
    async with pg_pool.connection() as conn:
        await migrate(conn, unique_name, before)
        await conn.execute("INSERT INTO registered_models (name, latest_version) VALUES ('old', 1)")
        await conn.execute("INSERT INTO model_versions (model_name, version, artifact_uri, kind, size_bytes, sha256,"
                           " created_by) VALUES ('old', 1, 's3://b/old', 'base', 1, 'x', 'dev')")
        future = datetime(2999, 1, 1, tzinfo=UTC)
        for run, actor, by_event in (("ev", handlers.EVALUATION_ACTOR, True), ("api", handlers.EVALUATION_ACTOR, False),
                                     ("orphan", None, False)):
            async with conn.transaction():
                if by_event:
                    await conn.execute("INSERT INTO inbox (consumer, event_id) VALUES (%s, %s)",
                                       (handlers.EVALUATION_CONSUMER, uuid.uuid4()))
                await conn.execute("INSERT INTO evaluation_results (model_name, version, evaluation_run_id, metrics,"
                                   " completed_at) VALUES ('old', 1, %s, '{\"bleu\": 50}', %s)", (run, future))
                if actor:
                    await conn.execute("INSERT INTO audit_log (actor, action, model_name, version, after) VALUES"
                                       " (%s, 'evaluation.attached', 'old', 1, %s)",
                                       (actor, f'{{"evaluation_run_id": "{run}"}}'))
            await asyncio.sleep(0.01)  # separate transactions start at separate instants
        await migrate(conn, unique_name, migrations)
        rows = await (await conn.execute(
            "SELECT evaluation_run_id, attached_by, trusted, recorded_at <= now(), reported_at FROM evaluation_results"
            " ORDER BY evaluation_run_id")).fetchall()
    assert rows == [("api", handlers.EVALUATION_ACTOR, False, True, future),
                    ("ev", handlers.EVALUATION_ACTOR, True, True, future), ("orphan", "", False, True, future)]
