"""`llmops prompts ...` as a user runs it against the prompt service process: create a prompt, version it
from template files (text and chat), label it (a protected label needs an approver), render, refuse unsafe
and unparseable templates, diff and list."""

from __future__ import annotations

import json

import pytest
import typer

from llmops.prompts.v1 import prompts_pb2 as pb
from llmops_cli.migrations import migrate
from llmops_cli.prompts import parse_json_value, parse_ref, parse_var_spec, var_spec_text
from llmops_common.testing.cli import Cli
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
async def prompts_service(stack_env, tmp_path):
    await migrate(["prompts"], stack_env)
    service = ServiceProcess("prompts", "llmops_prompts.main", stack_env, tmp_path / "prompts.log").start()
    try:
        await service.wait_serving()
        yield service
    finally:
        service.stop()


def test_variable_spec_syntax():
    question = parse_var_spec("question:string,tagged:user_question")
    assert (question.name, question.type, question.required) == ("question", pb.VARIABLE_TYPE_STRING, True)
    assert (question.delimiting, question.delimiter_tag) == (pb.DELIMITING_TAGGED, "user_question")
    top_k = parse_var_spec("top_k?:integer=3")
    assert (top_k.type, top_k.required, top_k.default_value.number_value) == (pb.VARIABLE_TYPE_INTEGER, False, 3)
    assert parse_var_spec("doc:string,fenced").delimiting == pb.DELIMITING_FENCED
    assert parse_var_spec("x").type == pb.VARIABLE_TYPE_STRING
    # a default makes a variable optional; for a string the text stays as written
    assert parse_var_spec("zip:string=02134").default_value.string_value == "02134"
    assert parse_var_spec("code:string=123").default_value.string_value == "123"
    assert [var_spec_text(parse_var_spec(s)) for s in ("top_k?:integer=3", "items:list=[1,2.5]", "a,tagged")] == [
        "top_k?:integer=3", "items?:list=[1,2.5]", "a:string,tagged"]
    for bad in ("a:float", "a,tagged:<x>", "?:string", "a b", ""):
        with pytest.raises(typer.BadParameter):
            parse_var_spec(bad)
    assert [parse_json_value(v) for v in ("3", "true", "{{ 7*7 }}", '"3"', "NaN", "[1,2]")] == [
        3, True, "{{ 7*7 }}", "3", "NaN", [1, 2]]
    assert [parse_ref(r) for r in ("p", "p@production", "p/2")] == [
        ("p", {}), ("p", {"label": "production"}), ("p", {"version": 2})]
    for bad in ("p/0", "p/x", "@staging", "p@"):
        with pytest.raises(typer.BadParameter):
            parse_ref(bad)


