"""Opaque keyset cursors: a page token is the sort key of the last row returned, so pages stay
stable and every page is one indexed query however deep it is.

A token is ``v1.<payload>.<mac>``: the key as JSON, and an HMAC-SHA256 over the version, the list it
belongs to and the payload, under a key every replica of the service shares. A decoded key is checked
once more against the shape its list declares (count, types, integer range, NUL-free bounded text),
so a token the API did not issue, or one issued for another list, is refused as INVALID_ARGUMENT
before it reaches a query.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any, TypeVar

from llmops_common.errors import InvalidArgument

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
VERSION = "v1"
MAX_TOKEN_CHARS = 4096
TOKEN_FIELD = "page.page_token"
_NOT_OURS = "not a page token this API issued"


class _Forged(ValueError):
    """A token that fails any check; reported to the caller as one uniform message."""


@dataclass(frozen=True)
class Text:
    """A text column: NUL-free, at most ``max_len`` characters."""

    max_len: int = 1024

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, value: Any) -> Any:
        if not isinstance(value, str) or len(value) > self.max_len or "\x00" in value:
            raise _Forged
        return value


@dataclass(frozen=True)
class Int:
    """An integer column; the default range is Postgres ``bigint``."""

    low: int = -(2**63)
    high: int = 2**63 - 1

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, value: Any) -> Any:
        if type(value) is not int or not self.low <= value <= self.high:
            raise _Forged
        return value


@dataclass(frozen=True)
class Timestamp:
    """A ``timestamptz`` column, carried as ISO 8601 with its offset."""

    def encode(self, value: Any) -> Any:
        return value.isoformat()

    def decode(self, value: Any) -> Any:
        if not isinstance(value, str) or len(value) > 64:
            raise _Forged
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _Forged from None
        if parsed.tzinfo is None:
            raise _Forged
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise _Forged from None


@dataclass(frozen=True)
class Uuid:
    """A ``uuid`` column, carried (and handed back) as its canonical string."""

    def encode(self, value: Any) -> Any:
        return str(value)

    def decode(self, value: Any) -> Any:
        if not isinstance(value, str) or len(value) > 64:
            raise _Forged
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise _Forged from None


Part = Text | Int | Timestamp | Uuid


@dataclass(frozen=True)
class KeyShape:
    """The sort key a list pages by: its name (a token is valid for that list only) and its parts."""

    name: str
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Page:
    size: int
    after: tuple[Any, ...] | None

    def next_key(self, rows: Sequence[T], key: Callable[[T], tuple[Any, ...]]) -> tuple[Any, ...] | None:
        """The sort key to continue after: that of the last row when the page is full, else None."""
        return key(rows[-1]) if len(rows) == self.size else None


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size must not be negative", field="page.page_size")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    """Issues and reads the page tokens of one service; ``secret`` is shared by all its replicas."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("page tokens need a non-empty signing key")
        self._secret = secret

    def _mac(self, shape: KeyShape, payload: str) -> bytes:
        message = f"{VERSION}\x00{shape.name}\x00{payload}".encode()
        return hmac.new(self._secret, message, sha256).digest()

    def token(self, key: tuple[Any, ...] | None, shape: KeyShape) -> str:
        """The token for the page after the row whose sort key is ``key`` ('' when there is none)."""
        if key is None:
            return ""
        if len(key) != len(shape.parts):
            raise ValueError(f"{shape.name} pages by {len(shape.parts)} values, not {len(key)}")
        values = [part.encode(value) for part, value in zip(shape.parts, key, strict=True)]
        payload = _b64(json.dumps(values, separators=(",", ":")).encode())
        return f"{VERSION}.{payload}.{_b64(self._mac(shape, payload))}"

    def page(self, requested_size: int, token: str, shape: KeyShape) -> Page:
        """The page a request asks for; a token this service did not issue for ``shape`` is refused."""
        size = page_size(requested_size)
        if not token:
            return Page(size, None)
        try:
            return Page(size, self._read(token, shape))
        except (_Forged, ValueError, binascii.Error, RecursionError):
            raise InvalidArgument(_NOT_OURS, field=TOKEN_FIELD) from None

    def _read(self, token: str, shape: KeyShape) -> tuple[Any, ...]:
        if len(token) > MAX_TOKEN_CHARS:
            raise _Forged
        version, _, rest = token.partition(".")
        payload, _, mac = rest.partition(".")
        # compare the MAC as text: base64 decoding ignores the unused low bits of a final character
        if version != VERSION or not hmac.compare_digest(mac.encode(), _b64(self._mac(shape, payload)).encode()):
            raise _Forged
        values = json.loads(_unb64(payload))
        if not isinstance(values, list) or len(values) != len(shape.parts):
            raise _Forged
        return tuple(part.decode(value) for part, value in zip(shape.parts, values, strict=True))
