"""The registry's use cases against the in-memory unit of work and artifacts (same ports as the real ones)."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import llmops_registry
from llmops_common.auth import Principal, Role
from llmops_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunCompleted
from llmops_common.testing.fakes import InMemoryArtifacts
from llmops_registry import handlers
from llmops_registry.domain.model import CreateModelVersion, ModelKind, RegisterModel
from llmops_registry.store.memory import InMemoryRegistry

URI = "s3://llmops-models/m/1"
ANN = Principal("k1", "ann", Role.DEVELOPER)


@pytest.fixture
def state():
    return InMemoryRegistry()


@pytest.fixture
def artifacts():
    fake = InMemoryArtifacts()
    fake.put(URI, b"weights")
    return fake


async def test_register_then_duplicate_is_already_exists_and_changes_nothing(state):
    await handlers.register_model(state.unit_of_work, RegisterModel("m", "first"), actor=ANN)
    with pytest.raises(AlreadyExists):
        await handlers.register_model(state.unit_of_work, RegisterModel("m", "second"), actor=ANN)
    assert (await handlers.get_model(state.unit_of_work, "m")).description == "first"


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 256])
async def test_invalid_names_are_refused(state, name):
    with pytest.raises(InvalidArgument) as err:
        await handlers.register_model(state.unit_of_work, RegisterModel(name), actor=ANN)
    assert err.value.field == "name"
    assert state.models == {}


async def test_versions_are_numbered_and_emit_one_event_each(state, artifacts):
    await handlers.register_model(state.unit_of_work, RegisterModel("m"), actor=ANN)
    cmd = CreateModelVersion("m", URI, ModelKind.BASE)
    v1 = await handlers.create_model_version(state.unit_of_work, artifacts, cmd, actor=ANN, correlation_id="c1")
    v2 = await handlers.create_model_version(state.unit_of_work, artifacts, cmd, actor=ANN, correlation_id="c1")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.size_bytes == len(b"weights") and len(v1.sha256) == 64
    assert [e.payload.version for e in state.outbox if e.type.endswith("model_version.created")] == [1, 2]
    assert [a.action for a in state.audit] == ["model.created", "model_version.created", "model_version.created"]
    assert {e.correlation_id for e in state.outbox if e.type.endswith("model_version.created")} == {"c1"}


async def test_request_id_makes_create_idempotent(state, artifacts):
    await handlers.register_model(state.unit_of_work, RegisterModel("m"), actor=ANN)
    cmd = CreateModelVersion("m", URI, ModelKind.BASE, request_id="req-1")
    first = await handlers.create_model_version(state.unit_of_work, artifacts, cmd, actor=ANN)
    again = await handlers.create_model_version(state.unit_of_work, artifacts, cmd, actor=ANN)
    assert first.version == again.version == 1
    assert [e.type for e in state.outbox] == ["llmops.registry.model.created", "llmops.registry.model_version.created"]


async def test_missing_artifact_is_failed_precondition_and_writes_nothing(state, artifacts):
    await handlers.register_model(state.unit_of_work, RegisterModel("m"), actor=ANN)
    cmd = CreateModelVersion("m", "s3://llmops-models/missing", ModelKind.BASE)
    with pytest.raises(FailedPrecondition, match="no artifact"):
        await handlers.create_model_version(state.unit_of_work, artifacts, cmd, actor=ANN)
    assert state.versions == {} and len(state.outbox) == 1  # only model.created
    assert state.models["m"].latest_version == 0


async def test_unknown_model_and_adapter_without_base(state, artifacts):
    with pytest.raises(NotFound):
        await handlers.create_model_version(
            state.unit_of_work, artifacts, CreateModelVersion("nope", URI, ModelKind.BASE), actor=ANN,
        )
    with pytest.raises(InvalidArgument) as err:
        await handlers.create_model_version(
            state.unit_of_work, artifacts, CreateModelVersion("m", URI, ModelKind.ADAPTER), actor=ANN,
        )
    assert err.value.field == "base_model_version"


async def test_evaluation_is_recorded_once_per_event(state, artifacts):
    await handlers.register_model(state.unit_of_work, RegisterModel("m"), actor=ANN)
    await handlers.create_model_version(
        state.unit_of_work, artifacts, CreateModelVersion("m", URI, ModelKind.BASE), actor=ANN
    )
    event = Envelope.wrap(
        EvaluationRunCompleted(evaluation_run_id="e1", model_name="m", model_version=1, metrics={"rougeL": 0.5}),
        producer="evaluation",
    )
    assert await handlers.record_evaluation(state.unit_of_work, event) is True
    assert await handlers.record_evaluation(state.unit_of_work, event) is False
    version = await handlers.get_model_version(state.unit_of_work, "m", 1)
    assert [e.metrics for e in version.evaluations] == [{"rougeL": 0.5}]


async def test_evaluation_for_unknown_version_raises_and_is_not_claimed(state):
    event = Envelope.wrap(
        EvaluationRunCompleted(evaluation_run_id="e1", model_name="m", model_version=9, metrics={}),
        producer="evaluation",
    )
    with pytest.raises(NotFound):
        await handlers.record_evaluation(state.unit_of_work, event)
    assert state.inbox == set()


def _imports(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere in its body (function-level imports too, so a
    cycle cannot hide in a deferred import)."""
    names = {".".join(p.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__"): p
             for p in package.rglob("*.py")}
    graph = {}
    for name, path in names.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = {m for m in found if m in names and m != name}
    return graph


def test_registry_modules_import_without_cycles():
    graph = _imports(Path(llmops_registry.__file__).parent)
    assert "llmops_registry.releases" in graph["llmops_registry.handlers"]
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")
