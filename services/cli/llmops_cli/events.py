"""``llmops events tail [SUBJECT]``: the events on the bus, live, as readable lines or as JSON.

Every event stream whose subjects overlap SUBJECT (a NATS subject, wildcards allowed) is read from a
snapshot of its last sequence: ``--since``/``--last`` first replay the stored events up to that point
(an ephemeral pull consumer per stream, merged across streams by time; ``--last`` reads the matching
history once and keeps only the last N), then an ordered push consumer
per stream delivers from the next sequence on, so nothing is skipped or shown twice between the two.

Events are shown as published, hostile ones included: a body that is not JSON, is not a valid
envelope, or holds control characters is printed with those characters escaped and long values cut.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import nats
import typer
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from llmops_cli.local import load_stack
from llmops_cli.output import console, err_console
from llmops_common.bus import ensure_streams
from llmops_common.errors import DomainError, InvalidArgument, Unavailable
from llmops_common.events import parse_envelope
from llmops_common.events.streams import all_streams
from llmops_common.settings import CommonSettings
from llmops_common.validation import quote

events_app = typer.Typer(help="Watch the events on the bus.")

MAX_SUBJECT = 255
_TOKEN = re.compile(r"[^\s.*>\x00-\x1f\x7f]+|\*|>")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
VALUE_LIMIT = 40
SUMMARY_LIMIT = 160
FETCH_BATCH = 256


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


def event_of(stream: str, msg: Msg) -> Event:
    meta = msg.metadata
    return Event(stream, meta.sequence.stream, msg.subject, meta.timestamp, msg.data)


# -- reading ----------------------------------------------------------------------------------------


async def replay(js: JetStreamContext, stream: str, subject: str, upto: int, *, since: datetime | None,
                 last: int | None) -> list[Event]:
    """Stored events on ``subject`` up to sequence ``upto`` (from ``since``; only the ``last`` ones)."""
    config = ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=30.0, mem_storage=True,
                            deliver_policy=DeliverPolicy.BY_START_TIME if since else DeliverPolicy.ALL,
                            opt_start_time=since.isoformat() if since else None)
    sub = await js.pull_subscribe(subject, stream=stream, config=config)
    try:
        remaining = (await sub.consumer_info()).num_pending
        kept: collections.deque[Event] = collections.deque(maxlen=last)
        while remaining > 0:
            try:
                batch = await sub.fetch(min(remaining, FETCH_BATCH), timeout=5.0)
            except NatsTimeoutError:  # the rest aged out of the stream meanwhile
                break
            remaining -= len(batch)
            for msg in batch:
                if msg.metadata.sequence.stream > upto:
                    return list(kept)
                kept.append(event_of(stream, msg))
        return list(kept)
    finally:
        await sub.unsubscribe()


@dataclass(frozen=True)
class TailOptions:
    subject: str = "llmops.>"
    since: timedelta | None = None
    last: int | None = None
    count: int | None = None
    timeout: float | None = None
    as_json: bool = False


async def tail(nc: nats.NATS, options: TailOptions, emit: Any, ready: Any = None) -> int:
    """Call ``emit`` with every event the options select; the number emitted. ``ready`` is called with
    the streams read once every later event is sure to be seen."""
    pairs = stream_filters(options.subject)
    js = nc.jetstream()
    await ensure_streams(js)  # as every service does at start, so a tail can wait for the first event
    upto = {stream: (await js.stream_info(stream)).state.last_seq for stream, _ in pairs}
    emitted = 0

    def done() -> bool:
        return options.count is not None and emitted >= options.count

    if options.since is not None or options.last is not None:
        since = datetime.now(UTC) - options.since if options.since is not None else None
        history: list[Event] = []
        for stream, subject in pairs:
            history += await replay(js, stream, subject, upto[stream], since=since, last=options.last)
        history.sort(key=lambda e: e.stored_at)
        for event in history[-options.last:] if options.last is not None else history:
            if done():
                return emitted
            emit(event)
            emitted += 1
    queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=10_000)
    subs = []
    for stream, subject in pairs:
        async def deliver(msg: Msg, stream: str = stream) -> None:
            await queue.put(event_of(stream, msg))

        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=upto[stream] + 1)
        subs.append(await js.subscribe(subject, stream=stream, cb=deliver, ordered_consumer=True, config=config))
    if ready is not None:
        ready([stream for stream, _ in pairs])
    try:
        while not done():
            emit(await queue.get())
            emitted += 1
    finally:
        for sub in subs:
            await sub.unsubscribe()
    return emitted


def nats_settings() -> CommonSettings:
    """The NATS the other commands use: the local stack's, overridden by ``$LLMOPS_NATS_URL`` etc."""
    env = load_stack().env()
    return CommonSettings.from_variables({**env, **{k: v for k, v in os.environ.items() if k.startswith("LLMOPS_")}})


async def run_tail(settings: CommonSettings, options: TailOptions, emit: Any, ready: Any = None) -> int:
    password = settings.nats_password.get_secret_value() if settings.nats_password else None
    auth = {"user": settings.nats_user, "password": password} if settings.nats_user else {}
    try:
        nc = await nats.connect(settings.nats_url, connect_timeout=3, max_reconnect_attempts=3, allow_reconnect=True,
                                **auth)
    except (OSError, NatsError) as exc:
        raise Unavailable(f"cannot reach NATS at {settings.nats_url}: {exc}") from None
    try:
        if options.timeout is None:
            return await tail(nc, options, emit, ready)
        try:
            return await asyncio.wait_for(tail(nc, options, emit, ready), options.timeout)
        except TimeoutError:
            return -1
    finally:
        await nc.close()


# -- command ----------------------------------------------------------------------------------------


@events_app.command("tail")
def tail_cmd(
    subject: Annotated[str, typer.Argument(metavar="SUBJECT",
                                           help="NATS subject filter; wildcards * and > allowed.")] = "llmops.>",
    since: Annotated[str | None, typer.Option("--since", help="First replay the events of this long ago: "
                                              "30s, 5m, 2h, 1d.")] = None,
    last: Annotated[int | None, typer.Option("--last", min=0, help="First replay the last N stored events.")] = None,
    count: Annotated[int | None, typer.Option("--count", min=1, help="Stop after N events.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.0, help="Stop after this many seconds "
                                                  "(exit code 1 if --count was not reached).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON envelope per line, as published.")] = False,
) -> None:
    """Print the events on SUBJECT as they are published (Ctrl-C stops): time, subject, correlation id,
    producer and the payload's key fields; or, with --json, each envelope as published."""
    options = TailOptions(parse_subject(subject), parse_duration(since) if since is not None else None, last, count,
                          timeout, as_json)

    def emit(event: Event) -> None:
        if as_json:
            typer.echo(event.json_line())
        else:
            console.print(event.line(), soft_wrap=True)

    def ready(streams: list[str]) -> None:
        err_console.print(f"watching {options.subject} on {', '.join(streams)} (Ctrl-C stops)", soft_wrap=True)

    try:
        emitted = asyncio.run(run_tail(nats_settings(), options, emit, ready))
    except KeyboardInterrupt:
        return
    if emitted < 0 and count is not None:
        raise typer.Exit(1)
