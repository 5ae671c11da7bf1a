"""Settings from the environment: one pydantic-settings class per service, each with its own prefix.

A field is read first from the service's own prefix (``LLMOPS_REGISTRY_GRPC_PORT``), then from the
shared ``LLMOPS_`` prefix (``LLMOPS_NATS_URL``), then from its default. Shared infrastructure is so set
once for every service, and any one service can still be pointed elsewhere.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from importlib import metadata
from typing import ClassVar, Self

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

SHARED_PREFIX = "LLMOPS_"


class CommonSettings(BaseSettings):
    """Infrastructure every service talks to. Subclass per service and set ``service_name``."""

    model_config = SettingsConfigDict(env_prefix=SHARED_PREFIX, extra="ignore")
    service_name: ClassVar[str] = "common"

    @classmethod
    def from_variables(cls, env: Mapping[str, str], **overrides: object) -> Self:
        """Settings from an explicit ``LLMOPS_*`` mapping (another process's environment, a stack's),
        rather than this process's environment."""
        values: dict[str, object] = {k.removeprefix(SHARED_PREFIX).lower(): v for k, v in env.items()}
        return cls(**(values | overrides))

    # NATS JetStream
    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    # Postgres: a libpq conninfo or URL; host may be a Unix-socket directory (host=/path/to/dir).
    postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/llmops"
    postgres_pool_min: int = Field(default=1, ge=1)
    postgres_pool_max: int = Field(default=10, ge=1)
    # S3-compatible object storage
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = "llmops-access-key-00"
    s3_secret_key: SecretStr = SecretStr("llmops-secret-key-0000000000000000000000")
    s3_region: str = "us-east-1"
    s3_secure: bool = False
    s3_bucket_datasets: str = "llmops-datasets"
    s3_bucket_models: str = "llmops-models"
    s3_bucket_artifacts: str = "llmops-artifacts"
    # Ray ("" means no cluster: a local instance where the service needs one)
    ray_address: str = ""
    # Process
    grpc_host: str = "0.0.0.0"
    grpc_port: int = Field(default=50050, ge=1, le=65535)
    metrics_port: int = Field(default=9100, ge=0, le=65535)
    log_format: str = Field(default="json", pattern="^(json|text)$")
    log_level: str = "INFO"
    # One INFO line per gRPC call; off by default (per-call counts and latencies are always in /metrics).
    access_log: bool = False
    # Auth: a bootstrap admin key accepted without a database row (set it in production from a secret).
    bootstrap_admin_key: SecretStr | None = None
    # The key page tokens are signed with; unset, one is derived from the Postgres DSN and the service
    # name, so every replica of a service shares it without further configuration.
    page_token_key: SecretStr | None = None
    # Start-up: how long to keep retrying unreachable infrastructure before giving up (0 = forever).
    startup_retry_seconds: float = Field(default=0.0, ge=0)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = EnvSettingsSource(settings_cls, env_prefix=SHARED_PREFIX)
        return (init_settings, env_settings, shared, dotenv_settings, file_secret_settings)

    @classmethod
    def env_prefix(cls) -> str:
        return cls.model_config.get("env_prefix") or SHARED_PREFIX

    @classmethod
    def env_names(cls) -> set[str]:
        """Every environment variable this class reads (both prefixes), for config checks."""
        names = set()
        for field in cls.model_fields:
            names.add(f"{cls.env_prefix()}{field}".upper())
            names.add(f"{SHARED_PREFIX}{field}".upper())
        return names

    @property
    def postgres_schema(self) -> str:
        return self.service_name

    def page_token_secret(self) -> bytes:
        """The key that signs this service's page tokens (``page_token_key``, else derived)."""
        if self.page_token_key is not None and self.page_token_key.get_secret_value():
            return self.page_token_key.get_secret_value().encode()
        return hashlib.sha256(f"llmops page tokens\x00{self.service_name}\x00{self.postgres_dsn}".encode()).digest()


def service_settings_config(service: str) -> SettingsConfigDict:
    """The model_config for a service's settings class: prefix ``LLMOPS_<SERVICE>_``."""
    return SettingsConfigDict(env_prefix=f"{SHARED_PREFIX}{service.upper()}_", extra="ignore")


def platform_version() -> str:
    """The installed platform's version: the code version training records and pipelines pin."""
    try:
        return f"llmops-platform {metadata.version('llmops-platform')}"
    except metadata.PackageNotFoundError:
        return "llmops-platform (unpackaged)"


def local_endpoint(service: str, port: int) -> str:
    """127.0.0.1 on the port ``llmops up`` gives ``service`` (its ``LLMOPS_<SERVICE>_GRPC_PORT``)."""
    return f"127.0.0.1:{os.environ.get(f'LLMOPS_{service.upper()}_GRPC_PORT') or port}"


class CallerSettings(CommonSettings):
    """A service that calls other services: with ``service_api_key``, else the bootstrap admin key."""

    service_api_key: SecretStr | None = None

    def api_key(self) -> str:
        for key in (self.service_api_key, self.bootstrap_admin_key):
            if key is not None and key.get_secret_value():
                return key.get_secret_value()
        return ""