async def test_prompts_create_version_label_render_diff_list(embedded_stack, prompts_service, unique_name, tmp_path):
    name = f"support-{unique_name}"
    cli = Cli(embedded_stack.home, TEST_ADMIN_KEY, LLMOPS_PROMPTS_ENDPOINT=prompts_service.endpoint)

    prompt = cli.json("prompts", "create", name, "--description", "support answers", "--tag", "team=support")
    assert (prompt["name"], prompt["tags"], prompt["latest_version"]) == (name, {"team": "support"}, "0")
    cli.fails("prompts", "create", name, code="ALREADY_EXISTS")

    # version 1: a text template from a file, with variables and a model config
    v1_file, v2_file = tmp_path / "v1.txt", tmp_path / "v2.txt"
    v1_file.write_text("You are a support agent.\nAnswer this: {{ question }}\nUse the top {{ top_k }} documents.\n")
    config = tmp_path / "config.yaml"
    config.write_text("model: support-llm\ntemperature: 0.2\nmax_tokens: 256\nstop: ['###']\n")
    v1 = cli.json("prompts", "version", name, "--file", str(v1_file), "--var", "question:string,tagged:user_question",
                  "--var", "top_k?:integer=3", "--config", str(config), "--message", "first draft")
    assert (v1["version"], v1["type"], v1["commit_message"]) == ("1", "PROMPT_TYPE_TEXT", "first draft")
    assert v1["text"] == v1_file.read_text()
    question, top_k = v1["variables"]
    assert (question["name"], question["type"], question["required"]) == ("question", "VARIABLE_TYPE_STRING", True)
    assert (question["delimiting"], question["delimiter_tag"]) == ("DELIMITING_TAGGED", "user_question")
    assert (top_k["name"], top_k["type"], top_k["required"], top_k["default_value"]) == (
        "top_k", "VARIABLE_TYPE_INTEGER", False, 3)
    assert v1["model_config"]["model"] == "support-llm"
    assert (v1["model_config"]["temperature"], v1["model_config"]["max_tokens"]) == (0.2, 256)
    assert v1["model_config"]["stop"] == ["###"]

    # version 2: the template and its variables changed, the config as JSON
    v2_file.write_text("You are a {{ tone }} support agent.\nAnswer this: {{ question }}\n"
                       "Use the top {{ top_k }} documents.\n")
    config_json = tmp_path / "config.json"
    config_json.write_text(json.dumps({"model": "support-llm", "temperature": 0.5, "max_tokens": 256,
                                       "stop": ["###"]}))
    v2 = cli.json("prompts", "version", name, "-f", str(v2_file), "--var", "question:string,tagged:user_question",
                  "--var", "top_k?:integer=3", "--var", "tone?:string=friendly", "--config", str(config_json),
                  "-m", "friendlier")
    assert v2["version"] == "2" and [v["name"] for v in v2["variables"]] == ["question", "top_k", "tone"]
    plain_file = tmp_path / "plain.txt"
    plain_file.write_text("No variables here.\n")
    cli.fails("prompts", "version", f"missing-{unique_name}", "--file", str(plain_file), code="NOT_FOUND")

    # without production, show resolves latest
    shown = cli.json("prompts", "show", name)
    assert (shown["resolved_label"], shown["version"]["version"]) == ("latest", "2")
    assert shown["prompt"]["latest_version"] == "2" and "production" not in shown["prompt"]["labels"]
    assert "friendly" in cli.ok("prompts", "show", name)

    # version 3: a chat template from YAML
    chat = tmp_path / "chat.yaml"
    chat.write_text("- role: system\n  content: You are {{ persona }}.\n"
                    "- role: user\n  content: '{{ question }}'\n")
    v3 = cli.json("prompts", "version", name, "--chat", "--file", str(chat), "--var", "persona?:string=a helpful agent",
                  "--var", "question:string,fenced", "--request-id", f"chat-{unique_name}")
    assert (v3["version"], v3["type"]) == ("3", "PROMPT_TYPE_CHAT")
    assert v3["chat"]["messages"] == [{"role": "system", "content": "You are {{ persona }}."},
                                      {"role": "user", "content": "{{ question }}"}]
    again = cli.json("prompts", "version", name, "--chat", "--file", str(chat), "--var",
                     "persona?:string=a helpful agent", "--var", "question:string,fenced", "--request-id",
                     f"chat-{unique_name}")
    assert again["version"] == "3", "a repeated request id returns the first version"
    assert cli.json("prompts", "show", f"{name}/1")["version"]["version"] == "1"
    assert cli.json("prompts", "show", f"{name}@latest")["version"]["version"] == "3"

    # labels: production is protected (approver), latest is automatic
    moved = cli.json("prompts", "label", name, "production", "1", "--reason", "first release")
    assert (moved["label"]["name"], moved["label"]["version"], moved["label"]["protected"]) == ("production", "1", True)
    assert moved["previous_version"] == "0"
    shown = cli.json("prompts", "show", name)
    assert (shown["resolved_label"], shown["version"]["version"]) == ("production", "1")
    assert "production" in shown["version"]["labels"]

    dev = json.loads(cli.ok("keys", "create", f"dev-{unique_name}", "--role", "developer", "--json"))["key"]
    denied = cli.fails("prompts", "label", name, "production", "2", code="PERMISSION_DENIED", key=dev)
    assert "approver" in denied
    cli.fails("prompts", "label", name, "production", "--delete", code="PERMISSION_DENIED", key=dev)
    staging = cli.json("prompts", "label", name, "staging", "2", key=dev)
    assert (staging["label"]["version"], staging["label"]["protected"]) == ("2", False)
    assert cli.json("prompts", "show", f"{name}@staging", key=dev)["version"]["version"] == "2"
    cli.fails("prompts", "label", name, "latest", "1", code="INVALID_ARGUMENT")
    cli.fails("prompts", "label", name, "canary", "9", code="NOT_FOUND")
    deleted = cli.json("prompts", "label", name, "staging", "--delete", "--reason", "done", key=dev)
    assert deleted["previous_version"] == "2"
    cli.fails("prompts", "show", f"{name}@staging", code="NOT_FOUND")

    # render: values are data, delimited as declared, JSON-parsed where they parse
    rendered = cli.json("prompts", "render", f"{name}/1", "--var", "question=what is {{ 7*7 }}?", "--var", "top_k=5")
    assert (rendered["prompt_name"], rendered["version"]) == (name, "1")
    assert rendered["text"] == ("You are a support agent.\nAnswer this: <user_question>what is {{ 7*7 }}?"
                                "</user_question>\nUse the top 5 documents.\n")
    assert "49" not in rendered["text"]
    assert rendered["model_config"]["model"] == "support-llm"
    plain = cli.ok("prompts", "render", name, "--var", "question=hi [bold]{{ x }}[/bold]", "--var", "top_k=2")
    assert plain == "You are a support agent.\nAnswer this: <user_question>hi [bold]{{ x }}[/bold]</user_question>\n" \
                    "Use the top 2 documents.\n", "production (version 1) rendered and printed literally"
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"question": "where is my order?", "persona": "Ada"}))
    chat_out = cli.json("prompts", "render", f"{name}/3", "--vars-file", str(vars_file))
    assert chat_out["chat"]["messages"] == [
        {"role": "system", "content": "You are Ada."},
        {"role": "user", "content": "```untrusted_input\nwhere is my order?\n```"}]
    assert "where is my order?" in cli.ok("prompts", "render", f"{name}/3", "--vars-file", str(vars_file))
    missing = cli.fails("prompts", "render", f"{name}/2", "--var", "tone=calm", code="INVALID_ARGUMENT")
    assert "question" in missing
    mistyped = cli.fails("prompts", "render", f"{name}/1", "--var", "question=q", "--var", "top_k=many",
                         code="INVALID_ARGUMENT")
    assert "top_k" in mistyped

    # templates that escape the sandbox or do not parse are refused at creation
    unsafe = tmp_path / "unsafe.txt"
    unsafe.write_text("Hello {{ x.__class__ }}\n")
    refused = cli.fails("prompts", "version", name, "--file", str(unsafe), "--var", "x", code="PERMISSION_DENIED")
    assert "refused" in refused
    broken = tmp_path / "broken.txt"
    broken.write_text("Fine first line.\nHello {{ name \n")
    unparsed = cli.fails("prompts", "version", name, "--file", str(broken), "--var", "name", code="INVALID_ARGUMENT")
    assert "line" in unparsed
    assert cli.json("prompts", "show", f"{name}@latest")["version"]["version"] == "3", "nothing was created"

    # diff: the template as a unified diff, variables and model config field by field
    diff = cli.json("prompts", "diff", name, "1", "2")
    assert "-You are a support agent.\n" in diff["template_diff"]
    assert "+You are a {{ tone }} support agent.\n" in diff["template_diff"]
    assert diff["type_changed"] is False
    (tone,) = diff["variable_changes"]
    # paths are "tone" / "temperature" now; the .proto documents "variables.tone" / "model_config.temperature"
    assert (tone["path"].removeprefix("variables."), tone["kind"]) == ("tone", "CHANGE_KIND_ADDED")
    assert tone["after"]["default"] == "friendly"
    (temperature,) = diff["model_config_changes"]
    assert (temperature["path"].removeprefix("model_config."), temperature["kind"], temperature["before"],
            temperature["after"]) == (
        "temperature", "CHANGE_KIND_MODIFIED", 0.2, 0.5)
    assert cli.json("prompts", "diff", name, "2", "3")["type_changed"] is True
    table = cli.ok("prompts", "diff", name, "1", "2")
    assert "friendly" in table and "temperature" in table
    cli.fails("prompts", "diff", name, "1", "9", code="NOT_FOUND")

    # tags stay editable; list and versions
    tagged = cli.json("prompts", "tags", name, "--set", "tier=gold", "--remove", "team")
    assert tagged["tags"] == {"tier": "gold"}
    listed = cli.json("prompts", "list", "--prefix", name)
    (row,) = listed["prompts"]
    assert (row["name"], row["latest_version"], row["description"]) == (name, "3", "support answers")
    assert row["labels"]["production"] == "1" and row["labels"].get("latest", "3") == "3"
    assert cli.json("prompts", "list", "--prefix", name, "--tag", "tier=silver")["prompts"] == []
    assert name in cli.ok("prompts", "list", "--prefix", name)
    versions = cli.json("prompts", "versions", name)
    assert [v["version"] for v in versions["versions"]] == ["3", "2", "1"]
    cli.fails("prompts", "show", f"missing-{unique_name}", code="NOT_FOUND")
