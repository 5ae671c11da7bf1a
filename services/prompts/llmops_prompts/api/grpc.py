"""The PromptService servicer: translation only (parse, call one handler, convert)."""

from __future__ import annotations

import grpc

from llmops.prompts.v1 import prompts_pb2 as pb
from llmops.prompts.v1 import prompts_pb2_grpc as pb_grpc
from llmops_common import proto_convert
from llmops_common.auth import Role, caller
from llmops_common.bus import correlation_id
from llmops_common.grpc_server import GrpcService
from llmops_common.pagination import PageTokens
from llmops_common.templating import MAX_OUTPUT_CHARS, MAX_TEMPLATE_BYTES
from llmops_prompts import handlers
from llmops_prompts.api import convert
from llmops_prompts.store import PROMPTS_PAGE, VERSIONS_PAGE

SERVICE = pb.DESCRIPTOR.services_by_name["PromptService"].full_name
Context = grpc.aio.ServicerContext

_ROLES = {
    Role.VIEWER: ("GetPrompt", "ListPrompts", "ListVersions", "RenderPrompt", "DiffVersions"),
    # Protected labels additionally need approver (checked by the handler).
    Role.DEVELOPER: ("CreatePrompt", "CreateVersion", "SetLabel", "DeleteLabel", "UpdateTags"),
}
METHOD_ROLES = {f"/{SERVICE}/{method}": role for role, methods in _ROLES.items() for method in methods}
#: fields (and all below them) that may hold longer strings than the request check's default
TEXT_LIMITS = {
    "llmops.prompts.v1.CreateVersionRequest.text": MAX_TEMPLATE_BYTES,
    "llmops.prompts.v1.CreateVersionRequest.chat": MAX_TEMPLATE_BYTES,
    "llmops.prompts.v1.RenderPromptRequest.variables": MAX_OUTPUT_CHARS,
}


def _ctx() -> dict:
    return {"actor": caller(), "correlation_id": correlation_id.get()}


def _selector(request: pb.GetPromptRequest | pb.RenderPromptRequest) -> dict:
    which = request.WhichOneof("selector")
    return {"version": request.version} if which == "version" else {"label": request.label or None}


class PromptServicer(pb_grpc.PromptServiceServicer):
    def __init__(self, uow: handlers.UnitOfWorkFactory, protected_labels: frozenset[str],
                 page_tokens: PageTokens, renderer: handlers.Renderer) -> None:
        self.renderer = renderer
        # labels are lower case, so a protected label configured as 'Production' still protects 'production'
        self.uow, self.pages = uow, page_tokens
        self.protected = frozenset(label.casefold() for label in protected_labels)

    async def CreatePrompt(self, request: pb.CreatePromptRequest, context: Context):
        return convert.prompt(await handlers.create_prompt(self.uow, request.name, request.description,
                                                           dict(request.tags), **_ctx()))

    async def UpdateTags(self, request: pb.UpdateTagsRequest, context: Context):
        return convert.prompt(await handlers.update_tags(self.uow, request.prompt_name, dict(request.set_tags),
                                                         list(request.remove_tags), **_ctx()))

    async def CreateVersion(self, request: pb.CreateVersionRequest, context: Context):
        created = await handlers.create_version(self.uow, convert.create_version_command(request), **_ctx())
        return convert.version(created)

    async def GetPrompt(self, request: pb.GetPromptRequest, context: Context):
        prompt, version, resolved = await handlers.get_prompt(self.uow, request.prompt_name, **_selector(request))
        return pb.GetPromptResponse(prompt=convert.prompt(prompt), version=convert.version(version),
                                    resolved_label=resolved)

    async def ListPrompts(self, request: pb.ListPromptsRequest, context: Context):
        rows, last = await handlers.list_prompts(self.uow, request.name_prefix, dict(request.tags),
                                                 proto_convert.page_request(self.pages, request.page, PROMPTS_PAGE))
        return pb.ListPromptsResponse(prompts=[convert.prompt(p) for p in rows],
                                      page=proto_convert.page_response(self.pages, last, PROMPTS_PAGE))

    async def ListVersions(self, request: pb.ListVersionsRequest, context: Context):
        rows, last = await handlers.list_versions(self.uow, request.prompt_name,
                                                  proto_convert.page_request(self.pages, request.page, VERSIONS_PAGE))
        return pb.ListVersionsResponse(versions=[convert.version(v) for v in rows],
                                       page=proto_convert.page_response(self.pages, last, VERSIONS_PAGE))

    async def SetLabel(self, request: pb.SetLabelRequest, context: Context):
        record, previous = await handlers.set_label(self.uow, request.prompt_name, request.label, request.version,
                                                    reason=request.reason, protected=self.protected, **_ctx())
        return pb.SetLabelResponse(label=convert.label(record, self.protected), previous_version=previous or 0)

    async def DeleteLabel(self, request: pb.DeleteLabelRequest, context: Context):
        previous = await handlers.delete_label(self.uow, request.prompt_name, request.label, reason=request.reason,
                                               protected=self.protected, **_ctx())
        return pb.DeleteLabelResponse(previous_version=previous)

    async def RenderPrompt(self, request: pb.RenderPromptRequest, context: Context):
        found, output = await handlers.render_prompt(self.uow, request.prompt_name,
                                                     convert.variables(request.variables), **_selector(request),
                                                     renderer=self.renderer)
        return convert.rendered(found, output)

    async def DiffVersions(self, request: pb.DiffVersionsRequest, context: Context):
        return convert.version_diff(await handlers.diff_versions(self.uow, request.prompt_name, request.from_version,
                                                                 request.to_version))


def grpc_service(uow: handlers.UnitOfWorkFactory, protected_labels: frozenset[str],
                 page_tokens: PageTokens, renderer: handlers.Renderer) -> GrpcService:
    return GrpcService(add_to_server=pb_grpc.add_PromptServiceServicer_to_server,
                       servicer=PromptServicer(uow, protected_labels, page_tokens, renderer), full_name=SERVICE,
                       method_roles=METHOD_ROLES, text_limits=TEXT_LIMITS)
