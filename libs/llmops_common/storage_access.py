"""How work running away from the services (a Ray task or actor) reaches the S3 endpoint the services
use: plain, validated data that crosses the Ray boundary as JSON."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from llmops_common.settings import CommonSettings


class StorageAccess(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    secure: bool = False

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> StorageAccess:
        return cls(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                   secret_key=settings.s3_secret_key.get_secret_value(), region=settings.s3_region,
                   secure=settings.s3_secure)
