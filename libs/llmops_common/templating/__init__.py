"""Prompt templates: validation, variable checking and sandboxed rendering, shared by the prompt
service and its client library (so a client renders exactly what the service would).

Built on Jinja2's ``ImmutableSandboxedEnvironment``. What the sandbox lacks and is added here:
templates are checked at creation (syntax errors with line and column, undeclared variables, any
access to ``_``-prefixed attributes refused up front); ``*`` and ``**`` cannot build huge strings,
lists or numbers; ``range`` draws from one budget per render; output is bounded in size and render
time is checked as output is produced. Variable values are data: ``{{ x }}`` with a value containing
``{{ ... }}`` prints it literally, because Jinja never re-evaluates output.
"""

from __future__ import annotations

import enum
import logging
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from llmops_common.errors import InvalidArgument, PermissionDenied

log = logging.getLogger(__name__)
security_log = logging.getLogger("llmops.security")

MAX_TEMPLATE_BYTES = 1024 * 1024
MAX_OUTPUT_CHARS = 1_000_000
MAX_RANGE_TOTAL = 100_000
MAX_SEQUENCE = 100_000
RENDER_SECONDS = 1.0
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
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
        if self.text is not None:
            return [("template", self.text)]
        return [(f"messages[{i}].content", m.content) for i, m in enumerate(self.messages)]


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_SEQUENCE:
                    raise SecurityError(f"'*' would build a sequence longer than {MAX_SEQUENCE}")
        if operator == "**" and isinstance(right, int | float) and abs(right) > 100:
            raise SecurityError("'**' exponent is limited to 100")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=1)
def environment() -> _Environment:
    env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, auto_reload=False)
    env.globals = {}  # no range/dict/lipsum/cycler...: a per-render budgeted range is added at render time
    return env


class UnsafeTemplate(PermissionDenied):
    """A template or render that reached for what the sandbox forbids."""


def _security_event(what: str, detail: str) -> UnsafeTemplate:
    security_log.warning("security event: %s", what, extra={"security_event": what, "detail": detail[:500]})
    return UnsafeTemplate(f"refused: {detail}")


def _location(exc: TemplateSyntaxError, source: str) -> str:
    line = exc.lineno or 1
    text = source.splitlines()[line - 1] if source.splitlines() else ""
    opener = max(text.rfind("{{"), text.rfind("{%"))
    return f"line {line}, column {opener + 1 if opener >= 0 else 1}"


@lru_cache(maxsize=512)
def _compile(source: str) -> Any:
    return environment().from_string(source)


def validate(template: Template) -> None:
    """Refuse a template that does not parse, uses undeclared variables, or reaches for internals."""
    if template.text is None and not template.messages:
        raise InvalidArgument("a template needs text or chat messages", field="template")
    if template.text is not None and template.messages:
        raise InvalidArgument("a template is text or chat, not both", field="template")
    names = [v.name for v in template.variables]
    for spec in template.variables:
        if not NAME.match(spec.name):
            raise InvalidArgument(f"invalid variable name {spec.name!r}", field="variables")
        if spec.default is not None:
            spec.check(spec.default)
        if spec.delimiter_tag and not TAG.match(spec.delimiter_tag):
            raise InvalidArgument(f"invalid delimiter tag {spec.delimiter_tag!r}", field=f"variables.{spec.name}")
    if len(set(names)) != len(names):
        raise InvalidArgument("variable names must be unique", field="variables")
    for message in template.messages:
        if message.role not in CHAT_ROLES:
            raise InvalidArgument(f"chat role {message.role!r} is not one of {CHAT_ROLES}", field="messages")
    size = sum(len(src.encode()) for _, src in template.sources())
    if size > MAX_TEMPLATE_BYTES:
        raise InvalidArgument(f"template is {size} bytes; the limit is {MAX_TEMPLATE_BYTES}", field="template")
    used: set[str] = set()
    for where, source in template.sources():
        try:
            ast = environment().parse(source)
        except TemplateSyntaxError as exc:
            raise InvalidArgument(f"does not parse at {_location(exc, source)}: {exc.message}", field=where) from None
        for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
            attr = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if isinstance(attr, str) and attr.startswith("_"):
                raise _security_event("template reaches for an internal attribute",
                                      f"{where} accesses {attr!r}, which templates may not use")
        used |= meta.find_undeclared_variables(ast)
    undeclared = sorted(used - set(names) - {"range"})
    if undeclared:
        raise InvalidArgument(f"the template uses undeclared variables {undeclared}", field="variables")


def bind(specs: tuple[VariableSpec, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``values`` against the schema: unknown, missing or mistyped variables are errors naming them."""
    known = {s.name: s for s in specs}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InvalidArgument(f"unknown variables {unknown}", field="variables")
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


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_RANGE_TOTAL

    def range(self, *args: int) -> range:
        values = range(*args)
        self.left -= len(values)
        if self.left < 0:
            raise SecurityError(f"range() may produce at most {MAX_RANGE_TOTAL} items per render")
        return values


def _render_source(source: str, variables: dict[str, Any], where: str, deadline: float) -> str:
    chunks, size = [], 0
    try:
        compiled = _compile(source)
        stream: Iterator[str] = compiled.generate({**variables, "range": _Budget().range})
        while batch := list(islice(stream, 256)):  # checked per batch of chunks: the loop stays in C
            size += sum(map(len, batch))
            if size > MAX_OUTPUT_CHARS:
                raise InvalidArgument(f"rendered output exceeds {MAX_OUTPUT_CHARS} characters", field=where)
            if time.monotonic() > deadline:
                raise InvalidArgument(f"rendering took longer than {RENDER_SECONDS}s", field=where)
            chunks += batch
    except SecurityError as exc:
        raise _security_event("render refused by the sandbox", f"{where}: {exc}") from None
    except UndefinedError as exc:
        raise InvalidArgument(f"{where}: {exc.message}", field=where) from None
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise InvalidArgument(f"{where}: {exc}", field=where) from None
    return "".join(chunks)


def render(template: Template, values: Mapping[str, Any]) -> str | list[ChatMessage]:
    """Render a text template to a string, or a chat template to its messages."""
    variables = bind(template.variables, values)
    deadline = time.monotonic() + RENDER_SECONDS
    if template.text is not None:
        return _render_source(template.text, variables, "template", deadline)
    return [ChatMessage(m.role, _render_source(m.content, variables, f"messages[{i}].content", deadline))
            for i, m in enumerate(template.messages)]
