"""API keys with roles viewer < developer < service < approver < admin.

``service`` is the role of the platform's own services (the evaluation service's key): it may do what
a developer does, and what it reports is trusted (evaluation results it attaches count toward gates),
but it cannot approve, move protected aliases or administer. Roles compare by rank (their value); the
values leave gaps so a role can be placed between two others, and only names are ever stored.

A key reads ``llmops_<key id>_<secret>``. Only the SHA-256 of the secret is stored: the secret is 256
random bits, so a slow password hash would add latency to every call and no security. A bootstrap
admin key set in the environment is accepted without a database row, so the first real keys can be
created. Lookups are cached briefly (``cache_seconds``): a revoked key stops working within that time.
"""

from __future__ import annotations

import abc
import contextvars
import enum
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg_pool import AsyncConnectionPool

from llmops_common.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated, Unavailable

AUTH_SCHEMA = "auth"
KEY_PREFIX = "llmops"


class Role(enum.IntEnum):
    VIEWER = 10
    DEVELOPER = 20
    SERVICE = 25
    APPROVER = 30
    ADMIN = 40

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value.upper()]
        except KeyError:
            raise InvalidArgument(
                f"unknown role {value!r}; one of {[r.name.lower() for r in cls]}", field="role"
            ) from None


@dataclass(frozen=True)
class Principal:
    key_id: str
    name: str
    role: Role

    def require(self, role: Role) -> None:
        if self.role < role:
            raise PermissionDenied(f"{self.name} has role {self.role.name.lower()}; this needs {role.name.lower()}")


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    secret_hash: bytes
    name: str
    role: Role
    created_at: datetime | None = None
    created_by: str = ""
    revoked_at: datetime | None = None

    @property
    def principal(self) -> Principal:
        return Principal(self.key_id, self.name, self.role)


current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("llmops_principal", default=None)

BOOTSTRAP_PRINCIPAL = Principal("bootstrap", "bootstrap-admin", Role.ADMIN)


def caller() -> Principal:
    """The principal the auth interceptor set for this call; ``Unauthenticated`` if there is none."""
    principal = current_principal.get()
    if principal is None:
        raise Unauthenticated("this call needs an API key")
    return principal


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split_key(key: str) -> tuple[str, str]:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        raise Unauthenticated("malformed API key")
    return parts[1], parts[2]


def new_key() -> tuple[str, str, str]:
    """(key id, secret, the full key to hand to the user once)."""
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    return key_id, secret, f"{KEY_PREFIX}_{key_id}_{secret}"


class ApiKeyStore(abc.ABC):
    """Where keys live. ``get`` returns revoked keys too; the authenticator decides."""

    @abc.abstractmethod
    async def add(self, record: ApiKeyRecord) -> None: ...

    @abc.abstractmethod
    async def get(self, key_id: str) -> ApiKeyRecord | None: ...

    @abc.abstractmethod
    async def revoke(self, key_id: str) -> None:
        """Raise NotFound for an unknown or already revoked key."""

    @abc.abstractmethod
    async def list(self) -> list[ApiKeyRecord]: ...


class PostgresApiKeyStore(ApiKeyStore):
    """Keys in the ``auth`` schema, shared by every service (the one schema no single service owns)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def add(self, record: ApiKeyRecord) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO auth.api_keys (key_id, secret_hash, name, role, created_by) VALUES (%s, %s, %s, %s, %s)",
                (record.key_id, record.secret_hash, record.name, record.role.name.lower(), record.created_by),
            )

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(_SELECT + " WHERE key_id = %s", (key_id,))
            row = await cur.fetchone()
        return _record(row) if row else None

    async def revoke(self, key_id: str) -> None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE auth.api_keys SET revoked_at = now() WHERE key_id = %s AND revoked_at IS NULL", (key_id,)
            )
            if cur.rowcount != 1:
                raise NotFound(f"no active API key {key_id!r}", field="key_id")

    async def list(self) -> list[ApiKeyRecord]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(_SELECT + " ORDER BY created_at, key_id")
            return [_record(row) for row in await cur.fetchall()]


_SELECT = "SELECT key_id, secret_hash, name, role, created_at, created_by, revoked_at FROM auth.api_keys"


def _record(row: tuple) -> ApiKeyRecord:
    key_id, secret_hash, name, role, created_at, created_by, revoked_at = row
    return ApiKeyRecord(key_id, bytes(secret_hash), name, Role.parse(role), created_at, created_by, revoked_at)


async def create_key(store: ApiKeyStore, *, name: str, role: Role, created_by: str) -> tuple[ApiKeyRecord, str]:
    """Create a key; the plaintext is returned once and never stored."""
    if not name.strip():
        raise InvalidArgument("a key needs a name", field="name")
    key_id, secret, plaintext = new_key()
    record = ApiKeyRecord(key_id, hash_secret(secret), name.strip(), role, created_by=created_by)
    await store.add(record)
    return record, plaintext


class Authenticator:
    def __init__(self, store: ApiKeyStore, *, bootstrap_admin_key: str | None, cache_seconds: float = 5.0) -> None:
        self.store = store
        self.bootstrap_admin_key = bootstrap_admin_key
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKeyRecord | None]] = {}

    async def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise Unauthenticated("missing API key (metadata 'authorization: Bearer <key>' or 'x-api-key')")
        if self.bootstrap_admin_key and hmac.compare_digest(key.encode(), self.bootstrap_admin_key.encode()):
            return BOOTSTRAP_PRINCIPAL
        key_id, secret = split_key(key)
        record = await self._lookup(key_id)
        if record is None or record.revoked_at is not None or not hmac.compare_digest(
            record.secret_hash, hash_secret(secret)
        ):
            raise Unauthenticated("invalid or revoked API key")
        return record.principal

    async def _lookup(self, key_id: str) -> ApiKeyRecord | None:
        now = time.monotonic()
        hit = self._cache.get(key_id)
        if hit and now - hit[0] < self.cache_seconds:
            return hit[1]
        try:
            record = await self.store.get(key_id)
        except (psycopg.Error, OSError) as exc:
            raise Unavailable(f"cannot verify API key: {exc}") from None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key_id] = (now, record)
        return record
