"""What every ``llmops`` command group shares: its options, the request pieces built from them
(``k=v`` pairs, pages, time ranges, enum values) and the printing: the reply as proto3 JSON with
``--json``, else a rendering (key-value tables, enum short names, the next page's token), always
through the literal console of ``output``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from rich.table import Table

from llmops.common.v1 import common_pb2
from llmops_cli.output import console

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ApiKeyOpt = Annotated[str | None, typer.Option("--api-key", envvar="LLMOPS_API_KEY",
                                               help="API key (default: the local bootstrap admin key).")]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", help="Tag k=v (repeatable).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")]
PageSizeOpt = Annotated[int, typer.Option("--page-size", help="Page size (0: the service default).")]
PageTokenOpt = Annotated[str, typer.Option("--page-token", help="Token of the page to fetch.")]
SinceOpt = Annotated[datetime | None, typer.Option("--since", help="Not before this time (UTC).")]
UntilOpt = Annotated[datetime | None, typer.Option("--until", help="Before this time (UTC).")]


# -- requests -----------------------------------------------------------------------------------------


def parse_pairs(values: list[str] | None, what: str = "tag") -> dict[str, str]:
    """``k=v`` options as a dict; a value without ``=`` or with an empty key is a bad parameter."""
    pairs: dict[str, str] = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{what} {value!r} is not k=v")
        pairs[key.strip()] = val
    return pairs


def page(size: int, token: str) -> common_pb2.PageRequest:
    return common_pb2.PageRequest(page_size=size, page_token=token)


def time_range(since: datetime | None, until: datetime | None) -> common_pb2.TimeRange | None:
    """The range between ``--since`` and ``--until`` (naive times are UTC); None when neither is given."""
    if since is None and until is None:
        return None
    stamps = {}
    for field, value in (("start", since), ("end", until)):
        if value is not None:
            stamps[field] = Timestamp()
            stamps[field].FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return common_pb2.TimeRange(**stamps)


def enum_value(enum: Any, prefix: str, name: str) -> int:
    """``enum_value(pb.ModelKind, "MODEL_KIND_", "adapter")`` -> the number of MODEL_KIND_ADAPTER."""
    return enum.Value(f"{prefix}{name.upper()}")


def short_name(enum: Any, prefix: str, number: int) -> str:
    """The reverse of ``enum_value``: the value's name without its prefix, in lower case."""
    return enum.Name(number).removeprefix(prefix).lower()


# -- printing -----------------------------------------------------------------------------------------


def to_dict(message: Message) -> dict[str, Any]:
    """Proto3 JSON: field names as in the .proto, int64 values as strings, enums by name, unset scalars included."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def emit(message: Message, as_json: bool, render: Callable[[Any], None]) -> None:
    """The reply as JSON with ``--json``, else as ``render`` draws it."""
    if as_json:
        typer.echo(json.dumps(to_dict(message), indent=2))
    else:
        render(message)


def fmt(value: Any, nested: bool = False) -> str:
    """A JSON-like value in one cell: ``k=v, k=v`` for a dict, one item a line for a list."""
    if isinstance(value, dict):
        text = ", ".join(f"{k}={fmt(v, True)}" for k, v in value.items())
        return f"{{{text}}}" if nested else text
    if isinstance(value, list):
        return ("; " if nested else "\n").join(fmt(v, nested) for v in value)
    return str(value)


def show_kv(message: Message, title: str) -> None:
    """A message's set fields, one a row."""
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in json_format.MessageToDict(message, preserving_proto_field_name=True).items():
        table.add_row(key, fmt(value))
    console.print(table)


def next_page(reply_page: common_pb2.PageResponse) -> None:
    if reply_page.next_page_token:
        console.print(f"next page: --page-token {reply_page.next_page_token}")
