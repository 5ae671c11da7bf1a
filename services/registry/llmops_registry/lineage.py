"""The lineage graph of a model version: upstream (dataset versions, prompt version, training run, code
version, base model chain, evaluations) and downstream (aliases that hold it, serving deployments that
serve or served it, versions built on it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC

from llmops_common.errors import NotFound
from llmops_common.validation import quote
from llmops_registry.domain.governance import parse_model_uri
from llmops_registry.domain.model import ModelVersion
from llmops_registry.store import RegistryUnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # dataset_version | prompt_version | training_run | model_version | evaluation_run | alias | deployment
    #            | code_version
    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Edge:
    from_id: str
    to_id: str
    relation: str


@dataclass
class Graph:
    root_id: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def add(self, node: Node, edge: Edge | None = None) -> None:
        self.nodes.setdefault(node.id, node)
        if edge is not None and edge not in self.edges:
            self.edges.append(edge)


def _version_node(version: ModelVersion) -> Node:
    return Node(version.uri, "model_version", version.uri,
                {"kind": version.kind.value, "sha256": version.sha256, "artifact_uri": version.artifact_uri})


async def _upstream(tx: RegistryUnitOfWork, graph: Graph, version: ModelVersion, depth: int) -> None:
    me = version.uri
    lineage = version.lineage
    for dataset in lineage.dataset_versions:
        graph.add(Node(f"dataset:{dataset}", "dataset_version", dataset), Edge(f"dataset:{dataset}", me, "trained_on"))
    if lineage.prompt_version:
        pid = f"prompt:{lineage.prompt_version}"
        graph.add(Node(pid, "prompt_version", lineage.prompt_version), Edge(pid, me, "prompted_with"))
    if lineage.training_run_id:
        rid = f"run:{lineage.training_run_id}"
        graph.add(Node(rid, "training_run", lineage.training_run_id, {"config_hash": lineage.config_hash}),
                  Edge(rid, me, "produced"))
    if lineage.code_version:
        cid = f"code:{lineage.code_version}"
        graph.add(Node(cid, "code_version", lineage.code_version), Edge(cid, me, "built_by"))
    for result in version.evaluations:
        eid = f"evaluation:{result.evaluation_run_id}"
        graph.add(Node(eid, "evaluation_run", result.evaluation_run_id,
                       {k: f"{v:g}" for k, v in result.metrics.items()}), Edge(me, eid, "evaluated_by"))
    if version.base_model_version and depth > 0:
        ref = parse_model_uri(version.base_model_version)
        base = await tx.get_version(ref.model_name, ref.version or 0)
        if base is not None:
            graph.add(_version_node(base), Edge(base.uri, me, "base_of"))
            await _upstream(tx, graph, base, depth - 1)


async def _downstream(tx: RegistryUnitOfWork, graph: Graph, version: ModelVersion, depth: int) -> None:
    me = version.uri
    for alias in version.aliases:
        aid = f"alias:{version.model_name}@{alias}"
        graph.add(Node(aid, "alias", f"models:/{version.model_name}@{alias}"), Edge(me, aid, "held_by"))
    for served in await tx.deployments_of(version.model_name, version.version):
        did = f"deployment:{served.deployment}@{served.replica}"
        attributes = {"alias": served.alias, "replica": served.replica,
                      "loaded_at": served.loaded_at.astimezone(UTC).isoformat(),
                      "current": str(served.current).lower(), "prompt_version": served.prompt_version}
        graph.add(Node(did, "deployment", served.deployment, attributes), Edge(me, did, "deployed_as"))
    if depth <= 0:
        return
    for derived in await tx.versions_based_on(me):
        graph.add(_version_node(derived), Edge(me, derived.uri, "base_of"))
        await _downstream(tx, graph, derived, depth - 1)


async def lineage(uow: UnitOfWorkFactory, model_name: str, version: int, *, max_depth: int = 3) -> Graph:
    depth = max(1, min(max_depth or 3, 10))
    async with uow(readonly=True) as tx:
        root = await tx.get_version(model_name, version)
        if root is None:
            raise NotFound(f"model version {quote(model_name)}/{version} not found", field="version")
        graph = Graph(root.uri)
        graph.add(_version_node(root))
        await _upstream(tx, graph, root, depth)
        await _downstream(tx, graph, root, depth)
    return graph
