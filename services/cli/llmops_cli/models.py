"""``llmops models``: the model registry and its governance, over the registry's gRPC API.

Every command calls one RPC and prints a table (or, with ``--json``, the reply as proto3 JSON: field
names as in the .proto, int64 values as strings, enums by name, unset scalars included).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from enum import StrEnum
from typing import Annotated, Any

import typer
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from llmops.registry.v1 import registry_pb2 as pb
from llmops.registry.v1 import registry_pb2_grpc
from llmops_cli.output import console
from llmops_cli.rpc import ServiceClient
from llmops_cli.services import SERVICES
from llmops_cli.toolkit import (
    ApiKeyOpt,
    JsonOpt,
    PageSizeOpt,
    PageTokenOpt,
    ReasonOpt,
    SinceOpt,
    TagOpt,
    UntilOpt,
    emit,
    enum_value,
    fmt,
    next_page,
    page,
    parse_pairs,
    short_name,
    show_kv,
    time_range,
)

GATE_HELP = (
    "Evaluation gate, repeatable: 'metric>=X' or 'metric<=X' (absolute threshold; the operator says "
    "whether higher or lower is better), 'metric:+D' (must beat the version holding the alias now by at "
    "least D), 'metric:+P%' (by at least P percent); ':-D' / ':-P%' for metrics where lower is better. "
    "Gates on the same metric combine, e.g. --gate 'bleu>=30' --gate 'bleu:+0.5'."
)

models_app = typer.Typer(
    help="Model registry: models, versions, aliases, releases, policies, promotions, lineage, audit.",
    no_args_is_help=True,
)
alias_app = typer.Typer(help="Unprotected aliases: set or delete directly.", no_args_is_help=True)
policy_app = typer.Typer(help="Governance policy of an alias: gates, approvals, protection.", no_args_is_help=True)
models_app.add_typer(alias_app, name="alias")
models_app.add_typer(policy_app, name="policy")

ParamOpt = Annotated[list[str] | None, typer.Option("--param", help="Sampling parameter k=v to pin (repeatable).")]
PromptOpt = Annotated[str, typer.Option("--prompt-version", help="Prompt version to pin, as name/version.")]


class Kind(StrEnum):
    base = "base"
    adapter = "adapter"
    merged = "merged"


class Status(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    gates_failed = "gates_failed"
    superseded = "superseded"


# -- gRPC plumbing ---------------------------------------------------------------------------------

client = ServiceClient(SERVICES["registry"], registry_pb2_grpc.RegistryServiceStub)


@models_app.callback()
def _connect(
    registry: Annotated[str | None, typer.Option("--registry", envvar="LLMOPS_REGISTRY_ENDPOINT",
                                                 help="Registry gRPC endpoint HOST:PORT.")] = None,
    api_key: ApiKeyOpt = None,
) -> None:
    client.configure(registry, api_key)


def call(method: str, request: Message, timeout: float = 30.0) -> Any:
    return client.call(method, request, timeout)


# -- parsing ------------------------------------------------------------------------------------------


def parse_scalar(value: str) -> Any:
    """A sampling parameter value: int, float, true/false, else the string."""
    for kind in (int, float):
        try:
            parsed = kind(value)
        except ValueError:
            continue
        if kind is int or math.isfinite(parsed):
            return parsed
    return {"true": True, "false": False}.get(value.lower(), value)


def to_struct(params: list[str] | None) -> Struct | None:
    if not params:
        return None
    struct = Struct()
    struct.update({k: parse_scalar(v) for k, v in parse_pairs(params, "param").items()})
    return struct


_GATE = re.compile(
    r"^\s*(?P<metric>[^\s<>=:]+)\s*"
    r"(?:(?P<op>>=|<=)\s*(?P<threshold>\S+)|:\s*(?P<sign>[+-])(?P<change>[^%\s]+)(?P<pct>%?))\s*$"
)


def _number(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise typer.BadParameter(f"gate {spec!r}: {text!r} is not a number")
    return value


def parse_gates(specs: list[str] | None) -> list[pb.MetricGate]:
    """``bleu>=30``, ``loss<=0.2``, ``bleu:+0.5``, ``bleu:+2%``, ``loss:-0.1``; gates on one metric merge."""
    gates: dict[str, pb.MetricGate] = {}
    for spec in specs or []:
        match = _GATE.match(spec)
        if not match:
            raise typer.BadParameter(f"gate {spec!r}: use metric>=X, metric<=X, metric:+D or metric:+P%")
        name = match["metric"]
        greater = (match["op"] or match["sign"]) in (">=", "+")
        gate = gates.setdefault(name, pb.MetricGate(metric_name=name, greater_is_better=greater))
        if gate.greater_is_better != greater:
            raise typer.BadParameter(f"gate {spec!r}: conflicting direction for {name}")
        if match["op"]:
            field, value = "threshold", _number(match["threshold"], spec)
        else:
            value = _number(match["change"], spec)
            if value < 0:
                raise typer.BadParameter(f"gate {spec!r}: the change must not be negative")
            field = "min_relative_change" if match["pct"] else "min_absolute_change"
            value = value / 100 if match["pct"] else value
        if gate.HasField(field):
            raise typer.BadParameter(f"gate {spec!r}: {name} already has a {field}")
        setattr(gate, field, value)
    return list(gates.values())


def gate_text(gate: pb.MetricGate) -> str:
    """A gate back in the --gate syntax."""
    parts = []
    sign = "+" if gate.greater_is_better else "-"
    if gate.HasField("threshold"):
        parts.append(f"{gate.metric_name}{'>=' if gate.greater_is_better else '<='}{gate.threshold:g}")
    if gate.HasField("min_absolute_change"):
        parts.append(f"{gate.metric_name}:{sign}{gate.min_absolute_change:g}")
    if gate.HasField("min_relative_change"):
        parts.append(f"{gate.metric_name}:{sign}{gate.min_relative_change * 100:g}%")
    return " ".join(parts) or gate.metric_name


# -- rendering -----------------------------------------------------------------------------------------


def show_versions(versions: list[pb.ModelVersion], title: str = "model versions") -> None:
    table = Table("model", "version", "kind", "base", "artifact", "aliases", "created by", title=title)
    for v in versions:
        table.add_row(v.model_name, str(v.version), short_name(pb.ModelKind, "MODEL_KIND_", v.kind),
                      v.base_model_version or "-", v.artifact_uri, ", ".join(v.aliases) or "-", v.created_by)
    console.print(table)


def show_release(release: pb.Release, previous: int | None = None) -> None:
    params = json.dumps(json_format.MessageToDict(release.sampling_parameters)) \
        if release.sampling_parameters.fields else "-"
    moved = f" (was {previous or 'unset'})" if previous is not None else ""
    console.print(Text.assemble((f"{release.model_name}@{release.alias}", "bold"),
                                f" -> version {release.version}{moved}; prompt {release.prompt_version or '-'};"
                                f" params {params}"))


def show_promotion(p: pb.PromotionRequest) -> None:
    status = short_name(pb.PromotionStatus, "PROMOTION_STATUS_", p.status)
    color = {"approved": "green", "pending": "yellow"}.get(status, "red")
    console.print(Text.assemble("promotion ", (p.id, "bold"), f": {p.model_name}@{p.alias} -> version {p.version} "
                                f"(was {p.previous_version or 'unset'}): ", (status, color),
                                f"; requested by {p.requested_by}; "
                                f"approvals {sum(d.approved for d in p.decisions)}/{p.required_approvals}"))
    if p.gate_results:
        table = Table("gate", "candidate", "current", "result", "message", title="gates")
        for g in p.gate_results:
            table.add_row(gate_text(g.gate), f"{g.candidate_value:g}" if g.HasField("candidate_value") else "-",
                          f"{g.current_value:g}" if g.HasField("current_value") else "-",
                          Text("pass", "green") if g.passed else Text("fail", "red"), g.message)
        console.print(table)
    for d in p.decisions:
        console.print(f"  {'approved' if d.approved else 'rejected'} by {d.actor}: {d.comment}")


def show_promotions(reply: pb.ListPromotionsResponse) -> None:
    table = Table("id", "model", "alias", "version", "status", "requested by", "created", title="promotions")
    for p in reply.promotions:
        status = short_name(pb.PromotionStatus, "PROMOTION_STATUS_", p.status)
        table.add_row(p.id, p.model_name, p.alias, str(p.version), status, p.requested_by, p.created_at.ToJsonString())
    console.print(table)
    next_page(reply.page)


def show_policy(p: pb.AliasPolicy) -> None:
    console.print(Text.assemble(
        "policy of ", (f"{p.model_name}@{p.alias}", "bold"), f": {'protected' if p.protected else 'unprotected'}; "
        f"gates {', '.join(gate_text(g) for g in p.gates) or 'none'}; "
        f"{p.required_approvals} approval(s) by role {p.approver_role or '-'}; "
        f"auto-request {'on' if p.auto_request_on_evaluation else 'off'}; updated by {p.updated_by or '-'}"))


def show_lineage(reply: pb.GetLineageResponse) -> None:
    nodes = {n.id: n for n in reply.nodes}

    def label(node_id: str, relation: str) -> Text:
        node = nodes.get(node_id)
        kind = short_name(pb.LineageNodeKind, "LINEAGE_NODE_KIND_", node.kind) if node else "?"
        return Text.assemble(f"{kind} ", (node.ref if node else node_id, "bold"), " ", (f"({relation})", "dim"))

    def grow(tree: Tree, node_id: str, upstream: bool, seen: set[str]) -> None:
        for e in reply.edges:
            near, far = (e.to_id, e.from_id) if upstream else (e.from_id, e.to_id)
            if near == node_id and far not in seen:
                grow(tree.add(label(far, e.relation)), far, upstream, seen | {far})

    root = Tree(label(reply.root_id, "root"))
    for upstream, title in ((True, "upstream"), (False, "downstream")):
        grow(root.add(title), reply.root_id, upstream, {reply.root_id})
    console.print(root)


def _compact(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def audit_change(event: pb.AuditEvent) -> str:
    """The fields that changed, one ``key: before -> after`` a line."""
    before, after = (json_format.MessageToDict(s) for s in (event.before, event.after))
    def side(values: dict[str, Any], key: str) -> str:
        return _compact(values[key]) if key in values else "-"

    return "\n".join(f"{k}: {side(before, k)} -> {side(after, k)}" for k in dict.fromkeys([*before, *after])
                     if before.get(k) != after.get(k) and (before.get(k) or after.get(k)))


def show_audit(reply: pb.ListAuditEventsResponse) -> None:
    table = Table("when (UTC)", "actor", "action", "model", "version", "alias", "reason", "change", title="audit log")
    for e in reply.events:
        table.add_row(e.occurred_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.model_name,
                      str(e.version or "-"), e.alias or "-", e.reason, audit_change(e))
    console.print(table)
    next_page(reply.page)


# -- models and versions ---------------------------------------------------------------------------------


@models_app.command("create")
def create(name: str, description: Annotated[str, typer.Option(help="Free-text description.")] = "",
           tag: TagOpt = None, as_json: JsonOpt = False) -> None:
    """Register a model name."""
    request = pb.CreateRegisteredModelRequest(name=name, description=description, tags=parse_pairs(tag))
    emit(call("CreateRegisteredModel", request), as_json, lambda m: show_kv(m, f"model {m.name}"))


@models_app.command("get")
def get(name: str, as_json: JsonOpt = False) -> None:
    """One registered model: description, tags, latest version, aliases."""
    emit(call("GetRegisteredModel", pb.GetRegisteredModelRequest(name=name)), as_json,
         lambda m: show_kv(m, f"model {m.name}"))


@models_app.command("list")
def list_models(prefix: Annotated[str, typer.Option(help="Only names starting with this.")] = "",
                tag: TagOpt = None, page_size: PageSizeOpt = 0, page_token: PageTokenOpt = "",
                as_json: JsonOpt = False) -> None:
    """Registered models, by name."""
    request = pb.ListRegisteredModelsRequest(page=page(page_size, page_token), name_prefix=prefix,
                                             tags=parse_pairs(tag))

    def render(reply: pb.ListRegisteredModelsResponse) -> None:
        table = Table("name", "latest", "aliases", "tags", "description", title="models")
        for m in reply.models:
            table.add_row(m.name, str(m.latest_version), fmt(dict(m.aliases)) or "-", fmt(dict(m.tags)) or "-",
                          m.description)
        console.print(table)
        next_page(reply.page)

    emit(call("ListRegisteredModels", request), as_json, render)


@models_app.command("register")
def register(
    name: str,
    artifact_uri: Annotated[str, typer.Option("--artifact-uri", help="S3 URI of the stored artifacts.")],
    kind: Annotated[Kind | None, typer.Option(help="Default: adapter with --base, else base.")] = None,
    base: Annotated[str, typer.Option(help="Base model version of an adapter, as models:/name/N.")] = "",
    format: Annotated[str, typer.Option(help="Artifact format, e.g. safetensors.")] = "",
    tag: TagOpt = None,
    dataset: Annotated[list[str] | None, typer.Option(help="Dataset version name@version (repeatable).")] = None,
    prompt_version: PromptOpt = "",
    run_id: Annotated[str, typer.Option(help="Training run id.")] = "",
    code_version: Annotated[str, typer.Option(help="Code version, e.g. a git commit.")] = "",
    config_hash: Annotated[str, typer.Option(help="Hash of the training configuration.")] = "",
    request_id: Annotated[str, typer.Option(help="Idempotency key.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create the next version of a model from stored artifacts."""
    kind = kind or (Kind.adapter if base else Kind.base)
    request = pb.CreateModelVersionRequest(
        model_name=name, artifact_uri=artifact_uri, kind=enum_value(pb.ModelKind, "MODEL_KIND_", kind.value),
        base_model_version=base, format=format, tags=parse_pairs(tag), request_id=request_id,
        lineage=pb.Lineage(dataset_versions=dataset or [], prompt_version=prompt_version, training_run_id=run_id,
                           code_version=code_version, config_hash=config_hash),
    )
    emit(call("CreateModelVersion", request), as_json, lambda v: show_kv(v, f"{v.model_name} version {v.version}"))


