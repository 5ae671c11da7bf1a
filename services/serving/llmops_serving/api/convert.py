"""Proto <-> gateway calls and deployments."""

from __future__ import annotations

from typing import Any

from llmops.serving.v1 import serving_pb2 as pb
from llmops_common import proto_convert
from llmops_common.errors import InvalidArgument
from llmops_serving.gateway import Message
from llmops_serving.hosting import Deployment

FINISH = {"stop": pb.FINISH_REASON_STOP, "length": pb.FINISH_REASON_LENGTH}
STATUS = {"loading": pb.DEPLOYMENT_STATUS_LOADING, "ready": pb.DEPLOYMENT_STATUS_READY,
          "updating": pb.DEPLOYMENT_STATUS_UPDATING, "failed": pb.DEPLOYMENT_STATUS_FAILED}
OPTIONAL = ("temperature", "top_p", "top_k", "max_tokens", "seed", "logprobs", "ignore_eos", "min_tokens")


def sampling(message: pb.SamplingParameters) -> dict[str, Any]:
    """Only the fields the caller set; the penalties are refused (not supported)."""
    for penalty in ("presence_penalty", "frequency_penalty"):
        if message.HasField(penalty) and getattr(message, penalty) != 0:
            raise InvalidArgument("is not supported", field=f"sampling.{penalty}")
    out: dict[str, Any] = {name: getattr(message, name) for name in OPTIONAL if message.HasField(name)}
    if message.stop:
        out["stop"] = tuple(message.stop)
    return out


def messages(chat: pb.ChatMessages) -> tuple[Message, ...]:
    if not chat.messages:
        raise InvalidArgument("at least one message is needed", field="chat.messages")
    return tuple(Message(m.role, m.content) for m in chat.messages)


def variables(prompt: pb.PromptInput) -> dict[str, Any]:
    return proto_convert.from_struct(prompt.variables) if prompt.HasField("variables") else {}


def usage(prompt_tokens: int, completion_tokens: int) -> pb.Usage:
    return pb.Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                    total_tokens=prompt_tokens + completion_tokens)


def deployment(d: Deployment) -> pb.Deployment:
    out = pb.Deployment(name=d.route, model_name=d.model_name, alias=d.alias, status=STATUS.get(d.status, 0),
                        ready_replicas=1 if d.target else 0)
    out.updated_at.CopyFrom(proto_convert.timestamp(d.updated_at))
    if d.error:
        out.error.code, out.error.message = "failed_precondition", d.error
    target = d.target
    if target is not None:
        out.model_version = target.version
        out.base_model_uri = target.root
        if target.adapter:
            adapter = out.adapters.add(name=target.adapter, model_version=target.model_version)
            adapter.loaded_at.CopyFrom(proto_convert.timestamp(target.loaded_at))
        if target.release:
            out.prompt_version = target.release.prompt_version
            if target.release.parameters:
                out.sampling_parameters.CopyFrom(proto_convert.struct(target.release.parameters))
    return out
