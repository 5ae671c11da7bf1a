"""Ingestion requests: config validation with field paths, proto conversion, shapes, sources, references."""

from __future__ import annotations

import pytest

from llmops.ingestion.v1 import ingestion_pb2 as pb
from llmops_common.errors import InvalidArgument
from llmops_ingestion.api import convert
from llmops_ingestion.domain.config import PreparationConfig, parse_config
from llmops_ingestion.domain.model import IngestionRequest, SourceKind, SourceSpec, parse_reference
from llmops_ingestion.domain.shapes import Shape, ShapeError, ShapeMapper, detect_shape
from llmops_ingestion.handlers import parse_version_reference

VERSION = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("config, where", [
    ({"dedup": {"threshold": 1.5}}, "preparation.dedup.threshold"),
    ({"split": {"validation_fraction": 0.6, "test_fraction": 0.5}}, "preparation.split"),
    ({"pii": {"kinds": ["email", "passport"]}}, "preparation.pii.kinds"),
    ({"length_filter": {"min_chars": 10, "max_chars": 5}}, "preparation.length_filter"),
    ({"normalize": {"form": "NFX"}}, "preparation.normalize.form"),
    ({"dedupe": {}}, "preparation.dedupe"),
])
def test_invalid_config_names_the_field(config, where):
    with pytest.raises(InvalidArgument) as caught:
        parse_config(config)
    assert where in str(caught.value)


def test_config_hash_ignores_the_bad_record_policy_but_not_the_steps():
    base = PreparationConfig()
    assert parse_config({"bad_record_policy": "skip"}).config_hash() == base.config_hash()
    assert parse_config({"dedup": {"threshold": 0.9}}).config_hash() != base.config_hash()


def test_proto_preparation_overrides_only_the_fields_that_are_set():
    untouched = convert.preparation(pb.PreparationConfig(), present=False)
    assert untouched == PreparationConfig()
    message = pb.PreparationConfig(dedup=pb.DedupStep(threshold=0.9),
                                   pii=pb.PiiStep(kinds=["email"]),
                                   length_filter=pb.LengthFilterStep(min_chars=0),
                                   normalize=pb.NormalizeStep(enabled=False),
                                   bad_record_policy=pb.BAD_RECORD_POLICY_SKIP)
    config = convert.preparation(message, present=True)
    assert (config.dedup.exact, config.dedup.near, config.dedup.threshold) == (True, True, 0.9)
    assert config.dedup.num_perm == 128
    assert config.pii.enabled and config.pii.kinds == ("email",)
    assert config.length_filter.min_chars == 0 and config.length_filter.enabled  # an explicit zero is kept
    assert not config.normalize.enabled  # an explicit false is kept
    assert config.bad_record_policy == "skip"
    again = convert.preparation(convert._preparation_message(config.model_dump(mode="json")), present=True)
    assert again == config  # what a version reports is what it ran with


def test_proto_request_needs_a_source_location():
    with pytest.raises(InvalidArgument, match="upload_id, an s3_uri or a local_path"):
        convert.ingestion_request(pb.IngestDatasetRequest(dataset_name="d"))


@pytest.mark.parametrize("name", ["", "Upper", "-lead", "a/b", "x" * 129])
def test_dataset_names_are_validated(name):
    request = IngestionRequest(name, SourceSpec(SourceKind.S3, "s3://b/k"))
    with pytest.raises(InvalidArgument, match="dataset names"):
        request.validate()


def test_sources_from_uris():
    assert SourceSpec.from_uri("s3://b/prefix/").kind is SourceKind.S3
    assert SourceSpec.from_uri("file:///data/x.jsonl").location == "/data/x.jsonl"
    assert SourceSpec.from_uri("/data/x.csv", "csv").format == "csv"
    with pytest.raises(InvalidArgument, match="unsupported source URI"):
        SourceSpec.from_uri("http://example.com/x")
    with pytest.raises(InvalidArgument, match="unknown format"):
        SourceSpec.from_uri("s3://b/k", "xml")
    with pytest.raises(InvalidArgument, match="not an upload id"):
        SourceSpec(SourceKind.UPLOAD, "nope").validate()


def test_references_name_a_dataset_version():
    assert parse_reference(f"qa@{VERSION}") == ("qa", VERSION)
    assert parse_reference("qa") == ("qa", "")
    assert parse_version_reference(f"qa@{VERSION}") == ("qa", VERSION)
    assert parse_version_reference(f"s3://llmops-datasets/qa/{VERSION}/") == ("qa", VERSION)
    assert parse_version_reference("qa@latest") is None and parse_version_reference("models:/x/1") is None


def test_shape_detection_and_mapping_errors():
    assert detect_shape({"prompt": "p", "completion": "c"}, {}) is Shape.INSTRUCTION
    assert detect_shape({"messages": [{"role": "user", "content": "hi"}]}, {}) is Shape.CHAT
    assert detect_shape({"body": "text"}, {}) is Shape.TEXT
    assert detect_shape({"q": 1}, {"instruction": "q", "output": "a"}) is Shape.INSTRUCTION
    with pytest.raises(ShapeError, match="cannot tell the record shape"):
        detect_shape({"foo": 1}, {})
    with pytest.raises(InvalidArgument, match="unknown target fields"):
        ShapeMapper(Shape.TEXT, {"output": "x"})
    chat = ShapeMapper(Shape.CHAT)
    with pytest.raises(ShapeError, match=r"messages\[1\] has unknown role 'narrator'"):
        chat.map({"messages": [{"role": "user", "content": "a"}, {"role": "narrator", "content": "b"}]})
    with pytest.raises(ShapeError, match="must be a string, got dict"):
        ShapeMapper(Shape.INSTRUCTION).map({"instruction": {"x": 1}, "output": "o"})
    assert ShapeMapper(Shape.INSTRUCTION).map({"question": "q", "answer": 42}) == ("q", "", "42")
