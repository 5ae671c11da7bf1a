"""Generate ``docs/asyncapi.yaml`` (AsyncAPI 3.0) and ``docs/events.md`` (the event catalogue) from the
payload models registered in ``llmops_common.events``; ``stale_files`` lists what differs from a fresh
generation (``llmops dev asyncapi --check``).

It lives beside ``protogen`` because it is a developer tool that writes the repository's docs: no service
needs it at run time. faststream could emit AsyncAPI, but only for publishers and subscribers declared on
its broker, which the bus does not use (docs/architecture.md); so the document is built here from the
same models every consumer validates with.

- Events: every ``EventPayload`` subclass defined in a module of ``llmops_common.events`` (each module
  is imported, so a new context's events appear without registering the module anywhere; throwaway
  types tests register elsewhere are left out).
- Context: the one named by the subject (``llmops.<context>.…``), which owns the event and publishes it
  (a ``*.requested`` event is published by whoever asks that context for work: the CLI, the pipelines
  service, another service).
- Consumers: read from each service's ``api/events.py``, which holds its subscribers and nothing else
  (translation only): every payload class it imports from ``llmops_common.events``, and every subject
  filter it gives ``subscribe`` as a string; plus ``LIBRARY_CONSUMERS``, the subscriptions made by
  shared libraries on a service's behalf.
- Field descriptions: ``Field(description=...)``, else the comment that ends the field's line.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import pkgutil
import tokenize
import typing
from pathlib import Path
from typing import Any

import yaml

from llmops_cli.event_lines import matches
from llmops_cli.protogen import repo_root
from llmops_common import events as events_package
from llmops_common.bus import (
    HEADER_CAUSATION,
    HEADER_CORRELATION,
    HEADER_MSG_ID,
    HEADER_SCHEMA_VERSION,
    HEADER_TYPE,
)
from llmops_common.events.envelope import EVENT_TYPES, EventPayload
from llmops_common.events.streams import stream_name

ASYNCAPI_PATH = Path("docs/asyncapi.yaml")
CATALOGUE_PATH = Path("docs/events.md")
REF = "#/components/schemas/{model}"

#: Subscriptions made inside shared libraries (filter -> who): not visible in a service's ``api/events.py``.
LIBRARY_CONSUMERS = {
    "llmops.prompts.>": "serving (llmops_common.prompt_client: refreshes its prompt cache, core NATS)",
}

#: The envelope's fields (docs/architecture.md, "Events and delivery").
ENVELOPE_FIELDS = {
    "event_id": "Unique id of the event; also its Nats-Msg-Id, so a republished event is dropped.",
    "type": "The event type, which is also its subject.",
    "schema_version": "The payload schema's version; consumers refuse a version they do not know.",
    "occurred_at": "When the producer created the event (UTC).",
    "correlation_id": "The lifecycle run this event belongs to; every event it causes carries it on.",
    "causation_id": "The event_id of the event that caused this one, if any.",
    "producer": "The service (or tool) that published the event.",
    "payload": "The typed payload of this event type.",
}
HEADERS = {
    HEADER_MSG_ID: "= event_id (JetStream deduplication)",
    HEADER_CORRELATION: "= correlation_id",
    HEADER_CAUSATION: "= causation_id, when there is one",
    HEADER_TYPE: "= type",
    HEADER_SCHEMA_VERSION: "= schema_version",
}


def event_classes() -> list[type[EventPayload]]:
    """Every payload class defined in ``llmops_common.events``, by event type then schema version."""
    prefix = events_package.__name__ + "."
    for info in pkgutil.iter_modules(events_package.__path__, prefix):
        importlib.import_module(info.name)
    return sorted((c for c in EVENT_TYPES.all() if c.__module__.startswith(prefix)),
                  key=lambda c: (c.event_type, c.schema_version))


def consumers(root: Path, classes: list[type[EventPayload]]) -> dict[str, list[str]]:
    """event type -> the services (and library subscribers) that consume it."""
    by_name = {c.__name__: c.event_type for c in classes}
    found: dict[str, set[str]] = {c.event_type: set() for c in classes}
    for path in sorted(root.glob("services/*/llmops_*/api/events.py")):
        service = path.parents[2].name
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(events_package.__name__):
                for alias in node.names:
                    if alias.name in by_name:
                        found[by_name[alias.name]].add(service)
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "subscribe" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    for event_type in found:
                        if matches(event_type, first.value):
                            found[event_type].add(service)
    for pattern, who in LIBRARY_CONSUMERS.items():
        for event_type in found:
            if matches(event_type, pattern):
                found[event_type].add(who)
    return {k: sorted(v) for k, v in found.items()}


def field_comments(cls: type) -> dict[str, str]:
    """Field name -> the ``# comment`` ending its line in the class body."""
    comments: dict[str, str] = {}
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return comments
    names = set(getattr(cls, "model_fields", {}))
    lines = source.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            head = lines[token.start[0] - 1][: token.start[1]].strip()
            name = head.split(":", 1)[0].strip()
            if head and name in names:
                comments[name] = token.string.lstrip("#").strip()
    return comments


