"""The registry's deployment consumer (``llmops.serving.deployment.updated``) and the deployments in a
version's lineage, against the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_common.auth import Principal, Role
from llmops_common.errors import InvalidArgument, NotFound
from llmops_common.events import Envelope, parse_envelope
from llmops_common.events.serving import DeploymentFailed, DeploymentUpdated, InferenceCompleted
from llmops_common.testing.fakes import InMemoryArtifacts
from llmops_registry import handlers
from llmops_registry.api import events
from llmops_registry.domain.model import CreateModelVersion, ModelKind, RegisterModel
from llmops_registry.lineage import lineage
from llmops_registry.store.memory import InMemoryRegistry

URI = "s3://llmops-models/bot/1"
ANN = Principal("k1", "ann", Role.DEVELOPER)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def registry_with(versions: int) -> InMemoryRegistry:
    state = InMemoryRegistry()
    artifacts = InMemoryArtifacts()
    artifacts.put(URI, b"weights")
    await handlers.register_model(state.unit_of_work, RegisterModel("bot"), actor=ANN)
    for _ in range(versions):
        await handlers.create_model_version(state.unit_of_work, artifacts, CreateModelVersion("bot", URI,
                                                                                              ModelKind.BASE),
                                            actor=ANN)
    return state


def updated(version: int, *, replica: str = "r1", at: datetime = T0, uri: str = "", **fields) -> Envelope:
    payload = DeploymentUpdated(deployment="bot@production", model_name="bot", version=version, alias="production",
                                replica=replica, model_version_uri=uri or f"models:/bot/{version}", **fields)
    envelope = Envelope.wrap(payload, producer="serving")
    return envelope.model_copy(update={"occurred_at": at})


def deployment_nodes(graph) -> dict[str, dict[str, str]]:
    return {n.id: n.attributes for n in graph.nodes.values() if n.kind == "deployment"}


async def test_an_update_records_the_deployment_in_the_versions_lineage():
    state = await registry_with(1)
    assert await handlers.record_deployment(state.unit_of_work, updated(1, prompt_version="support/2"))
    graph = await lineage(state.unit_of_work, "bot", 1)
    node = graph.nodes["deployment:bot@production@r1"]
    assert (node.kind, node.ref) == ("deployment", "bot@production")
    assert node.attributes == {"alias": "production", "replica": "r1", "loaded_at": T0.isoformat(),
                               "current": "true", "prompt_version": "support/2"}
    assert ("models:/bot/1", node.id, "deployed_as") in {(e.from_id, e.to_id, e.relation) for e in graph.edges}
    assert state.audit[-1].action == "model_version.created" and len(state.outbox) == 2  # serving's fact, not ours


async def test_redelivery_is_claimed_once_and_changes_nothing():
    state = await registry_with(2)
    first, later = updated(1), updated(2, at=T0 + timedelta(minutes=1))
    assert await handlers.record_deployment(state.unit_of_work, first)
    assert await handlers.record_deployment(state.unit_of_work, later)
    assert await handlers.record_deployment(state.unit_of_work, first) is False
    assert len(state.deployment_switches) == 2
    assert (state.deployments[("bot@production", "r1")].version,
            [d.current for d in await _deployments(state, 2)]) == (2, [True])


async def _deployments(state: InMemoryRegistry, version: int):
    async with state.unit_of_work(readonly=True) as tx:
        return await tx.deployments_of("bot", version)


async def test_a_switch_away_keeps_the_earlier_version_served_but_not_current():
    state = await registry_with(2)
    await handlers.record_deployment(state.unit_of_work, updated(1))
    await handlers.record_deployment(state.unit_of_work, updated(1, replica="r2"))
    await handlers.record_deployment(state.unit_of_work, updated(2, at=T0 + timedelta(seconds=5), previous_version=1))
    old = deployment_nodes(await lineage(state.unit_of_work, "bot", 1))
    assert {k: v["current"] for k, v in old.items()} == {"deployment:bot@production@r1": "false",
                                                         "deployment:bot@production@r2": "true"}
    new = deployment_nodes(await lineage(state.unit_of_work, "bot", 2))
    assert {k: v["current"] for k, v in new.items()} == {"deployment:bot@production@r1": "true"}


@settings(max_examples=50, deadline=None)
@given(st.permutations(range(4)), st.lists(st.integers(1, 3), min_size=4, max_size=4))
async def test_delivery_order_never_changes_what_a_replica_serves_now(order, versions):
    """Switches delivered in any order: the replica serves the version of the one it loaded last."""
    state = await registry_with(3)
    switches = [updated(v, at=T0 + timedelta(seconds=i)) for i, v in enumerate(versions)]
    for i in order:
        assert await handlers.record_deployment(state.unit_of_work, switches[i])
    assert state.deployments[("bot@production", "r1")].version == versions[-1]
    for version in set(versions):
        (served,) = await _deployments(state, version)
        assert served.current is (version == versions[-1])
        assert served.loaded_at == T0 + timedelta(seconds=max(i for i, v in enumerate(versions) if v == version))


async def test_an_unknown_version_raises_and_is_not_claimed():
    state = await registry_with(1)
    with pytest.raises(NotFound):
        await handlers.record_deployment(state.unit_of_work, updated(9))
    assert state.inbox == set() and state.deployment_switches == {}


@pytest.mark.parametrize(("change", "field"), [
    ({"uri": "models:/bot/2"}, "model_version_uri"),
    ({"uri": "models:/bot@production"}, "model_version_uri"),
    ({"replica": ""}, "replica"),
    ({"replica": "r\x00"}, "replica"),
    ({"replica": "r" * 256}, "replica"),
    ({"prompt_version": "p\x00"}, "prompt_version"),
])
async def test_a_hostile_payload_is_refused_by_field_and_writes_nothing(change, field):
    state = await registry_with(1)
    with pytest.raises(InvalidArgument) as err:
        await handlers.record_deployment(state.unit_of_work, updated(1, **change))
    assert err.value.field == field
    assert state.inbox == set() and state.deployments == {}


async def test_the_subscriber_hands_the_event_to_the_consumer():
    state = await registry_with(1)
    bus = _RecordingBus()
    events.subscribe(bus, state.unit_of_work)
    durable, handler = bus.handlers[DeploymentUpdated.event_type]
    assert durable == handlers.DEPLOYMENT_CONSUMER
    await handler(updated(1))
    assert [d.replica for d in await _deployments(state, 1)] == ["r1"]


class _RecordingBus:
    def __init__(self) -> None:
        self.handlers: dict[str, tuple[str, object]] = {}

    def subscribe(self, subject, *, durable, handler, accept=None) -> None:
        self.handlers[subject] = (durable, handler)


def test_serving_payloads_round_trip_through_the_envelope():
    failed = DeploymentFailed(deployment="bot@production", reason="sha256 mismatch", model_name="bot",
                              alias="production", version=3, replica="r1", stage="verify")
    done = InferenceCompleted(request_id="q1", deployment="bot@production", model_name="bot", version=3,
                              release="production", api="chat", prompt=[{"role": "user", "content": "hi"}],
                              output=None, prompt_tokens=3, completion_tokens=5, latency_ms=12.5, ttft_ms=4.0,
                              finish_reason="stop", key_id="k1", user="u", session="s", metadata={"team": "a"},
                              created_at=T0)
    for payload in (failed, done, updated(1).payload):
        assert parse_envelope(Envelope.wrap(payload, producer="serving").to_bytes()).payload == payload
    with pytest.raises(ValueError, match="stage"):
        DeploymentFailed(**{**failed.model_dump(), "stage": "reboot"})
    with pytest.raises(ValueError, match="api"):
        InferenceCompleted(**{**done.model_dump(), "api": "embeddings"})
