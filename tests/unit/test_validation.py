"""The shared validation layer: value checks, the request check every RPC passes, S3 URIs, names, and
the bounds on what an error message echoes."""

from __future__ import annotations

import math

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from llmops.common.v1 import common_pb2
from llmops.ingestion.v1 import ingestion_pb2 as ingestion_pb
from llmops.prompts.v1 import prompts_pb2 as prompts_pb
from llmops.registry.v1 import registry_pb2 as registry_pb
from llmops_common.errors import InvalidArgument, NotFound
from llmops_common.grpc_server import MAX_ERROR_MESSAGE, _status_for
from llmops_common.proto_convert import struct, time_bounds
from llmops_common.request_check import RequestCheck
from llmops_common.validation import (
    DEFAULT_MAX_TEXT,
    check_data,
    check_finite,
    check_not_reserved,
    check_text,
    fullmatch_name,
    parse_s3_uri,
    quote,
)
from llmops_prompts.api.grpc import TEXT_LIMITS

with_nul = st.tuples(st.text(max_size=50), st.text(max_size=50)).map(lambda p: f"{p[0]}\x00{p[1]}")
json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | \
    st.text(max_size=20).filter(lambda s: "\x00" not in s)
json_trees = st.recursive(json_leaves, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
    st.text(max_size=10).filter(lambda s: "\x00" not in s), kids, max_size=4), max_leaves=30)


def refused(call, field: str | None = None) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as err:
        call()
    if field is not None:
        assert err.value.field == field
    return err.value


# -- quote ------------------------------------------------------------------------------------------

@given(st.text(max_size=5000))
def test_quote_is_short_whatever_the_value(value):
    quoted = quote(value)
    assert len(quoted) <= 4 * 40 + 40  # repr of 40 characters at most, plus the length note
    if len(value) <= 40:
        assert quoted == repr(value)


def test_quote_says_how_long_a_cut_value_was():
    assert quote("a" * 1_048_576) == f"{'a' * 40!r}… (1048576 chars)"


# -- values -----------------------------------------------------------------------------------------

@given(with_nul)
def test_any_text_with_a_nul_is_refused(value):
    refused(lambda: check_text(value, "description"), "description")


@given(st.text(max_size=100).filter(lambda s: "\x00" not in s))
def test_text_without_nul_within_its_bound_is_kept(value):
    assert check_text(value, "description", max_len=100) == value


def test_text_over_its_bound_is_refused_without_being_echoed():
    error = refused(lambda: check_text("x" * 1_000_000, "reason", max_len=10), "reason")
    assert len(str(error)) < 100


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(value):
    refused(lambda: check_finite(value, "threshold"), "threshold")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_numbers_are_kept(value):
    assert check_finite(value, "threshold") == value


@given(json_trees)
def test_json_like_data_without_nul_or_non_finite_numbers_is_kept(tree):
    assert check_data(tree, "payload") is tree


@pytest.mark.parametrize("data, field", [
    ({"a": {"b\x00": 1}}, "payload.a"),
    ({"a": ["ok", "x\x00"]}, "payload.a[1]"),
    ({"metrics": {"bleu": math.nan}}, "payload.metrics.bleu"),
    ([1, [math.inf]], "payload[1][0]"),
    ({1: "non-string key"}, "payload"),
    ({"a": object()}, "payload.a"),
])
def test_bad_json_like_data_is_refused_naming_the_path(data, field):
    refused(lambda: check_data(data, "payload"), field)


def test_json_like_data_nests_to_a_bounded_depth():
    deep: list = []
    for _ in range(100):
        deep = [deep]
    refused(lambda: check_data(deep, "payload"))


# -- names ------------------------------------------------------------------------------------------

@given(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True))
def test_a_name_with_a_final_newline_is_refused(name):
    assert fullmatch_name(r"[a-z][a-z0-9-]{0,20}", name, "name", "name") == name
    refused(lambda: fullmatch_name(r"[a-z][a-z0-9-]{0,20}$", name + "\n", "name", "name"), "name")


