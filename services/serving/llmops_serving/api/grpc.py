"""The ServingService servicer: translation only (parse, call the gateway, convert)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc

from llmops.serving.v1 import serving_pb2 as pb
from llmops.serving.v1 import serving_pb2_grpc as pb_grpc
from llmops_common import proto_convert
from llmops_common.auth import Role, caller
from llmops_common.errors import InvalidArgument, NotFound
from llmops_common.grpc_server import GrpcService
from llmops_serving.api import convert
from llmops_serving.gateway import Gateway, InferenceCall
from llmops_serving.hosting import Host
from llmops_serving.prompting import PromptRenderer

SERVICE = pb.DESCRIPTOR.services_by_name["ServingService"].full_name
Context = grpc.aio.ServicerContext
METHOD_ROLES = {f"/{SERVICE}/{m}": Role.VIEWER for m in ("Generate", "GenerateStream", "ListDeployments",
                                                          "GetDeployment")}
MAX_INPUT_CHARS = 4 * 1024 * 1024
TEXT_LIMITS = {"llmops.serving.v1.GenerateRequest.prompt": MAX_INPUT_CHARS,
               "llmops.serving.v1.GenerateRequest.chat": MAX_INPUT_CHARS,
               "llmops.serving.v1.GenerateRequest.prompt_template": MAX_INPUT_CHARS}


class ServingServicer(pb_grpc.ServingServiceServicer):
    def __init__(self, gateway: Gateway, host: Host, render: PromptRenderer) -> None:
        self.gateway, self.host, self.render = gateway, host, render

    async def _call(self, request: pb.GenerateRequest) -> InferenceCall:
        which = request.WhichOneof("input")
        prompt, messages = None, None
        if which == "prompt":
            prompt = request.prompt
        elif which == "chat":
            messages = convert.messages(request.chat)
        elif which == "prompt_template":
            prompt, messages = await self.render(request.prompt_template.prompt_ref,
                                                 convert.variables(request.prompt_template))
        else:
            raise InvalidArgument("one of prompt, chat or prompt_template is needed", field="input")
        request_id = request.request_id or f"gen-{uuid.uuid4().hex}"
        return InferenceCall(model=request.model, api="grpc", request_id=request_id,
                             key_id=caller().key_id, prompt=prompt, messages=messages,
                             sampling=convert.sampling(request.sampling), user=request.user,
                             metadata=dict(request.metadata))

    async def Generate(self, request: pb.GenerateRequest, context: Context) -> pb.GenerateResponse:
        generation = await self.gateway.start(await self._call(request))
        text, reason, completion = [], "", 0
        async for delta in generation:
            text.append(delta.text)
            completion = delta.completion_tokens
            reason = delta.finish_reason or reason
        reply = pb.GenerateResponse(inference_id=generation.request_id, model=generation.model,
                                    model_version=generation.model_version, text="".join(text),
                                    finish_reason=convert.FINISH.get(reason, 0),
                                    usage=convert.usage(generation.prompt_tokens, completion))
        reply.created_at.GetCurrentTime()
        return reply

    async def GenerateStream(self, request: pb.GenerateRequest, context: Context
                             ) -> AsyncIterator[pb.StreamGenerateResponse]:
        generation = await self.gateway.start(await self._call(request))
        first = True
        try:
            async for delta in generation:
                chunk = pb.StreamGenerateResponse(inference_id=generation.request_id, delta=delta.text)
                if first:
                    chunk.model_version, first = generation.model_version, False
                if delta.finish_reason:
                    chunk.finish_reason = convert.FINISH.get(delta.finish_reason, 0)
                    chunk.usage.CopyFrom(convert.usage(generation.prompt_tokens, delta.completion_tokens))
                yield chunk
        finally:
            await generation.aclose()

    async def ListDeployments(self, request: pb.ListDeploymentsRequest, context: Context
                              ) -> pb.ListDeploymentsResponse:
        found = [d for _, d in sorted(self.host.deployments.items())
                 if not request.model_name or d.model_name == request.model_name]
        size = request.page.page_size if 0 < request.page.page_size <= 500 else 100
        start = int(request.page.page_token) if request.page.page_token.isdigit() else 0
        if request.page.page_token and not request.page.page_token.isdigit():
            raise InvalidArgument("not a page token from this service", field="page.page_token")
        page = found[start:start + size]
        token = str(start + size) if start + size < len(found) else ""
        return pb.ListDeploymentsResponse(deployments=[convert.deployment(d) for d in page],
                                          page=proto_convert.common_pb2.PageResponse(next_page_token=token,
                                                                                     total_size=len(found)))

    async def GetDeployment(self, request: pb.GetDeploymentRequest, context: Context) -> pb.Deployment:
        found = self.host.deployments.get(request.name)
        if found is None:
            raise NotFound(f"no deployment {request.name[:120]!r} on this replica", field="name")
        return convert.deployment(found)


def grpc_service(gateway: Gateway, host: Host, render: PromptRenderer) -> GrpcService:
    return GrpcService(add_to_server=pb_grpc.add_ServingServiceServicer_to_server,
                       servicer=ServingServicer(gateway, host, render), full_name=SERVICE,
                       method_roles=METHOD_ROLES, text_limits=TEXT_LIMITS)