@models_app.command("version")
def version(name: str, number: Annotated[int, typer.Argument(metavar="VERSION")], as_json: JsonOpt = False) -> None:
    """One model version: artifact, kind, lineage, evaluations, aliases."""
    emit(call("GetModelVersion", pb.GetModelVersionRequest(model_name=name, version=number)), as_json,
         lambda v: show_kv(v, f"{v.model_name} version {v.version}"))


@models_app.command("search")
def search(
    name: Annotated[str, typer.Option(help="Exact model name.")] = "",
    prefix: Annotated[str, typer.Option(help="Model name prefix.")] = "",
    tag: TagOpt = None,
    kind: Annotated[Kind | None, typer.Option(help="Only this kind.")] = None,
    base: Annotated[str, typer.Option(help="Only adapters of this base, models:/name/N.")] = "",
    alias: Annotated[str, typer.Option(help="Only versions holding this alias.")] = "",
    since: SinceOpt = None, until: UntilOpt = None,
    page_size: PageSizeOpt = 0, page_token: PageTokenOpt = "", as_json: JsonOpt = False,
) -> None:
    """Search model versions (model name, then version descending)."""
    request = pb.SearchModelVersionsRequest(
        page=page(page_size, page_token), model_name=name, name_prefix=prefix, tags=parse_pairs(tag),
        kind=enum_value(pb.ModelKind, "MODEL_KIND_", kind.value) if kind else 0, base_model_version=base, alias=alias,
        created=time_range(since, until),
    )

    def render(reply: pb.SearchModelVersionsResponse) -> None:
        show_versions(list(reply.versions))
        next_page(reply.page)

    emit(call("SearchModelVersions", request), as_json, render)


