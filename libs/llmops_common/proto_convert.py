"""Conversions every servicer needs: timestamps, Structs, pages and time ranges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from llmops.common.v1 import common_pb2
from llmops_common.pagination import KeyShape, Page, PageTokens
from llmops_common.validation import check_timestamp_seconds


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def struct(values: dict[str, Any] | None) -> Struct:
    result = Struct()
    if values:
        result.update(values)
    return result


def from_struct(value: Struct | None) -> dict[str, Any]:
    return json_format.MessageToDict(value) if value is not None else {}


def page_request(tokens: PageTokens, request_page: common_pb2.PageRequest, shape: KeyShape) -> Page:
    return tokens.page(request_page.page_size, request_page.page_token, shape)


def page_response(tokens: PageTokens, key: tuple | None, shape: KeyShape) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_page_token=tokens.token(key, shape))


def to_datetime(value: Timestamp, field: str) -> datetime:
    """An aware UTC datetime; a Timestamp outside protobuf's range is InvalidArgument on ``field``."""
    check_timestamp_seconds(value.seconds, value.nanos, field)
    return value.ToDatetime(UTC)


def time_bounds(time_range: common_pb2.TimeRange, field: str = "time_range") -> tuple[datetime | None, datetime | None]:
    start = to_datetime(time_range.start, f"{field}.start") if time_range.HasField("start") else None
    end = to_datetime(time_range.end, f"{field}.end") if time_range.HasField("end") else None
    return start, end
