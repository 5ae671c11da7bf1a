"""One service's gRPC endpoint and API key for a CLI command group, and its calls."""

from __future__ import annotations

import os
from typing import Any

import grpc
import typer
from google.protobuf.message import Message

from llmops_cli.local import admin_key, load_stack
from llmops_cli.services import ServiceSpec


class ServiceClient:
    """Endpoint: the group's option, else ``$LLMOPS_<SERVICE>_GRPC_PORT`` on localhost, else the port
    the service's settings default to; key: ``--api-key``/``$LLMOPS_API_KEY``, else the local stack's
    bootstrap admin key."""

    def __init__(self, spec: ServiceSpec, stub: type) -> None:
        self.spec, self.stub = spec, stub
        self.target: str | None = None
        self.api_key: str | None = None

    def configure(self, target: str | None, api_key: str | None) -> None:
        self.target, self.api_key = target, api_key

    def address(self) -> str:
        if self.target:
            return self.target
        port = os.environ.get(f"LLMOPS_{self.spec.name.upper()}_GRPC_PORT") or self.spec.default_grpc_port()
        return f"127.0.0.1:{port}"

    def key(self) -> str:
        return self.api_key or admin_key(load_stack())

    def call(self, method: str, request: Message, timeout: float = 30.0) -> Any:
        """One RPC; a gRPC error becomes ``error (<STATUS>): <details>`` on stderr and exit code 1."""
        metadata = [("authorization", f"Bearer {self.key()}")]
        with grpc.insecure_channel(self.address()) as channel:
            try:
                return getattr(self.stub(channel), method)(request, metadata=metadata, timeout=timeout)
            except grpc.RpcError as exc:
                details = (exc.details() or "").replace("\n", " ")
                typer.echo(f"error ({exc.code().name}): {details}", err=True)
                raise typer.Exit(1) from None
