"""docs/asyncapi.yaml and docs/events.md: committed fresh, a valid-enough AsyncAPI 3.0 document naming
every registered event, with every ``$ref`` resolving, consumers read from the services' subscribers."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from llmops_cli.asyncapi import (
    ASYNCAPI_PATH,
    CATALOGUE_PATH,
    consumers,
    document,
    event_classes,
    field_comments,
    stale_files,
)
from llmops_cli.protogen import repo_root
from llmops_common.events import EVENT_TYPES
from llmops_common.events.training import TrainingRunCompleted
from llmops_common.testing.events import event_type

ROOT = repo_root()


def test_the_committed_docs_match_the_event_models():
    assert stale_files() == [], "event docs are stale: run `llmops dev asyncapi` and commit docs/"


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    for path in (ASYNCAPI_PATH, CATALOGUE_PATH):
        shutil.copy(ROOT / path, root / path)
    for path in ROOT.glob("services/*/llmops_*/api/events.py"):
        target = root / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return root


def test_the_stale_check_notices_an_edit_and_a_missing_file(tmp_path):
    root = _tree(tmp_path)
    assert stale_files(root) == []
    (root / CATALOGUE_PATH).write_text((root / CATALOGUE_PATH).read_text() + "\nhand edit\n")
    (root / ASYNCAPI_PATH).unlink()
    assert stale_files(root) == [str(ASYNCAPI_PATH), str(CATALOGUE_PATH)]


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_document_parses_back_names_every_event_and_every_ref_resolves():
    doc = yaml.safe_load((ROOT / ASYNCAPI_PATH).read_text())
    assert doc["asyncapi"].startswith("3.")
    registered = [c for c in EVENT_TYPES.all() if c.__module__.startswith("llmops_common.events.")]
    assert len(registered) >= 30
    for cls in registered:
        channel = doc["channels"][cls.event_type]
        assert channel["address"] == cls.event_type
        message = _resolve(doc, channel["messages"][cls.__name__]["$ref"])
        envelope = _resolve(doc, message["payload"]["$ref"])
        typed = envelope["allOf"][1]["properties"]
        assert typed["type"]["const"] == cls.event_type
        payload = _resolve(doc, typed["payload"]["$ref"])
        assert set(payload["properties"]) == set(cls.model_fields)
        assert f"{cls.context()}.send.{cls.__name__}" in doc["operations"]
    refs = _refs(doc)
    assert len(refs) > 3 * len(registered)
    for ref in refs:
        _resolve(doc, ref)
    for op in doc["operations"].values():
        assert op["action"] in ("send", "receive")
        for ref in op["messages"]:
            assert ref["$ref"].startswith(op["channel"]["$ref"] + "/messages/")


def test_receive_operations_follow_the_services_subscribers():
    ops = document()["operations"]
    assert "evaluation.receive.TrainingRunCompleted" in ops
    assert "serving.receive.AliasMoved" in ops
    assert "monitoring.receive.InferenceCompleted" in ops
    assert "serving.receive.PromptVersionCreated" in ops  # the prompt client, a library subscriber
    assert "pipelines.receive.PromotionApproved" in ops  # subscribed in a loop over a tuple of classes


def test_consumers_are_the_imported_payload_classes_and_string_filters(tmp_path):
    api = tmp_path / "services" / "watcher" / "llmops_watcher" / "api"
    api.mkdir(parents=True)
    (api / "events.py").write_text("from llmops_common.events.registry import AliasMoved\n"
                                   "ANSWERS = (AliasMoved,)\n"
                                   "def subscribe(bus):\n    bus.subscribe('llmops.*.run.completed', durable='w')\n")
    found = consumers(tmp_path, event_classes())
    assert found["llmops.training.run.completed"] == ["watcher"]
    assert found["llmops.registry.alias.moved"] == ["watcher"]
    assert found["llmops.training.run.started"] == []


def test_field_descriptions_come_from_the_fields_comments():
    assert "adapter" in field_comments(TrainingRunCompleted)["adapter_uri"]
    schema = document()["components"]["schemas"]["TrainingRunCompleted"]
    assert "adapter" in schema["properties"]["adapter_uri"]["description"]


def test_throwaway_test_event_types_are_left_out():
    tested = event_type("asyncapi_probe")
    assert tested in EVENT_TYPES.all()
    assert tested not in event_classes()
    assert tested.event_type not in document()["channels"]
