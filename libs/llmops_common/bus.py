"""The event bus: a faststream ``NatsBroker`` (connection, reconnects, credentials) with the
platform's delivery rules.

- Streams (one per context, plus the dead-letter stream) are created or updated at start.
- Publishing sends the envelope's ``event_id`` as ``Nats-Msg-Id`` (the stream drops a republished id
  inside its duplicate window) and the correlation and causation ids as headers. ``publish_many``
  pipelines publishes and waits for every acknowledgement, in order.
- Subscribing creates a durable consumer shared by every replica (a deliver group) with an explicit
  ack policy: the handler's success acks. A failure that may pass (``is_permanent`` is false: an
  unavailable or conflicting dependency, a database or network error, a timeout, a bug a deploy may
  fix) naks with backoff, and the last allowed delivery goes to ``llmops.dlq.<context>`` with its
  error and is terminated. A failure no retry can fix goes to the dead-letter subject on its first
  delivery, with its reason: a malformed envelope, an unknown type or schema version, a payload with
  NUL characters or non-finite numbers (``validation.check_data``), and a handler's permanent failure
  (``is_permanent``: a domain error in ``PERMANENT_CODES``, a validation or data error). The consumer
  keeps going.
- Long handlers wrap their work in ``heartbeat()`` so the server does not redeliver it mid-way.
- Per-message logs are DEBUG: nothing at INFO on the hot path.

Consumers are subscribed on the broker's own nats-py connection with a lean dispatcher rather than
through faststream's subscriber: faststream's per-message pipeline (context scopes, middleware
stack, parser and filter chain) measured about 55 us a message on a 2-core machine, more than the
whole raw client, and held the bus at 0.25x raw nats-py (bench/bus.py); the dispatcher here does
only what the delivery rules need.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from faststream.nats import NatsBroker
from faststream.security import SASLPlaintext
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy, PubAck
from nats.js.errors import BadRequestError
from pydantic import ValidationError

from llmops_common.errors import DomainError, ErrorCode
from llmops_common.events.envelope import Envelope, parse_envelope
from llmops_common.events.streams import all_streams, context_of, dlq_subject, stream_name
from llmops_common.settings import CommonSettings
from llmops_common.validation import check_data, check_text

log = logging.getLogger(__name__)

HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_CORRELATION = "llmops-correlation-id"
HEADER_CAUSATION = "llmops-causation-id"
HEADER_TYPE = "llmops-event-type"
HEADER_SCHEMA_VERSION = "llmops-schema-version"
HEADER_DLQ_REASON = "llmops-dlq-reason"
HEADER_DLQ_SUBJECT = "llmops-dlq-subject"
HEADER_DLQ_CONSUMER = "llmops-dlq-consumer"
HEADER_DLQ_DELIVERIES = "llmops-dlq-deliveries"

Handler = Callable[[Envelope[Any]], Awaitable[None]]

#: Domain error codes that the same event will raise again however often it is retried: the thing it
#: names does not exist or already does, the event is invalid or not allowed, or the state it needs
#: must be fixed by someone first (gRPC's FAILED_PRECONDITION: "do not retry until the state is
#: fixed"; the dead letter can be replayed then). UNAVAILABLE, CONFLICT and INTERNAL are retried.
PERMANENT_CODES = frozenset({ErrorCode.NOT_FOUND, ErrorCode.ALREADY_EXISTS, ErrorCode.INVALID,
                             ErrorCode.PERMISSION_DENIED, ErrorCode.UNAUTHENTICATED,
                             ErrorCode.FAILED_PRECONDITION})


def is_permanent(exc: BaseException) -> bool:
    """Whether a handler's failure would recur on every retry (dead-letter it now) or may pass: a
    permanent domain error, a value that fails a model's validation, or one the database can never
    store (``psycopg.DataError``: out of range, malformed). Everything else, including
    ``psycopg.OperationalError`` and timeouts, may pass and is retried."""
    if isinstance(exc, DomainError):
        return exc.code in PERMANENT_CODES
    return isinstance(exc, ValidationError | psycopg.DataError)

#: the message being handled, for heartbeat() and correlated logging
current_message: contextvars.ContextVar[Msg | None] = contextvars.ContextVar("llmops_current_message", default=None)
correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("llmops_correlation_id", default=None)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How a failing message is retried before it is dead-lettered."""

    max_deliveries: int = 5
    backoff_seconds: tuple[float, ...] = (1.0, 5.0, 15.0, 30.0, 60.0)
    ack_wait_seconds: float = 30.0
    max_ack_pending: int = 1000

    def delay(self, delivery: int) -> float:
        return self.backoff_seconds[min(delivery, len(self.backoff_seconds)) - 1]


