import uuid

import pytest

from llmops_common.errors import InvalidArgument
from llmops_common.events import EVENT_TYPES, Envelope, parse_envelope
from llmops_common.events.envelope import EventPayload
from llmops_common.events.evaluation import EvaluationRunCompleted
from llmops_common.events.registry import ModelVersionCreated
from llmops_common.events.streams import CONTEXTS, all_streams, context_of, dlq_subject, stream_name


def completed() -> EvaluationRunCompleted:
    return EvaluationRunCompleted(evaluation_run_id="e1", model_name="m", model_version=2, metrics={"bleu": 0.4})


def test_envelope_round_trips_with_typed_payload():
    env = Envelope.wrap(completed(), producer="evaluation", correlation_id="run-1")
    back = parse_envelope(env.to_bytes())
    assert back.event_id == env.event_id
    assert back.type == "llmops.evaluation.run.completed" == back.subject
    assert back.schema_version == 1
    assert back.correlation_id == "run-1"
    assert isinstance(back.payload, EvaluationRunCompleted)
    assert back.payload.metrics == {"bleu": 0.4}


def test_follow_keeps_correlation_and_sets_causation():
    first = Envelope.wrap(completed(), producer="evaluation")
    nxt = first.follow(
        ModelVersionCreated(model_name="m", version=1, artifact_uri="s3://b/k", kind="base"), producer="registry"
    )
    assert nxt.correlation_id == first.correlation_id
    assert nxt.causation_id == str(first.event_id)
    assert nxt.event_id != first.event_id


def _raw(**changes) -> bytes:
    env = Envelope.wrap(completed(), producer="evaluation").model_dump(mode="json")
    env.update(changes)
    import json

    return json.dumps(env).encode()


def test_unknown_type_is_refused_by_name():
    with pytest.raises(InvalidArgument, match="unknown event type 'llmops.nope.thing.happened'") as err:
        parse_envelope(_raw(type="llmops.nope.thing.happened"))
    assert err.value.field == "type"


def test_unknown_schema_version_lists_known_versions():
    with pytest.raises(InvalidArgument, match=r"unknown schema_version 7 .*known: \[1\]"):
        parse_envelope(_raw(schema_version=7))


def test_invalid_payload_names_the_field():
    with pytest.raises(InvalidArgument, match="model_version"):
        parse_envelope(_raw(payload={"evaluation_run_id": "e", "model_name": "m", "model_version": "x", "metrics": {}}))


def test_not_json_is_malformed():
    with pytest.raises(InvalidArgument, match="malformed envelope"):
        parse_envelope(b"\xff not json")


def test_event_types_follow_the_subject_convention():
    with pytest.raises(ValueError, match="llmops.<context>.<entity>.<verb>"):

        class Bad(EventPayload, event_type="registry.created"):
            pass

    for cls in EVENT_TYPES.all():
        assert cls.event_type.startswith("llmops.")
        assert cls.context() in CONTEXTS


def test_streams_cover_every_context_and_the_dlq():
    streams = {s.name: s for s in all_streams()}
    assert streams[stream_name("registry")].subjects == ("llmops.registry.>",)
    assert streams["LLMOPS_DLQ"].subjects == ("llmops.dlq.>",)
    assert all(s.duplicate_window > 0 for s in streams.values())
    assert context_of("llmops.training.run.completed") == "training"
    assert dlq_subject("training") == "llmops.dlq.training"
    uuid.UUID(str(Envelope.wrap(completed(), producer="x").event_id))


def test_header_hint_parses_in_one_pass_and_must_agree_with_the_body():
    env = Envelope.wrap(completed(), producer="evaluation")
    fast = parse_envelope(env.to_bytes(), ("llmops.evaluation.run.completed", 1))
    assert fast == parse_envelope(env.to_bytes())
    assert isinstance(fast.payload, EvaluationRunCompleted)
    # a lying hint falls back to the body's own type, and a broken body is still named precisely
    assert parse_envelope(env.to_bytes(), ("llmops.registry.model_version.created", 1)).type == env.type
    with pytest.raises(InvalidArgument, match="model_version"):
        parse_envelope(_raw(payload={"evaluation_run_id": "e", "model_name": "m", "model_version": "x",
                                     "metrics": {}}), ("llmops.evaluation.run.completed", 1))
