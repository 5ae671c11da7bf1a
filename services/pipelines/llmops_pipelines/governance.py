"""What the pipelines service asks of the registry: set the alias policies a definition declares, read
which version holds an alias (the champion), and request a promotion. ``Governance`` is the port;
``GrpcGovernance`` calls the registry with the service's key; unit tests use a fake of the port."""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from typing import Any

import grpc

from llmops.registry.v1 import registry_pb2 as pb
from llmops.registry.v1 import registry_pb2_grpc as pb_grpc
from llmops_common.service_calls import rpc_error
from llmops_pipelines.domain.policy import PipelineDefinition
from llmops_pipelines.domain.requests import PromotionRequest


class PromotionOutcome(enum.StrEnum):
    APPROVED = "approved"
    PENDING = "pending"
    REFUSED = "refused"  # gates failed, rejected, or superseded


@dataclass(frozen=True)
class Promotion:
    promotion_id: str
    outcome: PromotionOutcome
    reason: str = ""


class Governance(abc.ABC):
    @abc.abstractmethod
    async def apply_policies(self, definition: PipelineDefinition, *, reason: str) -> None:
        """Create the model if it is new, and set each promote step's alias policy (protected, its gates
        and approvals; promotions are requested by the pipeline, not on every evaluation)."""

    @abc.abstractmethod
    async def alias_version(self, model_name: str, alias: str) -> str | None:
        """``models:/name/N`` of the version holding ``alias``; None when nothing holds it."""

    @abc.abstractmethod
    async def request_promotion(self, request: PromotionRequest) -> Promotion:
        """Open (or, for a request id seen before, return) the promotion."""

    async def close(self) -> None:  # noqa: B027 - a fake has nothing to close
        """Release connections."""


_OUTCOMES = {pb.PROMOTION_STATUS_APPROVED: PromotionOutcome.APPROVED,
             pb.PROMOTION_STATUS_PENDING: PromotionOutcome.PENDING}
_ROLES = {"approver": "approver", "admin": "admin"}


class GrpcGovernance(Governance):
    def __init__(self, endpoint: str, api_key: str, timeout: float = 10.0) -> None:
        self.endpoint, self.timeout = endpoint, timeout
        self.metadata = (("authorization", f"Bearer {api_key}"),)
        self._channel: grpc.aio.Channel | None = None

    def _stub(self) -> pb_grpc.RegistryServiceStub:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.endpoint)
        return pb_grpc.RegistryServiceStub(self._channel)

    async def _call(self, method: str, request: Any, field: str, ref: str) -> Any:
        try:
            return await getattr(self._stub(), method)(request, metadata=self.metadata, timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            raise rpc_error(exc, "registry", field, ref) from None

    async def apply_policies(self, definition: PipelineDefinition, *, reason: str) -> None:
        create = pb.CreateRegisteredModelRequest(name=definition.model_name,
                                                 description=f"trained by pipeline {definition.name}")
        try:
            await self._stub().CreateRegisteredModel(create, metadata=self.metadata, timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.ALREADY_EXISTS:
                raise rpc_error(exc, "registry", "definition.model_name", definition.model_name) from None
        for index, step in enumerate(definition.promote):
            gates = [pb.MetricGate(metric_name=g.metric, threshold=g.threshold,
                                   min_absolute_change=g.min_absolute_change,
                                   min_relative_change=g.min_relative_change, greater_is_better=g.greater_is_better)
                     for g in step.gates]
            policy = pb.AliasPolicy(model_name=definition.model_name, alias=step.alias, protected=True, gates=gates,
                                    required_approvals=step.approvals, approver_role=_ROLES[step.approver_role],
                                    auto_request_on_evaluation=False)
            await self._call("SetPolicy", pb.SetPolicyRequest(policy=policy, reason=reason),
                             f"definition.promote[{index}]", step.alias)

    async def alias_version(self, model_name: str, alias: str) -> str | None:
        uri = f"models:/{model_name}@{alias}"
        try:
            reply = await self._stub().Resolve(pb.ResolveRequest(uri=uri), metadata=self.metadata, timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise rpc_error(exc, "registry", "evaluate.champion_alias", uri) from None
        return f"models:/{reply.model_version.model_name}/{reply.model_version.version}"

    async def request_promotion(self, request: PromotionRequest) -> Promotion:
        message = pb.RequestPromotionRequest(model_name=request.model_name, alias=request.alias,
                                             version=request.version, prompt_version=request.prompt_version,
                                             reason=request.reason,
                                             request_id=request.request_id)
        reply = await self._call("RequestPromotion", message, "promote", f"{request.model_name}@{request.alias}")
        outcome = _OUTCOMES.get(reply.status, PromotionOutcome.REFUSED)
        failed = "; ".join(g.message for g in reply.gate_results if not g.passed)
        status = pb.PromotionStatus.Name(reply.status).removeprefix("PROMOTION_STATUS_").lower()
        return Promotion(reply.id, outcome, f"{status}: {failed}" if failed else status)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
