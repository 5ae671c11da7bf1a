"""The RegistryService servicer: translation only. RPCs the registry issue adds answer UNIMPLEMENTED
(the generated base class) until then."""

from __future__ import annotations

import grpc
from llmops.registry.v1 import registry_pb2 as pb
from llmops.registry.v1 import registry_pb2_grpc as pb_grpc

from llmops_common.auth import Role, current_principal
from llmops_common.bus import correlation_id
from llmops_common.grpc_server import GrpcService
from llmops_common.storage import ArtifactInspector
from llmops_registry import handlers
from llmops_registry.api import convert
from llmops_registry.store import UnitOfWorkFactory

SERVICE = pb.DESCRIPTOR.services_by_name["RegistryService"].full_name

METHOD_ROLES = {
    f"/{SERVICE}/GetRegisteredModel": Role.VIEWER,
    f"/{SERVICE}/GetModelVersion": Role.VIEWER,
    f"/{SERVICE}/CreateRegisteredModel": Role.DEVELOPER,
    f"/{SERVICE}/CreateModelVersion": Role.DEVELOPER,
}


def _actor() -> str:
    principal = current_principal.get()
    return principal.name if principal else "anonymous"


class RegistryServicer(pb_grpc.RegistryServiceServicer):
    def __init__(self, uow: UnitOfWorkFactory, artifacts: ArtifactInspector) -> None:
        self.uow, self.artifacts = uow, artifacts

    async def CreateRegisteredModel(self, request: pb.CreateRegisteredModelRequest, context: grpc.aio.ServicerContext):
        model = await handlers.register_model(self.uow, convert.register_model_command(request))
        return convert.registered_model(model)

    async def GetRegisteredModel(self, request: pb.GetRegisteredModelRequest, context: grpc.aio.ServicerContext):
        return convert.registered_model(await handlers.get_model(self.uow, request.name))

    async def CreateModelVersion(self, request: pb.CreateModelVersionRequest, context: grpc.aio.ServicerContext):
        version = await handlers.create_model_version(
            self.uow, self.artifacts, convert.create_version_command(request),
            actor=_actor(), correlation_id=correlation_id.get(),
        )
        return convert.model_version(version)

    async def GetModelVersion(self, request: pb.GetModelVersionRequest, context: grpc.aio.ServicerContext):
        version = await handlers.get_model_version(self.uow, request.model_name, request.version)
        return convert.model_version(version)


def grpc_service(uow: UnitOfWorkFactory, artifacts: ArtifactInspector) -> GrpcService:
    return GrpcService(
        add_to_server=pb_grpc.add_RegistryServiceServicer_to_server,
        servicer=RegistryServicer(uow, artifacts),
        full_name=SERVICE,
        method_roles=METHOD_ROLES,
    )
