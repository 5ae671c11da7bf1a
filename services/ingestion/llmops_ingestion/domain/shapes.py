"""Record shapes: detect or declare one, map raw fields (with aliases or a column mapping) onto it.

Every prepared record is a flat tuple of strings whose layout the shape fixes:
instruction ``(instruction, input, output)``, chat ``(role, content, role, content, ...)``,
text ``(text,)``. Steps that work on text (normalisation, PII) treat every string alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from llmops_common.errors import InvalidArgument

Content = tuple[str, ...]


class Shape(StrEnum):
    INSTRUCTION = "instruction"
    CHAT = "chat"
    TEXT = "text"


class ShapeError(ValueError):
    """One raw record does not fit the shape (missing or mistyped fields)."""


INSTRUCTION_ALIASES: dict[str, tuple[str, ...]] = {
    "instruction": ("instruction", "prompt", "question", "query"),
    "input": ("input", "context"),
    "output": ("output", "completion", "response", "answer", "target"),
}
CHAT_ALIASES = ("messages", "conversations", "conversation")
TEXT_ALIASES = ("text", "content", "document", "body")
TARGETS: dict[Shape, tuple[str, ...]] = {
    Shape.INSTRUCTION: ("instruction", "input", "output"),
    Shape.CHAT: ("messages",),
    Shape.TEXT: ("text",),
}
ROLE_ALIASES = {"system": "system", "user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant",
                "bot": "assistant", "model": "assistant", "tool": "tool", "function": "tool"}


def detect_shape(fields: Mapping[str, Any], mapping: Mapping[str, str]) -> Shape:
    """The shape a record's fields (or the column mapping's targets) point to."""
    targets = set(mapping)
    if "messages" in targets or any(isinstance(fields.get(k), list) for k in CHAT_ALIASES):
        return Shape.CHAT
    has_instruction = "instruction" in targets or any(k in fields for k in INSTRUCTION_ALIASES["instruction"])
    has_output = "output" in targets or any(k in fields for k in INSTRUCTION_ALIASES["output"])
    if has_instruction and has_output:
        return Shape.INSTRUCTION
    if "text" in targets or any(k in fields for k in TEXT_ALIASES):
        return Shape.TEXT
    raise ShapeError(
        f"cannot tell the record shape from its fields {sorted(fields)[:12]}; expected instruction/output "
        f"(or prompt/completion, question/answer), messages, or text; declare the shape or give a column mapping"
    )


def check_mapping(shape: Shape | None, mapping: Mapping[str, str]) -> None:
    """Reject a column mapping whose targets no shape (or not the declared one) has."""
    allowed = set(TARGETS[shape]) if shape else {t for ts in TARGETS.values() for t in ts}
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise InvalidArgument(f"unknown target fields {unknown}; allowed: {sorted(allowed)}", field="column_mapping")


class ShapeMapper:
    """Turns raw field dicts into content tuples of one shape."""

    def __init__(self, shape: Shape, mapping: Mapping[str, str] | None = None) -> None:
        self.shape = shape
        self.mapping = dict(mapping or {})
        check_mapping(shape, self.mapping)

    def _column(self, fields: Mapping[str, Any], target: str, aliases: tuple[str, ...]) -> str | None:
        if target in self.mapping:
            return self.mapping[target] if self.mapping[target] in fields else None
        return next((a for a in aliases if a in fields), None)

    def map(self, fields: Mapping[str, Any]) -> Content:
        if self.shape is Shape.INSTRUCTION:
            return tuple(self._string(fields, target, required=target != "input")
                         for target in ("instruction", "input", "output"))
        if self.shape is Shape.TEXT:
            return (self._string(fields, "text", required=True),)
        return self._chat(fields)

    def _string(self, fields: Mapping[str, Any], target: str, *, required: bool) -> str:
        aliases = TEXT_ALIASES if target == "text" else INSTRUCTION_ALIASES[target]
        column = self._column(fields, target, aliases)
        value = fields.get(column) if column else None
        if value is None:
            if required:
                wanted = self.mapping.get(target) or "/".join(aliases)
                raise ShapeError(f"missing field {wanted!r} ({self.shape} records need {target!r})")
            return ""
        return _as_text(value, column or target)

    def _chat(self, fields: Mapping[str, Any]) -> Content:
        column = self._column(fields, "messages", CHAT_ALIASES)
        messages = fields.get(column) if column else None
        if messages is None:
            raise ShapeError(f"missing field {self.mapping.get('messages') or 'messages'!r} (chat records need it)")
        if not isinstance(messages, list) or not messages:
            raise ShapeError(f"field {column!r} must be a non-empty list of messages")
        flat: list[str] = []
        for i, message in enumerate(messages):
            if not isinstance(message, Mapping):
                raise ShapeError(f"{column}[{i}] must be an object with role and content")
            role = message.get("role", message.get("from"))
            content = message.get("content", message.get("value"))
            if role is None or content is None:
                raise ShapeError(f"{column}[{i}] needs 'role' and 'content' (or 'from' and 'value')")
            canonical = ROLE_ALIASES.get(str(role).strip().lower())
            if canonical is None:
                raise ShapeError(f"{column}[{i}] has unknown role {role!r}; known: {sorted(set(ROLE_ALIASES))}")
            flat += (canonical, _as_text(content, f"{column}[{i}].content"))
        return tuple(flat)


def _as_text(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    raise ShapeError(f"field {where!r} must be a string, got {type(value).__name__}")


def record_text(content: Content) -> str:
    """The text that lengths, dedup and profiles look at."""
    return "\n".join(part for part in content if part)


def to_columns(shape: Shape, content: Content) -> dict[str, Any]:
    """The Parquet columns of one record."""
    if shape is Shape.INSTRUCTION:
        return dict(zip(("instruction", "input", "output"), content, strict=True))
    if shape is Shape.TEXT:
        return {"text": content[0]}
    return {"messages": [{"role": content[i], "content": content[i + 1]} for i in range(0, len(content), 2)]}