@pytest.mark.parametrize("variant", ["latest", "Latest", "LATEST", "lAtEsT"])
def test_reserved_names_are_refused_in_any_case(variant):
    error = refused(lambda: check_not_reserved(variant, ("latest",), "alias", "the newest version"), "alias")
    assert str(error) == f"alias: {variant!r} is reserved: the newest version"


# -- S3 URIs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("uri", [
    "s3://llmops-models/team/model/1/",
    "s3://llmops-models/model.safetensors",
    "s3://my.bucket-1/a b/c",  # a space inside a key is a valid S3 key
])
def test_good_artifact_uris_parse(uri):
    bucket, key = parse_s3_uri(uri, "artifact_uri", require_key=True)
    assert uri == f"s3://{bucket}/{key}"


@pytest.mark.parametrize("uri", [
    "s3://llmops-models/a/../b",
    "s3://llmops-models/..",
    "s3://llmops-models/./a",
    "s3://llmops-models//a",
    "s3://llmops-models/a//b",
    "s3://minio:9000/a",
    "s3://user@bucket/a",
    "s3://my bucket/a",
    "s3://Bucket/a",
    "s3://b/a",
    "s3://bucket-/a",
    "s3://a..b/c",
    "s3://192.168.1.10/a",
    "s3://llmops-models/a\x00b",
    "s3://llmops-models/a\nb",
    "s3://llmops-models/" + "k" * 1025,
    "S3://llmops-models/a",
    "file:///etc/passwd",
    "s3://llmops-models",
    "s3://llmops-models/",
])
def test_bad_artifact_uris_are_refused_naming_the_field(uri):
    error = refused(lambda: parse_s3_uri(uri, "artifact_uri", require_key=True), "artifact_uri")
    assert len(str(error)) < 300


def test_storage_may_still_address_a_whole_bucket():
    assert parse_s3_uri("s3://llmops-models/", "uri") == ("llmops-models", "")


# -- the request check --------------------------------------------------------------------------------

CHECK = RequestCheck()


@pytest.mark.parametrize("message, field", [
    (registry_pb.CreateRegisteredModelRequest(name="m", description="a\x00b"), "description"),
    (registry_pb.CreateRegisteredModelRequest(name="m", tags={"team": "a\x00"}), "tags['team']"),
    (registry_pb.CreateRegisteredModelRequest(name="m", tags={"t\x00": "a"}), "tags['t\\x00']"),
    (registry_pb.CreateModelVersionRequest(model_name="m", request_id="r\x00"), "request_id"),
    (registry_pb.SetAliasRequest(model_name="m", alias="a", reason="because\x00"), "reason"),
    (registry_pb.SetAliasRequest(model_name="m", alias="a", sampling_parameters=struct({"stop": ["\x00"]})),
     "sampling_parameters.fields['stop'].list_value.values[0].string_value"),
    (prompts_pb.CreateVersionRequest(prompt_name="p", text="Hello\x00{{ x }}"), "text"),
    (prompts_pb.CreateVersionRequest(prompt_name="p", chat=prompts_pb.ChatTemplate(
        messages=[prompts_pb.ChatMessage(role="user", content="ok"), prompts_pb.ChatMessage(role="user",
                                                                                          content="\x00")])),
     "chat.messages[1].content"),
    (prompts_pb.SetLabelRequest(prompt_name="p", label="l", reason="\x00"), "reason"),
    (ingestion_pb.CreateDatasetRequest(name="d", description="\x00"), "description"),
])
def test_nul_anywhere_in_a_request_is_refused_naming_the_field(message, field):
    refused(lambda: CHECK.check(message), field)


