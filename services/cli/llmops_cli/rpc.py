"""One service's gRPC endpoint and API key for a CLI command group, and its calls."""

from __future__ import annotations

import os
from typing import Any

import grpc
import typer
from google.protobuf.message import Message


class ServiceClient:
    """Endpoint: the group's option, else ``$LLMOPS_<SERVICE>_GRPC_PORT`` on localhost, else the default
    port; key: ``--api-key``/``$LLMOPS_API_KEY``, else the local stack's bootstrap admin key."""

    def __init__(self, service: str, stub: type, default_port: int) -> None:
        self.service, self.stub, self.default_port = service, stub, default_port
        self.target: str | None = None
        self.api_key: str | None = None

    def configure(self, target: str | None, api_key: str | None) -> None:
        self.target, self.api_key = target, api_key

    def address(self) -> str:
        port = os.environ.get(f"LLMOPS_{self.service.upper()}_GRPC_PORT") or self.default_port
        return self.target or f"127.0.0.1:{port}"

    def key(self) -> str:
        if self.api_key:
            return self.api_key
        from llmops_cli.main import _stack, admin_key  # here, not at the top: main imports the command groups

        return admin_key(_stack())

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
