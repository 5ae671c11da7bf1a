"""``llmops events tail`` without a server: subject validation and the subject algebra that picks the
streams to read, durations, and the rendering of events (readable and JSON), hostile ones included."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from llmops_cli import main
from llmops_cli.event_lines import (
    Event,
    intersect,
    matches,
    parse_duration,
    parse_subject,
    stream_filters,
    summary,
)
from llmops_common.errors import InvalidArgument
from llmops_common.events import Envelope
from llmops_common.events.training import TrainingRunCompleted

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def event(data: bytes, subject: str = "llmops.training.run.completed") -> Event:
    return Event("LLMOPS_TRAINING", 7, subject, NOW, data)


@pytest.mark.parametrize("subject", ["llmops.>", "llmops.*.run.completed", "llmops.training.run.started", ">",
                                     "llmops.dlq.training", "a-b_c.d"])
def test_valid_subjects_pass(subject):
    assert parse_subject(subject) == subject


@pytest.mark.parametrize("subject", ["", "llmops..run", "llmops.>.x", "llmops.tr*", "a b", "llmops.\x00",
                                     "llmops.", ".llmops", "x" * 300, "llmops.\x1b[31m"])
def test_bad_subjects_are_refused_naming_the_argument(subject):
    with pytest.raises(InvalidArgument) as info:
        parse_subject(subject)
    assert info.value.field == "SUBJECT"


def test_the_command_refuses_a_bad_subject_before_connecting():
    result = CliRunner().invoke(main.app, ["events", "tail", "llmops..x", "--timeout", "1"])
    assert isinstance(result.exception, InvalidArgument)
    assert result.exception.field == "SUBJECT"


def test_a_subject_outside_every_stream_is_refused():
    with pytest.raises(InvalidArgument, match="no event stream"):
        stream_filters("orders.>")


def test_streams_are_read_with_the_narrowest_filter():
    pairs = dict(stream_filters("llmops.*.run.completed"))
    assert pairs["LLMOPS_TRAINING"] == "llmops.training.run.completed"
    assert pairs["LLMOPS_DLQ"] == "llmops.dlq.run.completed" and "LLMOPS_REGISTRY" in pairs
    assert dict(stream_filters("llmops.>"))["LLMOPS_DLQ"] == "llmops.dlq.>"
    assert stream_filters("llmops.serving.>") == [("LLMOPS_SERVING", "llmops.serving.>")]


TOKENS = st.sampled_from(["llmops", "training", "run", "a", "b"])
PATTERN_TOKENS = st.sampled_from(["llmops", "training", "run", "a", "b", "*"])


@st.composite
def patterns(draw):
    tokens = draw(st.lists(PATTERN_TOKENS, min_size=0, max_size=4))
    if not tokens or draw(st.booleans()):
        tokens.append(">") if draw(st.booleans()) or not tokens else None
    return ".".join(tokens)


@given(st.lists(TOKENS, min_size=1, max_size=5).map(".".join), patterns(), patterns())
def test_the_intersection_matches_exactly_what_both_filters_match(subject, a, b):
    common = intersect(a, b)
    both = matches(subject, a) and matches(subject, b)
    assert both == (common is not None and matches(subject, common))


def test_literal_matching_follows_nats_wildcards():
    assert matches("llmops.training.run.completed", "llmops.>")
    assert matches("llmops.training.run.completed", "llmops.*.run.*")
    assert not matches("llmops.training", "llmops.training.>")
    assert not matches("llmops.training.run", "llmops.*")


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400),
                                                ("1h30m", 5400), ("0.5s", 0.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "m", "5x", "-5m", "5m junk"])
def test_bad_durations_are_refused_naming_the_option(text):
    with pytest.raises(InvalidArgument) as info:
        parse_duration(text)
    assert info.value.field == "--since"


def test_a_valid_event_reads_as_one_line_with_its_key_fields():
    env = Envelope.wrap(TrainingRunCompleted(run_id="r-1", adapter_uri="s3://m/a", metrics={"loss": 0.5}),
                        producer="training", correlation_id="0123456789abcdef")
    line = event(env.to_bytes()).line()
    assert "llmops.training.run.completed" in line and "corr=01234567" in line and "89ab" not in line
    assert "training" in line and "run_id=r-1" in line and 'metrics={"loss":0.5}' in line
    assert "[" not in line  # no problem noted
    assert env.occurred_at.isoformat()[:19] in line
    assert json.loads(event(env.to_bytes()).json_line()) == json.loads(env.to_bytes())


def test_an_invalid_envelope_is_shown_with_its_problem():
    body = {"type": "llmops.training.run.completed", "producer": "p", "correlation_id": "c", "payload": {}}
    line = event(json.dumps(body).encode()).line()
    assert "malformed envelope: event_id" in line and "corr=c" in line


ANSI = "\x1b[31mred\x1b[0m\x00\x07\u202e\x9b"


def _assert_safe(text: str) -> None:
    assert not any(ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f or ch in "\u202e\u2028" for ch in text)


def test_control_characters_in_payload_strings_are_escaped():
    body = {"event_id": "x", "type": "llmops.training.run.completed", "producer": ANSI, "correlation_id": ANSI,
            "payload": {"run_id": ANSI, ANSI: "k"}}
    for text in (event(json.dumps(body).encode()).line(), event(json.dumps(body).encode()).json_line()):
        _assert_safe(text)
    line = event(json.dumps(body).encode()).line()
    assert "\\x1b[31mred" in line and "\\u202e" in line


@pytest.mark.parametrize("data", [b"\x00\x1b[2J not json \xff\xfe", b"[1, 2]", b"", b"[" * 100_000,
                                  json.dumps({"payload": {"deep": [[[[["x" * 1_000_000]]]]]}}).encode()])
def test_hostile_bodies_print_safely_in_both_forms(data):
    ev = event(data, subject="llmops.training.\x1b.x")
    line, as_json = ev.line(), ev.json_line()
    _assert_safe(line)
    _assert_safe(as_json)
    assert len(line) < 1000 and "\n" not in line
    assert "\n" not in as_json and isinstance(json.loads(as_json), dict)  # --json keeps a valid body whole
    assert len(as_json) < 10_000 or json.loads(as_json) == json.loads(data)


def test_a_summary_is_bounded_and_skips_empty_values():
    text = summary({f"k{i}": "v" * 100 for i in range(50)} | {"empty": ""})
    assert len(text) <= 200 and text.endswith("…") and "empty" not in text
    assert summary([1, 2]) == "[1,2]"
