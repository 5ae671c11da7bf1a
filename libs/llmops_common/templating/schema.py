"""Templates as data: text or chat messages, the variables they declare, and binding values to them.

Variable values are data: ``{{ x }}`` with a value containing ``{{ ... }}`` prints it literally,
because Jinja never re-evaluates output. Untrusted values may be delimited (fenced or tagged) so a
model can tell them from instructions.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmops_common.errors import InvalidArgument

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
TAG = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
CHAT_ROLES = ("system", "user", "assistant", "tool")


class VariableType(enum.StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    LIST = "list"
    OBJECT = "object"


class Delimiting(enum.StrEnum):
    NONE = "none"
    FENCED = "fenced"
    TAGGED = "tagged"


_PYTHON_TYPES: dict[VariableType, tuple[type, ...]] = {
    VariableType.STRING: (str,),
    VariableType.INTEGER: (int,),
    VariableType.NUMBER: (int, float),
    VariableType.BOOLEAN: (bool,),
    VariableType.LIST: (list, tuple),
    VariableType.OBJECT: (dict,),
}


@dataclass(frozen=True)
class VariableSpec:
    name: str
    type: VariableType = VariableType.STRING
    required: bool = True
    default: Any = None
    description: str = ""
    delimiting: Delimiting = Delimiting.NONE
    delimiter_tag: str = ""

    def check(self, value: Any) -> Any:
        accepted = _PYTHON_TYPES[self.type]
        if isinstance(value, bool) and self.type in (VariableType.INTEGER, VariableType.NUMBER):
            accepted = ()
        if self.type is VariableType.INTEGER and isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON clients send 3 as 3.0
        if not isinstance(value, accepted):
            raise InvalidArgument(f"variable {self.name!r} must be {self.type.value}, got {type(value).__name__}",
                                  field=f"variables.{self.name}")
        return value


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str


@dataclass(frozen=True)
class Template:
    """A text template, or a chat template (messages whose contents are templates)."""

    text: str | None = None
    messages: tuple[ChatMessage, ...] = ()
    variables: tuple[VariableSpec, ...] = field(default_factory=tuple)

    @property
    def kind(self) -> str:
        return "text" if self.text is not None else "chat"

    def sources(self) -> list[tuple[str, str]]:
        """(field, source) for every template text: ``template``, or ``messages[i].content``."""
        if self.text is not None:
            return [("template", self.text)]
        return [(f"messages[{i}].content", m.content) for i, m in enumerate(self.messages)]


def check_declarations(template: Template) -> None:
    """Refuse a template whose shape, variable declarations or chat roles are wrong."""
    if template.text is None and not template.messages:
        raise InvalidArgument("a template needs text or chat messages", field="template")
    if template.text is not None and template.messages:
        raise InvalidArgument("a template is text or chat, not both", field="template")
    names = [v.name for v in template.variables]
    for spec in template.variables:
        if not NAME.fullmatch(spec.name):
            raise InvalidArgument(f"invalid variable name {spec.name[:40]!r}", field="variables")
        if spec.default is not None:
            spec.check(spec.default)
        if spec.delimiter_tag and not TAG.fullmatch(spec.delimiter_tag):
            raise InvalidArgument(f"invalid delimiter tag {spec.delimiter_tag[:40]!r}", field=f"variables.{spec.name}")
    if len(set(names)) != len(names):
        raise InvalidArgument("variable names must be unique", field="variables")
    for message in template.messages:
        if message.role not in CHAT_ROLES:
            raise InvalidArgument(f"chat role {message.role[:40]!r} is not one of {CHAT_ROLES}", field="messages")


def bind(specs: tuple[VariableSpec, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``values`` against the schema: unknown, missing or mistyped variables are errors naming them."""
    known = {s.name: s for s in specs}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InvalidArgument(f"unknown variables {[name[:40] for name in unknown[:10]]}", field="variables")
    bound = {}
    for spec in specs:
        if spec.name in values and values[spec.name] is not None:
            bound[spec.name] = _delimit(spec, spec.check(values[spec.name]))
        elif spec.default is not None:
            bound[spec.name] = _delimit(spec, spec.check(spec.default))
        elif spec.required:
            raise InvalidArgument(f"missing required variable {spec.name!r}", field=f"variables.{spec.name}")
        else:
            bound[spec.name] = ""
    return bound


def _delimit(spec: VariableSpec, value: Any) -> Any:
    if spec.delimiting is Delimiting.NONE or not isinstance(value, str):
        return value
    tag = spec.delimiter_tag or "untrusted_input"
    if spec.delimiting is Delimiting.FENCED:
        return f"```{tag}\n{value.replace('```', '` ` `')}\n```"
    return f"<{tag}>{value.replace(f'</{tag}>', f'&lt;/{tag}&gt;')}</{tag}>"
