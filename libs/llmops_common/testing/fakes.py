"""In-memory implementations of the shared ports, for unit tests of domain logic and handlers."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime

from llmops_common.auth import ApiKeyRecord, ApiKeyStore
from llmops_common.errors import NotFound
from llmops_common.storage import ArtifactInspector, StoredObject


class InMemoryApiKeyStore(ApiKeyStore):
    def __init__(self) -> None:
        self.records: dict[str, ApiKeyRecord] = {}

    async def add(self, record: ApiKeyRecord) -> None:
        self.records[record.key_id] = record

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        return self.records.get(key_id)

    async def revoke(self, key_id: str) -> None:
        record = self.records.get(key_id)
        if record is None or record.revoked_at is not None:
            raise NotFound(f"no active API key {key_id!r}", field="key_id")

        self.records[key_id] = dataclasses.replace(record, revoked_at=datetime.now(UTC))

    async def list(self) -> list[ApiKeyRecord]:
        return list(self.records.values())


class InMemoryArtifacts(ArtifactInspector):
    """Artifacts by URI: ``put(uri, data)`` then ``describe(uri)``."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, uri: str, data: bytes) -> None:
        self.objects[uri] = data

    def describe(self, uri: str) -> StoredObject:
        data = self.objects.get(uri)
        if data is None:
            raise NotFound(f"no object at {uri}", field="uri")
        return StoredObject(uri, len(data), hashlib.sha256(data).hexdigest(), "")