@pytest.mark.parametrize("message, field", [
    (registry_pb.AttachEvaluationRequest(model_name="m", version=1, evaluation=registry_pb.EvaluationResult(
        metrics={"bleu": math.nan})), "evaluation.metrics['bleu']"),
    (registry_pb.AttachEvaluationRequest(model_name="m", version=1, evaluation=registry_pb.EvaluationResult(
        metrics={"bleu": math.inf})), "evaluation.metrics['bleu']"),
    (registry_pb.SetPolicyRequest(policy=registry_pb.AliasPolicy(model_name="m", alias="a", gates=[
        registry_pb.MetricGate(metric_name="bleu", threshold=-math.inf)])), "policy.gates[0].threshold"),
    (registry_pb.SetAliasRequest(model_name="m", alias="a", sampling_parameters=struct({"temperature": math.nan})),
     "sampling_parameters.fields['temperature'].number_value"),
])
def test_non_finite_numbers_in_a_request_are_refused(message, field):
    refused(lambda: CHECK.check(message), field)


@pytest.mark.parametrize("message, field", [
    (prompts_pb.CreateVersionRequest(prompt_name="p", model_config=prompts_pb.ModelConfig(
        response_format=prompts_pb.ResponseFormat(type=99))), "model_config.response_format.type"),
    (prompts_pb.CreateVersionRequest(prompt_name="p", variables=[
        prompts_pb.VariableSpec(name="q", delimiting=2147483647)]), "variables[0].delimiting"),
    (registry_pb.CreateModelVersionRequest(model_name="m", kind=-1), "kind"),
])
def test_enum_numbers_the_enum_does_not_define_are_refused(message, field):
    refused(lambda: CHECK.check(message), field)


def test_defined_enum_numbers_pass():
    CHECK.check(prompts_pb.CreateVersionRequest(prompt_name="p", variables=[
        prompts_pb.VariableSpec(name="q", delimiting=prompts_pb.DELIMITING_TAGGED)]))


@pytest.mark.parametrize("seconds, nanos", [(253402300800, 0), (-62135596801, 0), (0, -1), (0, 10**9),
                                            (2**62, 0)])
def test_out_of_range_timestamps_are_refused(seconds, nanos):
    request = registry_pb.SearchModelVersionsRequest(created=common_pb2.TimeRange(
        start=Timestamp(seconds=seconds, nanos=nanos)))
    refused(lambda: CHECK.check(request), "created.start")
    refused(lambda: time_bounds(request.created, "created"), "created.start")


def test_time_bounds_at_the_edges_of_the_range_convert():
    bounds = common_pb2.TimeRange(start=Timestamp(seconds=-62135596800), end=Timestamp(seconds=253402300799))
    CHECK.check(registry_pb.SearchModelVersionsRequest(created=bounds))
    start, end = time_bounds(bounds)
    assert start is not None and end is not None and start.year == 1 and end.year == 9999


def test_bytes_are_not_text():
    CHECK.check(ingestion_pb.UploadFileRequest(chunk=b"\x00" * 100_000))


def test_text_is_bounded_by_default_and_a_servicer_may_allow_more():
    template = "x" * (DEFAULT_MAX_TEXT + 1)
    refused(lambda: CHECK.check(prompts_pb.CreateVersionRequest(prompt_name="p", text=template)), "text")
    prompts_check = RequestCheck(TEXT_LIMITS)
    prompts_check.check(prompts_pb.CreateVersionRequest(prompt_name="p", text=template))
    prompts_check.check(prompts_pb.RenderPromptRequest(prompt_name="p", variables=struct({"doc": template})))
    refused(lambda: prompts_check.check(prompts_pb.CreateVersionRequest(prompt_name=template)), "prompt_name")


@given(st.text(max_size=30), st.text(max_size=30))
def test_a_request_is_refused_exactly_when_it_holds_a_nul(head, tail):
    description = head + tail
    request = registry_pb.CreateRegisteredModelRequest(name="m", description=description, tags={head: tail})
    if "\x00" in description:
        refused(lambda: CHECK.check(request))
    else:
        CHECK.check(request)


# -- error messages ---------------------------------------------------------------------------------

def test_no_error_message_is_longer_than_the_cap():
    code, message = _status_for(NotFound("registered model " + "n" * 1_048_576 + " not found"), "/x.Y/Z")
    assert code is grpc.StatusCode.NOT_FOUND and len(message) <= MAX_ERROR_MESSAGE
