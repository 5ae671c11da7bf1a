"""What ``llmops events tail`` shows, apart from reading the bus: subject filters and the streams they
overlap, durations, and each event as a readable line or as its JSON, hostile ones escaped."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from llmops_common.errors import DomainError, InvalidArgument
from llmops_common.events import parse_envelope
from llmops_common.events.streams import all_streams
from llmops_common.validation import quote

MAX_SUBJECT = 255
_TOKEN = re.compile(r"[^\s.*>\x00-\x1f\x7f]+|\*|>")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
VALUE_LIMIT = 40
SUMMARY_LIMIT = 160


# -- subjects ---------------------------------------------------------------------------------------


def parse_subject(subject: str) -> str:
    """``subject`` when it is a valid NATS subject filter: dot-separated non-empty tokens without
    whitespace or control characters, ``*`` a whole token, ``>`` only the last one."""
    if not subject or len(subject) > MAX_SUBJECT:
        raise InvalidArgument(f"must be 1 to {MAX_SUBJECT} characters long: {quote(subject)}", field="SUBJECT")
    tokens = subject.split(".")
    if not all(_TOKEN.fullmatch(t) for t in tokens) or ">" in tokens[:-1]:
        raise InvalidArgument(f"is not a NATS subject (tokens separated by '.', '*' a whole token, '>' last): "
                              f"{quote(subject)}", field="SUBJECT")
    return subject


def intersect(a: str, b: str) -> str | None:
    """The subject filter matching what both filters match, or None when no subject matches both."""
    ta, tb = a.split("."), b.split(".")
    out: list[str] = []
    for i in range(max(len(ta), len(tb))):
        x, y = (ta[i] if i < len(ta) else None), (tb[i] if i < len(tb) else None)
        if x == ">" or y == ">":
            rest = tb[i:] if x == ">" else ta[i:]
            return ".".join(out + rest) if rest else None  # '>' needs at least one more token
        if x is None or y is None:
            return None
        if x != y and "*" not in (x, y):
            return None
        out.append(y if x == "*" else x)
    return ".".join(out)


def matches(subject: str, pattern: str) -> bool:
    """Whether the literal ``subject`` matches the filter ``pattern``."""
    return intersect(subject, pattern) == subject


def stream_filters(subject: str) -> list[tuple[str, str]]:
    """``(stream, filter)`` for every event stream that can hold a subject ``subject`` matches."""
    pairs = []
    for spec in all_streams():
        for stream_subject in spec.subjects:
            common = intersect(subject, stream_subject)
            if common is not None:
                pairs.append((spec.name, common))
    if not pairs:
        raise InvalidArgument(f"matches no event stream's subjects (every event is under 'llmops.>'): "
                              f"{quote(subject)}", field="SUBJECT")
    return pairs


def parse_duration(value: str) -> timedelta:
    """``90s``, ``5m``, ``2h``, ``1d`` or ``1h30m``."""
    parts = _DURATION.findall(value)
    if not value or "".join(n + u for n, u in parts) != value:
        raise InvalidArgument(f"is not a duration like 30s, 5m, 2h or 1d: {quote(value)}", field="--since")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


# -- rendering --------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """``text`` with control, bidi and line-separator characters as ``\\x..``/``\\u....`` escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return "…"


def summary(payload: Any) -> str:
    """The payload's top-level fields as ``key=value``, each value and the whole line cut short (not yet
    escaped: ``Event.line`` escapes the whole line)."""
    if not isinstance(payload, dict):
        return cut(_compact(payload), SUMMARY_LIMIT)
    parts, length = [], 0
    for key, value in payload.items():
        if value in ("", None, {}, []):
            continue
        part = f"{cut(str(key), VALUE_LIMIT)}={cut(_compact(value), VALUE_LIMIT)}"
        if length + len(part) > SUMMARY_LIMIT:
            parts.append("…")
            break
        parts.append(part)
        length += len(part) + 1
    return " ".join(parts)


@dataclass(frozen=True)
class Event:
    """One message read from a stream: where it was stored, and its body decoded as far as it goes."""

    stream: str
    seq: int
    subject: str
    stored_at: datetime
    data: bytes

    def decoded(self) -> tuple[dict[str, Any] | None, str]:
        """The body as a JSON object (None when it is not one) and what is wrong with it as an envelope."""
        try:
            body = json.loads(self.data)
        except (ValueError, RecursionError):
            return None, f"not JSON ({len(self.data)} bytes)"
        if not isinstance(body, dict):
            return None, f"not a JSON object ({len(self.data)} bytes)"
        try:
            parse_envelope(self.data)
        except DomainError as exc:
            return body, str(exc)
        except RecursionError:
            return body, "nested too deeply"
        return body, ""

    def line(self) -> str:
        """time, subject, short correlation id, producer and payload summary; problems in brackets."""
        body, problem = self.decoded()
        body = body or {}
        when = str(body.get("occurred_at") or self.stored_at.isoformat())
        fields = [cut(when, 32), self.subject, f"corr={str(body.get('correlation_id') or '-')[:8]}",
                  cut(str(body.get("producer") or "-"), 24),
                  summary(body["payload"]) if "payload" in body else ""]
        if problem:
            raw = self.data[:VALUE_LIMIT].decode("utf-8", "backslashreplace")
            fields.append(f"[{cut(problem, 120)}]" + ("" if body else f" {raw!r}"))
        return escape("  ".join(f for f in fields if f))

    def json_line(self) -> str:
        """The envelope as published, on one line; a body that is not a JSON object is wrapped."""
        body, problem = self.decoded()
        if body is None:
            body = {"subject": self.subject, "stream": self.stream, "seq": self.seq, "error": problem,
                    "data": self.data[:4096].decode("utf-8", "backslashreplace")}
        try:
            text = json.dumps(body, ensure_ascii=True, separators=(",", ":"))
        except (ValueError, RecursionError):
            text = json.dumps({"subject": self.subject, "stream": self.stream, "seq": self.seq,
                               "error": "nested too deeply"})
        return text.replace("\x7f", "\\u007f")


@dataclass(frozen=True)
class TailOptions:
    subject: str = "llmops.>"
    since: timedelta | None = None
    last: int | None = None
    count: int | None = None
    timeout: float | None = None
    as_json: bool = False
