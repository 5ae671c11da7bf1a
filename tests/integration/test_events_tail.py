"""``llmops events tail`` on a real nats-server: live events (readable and ``--json``), replay with
``--last``/``--since``, wildcard filters across streams, and hostile bodies printed safely."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from llmops_cli.event_lines import Event, TailOptions
from llmops_cli.events_reader import run_tail
from llmops_common.events import Envelope
from llmops_common.events.envelope import EventPayload
from llmops_common.events.training import TrainingRunCompleted
from llmops_common.testing.events import event_type

pytestmark = pytest.mark.integration
LLMOPS = str(Path(sys.executable).parent / "llmops")


def _types(name: str) -> tuple[type[EventPayload], type[EventPayload]]:
    """Two throwaway event types in two contexts: ``llmops.pipelines.<name>.a`` and ``llmops.prompts.<name>.a``."""
    fields = {"__annotations__": {"n": int}}
    return (type(f"A_{name}", (EventPayload,), dict(fields), event_type=f"llmops.pipelines.{name}.a"),
            type(f"B_{name}", (EventPayload,), dict(fields), event_type=f"llmops.prompts.{name}.a"))


async def _cli(stack_env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, **stack_env, "COLUMNS": "250"}
    return await asyncio.create_subprocess_exec(LLMOPS, "events", "tail", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _tail(settings, options: TailOptions) -> tuple[asyncio.Task[int], list[Event], asyncio.Event]:
    seen: list[Event] = []
    ready = asyncio.Event()
    task = asyncio.create_task(run_tail(settings, options, seen.append, lambda _streams: ready.set()))
    await asyncio.wait_for(ready.wait(), 20)
    return task, seen, ready


async def test_the_cli_prints_live_events_as_readable_lines(make_bus, stack_env, unique_name):
    bus = make_bus()
    await bus.start()
    proc = await _cli(stack_env, "llmops.training.run.completed", "--count", "1", "--timeout", "60")
    started = await asyncio.wait_for(proc.stderr.readline(), 60)
    assert b"watching llmops.training.run.completed on LLMOPS_TRAINING (" in started
    payload = TrainingRunCompleted(run_id=f"run-{unique_name}", adapter_uri="s3://m/a\x1b[31m", metrics={"loss": 0.25})
    await bus.publish(Envelope.wrap(payload, producer="tests", correlation_id=f"{unique_name}-corr"))
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err
    line = out.decode().strip()
    assert "\n" not in line and "\x1b" not in line
    for part in ("llmops.training.run.completed", f"corr={unique_name[:8]}", "tests", f"run_id=run-{unique_name}",
                 "adapter_uri=s3://m/a\\x1b[31m", 'metrics={"loss":0.25}'):
        assert part in line


async def test_the_cli_replays_the_last_events_as_json(make_bus, stack_env, unique_name):
    Tested = event_type(unique_name)
    bus = make_bus()
    await bus.start()
    envelopes = [Envelope.wrap(Tested(n=i), producer="tests") for i in range(3)]
    await bus.publish_envelopes(envelopes)
    proc = await _cli(stack_env, Tested.event_type, "--last", "2", "--json", "--count", "2", "--timeout", "60")
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err
    lines = out.decode().splitlines()
    assert [json.loads(line) for line in lines] == [json.loads(e.to_bytes()) for e in envelopes[1:]]


async def test_a_wildcard_filter_reads_every_matching_stream_in_time_order(make_bus, settings_for, unique_name):
    A, B = _types(unique_name)
    other = event_type(unique_name)  # llmops.pipelines.<name>.tested: matches neither filter below
    bus = make_bus()
    await bus.start()
    for env in (A(n=1), other(n=2), B(n=3)):
        await bus.publish(Envelope.wrap(env, producer="tests"))
    task, seen, _ = await _tail(settings_for(), TailOptions(f"llmops.*.{unique_name}.a", since=timedelta(minutes=5)))
    await bus.publish(Envelope.wrap(A(n=4), producer="tests"))
    await bus.publish(Envelope.wrap(other(n=5), producer="tests"))
    await bus.publish(Envelope.wrap(B(n=6), producer="tests"))
    for _ in range(200):
        if len(seen) >= 4:
            break
        await asyncio.sleep(0.05)
    task.cancel()
    assert [e.subject.split(".")[1] for e in seen] == ["pipelines", "prompts", "pipelines", "prompts"]
    assert [json.loads(e.data)["payload"]["n"] for e in seen] == [1, 3, 4, 6]


async def test_live_tail_shows_only_new_events_and_a_count_stops_it(make_bus, settings_for, unique_name):
    Tested = event_type(unique_name)
    bus = make_bus()
    await bus.start()
    await bus.publish(Envelope.wrap(Tested(n=0), producer="tests"))
    task, seen, _ = await _tail(settings_for(), TailOptions(Tested.event_type, count=2))
    await bus.publish_envelopes([Envelope.wrap(Tested(n=i), producer="tests") for i in (1, 2, 3)])
    assert await asyncio.wait_for(task, 20) == 2
    assert [json.loads(e.data)["payload"]["n"] for e in seen] == [1, 2]


async def test_a_count_not_reached_within_the_timeout_is_reported(settings_for, unique_name):
    emitted = await run_tail(settings_for(), TailOptions(f"llmops.pipelines.{unique_name}.>", count=1, timeout=1.0),
                             lambda _e: None)
    assert emitted == -1


async def test_hostile_bodies_are_printed_safely(make_bus, settings_for, unique_name):
    bus = make_bus()
    await bus.start()
    subject = f"llmops.pipelines.{unique_name}.hostile"
    bodies = [b"\x00\x1b[2J\x1b]0;pwned\x07 not json \xff", json.dumps({"payload": {"x": "\x1b[31m\u202e"}}).encode(),
              b"[" * 50_000, json.dumps({"payload": {"big": "y" * 500_000}}).encode()]
    for body in bodies:
        await bus.publish_raw(subject, body, {})
    task, seen, _ = await _tail(settings_for(), TailOptions(subject, last=10, count=len(bodies)))
    assert await asyncio.wait_for(task, 20) == len(bodies)
    for event in seen:
        for text in (event.line(), event.json_line()):
            assert not any(ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f or ch == "\u202e" for ch in text)
        assert len(event.line()) < 1000
    assert "\\x1b[2J" in seen[0].line() and "not JSON" in seen[0].line()
    assert "\\x1b[31m\\u202e" in seen[1].line()
