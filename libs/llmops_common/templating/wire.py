"""The pipe protocol between ``RenderPool`` and its workers: length-prefixed JSON both ways.

Never pickle: a worker that a template somehow took over must not be able to make its parent run
code by what it sends back.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from llmops_common.templating.schema import ChatMessage, Delimiting, Template, VariableSpec, VariableType

HEADER_BYTES = 4


def template_to_wire(template: Template) -> dict[str, Any]:
    return {
        "text": template.text,
        "messages": [[m.role, m.content] for m in template.messages],
        "variables": [[v.name, v.type.value, v.required, v.default, v.delimiting.value, v.delimiter_tag]
                      for v in template.variables],
    }


def template_from_wire(wire: dict[str, Any]) -> Template:
    variables = tuple(VariableSpec(name, VariableType(kind), required, default, "", Delimiting(delimiting), tag)
                      for name, kind, required, default, delimiting, tag in wire["variables"])
    return Template(wire["text"], tuple(ChatMessage(role, content) for role, content in wire["messages"]), variables)


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    return len(body).to_bytes(HEADER_BYTES, "big") + body


def read(stream: BinaryIO) -> dict[str, Any] | None:
    header = stream.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES:
        return None
    return json.loads(stream.read(int.from_bytes(header, "big")))
