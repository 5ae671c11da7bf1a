"""Every CLI command prints data literally: rich markup, emoji codes and escapes in a record, a name, a
description, a message or an error come out exactly as stored."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from typer.testing import CliRunner

from llmops.ingestion.v1 import ingestion_pb2 as ipb
from llmops.prompts.v1 import prompts_pb2 as ppb
from llmops.registry.v1 import registry_pb2 as rpb
from llmops_cli import datasets, main, models, output, prompts
from llmops_common.errors import NotFound

HOSTILE = [":x:", "[bold]b[/bold]", "[red]r[/]", "\\[esc]", ":thumbs_up:", "[link=http://e.x]l[/link]"]
DATA = " ".join(HOSTILE)
NOW = Timestamp(seconds=1_700_000_000)


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setattr(output.console, "width", 500)  # no table folds a token


def replies(monkeypatch, client: Any, answers: dict[str, Any]) -> None:
    monkeypatch.setattr(client, "call", lambda method, request, timeout=30.0: answers[method])


def run(*args: str) -> str:
    result = CliRunner().invoke(main.app, list(args), catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.output


def assert_literal(out: str) -> None:
    for token in HOSTILE:
        assert token in out, (token, out)
    assert "❌" not in out and "👍" not in out


def test_datasets_commands_print_records_descriptions_summaries_and_errors_literally(monkeypatch):
    record = ipb.Record(record_id="r" * 16, split=ipb.SPLIT_TRAIN, text=DATA,
                        source=ipb.SourcePosition(file="f.jsonl", line=3))
    failed = ipb.IngestionJob(job_id="j1", status=ipb.JOB_STATUS_FAILED,
                              error={"field": "f.jsonl:3", "message": DATA})
    replies(monkeypatch, datasets.client, {
        "SampleRecords": ipb.SampleRecordsResponse(records=[record]),
        "ListDatasets": ipb.ListDatasetsResponse(datasets=[ipb.Dataset(name="qa", description=DATA, updated_at=NOW)]),
        "GetIngestionJob": failed,
        "GetProfile": ipb.DatasetProfile(summary=DATA),
    })
    assert_literal(run("datasets", "sample", "qa"))
    assert_literal(run("datasets", "list"))
    assert_literal(run("datasets", "job", "j1"))
    assert_literal(run("datasets", "profile", "qa"))


def test_models_commands_print_descriptions_reasons_and_lineage_literally(monkeypatch):
    replies(monkeypatch, models.client, {
        "ListRegisteredModels": rpb.ListRegisteredModelsResponse(models=[rpb.RegisteredModel(
            name="m", description=DATA, tags={"team": DATA})]),
        "ListAuditEvents": rpb.ListAuditEventsResponse(events=[rpb.AuditEvent(
            occurred_at=NOW, actor="a", action="alias.set", model_name="m", reason=DATA)]),
        "GetLineage": rpb.GetLineageResponse(root_id="n1", nodes=[rpb.LineageNode(id="n1", ref=DATA)]),
    })
    assert_literal(run("models", "list"))
    assert_literal(run("models", "audit"))
    assert_literal(run("models", "lineage", "m", "1"))


def test_prompts_commands_print_names_templates_and_messages_literally(monkeypatch):
    version = ppb.PromptVersion(prompt_name="p", version=1, type=ppb.PROMPT_TYPE_TEXT, text=DATA,
                                commit_message=DATA, author=DATA, created_at=NOW)
    replies(monkeypatch, prompts.client, {
        "ListPrompts": ppb.ListPromptsResponse(prompts=[ppb.Prompt(name="p", description=DATA, updated_at=NOW)]),
        "GetPrompt": ppb.GetPromptResponse(prompt=ppb.Prompt(name="p", description=DATA), version=version,
                                           resolved_label=DATA),
        "RenderPrompt": ppb.RenderPromptResponse(prompt_name="p", version=1, text=DATA),
    })
    assert_literal(run("prompts", "list"))
    assert_literal(run("prompts", "show", "p"))
    assert_literal(run("prompts", "render", "p"))


def test_an_error_line_prints_its_message_literally(monkeypatch, capsys):
    def fail() -> None:
        raise NotFound(f"no model {DATA}", field="name")

    monkeypatch.setattr(main, "app", fail)
    with pytest.raises(SystemExit):
        main.run()
    assert_literal(capsys.readouterr().err)
