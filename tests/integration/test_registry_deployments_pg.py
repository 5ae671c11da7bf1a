"""The registry's deployment consumer on real PostgreSQL and NATS: serving's ``deployment.updated``
recorded once under redelivery, out-of-order switches, and the deployments in a version's lineage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmops_common.auth import Principal, Role
from llmops_common.errors import NotFound
from llmops_common.events import Envelope
from llmops_common.events.serving import DeploymentUpdated
from llmops_common.testing.waiting import wait_for
from llmops_registry import handlers
from llmops_registry.domain.model import RegisterModel
from llmops_registry.lineage import lineage

pytestmark = pytest.mark.integration
DEV = Principal("k1", "dev", Role.DEVELOPER)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def bot(registry):
    """The registry with model ``bot`` at versions 1-3."""
    await handlers.register_model(registry, RegisterModel("bot"), actor=DEV)
    for _ in range(3):
        await registry.new_version("bot")
    return registry


def updated(version: int, *, replica: str = "r1", seconds: int = 0) -> Envelope:
    payload = DeploymentUpdated(deployment="bot@production", model_name="bot", version=version, alias="production",
                                replica=replica, model_version_uri=f"models:/bot/{version}", prompt_version="sp/1")
    envelope = Envelope.wrap(payload, producer="serving")
    return envelope.model_copy(update={"occurred_at": T0 + timedelta(seconds=seconds)})


async def served(bot, version: int) -> dict[str, tuple[str, str]]:
    graph = await lineage(bot, "bot", version)
    edges = {(e.from_id, e.to_id, e.relation) for e in graph.edges}
    nodes = [n for n in graph.nodes.values() if n.kind == "deployment"]
    assert all((f"models:/bot/{version}", n.id, "deployed_as") in edges for n in nodes)
    return {n.id: (n.attributes["current"], n.attributes["loaded_at"]) for n in nodes}


async def test_deployments_are_recorded_once_under_redelivery(bot, pg_pool, make_bus, unique_name):
    bus = make_bus()
    handled = []

    async def on_updated(envelope):
        handled.append(await handlers.record_deployment(bot, envelope))

    bus.subscribe(DeploymentUpdated.event_type, durable=f"reg-{unique_name}", handler=on_updated)
    await bus.start()
    await bus.js.purge_stream("LLMOPS_SERVING", subject=DeploymentUpdated.event_type)
    event = updated(2)
    await bus.publish(event)
    await bus.publish_raw(event.subject, event.to_bytes(), {"Nats-Msg-Id": f"copy-{unique_name}"})
    await wait_for(lambda: len(handled) == 2, what="both deliveries")
    assert handled == [True, False]
    assert await served(bot, 2) == {"deployment:bot@production@r1": ("true", T0.isoformat())}
    async with pg_pool.connection() as conn:
        rows = await (await conn.execute("SELECT count(*) FROM deployment_switches")).fetchone()
    assert rows == (1,)


async def test_switches_in_any_delivery_order_leave_the_latest_current(bot):
    # r1: v1 at t0, v2 at t10, then v1 again at t20 delivered before the v2 switch; r2: v1 at t5
    for event in (updated(1), updated(1, seconds=20), updated(2, seconds=10), updated(1, replica="r2", seconds=5)):
        assert await handlers.record_deployment(bot, event)
    at = (T0 + timedelta(seconds=20)).isoformat()
    assert await served(bot, 1) == {"deployment:bot@production@r1": ("true", at),
                                         "deployment:bot@production@r2": ("true", (T0 + timedelta(seconds=5))
                                                                          .isoformat())}
    assert await served(bot, 2) == {"deployment:bot@production@r1": ("false",
                                                                          (T0 + timedelta(seconds=10)).isoformat())}
    assert await served(bot, 3) == {}
    async with bot(readonly=True) as tx:
        (first,) = [d for d in await tx.deployments_of("bot", 1) if d.replica == "r1"]
    assert (first.alias, first.prompt_version, first.deployment) == ("production", "sp/1", "bot@production")


async def test_an_unknown_version_rolls_back_the_claim(bot, pg_pool):
    event = updated(9)
    with pytest.raises(NotFound):
        await handlers.record_deployment(bot, event)
    async with pg_pool.connection() as conn:
        claims = await (await conn.execute("SELECT count(*) FROM inbox WHERE consumer = %s",
                                           (handlers.DEPLOYMENT_CONSUMER,))).fetchone()
    assert claims == (0,)