def envelope_headers(envelope: Envelope[Any]) -> dict[str, str]:
    headers = {
        HEADER_MSG_ID: str(envelope.event_id),
        HEADER_CORRELATION: envelope.correlation_id,
        HEADER_TYPE: envelope.type,
        HEADER_SCHEMA_VERSION: str(envelope.schema_version),
    }
    if envelope.causation_id:
        headers[HEADER_CAUSATION] = envelope.causation_id
    return headers


def make_broker(settings: CommonSettings, *, name: str) -> NatsBroker:
    """A NatsBroker for ``settings``; no per-message INFO logs, handlers typed by the bus itself."""
    security = None
    if settings.nats_user:
        password = settings.nats_password.get_secret_value() if settings.nats_password else ""
        security = SASLPlaintext(username=settings.nats_user, password=password)
    return NatsBroker(
        settings.nats_url,
        security=security,
        name=name,
        apply_types=False,
        logger=logging.getLogger("llmops.faststream"),
        log_level=logging.DEBUG,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
    )


async def ensure_streams(js: JetStreamContext) -> None:
    """Create every context stream and the DLQ stream, or bring their settings up to date."""
    for spec in all_streams():
        config = spec.config()
        try:
            await js.add_stream(config)
        except BadRequestError as exc:
            if exc.err_code != 10058:  # stream name already in use with a different configuration
                raise
            await js.update_stream(config)


REPLICA_CONSUMER_IDLE_SECONDS = 3600.0


class Bus:
    """Publish envelopes and subscribe handlers; the only way services touch NATS."""

    def __init__(self, settings: CommonSettings, *, producer: str, policy: DeliveryPolicy | None = None) -> None:
        self.producer = producer
        self.policy = policy or DeliveryPolicy()
        self.broker = make_broker(settings, name=producer)
        self._js: JetStreamContext | None = None
        self._subscriptions: list[tuple[str, str, ConsumerConfig, _Dispatcher]] = []

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("bus not started")
        return self._js

    async def start(self, connect_timeout: float = 3.0) -> None:
        """Connect (giving up after ``connect_timeout`` so callers can retry and report), ensure the
        streams, then start the subscribers. Once connected, the client reconnects by itself."""
        await asyncio.wait_for(self.broker.connect(), connect_timeout)
        self._js = self.broker.connection.jetstream()
        await ensure_streams(self._js)
        await self.broker.start()
        for subject, stream, config, dispatcher in self._subscriptions:
            await self._js.subscribe(subject, queue=config.deliver_group, cb=dispatcher.dispatch, manual_ack=True,
                                     stream=stream, config=config, pending_msgs_limit=4 * config.max_ack_pending)

    async def stop(self) -> None:
        await self.broker.stop()
        self._js = None


    # -- publishing ----------------------------------------------------------------------------

    async def publish(self, envelope: Envelope[Any]) -> PubAck:
        return await self.js.publish(envelope.subject, envelope.to_bytes(), headers=envelope_headers(envelope))

    async def publish_raw(self, subject: str, data: bytes, headers: dict[str, str]) -> PubAck:
        return await self.js.publish(subject, data, headers=headers)

    async def publish_many(self, messages: Iterable[tuple[str, bytes, dict[str, str]]]) -> list[PubAck]:
        """Pipeline ``(subject, data, headers)`` publishes; return their acks in order, or raise."""
        futures = [await self.js.publish_async(s, d, headers=h) for s, d, h in messages]
        return list(await asyncio.gather(*futures))

    async def publish_envelopes(self, envelopes: Sequence[Envelope[Any]]) -> list[PubAck]:
        return await self.publish_many((e.subject, e.to_bytes(), envelope_headers(e)) for e in envelopes)

    # -- consuming -----------------------------------------------------------------------------

    def subscribe(self, subject: str, *, durable: str, handler: Handler, accept: Sequence[str] | None = None,
                  per_replica: bool = False) -> None:
        """Register ``handler`` for ``subject`` on the durable consumer ``durable`` (shared by replicas).

        ``accept`` lists the event types the handler understands (default: the subject itself when it
        has no wildcard); anything else is dead-lettered as unknown. ``per_replica``: ``durable`` names
        this replica alone, which gets every event published from now on; the server removes the
        consumer an hour after the replica goes away.
        """
        context = context_of(subject)
        accepted = frozenset(accept or ([] if "*" in subject or ">" in subject else [subject]))
        dispatcher = _Dispatcher(self, handler, durable=durable, dlq=dlq_subject(context), accepted=accepted)
        config = ConsumerConfig(
            durable_name=durable,
            deliver_group=durable,
            ack_policy=JsAckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.NEW if per_replica else DeliverPolicy.ALL,
            inactive_threshold=REPLICA_CONSUMER_IDLE_SECONDS if per_replica else None,
            max_deliver=self.policy.max_deliveries,
            ack_wait=self.policy.ack_wait_seconds,
            max_ack_pending=self.policy.max_ack_pending,
        )

        self._subscriptions.append((subject, stream_name(context), config, dispatcher))

    async def dead_letter(self, msg: Msg, *, reason: str, consumer: str, dlq: str) -> None:
        headers = dict(msg.headers or {})
        original_id = headers.get(HEADER_MSG_ID) or f"seq-{msg.metadata.sequence.stream}"
        headers.update(
            {
                HEADER_MSG_ID: f"{consumer}:{original_id}",
                HEADER_DLQ_REASON: reason[:2000],
                HEADER_DLQ_SUBJECT: msg.subject,
                HEADER_DLQ_CONSUMER: consumer,
                HEADER_DLQ_DELIVERIES: str(msg.metadata.num_delivered),
            }
        )
        await self.js.publish(dlq, msg.data, headers=headers)


