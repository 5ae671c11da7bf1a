"""Conversions every servicer needs: timestamps, Structs, pages and time ranges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from llmops.common.v1 import common_pb2

from llmops_common.pagination import Page, page, token


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


def page_request(request_page: common_pb2.PageRequest) -> Page:
    return page(request_page.page_size, request_page.page_token)


def page_response(key: tuple | None) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_page_token=token(key))


def time_bounds(time_range: common_pb2.TimeRange) -> tuple[datetime | None, datetime | None]:
    start = time_range.start.ToDatetime(UTC) if time_range.HasField("start") else None
    end = time_range.end.ToDatetime(UTC) if time_range.HasField("end") else None
    return start, end