@models_app.command("evaluate")
def evaluate(
    name: str, number: Annotated[int, typer.Argument(metavar="VERSION")],
    metric: Annotated[list[str], typer.Option(help="Metric k=v (repeatable, at least one).")],
    run_id: Annotated[str, typer.Option(help="Evaluation run id (default: a new one).")] = "",
    report_uri: Annotated[str, typer.Option(help="S3 URI of the evaluation report.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Attach evaluation results to a version (re-attaching the same run id is a no-op); gates count
    them only when the key has the service role (the evaluation service's identity)."""
    metrics = {}
    for key, value in parse_pairs(metric, "metric").items():
        try:
            metrics[key] = float(value)
        except ValueError:
            raise typer.BadParameter(f"metric {key}={value!r} is not a number") from None
    completed = Timestamp()
    completed.GetCurrentTime()
    result = pb.EvaluationResult(evaluation_run_id=run_id or f"cli-{uuid.uuid4().hex[:12]}", metrics=metrics,
                                 report_uri=report_uri, completed_at=completed)
    request = pb.AttachEvaluationRequest(model_name=name, version=number, evaluation=result)
    emit(call("AttachEvaluation", request), as_json, lambda v: show_kv(v, f"{v.model_name} version {v.version}"))


# -- aliases and releases ---------------------------------------------------------------------------------


@alias_app.command("set")
def alias_set(
    name: str, alias: str, number: Annotated[int, typer.Argument(metavar="VERSION")],
    prompt_version: PromptOpt = "", param: ParamOpt = None, reason: ReasonOpt = "",
    expected_version: Annotated[int, typer.Option(help="Move only if the alias holds this version now.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Point an unprotected alias at a version (protected ones move only by promotion)."""
    request = pb.SetAliasRequest(model_name=name, alias=alias, version=number, prompt_version=prompt_version,
                                 sampling_parameters=to_struct(param), reason=reason, expected_version=expected_version)
    emit(call("SetAlias", request), as_json, lambda r: show_release(r.release, r.previous_version))


@alias_app.command("delete")
def alias_delete(name: str, alias: str, reason: ReasonOpt = "", as_json: JsonOpt = False) -> None:
    """Remove an unprotected alias."""
    emit(call("DeleteAlias", pb.DeleteAliasRequest(model_name=name, alias=alias, reason=reason)), as_json,
         lambda r: console.print(f"deleted {name}@{alias} (was version {r.previous_version})"))


@models_app.command("resolve")
def resolve(uri: Annotated[str, typer.Argument(help="models:/name@alias, models:/name/N or models:/name@latest.")],
            as_json: JsonOpt = False) -> None:
    """Turn a models:/ URI into a version (and the release, for an alias)."""

    def render(reply: pb.ResolveResponse) -> None:
        show_kv(reply.model_version, f"{uri} -> version {reply.model_version.version}")
        if reply.HasField("release"):
            show_release(reply.release)

    emit(call("Resolve", pb.ResolveRequest(uri=uri)), as_json, render)


@models_app.command("release")
def release(name: str, alias: str, as_json: JsonOpt = False) -> None:
    """What an alias holds: version, pinned prompt version and sampling parameters."""
    emit(call("GetRelease", pb.GetReleaseRequest(model_name=name, alias=alias)), as_json, show_release)


# -- governance ----------------------------------------------------------------------------------------------


@policy_app.command("set", help=f"Create or replace the policy of an alias (admin only). {GATE_HELP}")
def policy_set(
    name: str, alias: str,
    protected: Annotated[bool, typer.Option("--protected/--no-protected",
                                            help="Refuse direct alias set/delete.")] = True,
    gate: Annotated[list[str] | None, typer.Option(help="Gate: metric>=X, metric<=X, metric:+D or metric:+P% "
                                                        "(repeatable; see above).")] = None,
    approvals: Annotated[int, typer.Option(min=0, help="Approvals required (requester excluded).")] = 0,
    approver_role: Annotated[str, typer.Option(help="Role an approver must hold.")] = "approver",
    auto_request: Annotated[bool, typer.Option("--auto-request",
                                               help="Request promotion when an evaluation completes.")] = False,
    reason: ReasonOpt = "", as_json: JsonOpt = False,
) -> None:
    policy = pb.AliasPolicy(model_name=name, alias=alias, protected=protected, gates=parse_gates(gate),
                            required_approvals=approvals, approver_role=approver_role,
                            auto_request_on_evaluation=auto_request)
    emit(call("SetPolicy", pb.SetPolicyRequest(policy=policy, reason=reason)), as_json, show_policy)


@policy_app.command("get")
def policy_get(name: str, alias: str, as_json: JsonOpt = False) -> None:
    """The policy of an alias."""
    emit(call("GetPolicy", pb.GetPolicyRequest(model_name=name, alias=alias)), as_json, show_policy)


@models_app.command("promote")
def promote(
    name: str, alias: str, number: Annotated[int, typer.Argument(metavar="VERSION")],
    prompt_version: PromptOpt = "", param: ParamOpt = None, reason: ReasonOpt = "",
    request_id: Annotated[str, typer.Option(help="Idempotency key.")] = "", as_json: JsonOpt = False,
) -> None:
    """Request a promotion: checks the alias policy's gates and opens a request for approval."""
    request = pb.RequestPromotionRequest(model_name=name, alias=alias, version=number, prompt_version=prompt_version,
                                         sampling_parameters=to_struct(param), reason=reason, request_id=request_id)
    emit(call("RequestPromotion", request), as_json, show_promotion)


@models_app.command("approve")
def approve(promotion_id: str, comment: Annotated[str, typer.Option(help="Optional comment.")] = "",
            as_json: JsonOpt = False) -> None:
    """Approve a promotion (not one's own); the alias moves once the policy is met."""
    emit(call("ApprovePromotion", pb.ApprovePromotionRequest(promotion_id=promotion_id, comment=comment)), as_json,
         show_promotion)


@models_app.command("reject")
def reject(promotion_id: str, reason: Annotated[str, typer.Option("--reason", help="Why it is rejected.")],
           as_json: JsonOpt = False) -> None:
    """Reject an open promotion."""
    emit(call("RejectPromotion", pb.RejectPromotionRequest(promotion_id=promotion_id, reason=reason)), as_json,
         show_promotion)


@models_app.command("promotions")
def promotions(
    name: Annotated[str, typer.Option(help="Model name.")] = "",
    alias: Annotated[str, typer.Option(help="Alias.")] = "",
    status: Annotated[Status | None, typer.Option(help="Only this status.")] = None,
    page_size: PageSizeOpt = 0, page_token: PageTokenOpt = "", as_json: JsonOpt = False,
) -> None:
    """Promotion requests, newest first."""
    request = pb.ListPromotionsRequest(
        page=page(page_size, page_token), model_name=name, alias=alias,
        status=enum_value(pb.PromotionStatus, "PROMOTION_STATUS_", status.value) if status else 0,
    )
    emit(call("ListPromotions", request), as_json, show_promotions)


@models_app.command("promotion")
def promotion(promotion_id: str, as_json: JsonOpt = False) -> None:
    """One promotion request: status, gate results, decisions."""
    emit(call("GetPromotion", pb.GetPromotionRequest(promotion_id=promotion_id)), as_json, show_promotion)


@models_app.command("rollback")
def rollback(name: str, alias: str, reason: ReasonOpt = "", as_json: JsonOpt = False) -> None:
    """Move an alias back to the release it held before its last move."""
    emit(call("Rollback", pb.RollbackRequest(model_name=name, alias=alias, reason=reason)), as_json,
         lambda r: show_release(r.release, r.previous_version))


# -- lineage and audit -----------------------------------------------------------------------------------------


@models_app.command("lineage")
def lineage(name: str, number: Annotated[int, typer.Argument(metavar="VERSION")],
            depth: Annotated[int, typer.Option(help="Hops each way (0: service default).")] = 0,
            as_json: JsonOpt = False) -> None:
    """Where a version came from (data, prompt, base, run, evaluations) and where it went (aliases, deployments)."""
    emit(call("GetLineage", pb.GetLineageRequest(model_name=name, version=number, max_depth=depth)), as_json,
         show_lineage)


@models_app.command("audit")
def audit(
    name: Annotated[str, typer.Option(help="Model name.")] = "",
    actor: Annotated[str, typer.Option(help="Who made the change.")] = "",
    action: Annotated[str, typer.Option(help="Action, e.g. alias.set.")] = "",
    since: SinceOpt = None, until: UntilOpt = None,
    page_size: PageSizeOpt = 0, page_token: PageTokenOpt = "", as_json: JsonOpt = False,
) -> None:
    """The append-only audit log, newest first."""
    request = pb.ListAuditEventsRequest(page=page(page_size, page_token), model_name=name, actor=actor, action=action,
                                        occurred=time_range(since, until))
    emit(call("ListAuditEvents", request), as_json, show_audit)
