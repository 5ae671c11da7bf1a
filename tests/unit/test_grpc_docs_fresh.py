from pathlib import Path

from llmops_cli.grpcdoc import descriptor_set, doc_path, is_stale, reference, render, repo_root, uncommented

DEMO = """syntax = "proto3";

package llmops.demo.v1;

import "google/protobuf/timestamp.proto";

// Demo things.
service DemoService {
  // Streams | chunks in.
  rpc Upload(stream Chunk) returns (Thing);
  // Watches a thing.
  rpc Watch(Thing) returns (stream Thing);
  rpc Hidden(Thing) returns (Thing);
}

// A chunk.
message Chunk {
  // Raw bytes.
  bytes data = 1;
}

// A thing.
message Thing {
  // Its state.
  enum State {
    // Not set.
    STATE_UNSPECIFIED = 0;
    // Ready to use.
    STATE_READY = 1;
  }
  // A part of a thing.
  message Part {
    // Part name.
    string name = 1;
  }
  // Labels, as a map.
  map<string, Part> labels = 1;
  // Parts.
  repeated Part parts = 2;
  // Set or not.
  optional int64 size = 3;
  oneof where {
    // An s3:// URI.
    string s3_uri = 4;
    // A local path.
    string path = 5;
  }
  // When.
  google.protobuf.Timestamp at = 6;
  State state = 7;
}
"""


def _root(tmp_path: Path, proto: str = DEMO) -> Path:
    root = tmp_path / "repo"
    (root / "protos" / "llmops" / "demo" / "v1").mkdir(parents=True)
    (root / "protos" / "llmops" / "demo" / "v1" / "demo.proto").write_text(proto)
    (root / "docs").mkdir()
    return root


def test_grpc_reference_matches_the_protos():
    assert not is_stale(), "docs/grpc.md is stale: run `llmops dev grpc-docs` and commit it"


def test_every_rpc_message_field_and_enum_value_is_commented():
    assert uncommented(descriptor_set(repo_root() / "protos")) == []


def test_rpcs_render_with_types_streaming_roles_and_comments(tmp_path):
    files = descriptor_set(_root(tmp_path) / "protos")
    text = render(files, {"/llmops.demo.v1.DemoService/Upload": "developer",
                          "/llmops.demo.v1.DemoService/Watch": "viewer"})
    assert ("| `Upload` | stream [`Chunk`](#llmops.demo.v1.Chunk) | [`Thing`](#llmops.demo.v1.Thing) | developer "
            "| Streams \\| chunks in. |") in text
    assert "| `Watch` | [`Thing`](#llmops.demo.v1.Thing) | stream [`Thing`](#llmops.demo.v1.Thing) | viewer |" in text
    # a method the servicer does not list needs admin (the interceptor's default)
    assert "| `Hidden` | [`Thing`](#llmops.demo.v1.Thing) | [`Thing`](#llmops.demo.v1.Thing) | admin |  |" in text


def test_fields_render_maps_labels_oneofs_nested_types_and_enums(tmp_path):
    text = render(descriptor_set(_root(tmp_path) / "protos"), {})
    assert "| `labels` | `map<string, llmops.demo.v1.Thing.Part>` | map | Labels, as a map. |" in text
    assert "| `parts` | [`Part`](#llmops.demo.v1.Thing.Part) | repeated | Parts. |" in text
    assert "| `size` | `int64` | optional | Set or not. |" in text
    assert "| `s3_uri` | `string` | oneof `where` | An s3:// URI. |" in text
    assert "| `at` | `google.protobuf.Timestamp` |  | When. |" in text
    assert '<a id="llmops.demo.v1.Thing.Part"></a>\n#### Thing.Part\n\nA part of a thing.' in text
    assert "| `STATE_READY` | 1 | Ready to use. |" in text
    assert "LabelsEntry" not in text  # the synthetic map-entry message is not documented
    assert text.index("#### Chunk") < text.index("#### Thing\n") < text.index("#### Thing.Part")


def test_uncommented_names_every_element_without_a_comment(tmp_path):
    files = descriptor_set(_root(tmp_path) / "protos")
    assert uncommented(files) == ["llmops.demo.v1.DemoService.Hidden", "llmops.demo.v1.Thing.state"]


def test_stale_check_notices_an_edited_comment(tmp_path):
    root = _root(tmp_path, DEMO.split("// Demo things.")[0] + "// A chunk.\nmessage Chunk {\n  // Raw bytes.\n"
                 "  bytes data = 1;\n}\n")
    assert is_stale(root)  # no docs/grpc.md yet
    doc_path(root).write_text(reference(root))
    assert not is_stale(root)
    proto = root / "protos" / "llmops" / "demo" / "v1" / "demo.proto"
    proto.write_text(proto.read_text().replace("// Raw bytes.", "// The raw bytes."))
    assert is_stale(root)
