"""`llmops models ...` as a user runs it against the registry process: register a base model and an adapter,
govern `production` with a gate and an approval, promote, approve as a second user, audit, lineage, roll back."""

from __future__ import annotations

import json

import pytest
import typer

from llmops_cli.models import gate_text, parse_gates, parse_scalar
from llmops_common.storage import ArtifactStore
from llmops_common.testing.cli import Cli
from llmops_common.testing.processes import TEST_ADMIN_KEY

pytestmark = pytest.mark.e2e
ADMIN = TEST_ADMIN_KEY



def test_gate_syntax():
    gates = parse_gates(["bleu>=30", "bleu:+0.5", "loss<=0.2", "loss:-5%", "rouge:+2%"])
    assert [gate_text(g) for g in gates] == ["bleu>=30 bleu:+0.5", "loss<=0.2 loss:-5%", "rouge:+2%"]
    bleu, loss, rouge = gates
    assert (bleu.threshold, bleu.min_absolute_change, bleu.greater_is_better) == (30, 0.5, True)
    assert not bleu.HasField("min_relative_change")
    assert (loss.threshold, loss.min_relative_change, loss.greater_is_better) == (0.2, 0.05, False)
    assert not rouge.HasField("threshold") and rouge.min_relative_change == pytest.approx(0.02)
    for bad in ("bleu>30", "bleu>=x", "bleu:0.5", "bleu:+-1", "bleu>=30 extra", "bleu>=nan"):
        with pytest.raises(typer.BadParameter):
            parse_gates([bad])
    with pytest.raises(typer.BadParameter, match="conflicting direction"):
        parse_gates(["bleu>=30", "bleu:-1"])
    assert [parse_scalar(v) for v in ("0.2", "256", "true", "greedy")] == [0.2, 256, True, "greedy"]


