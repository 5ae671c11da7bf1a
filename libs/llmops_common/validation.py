"""The one input-validation layer every servicer and consumer shares (NUL-free bounded text, finite
floats, in-range timestamps, names by ``fullmatch``, reserved names compared case-insensitively, parsed
``s3://`` URIs), and ``quote`` for echoing a bad value in an error message without echoing all of it.

Pydantic validates declared models; these checks are for values that arrive as loose strings, floats
and JSON-like trees (protobuf fields, event payloads), where a model per call site would cost more
than it checks.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from llmops_common.errors import InvalidArgument, NotFound

#: the default bound for one text field; a field that needs more declares it
DEFAULT_MAX_TEXT = 64 * 1024
#: how deep a JSON-like tree may nest (labels, parameters, event payloads)
MAX_DATA_DEPTH = 64
#: the Timestamp range protobuf and Postgres both accept: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z
MIN_TIMESTAMP_SECONDS = -62135596800
MAX_TIMESTAMP_SECONDS = 253402300799
#: a client-supplied idempotency key: short enough for a unique index (Postgres refuses index rows over ~2.7 kB)
MAX_REQUEST_ID = 200


def quote(value: Any, limit: int = 40) -> str:
    """``repr`` of at most the first ``limit`` characters of ``value``; longer values say how long."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} chars)"


def check_text(value: str, field: str, *, max_len: int = DEFAULT_MAX_TEXT) -> str:
    """``value`` unchanged when it is NUL-free and at most ``max_len`` characters long."""
    if len(value) > max_len:
        raise InvalidArgument(f"is {len(value)} characters long; at most {max_len} are allowed", field=field)
    if "\x00" in value:
        raise InvalidArgument(f"must not contain NUL characters: {quote(value)}", field=field)
    return value


def parse_uuid(value: str, field: str, what: str) -> str:
    """The canonical form of an id that is a UUID; anything else cannot name one (NotFound)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"{what} {quote(value)} not found", field=field) from None


def canonical_id(value: str) -> str | None:
    """A UUID in its canonical form; None when ``value`` is not one (a lookup that finds nothing)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        return None


def check_request_id(value: str, field: str = "request_id") -> str:
    """A client's idempotency key: NUL-free and at most ``MAX_REQUEST_ID`` characters."""
    return check_text(value, field, max_len=MAX_REQUEST_ID)


def check_finite(value: float, field: str) -> float:
    """``value`` unchanged when it is a finite number (not NaN, not ±infinity)."""
    if not math.isfinite(value):
        raise InvalidArgument(f"must be a finite number, not {value!r}", field=field)
    return value


def check_timestamp_seconds(seconds: int, nanos: int, field: str) -> None:
    """Refuse a (seconds, nanos) pair outside protobuf's Timestamp range."""
    if not MIN_TIMESTAMP_SECONDS <= seconds <= MAX_TIMESTAMP_SECONDS or not 0 <= nanos <= 999_999_999:
        raise InvalidArgument(
            "must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z", field=field
        )


def check_data(value: Any, field: str, *, max_depth: int = MAX_DATA_DEPTH, max_len: int = DEFAULT_MAX_TEXT) -> Any:
    """``value`` unchanged when it is a JSON-like tree (dict, list, tuple, str, int, float, bool, None)
    of bounded depth, with NUL-free bounded strings and keys and finite floats."""
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, path, max_len=max_len)
        elif isinstance(item, bool) or item is None or isinstance(item, int):
            continue
        elif isinstance(item, float):
            check_finite(item, path)
        elif isinstance(item, Mapping | list | tuple):
            if depth >= max_depth:
                raise InvalidArgument(f"nests deeper than {max_depth} levels", field=path)
            if isinstance(item, Mapping):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise InvalidArgument(f"has a key that is not a string: {quote(key)}", field=path)
                    check_text(key, path, max_len=max_len)
                    stack.append((child, f"{path}.{key if len(key) <= 40 else quote(key)}", depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        else:
            raise InvalidArgument(f"holds a value of an unsupported type: {type(item).__name__}", field=path)
    return value


def fullmatch_name(pattern: re.Pattern[str] | str, value: str, field: str, what: str, rule: str = "") -> str:
    """``value`` unchanged when the whole of it matches ``pattern`` (``$`` would also let a final
    newline through); ``rule`` says in words what a valid ``what`` looks like."""
    if re.fullmatch(pattern, value) is None:
        raise InvalidArgument(f"{quote(value)} is not a valid {what}" + (f": {rule}" if rule else ""), field=field)
    return value


def check_not_reserved(value: str, reserved: Iterable[str], field: str, why: str = "") -> str:
    """Refuse ``value`` when it equals a reserved name in any letter case; ``why`` says what it means."""
    folded = value.casefold()
    if any(folded == name.casefold() for name in reserved):
        raise InvalidArgument(f"{quote(value)} is reserved" + (f": {why}" if why else ""), field=field)
    return value


#: S3's bucket naming rules (3-63 lower-case letters, digits, '.' and '-', starting and ending with a
#: letter or digit, no '..', not an IP address)
S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_S3_KEY_BYTES = 1024


def parse_s3_uri(uri: str, field: str, *, require_key: bool = False) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key), checked strictly: a valid bucket name (so no ``host:port``,
    credentials or spaces), and a key of at most 1024 bytes without control characters or empty, '.'
    or '..' segments (one trailing '/' names a prefix). ``require_key`` refuses a bare bucket."""
    if not uri.startswith("s3://"):
        raise InvalidArgument(f"must be an s3://bucket/key URI, not {quote(uri)}", field=field)
    bucket, _, key = uri[5:].partition("/")
    if S3_BUCKET.fullmatch(bucket) is None or ".." in bucket or _IP_ADDRESS.fullmatch(bucket):
        raise InvalidArgument(f"{quote(bucket)} is not a valid S3 bucket name (3-63 lower-case letters, digits,"
                              " '.' or '-')", field=field)
    if require_key and not key.strip("/"):
        raise InvalidArgument(f"must name an object or a prefix inside the bucket, not the whole bucket {bucket!r}",
                              field=field)
    if _CONTROL.search(key) or len(key.encode("utf-8", "surrogatepass")) > MAX_S3_KEY_BYTES:
        raise InvalidArgument(f"the key must be at most {MAX_S3_KEY_BYTES} bytes without control characters:"
                              f" {quote(key)}", field=field)
    segments = key.removesuffix("/").split("/") if key else []
    if any(segment in ("", ".", "..") for segment in segments):
        raise InvalidArgument(f"the key must not hold empty, '.' or '..' segments: {quote(key)}", field=field)
    return bucket, key