def _described(cls: type[EventPayload], schema: dict[str, Any]) -> dict[str, Any]:
    comments = field_comments(cls)
    for name, prop in schema.get("properties", {}).items():
        description = cls.model_fields[name].description or comments.get(name)
        if description:
            prop["description"] = description
    return schema


def _name(cls: type[EventPayload]) -> str:
    return cls.__name__ if cls.schema_version == 1 else f"{cls.__name__}V{cls.schema_version}"


def _summary(cls: type) -> str:
    doc = inspect.getdoc(cls)
    return " ".join(doc.split()) if doc and cls.__doc__ else ""


def document(root: Path | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every event, as plain data."""
    root = root or repo_root()
    classes = event_classes()
    consumed = consumers(root, classes)
    envelope_props: dict[str, Any] = {
        "event_id": {"type": "string", "format": "uuid"},
        "type": {"type": "string"},
        "schema_version": {"type": "integer"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "correlation_id": {"type": "string"},
        "causation_id": {"type": ["string", "null"]},
        "producer": {"type": "string"},
    }
    for key, prop in envelope_props.items():
        prop["description"] = ENVELOPE_FIELDS[key]
    schemas: dict[str, Any] = {"Envelope": {
        "type": "object", "description": "What every event shares; `payload` is typed per event type.",
        "required": ["event_id", "type", "schema_version", "occurred_at", "correlation_id", "producer", "payload"],
        "properties": envelope_props}}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for cls in classes:
        name, context = _name(cls), cls.context()
        schema = _described(cls, cls.model_json_schema(ref_template=REF))
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
        schemas[f"{name}Envelope"] = {"allOf": [
            {"$ref": REF.format(model="Envelope")},
            {"type": "object", "properties": {
                "type": {"const": cls.event_type},
                "schema_version": {"const": cls.schema_version},
                "payload": {"$ref": REF.format(model=name)}}}]}
        messages[name] = {
            "name": name, "title": name, "summary": _summary(cls) or f"{cls.event_type} v{cls.schema_version}",
            "contentType": "application/json",
            "headers": {"type": "object", "properties": {h: {"type": "string", "description": d}
                                                         for h, d in HEADERS.items()}},
            "payload": {"$ref": REF.format(model=f"{name}Envelope")},
        }
        channel = channels.setdefault(cls.event_type, {
            "address": cls.event_type, "messages": {},
            "description": f"Stored in the JetStream stream {stream_name(context)}.",
        })
        channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
        channel_ref = {"$ref": f"#/channels/{cls.event_type}"}
        message_ref = {"$ref": f"#/channels/{cls.event_type}/messages/{name}"}
        operations[f"{context}.send.{name}"] = {
            "action": "send", "channel": channel_ref, "messages": [message_ref],
            "summary": f"Published in the {context} context (stream {stream_name(context)})."}
        for consumer in consumed[cls.event_type]:
            who = consumer.split(" ", 1)[0]
            operations[f"{who}.receive.{name}"] = {
                "action": "receive", "channel": channel_ref, "messages": [message_ref],
                "summary": f"Consumed by {consumer}."}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "LLMOps platform events", "version": "1.0.0",
                 "description": "Every event the services publish on NATS JetStream, generated from the payload "
                                "models in llmops_common.events by `llmops dev asyncapi`; do not edit."},
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:4222", "protocol": "nats",
                              "description": "The embedded stack's NATS (`llmops stack up`)."}},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return repr(annotation).replace("typing.", "").replace("NoneType", "None")


def catalogue(root: Path | None = None) -> str:
    """The event catalogue in Markdown: per context, every event with its stream, producer, consumers and fields."""
    root = root or repo_root()
    classes = event_classes()
    consumed = consumers(root, classes)
    out = ["# Event catalogue", "",
           "Generated from the payload models in `libs/llmops_common/events/` by `llmops dev asyncapi` (also "
           "`docs/asyncapi.yaml`); do not edit. Watch them live with `llmops events tail`.", "",
           "Every event travels as one JSON envelope; its subject is its `type`:", "",
           "| envelope field | description |", "|---|---|",
           *(f"| `{k}` | {v} |" for k, v in ENVELOPE_FIELDS.items()), "",
           "Headers: " + "; ".join(f"`{h}` {d}" for h, d in HEADERS.items()) + ".", "",
           "Context: the one the subject names, which owns the event and publishes it (a `*.requested` event "
           "is published by whoever asks that context for work: the CLI, the pipelines service, another "
           "service). Consumers: the services whose `api/events.py` subscribes to the event, and "
           "shared-library subscribers.", ""]
    for context in sorted({c.context() for c in classes}):
        out += [f"## {context}", "", f"Stream `{stream_name(context)}` (`llmops.{context}.>`).", ""]
        for cls in (c for c in classes if c.context() == context):
            fields = cls.model_fields
            comments = field_comments(cls)
            out += [f"### `{cls.event_type}`", "",
                    f"`{cls.__name__}`, schema version {cls.schema_version}. Context: {context}. "
                    f"Consumers: {', '.join(consumed[cls.event_type]) or 'none in the platform'}.", ""]
            if _summary(cls):
                out += [_summary(cls), ""]
            if not fields:
                out += ["No payload fields.", ""]
                continue
            out += ["| field | type | required | description |", "|---|---|---|---|"]
            for name, info in fields.items():
                required = "yes" if info.is_required() else f"no (default `{info.default!r}`)"
                description = (info.description or comments.get(name, "")).replace("|", "\\|")
                kind = _type_name(info.annotation).replace("|", "\\|")
                out.append(f"| `{name}` | `{kind}` | {required} | {description} |")
            out.append("")
    return "\n".join(out)


def rendered(root: Path | None = None) -> dict[Path, str]:
    """Relative path -> the text a fresh generation writes there."""
    doc = yaml.safe_dump(document(root), sort_keys=False, allow_unicode=True, width=120)
    return {ASYNCAPI_PATH: "# Generated by `llmops dev asyncapi`; do not edit.\n" + doc,
            CATALOGUE_PATH: catalogue(root)}


def generate(root: Path | None = None) -> list[Path]:
    root = root or repo_root()
    written = []
    for path, text in rendered(root).items():
        (root / path).write_text(text)
        written.append(root / path)
    return written


def stale_files(root: Path | None = None) -> list[str]:
    """The generated docs that are missing or differ from a fresh generation."""
    root = root or repo_root()
    return [str(path) for path, text in rendered(root).items()
            if not (root / path).exists() or (root / path).read_text() != text]