def test_models_register_govern_promote_approve_audit_lineage_rollback(embedded_stack, settings_for, registry,
                                                                     unique_name):
    name = unique_name
    artifacts = ArtifactStore.from_settings(settings_for())
    artifacts.ensure_buckets()
    base_uri, adapter_uri, adapter2_uri = (f"s3://llmops-models/{name}/{p}" for p in ("base", "lora-1", "lora-2"))
    artifacts.put_bytes(f"{base_uri}/model.safetensors", b"b" * 8192)
    artifacts.put_bytes(f"{adapter_uri}/adapter_model.safetensors", b"a" * 4096)
    artifacts.put_bytes(f"{adapter2_uri}/adapter_model.safetensors", b"c" * 4096)
    cli = Cli(embedded_stack.home, ADMIN, LLMOPS_REGISTRY_ENDPOINT=registry)

    # a model, a base version and an adapter on it, with lineage
    model = cli.json("models", "create", name, "--description", "e2e model", "--tag", "team=nlp")
    assert (model["name"], model["tags"]) == (name, {"team": "nlp"})
    cli.fails("models", "create", name, code="ALREADY_EXISTS")
    base = cli.json("models", "register", name, "--artifact-uri", base_uri, "--format", "safetensors")
    assert (base["version"], base["kind"], base["size_bytes"]) == ("1", "MODEL_KIND_BASE", "8192")
    adapter = cli.json("models", "register", name, "--artifact-uri", adapter_uri, "--base", f"models:/{name}/1",
                       "--dataset", "support-chats@v3", "--run-id", "run-42", "--code-version", "abc123",
                       "--config-hash", "cfg9", "--tag", "stage=sft")
    assert (adapter["version"], adapter["kind"]) == ("2", "MODEL_KIND_ADAPTER")
    assert adapter["base_model_version"] == f"models:/{name}/1"
    assert adapter["lineage"]["dataset_versions"] == ["support-chats@v3"]
    assert adapter["lineage"]["training_run_id"] == "run-42"
    cli.fails("models", "register", name, "--artifact-uri", f"{adapter_uri}-missing", code="FAILED_PRECONDITION")
    assert cli.json("models", "version", name, "2")["tags"] == {"stage": "sft"}
    cli.fails("models", "version", name, "9", code="NOT_FOUND")
    found = cli.json("models", "search", "--name", name, "--kind", "adapter")
    assert [v["version"] for v in found["versions"]] == ["2"]

    # evaluations arrive from the evaluation service's key (the service role): gates count them
    evaluator = json.loads(cli.ok("keys", "create", f"evaluator-{name}", "--role", "service", "--json"))["key"]
    cli.json("models", "evaluate", name, "1", "--metric", "bleu=25", "--run-id", "ev-base", key=evaluator)
    evaluated = cli.json("models", "evaluate", name, "2", "--metric", "bleu=31.5", "--metric", "rouge=0.4",
                         "--run-id", "ev-lora-1", "--report-uri", f"s3://llmops-models/{name}/report.json",
                         key=evaluator)
    assert [(e["metrics"], e["attached_by"], e["trusted"]) for e in evaluated["evaluations"]] == [
        ({"bleu": 31.5, "rouge": 0.4}, f"evaluator-{name}", True)]

    # alias rules, and a policy that governs production
    assert "latest" in cli.fails("models", "alias", "set", name, "latest", "1", code="INVALID_ARGUMENT")
    policy = cli.json("models", "policy", "set", name, "production", "--protected", "--gate", "bleu>=30",
                      "--approvals", "1", "--reason", "go-live rules")
    assert policy["protected"] is True and policy["required_approvals"] == 1
    assert [(g["metric_name"], g["threshold"], g["greater_is_better"]) for g in policy["gates"]] == [("bleu", 30, True)]
    assert cli.json("models", "policy", "get", name, "production")["gates"] == policy["gates"]
    assert "bleu>=30" in cli.ok("models", "policy", "get", name, "production")
    direct = cli("models", "alias", "set", name, "production", "1")
    assert direct.returncode == 1 and direct.stderr.startswith("error ("), direct.stderr

    # a promotion that fails its gate, one that passes, a self-approval refused, an approval by a second user
    failed = cli.json("models", "promote", name, "production", "1", "--reason", "try the base")
    assert failed["status"] == "PROMOTION_STATUS_GATES_FAILED"
    assert [(g["gate"]["metric_name"], g["passed"], g["candidate_value"]) for g in failed["gate_results"]] == [
        ("bleu", False, 25)]
    pending = cli.json("models", "promote", name, "production", "2", "--prompt-version", "support/4",
                       "--param", "temperature=0.2", "--param", "max_tokens=256", "--reason", "sft adapter")
    assert pending["status"] == "PROMOTION_STATUS_PENDING"
    assert [g["passed"] for g in pending["gate_results"]] == [True]
    shown = cli.ok("models", "promotion", pending["id"])
    assert "pending" in shown and "pass" in shown
    cli.fails("models", "approve", pending["id"], code="PERMISSION_DENIED")  # the requester: bootstrap-admin
    bob = json.loads(cli.ok("keys", "create", "bob", "--role", "approver", "--json"))["key"]
    viewer = json.loads(cli.ok("keys", "create", "vic", "--role", "viewer", "--json"))["key"]
    cli.fails("models", "approve", pending["id"], code="PERMISSION_DENIED", key=viewer)
    approved = cli.json("models", "approve", pending["id"], "--comment", "metrics look good", key=bob)
    assert approved["status"] == "PROMOTION_STATUS_APPROVED"
    assert [(d["actor"], d["approved"]) for d in approved["decisions"]] == [("bob", True)]
    resolved = cli.json("models", "resolve", f"models:/{name}@production")
    assert resolved["model_version"]["version"] == "2"
    assert resolved["release"]["prompt_version"] == "support/4"
    assert resolved["release"]["sampling_parameters"] == {"temperature": 0.2, "max_tokens": 256}
    assert cli.json("models", "release", name, "production")["version"] == "2"
    listed = cli.json("models", "promotions", "--name", name)
    assert [p["status"] for p in listed["promotions"]] == ["PROMOTION_STATUS_APPROVED", "PROMOTION_STATUS_GATES_FAILED"]

    # a second adapter must also beat the holder by 1 BLEU; then roll back to the first
    cli.json("models", "policy", "set", name, "production", "--gate", "bleu>=30", "--gate", "bleu:+1",
             "--approvals", "1")
    cli.json("models", "register", name, "--artifact-uri", adapter2_uri, "--base", f"models:/{name}/1")
    cli.json("models", "evaluate", name, "3", "--metric", "bleu=33", "--run-id", "ev-lora-2", key=evaluator)
    second = cli.json("models", "promote", name, "production", "3")
    assert second["status"] == "PROMOTION_STATUS_PENDING", second
    assert second["gate_results"][0]["current_value"] == 31.5
    assert cli.json("models", "approve", second["id"], key=bob)["status"] == "PROMOTION_STATUS_APPROVED"
    assert cli.json("models", "get", name)["aliases"] == {"production": "3"}
    rolled = cli.json("models", "rollback", name, "production", "--reason", "regression in prod")
    assert (rolled["previous_version"], rolled["release"]["version"]) == ("3", "2")
    assert cli.json("models", "resolve", f"models:/{name}@production")["model_version"]["version"] == "2"
    assert cli.json("models", "resolve", f"models:/{name}@latest")["model_version"]["version"] == "3"

    # the audit log and the lineage
    events = cli.json("models", "audit", "--name", name, "--page-size", "100")["events"]
    actions = [e["action"] for e in events]
    assert all(e["model_name"] == name for e in events)
    assert actions[0] == "alias.rolled_back" and actions[-1] == "model.created", actions  # newest first
    assert (actions.count("model_version.created"), actions.count("promotion.requested")) == (3, 3), actions
    assert {"evaluation.attached", "policy.set", "promotion.approved", "alias.promoted"} <= set(actions), actions
    assert {e["actor"] for e in events if e["action"] in ("promotion.approved", "alias.promoted")} == {"bob"}
    rollback_row = events[0]
    assert (rollback_row["before"]["version"], rollback_row["after"]["version"]) == (3, 2)
    assert rollback_row["actor"] == "bootstrap-admin" and rollback_row["reason"] == "regression in prod"
    by_bob = cli.json("models", "audit", "--name", name, "--actor", "bob")["events"]
    assert by_bob and all(e["actor"] == "bob" for e in by_bob)
    first = cli.json("models", "audit", "--name", name, "--page-size", "2")
    rest = cli.json("models", "audit", "--name", name, "--page-size", "100", "--page-token",
                    first["page"]["next_page_token"])
    assert [e["id"] for e in first["events"] + rest["events"]] == [e["id"] for e in events]
    table = cli.ok("models", "audit", "--name", name, "--action", "alias.rolled_back")
    assert "alias.rolled_back" in table and "version: 3 -> 2" in table
    graph = cli.json("models", "lineage", name, "2")
    refs = {n["ref"] for n in graph["nodes"]}
    kinds = {n["kind"] for n in graph["nodes"]}
    assert f"models:/{name}/1" in refs and any("support-chats" in r for r in refs), refs
    assert {"LINEAGE_NODE_KIND_DATASET_VERSION", "LINEAGE_NODE_KIND_EVALUATION_RUN", "LINEAGE_NODE_KIND_ALIAS"} <= kinds
    assert graph["edges"] and graph["root_id"] in {n["id"] for n in graph["nodes"]}
    tree = cli.ok("models", "lineage", name, "2")
    assert "upstream" in tree and "downstream" in tree and "support-chats" in tree