def _type_hint(headers: dict[str, str] | None) -> tuple[str, int] | None:
    if not headers:
        return None
    event_type, version = headers.get(HEADER_TYPE), headers.get(HEADER_SCHEMA_VERSION)
    if event_type and version and version.isdigit():
        return event_type, int(version)
    return None


class _Dispatcher:
    """Per message: parse, call the handler, then ack, nak with backoff, or dead-letter."""

    def __init__(self, bus: Bus, handler: Handler, *, durable: str, dlq: str, accepted: frozenset[str]) -> None:
        self.bus, self.handler, self.durable, self.dlq, self.accepted = bus, handler, durable, dlq, accepted

    async def dispatch(self, msg: Msg) -> None:
        try:
            envelope = parse_envelope(msg.data, _type_hint(msg.headers))
            if self.accepted and envelope.type not in self.accepted:
                raise DomainError(f"consumer {self.durable} does not handle {envelope.type}")
            # NUL and non-finite numbers, as JSON spells them: only an event holding one is walked, to
            # name the field. Typed float fields refuse them at parsing (``allow_inf_nan=False``).
            data = msg.data
            if b"\\u0000" in data or b"NaN" in data or b"Infinity" in data:
                check_text(envelope.correlation_id, "correlation_id")
                check_text(envelope.causation_id or "", "causation_id")
                check_data(envelope.payload.model_dump(mode="json"), "payload")
        except DomainError as exc:
            log.warning("dead-lettering malformed event", extra={"consumer": self.durable, "reason": str(exc)})
            await self._dead_letter(msg, f"rejected: {exc}")
            return
        msg_token = current_message.set(msg)
        corr_token = correlation_id.set(envelope.correlation_id)
        try:
            await self.handler(envelope)
        except Exception as exc:  # noqa: BLE001 - every failure is retried or dead-lettered, never lost
            await self._failed(msg, exc)
            return
        finally:
            current_message.reset(msg_token)
            correlation_id.reset(corr_token)
        await msg.ack()

    async def _failed(self, msg: Msg, exc: Exception) -> None:
        delivery = msg.metadata.num_delivered
        reason = f"{type(exc).__name__}: {exc}"
        if is_permanent(exc):
            log.warning("dead-lettering a permanent failure", extra={"consumer": self.durable, "reason": reason})
            await self._dead_letter(msg, f"permanent failure: {reason}")
        elif delivery >= self.bus.policy.max_deliveries:
            log.error("dead-lettering after %d deliveries", delivery,
                      extra={"consumer": self.durable, "reason": reason})
            await self._dead_letter(msg, f"failed after {delivery} deliveries: {reason}")
        else:
            log.warning("handler failed; redelivering", extra={"consumer": self.durable, "reason": reason})
            await msg.nak(delay=self.bus.policy.delay(delivery))

    async def _dead_letter(self, msg: Msg, reason: str) -> None:
        await self.bus.dead_letter(msg, reason=reason, consumer=self.durable, dlq=self.dlq)
        await msg.term()


@contextlib.asynccontextmanager
async def heartbeat(every: float = 10.0) -> AsyncIterator[None]:
    """Keep the message being handled from redelivery while a long handler works."""
    msg = current_message.get()
    if msg is None:
        raise RuntimeError("heartbeat() used outside a bus handler")

    async def beat() -> None:
        while True:
            await asyncio.sleep(every)
            await msg.in_progress()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
