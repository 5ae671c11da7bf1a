"""One error vocabulary: domain errors carry a protocol-neutral code; one table maps each code to its
gRPC and HTTP status, so nothing escapes a transport as UNKNOWN with a traceback in its message."""

from __future__ import annotations

import enum

import grpc


class ErrorCode(enum.StrEnum):
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    INVALID = "invalid"
    FAILED_PRECONDITION = "failed_precondition"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    INTERNAL = "internal"


#: code -> (gRPC status, HTTP status). The only place transports learn how to report an error.
STATUS_TABLE: dict[ErrorCode, tuple[grpc.StatusCode, int]] = {
    ErrorCode.NOT_FOUND: (grpc.StatusCode.NOT_FOUND, 404),
    ErrorCode.ALREADY_EXISTS: (grpc.StatusCode.ALREADY_EXISTS, 409),
    ErrorCode.INVALID: (grpc.StatusCode.INVALID_ARGUMENT, 400),
    ErrorCode.FAILED_PRECONDITION: (grpc.StatusCode.FAILED_PRECONDITION, 412),
    ErrorCode.CONFLICT: (grpc.StatusCode.ABORTED, 409),
    ErrorCode.UNAVAILABLE: (grpc.StatusCode.UNAVAILABLE, 503),
    ErrorCode.PERMISSION_DENIED: (grpc.StatusCode.PERMISSION_DENIED, 403),
    ErrorCode.UNAUTHENTICATED: (grpc.StatusCode.UNAUTHENTICATED, 401),
    ErrorCode.RESOURCE_EXHAUSTED: (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    ErrorCode.INTERNAL: (grpc.StatusCode.INTERNAL, 500),
}


class DomainError(Exception):
    """An error a caller can act on: a code, a message, and where applicable the offending field."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, field: str | None = None, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = ErrorCode.ALREADY_EXISTS


class InvalidArgument(DomainError):
    code = ErrorCode.INVALID


class FailedPrecondition(DomainError):
    code = ErrorCode.FAILED_PRECONDITION


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class Unavailable(DomainError):
    code = ErrorCode.UNAVAILABLE


class PermissionDenied(DomainError):
    code = ErrorCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class ResourceExhausted(DomainError):
    """Too many requests (a rate limit, a full queue): retry after ``retry_after`` seconds."""

    code = ErrorCode.RESOURCE_EXHAUSTED

    def __init__(self, message: str, *, retry_after: float = 1.0, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


def grpc_status(code: ErrorCode) -> grpc.StatusCode:
    return STATUS_TABLE[code][0]


def http_status(code: ErrorCode) -> int:
    return STATUS_TABLE[code][1]
