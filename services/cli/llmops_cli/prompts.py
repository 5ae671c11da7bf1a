"""``llmops prompts``: the prompt store, over its gRPC API.

Templates are read from files: a text template as is, a chat template (``--chat``) as a YAML or JSON
list of ``{role, content}`` messages. Every command calls one RPC and prints a table (or, with
``--json``, the reply as proto3 JSON like ``llmops models``: field names as in the .proto, int64 values
as strings, enums by name, unset scalars included). A gRPC error is one line on stderr,
``error (<STATUS>): <details>``, and exit code 1.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct, Value
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from llmops.prompts.v1 import prompts_pb2 as pb
from llmops.prompts.v1 import prompts_pb2_grpc
from llmops_cli.output import console
from llmops_cli.rpc import ServiceClient
from llmops_cli.services import SERVICES
from llmops_cli.toolkit import (
    ApiKeyOpt,
    JsonOpt,
    PageSizeOpt,
    PageTokenOpt,
    ReasonOpt,
    TagOpt,
    emit,
    fmt,
    next_page,
    page,
    parse_pairs,
    short_name,
    show_kv,
)

VAR_SPEC_HELP = (
    "Variable declaration, repeatable: NAME[?][:TYPE][=DEFAULT][,fenced[:TAG]|,tagged[:TAG]]. "
    "TYPE is string (the default), integer, number, boolean, list or object; a '?' after the name makes "
    "the variable optional, and so does a default; DEFAULT is JSON-parsed if it parses (3, true, [1,2], "
    "\"quoted\"), else taken as a string (for a string variable the text is kept as written unless it is a "
    "JSON string); ',fenced' wraps the value in a ``` fence, ',tagged' in <TAG>...</TAG> (default tag "
    "untrusted_input), to keep untrusted input apart from instructions. "
    "E.g. --var question:string,tagged:user_question --var top_k?:integer=3."
)
REF_HELP = "NAME, NAME@LABEL or NAME/VERSION (default: label production, else latest)."

prompts_app = typer.Typer(
    help="Prompt store: versioned templates, labels, sandboxed rendering and diffs.",
    no_args_is_help=True,
)

# -- gRPC plumbing ---------------------------------------------------------------------------------------

client = ServiceClient(SERVICES["prompts"], prompts_pb2_grpc.PromptServiceStub)


@prompts_app.callback()
def _connect(
    prompts: Annotated[str | None, typer.Option("--prompts", envvar="LLMOPS_PROMPTS_ENDPOINT",
                                                help="Prompt store gRPC endpoint HOST:PORT.")] = None,
    api_key: ApiKeyOpt = None,
) -> None:
    client.configure(prompts, api_key)


def call(method: str, request: Message, timeout: float = 30.0) -> Any:
    return client.call(method, request, timeout)


# -- parsing ---------------------------------------------------------------------------------------------

_TYPES = {name: pb.VariableType.Value(f"VARIABLE_TYPE_{name.upper()}")
          for name in ("string", "integer", "number", "boolean", "list", "object")}
_VAR = re.compile(r"^(?P<name>[^?:=,\s]+)(?P<optional>\?)?(?::(?P<type>[A-Za-z]+))?(?:=(?P<default>.*))?$", re.DOTALL)
_DELIMIT = re.compile(r",(?P<kind>fenced|tagged)(?::(?P<tag>[^,]*))?$")
_TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


def parse_json_value(text: str) -> Any:
    """JSON if ``text`` parses as finite JSON (numbers, booleans, lists, objects, "quoted"), else the text."""
    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        value = json.loads(text, parse_constant=refuse)
    except ValueError:
        return text
    if isinstance(value, float) and not math.isfinite(value):  # 1e999
        return text
    return value


def to_value(python: Any) -> Value:
    return json_format.ParseDict(python, Value())


def parse_var_spec(spec: str) -> pb.VariableSpec:
    """One ``--var`` declaration of ``version`` (syntax: see VAR_SPEC_HELP)."""
    body, delimiting, tag = spec.strip(), pb.DELIMITING_UNSPECIFIED, ""
    if match := _DELIMIT.search(body):
        body = body[:match.start()]
        delimiting = pb.DELIMITING_FENCED if match["kind"] == "fenced" else pb.DELIMITING_TAGGED
        tag = match["tag"] or ""
        if match["tag"] is not None and not _TAG.match(tag):
            raise typer.BadParameter(f"variable {spec!r}: tag {tag!r} is not a name (letters, digits, _ . -)")
    match = _VAR.match(body)
    if not match:
        raise typer.BadParameter(f"variable {spec!r}: use NAME[?][:TYPE][=DEFAULT][,fenced|,tagged[:TAG]]")
    type_name = (match["type"] or "string").lower()
    if type_name not in _TYPES:
        raise typer.BadParameter(f"variable {spec!r}: type {type_name!r} is not one of {', '.join(_TYPES)}")
    result = pb.VariableSpec(name=match["name"], type=_TYPES[type_name], delimiting=delimiting, delimiter_tag=tag,
                             required=not match["optional"] and match["default"] is None)
    if match["default"] is not None:
        default = parse_json_value(match["default"])
        if type_name == "string" and not isinstance(default, str):
            default = match["default"]
        if default is not None:
            result.default_value.CopyFrom(to_value(default))
    return result


def var_spec_text(spec: pb.VariableSpec) -> str:
    """A declaration back in the ``--var`` syntax."""
    text = f"{spec.name}{'' if spec.required else '?'}:{short_name(pb.VariableType, 'VARIABLE_TYPE_', spec.type)}"
    if spec.HasField("default_value"):
        text += f"={_json(spec.default_value)}"
    if spec.delimiting:
        text += f",{short_name(pb.Delimiting, 'DELIMITING_', spec.delimiting)}"
        text += f":{spec.delimiter_tag}" if spec.delimiter_tag else ""
    return text


def parse_ref(ref: str) -> tuple[str, dict[str, Any]]:
    """``name``, ``name@label`` or ``name/version`` -> (name, selector fields of Get/RenderPrompt)."""
    if "@" in ref:
        name, _, label = ref.partition("@")
        if not name or not label:
            raise typer.BadParameter(f"{ref!r}: use NAME@LABEL")
        return name, {"label": label}
    if "/" in ref:
        name, _, number = ref.partition("/")
        if not name or not number.isdigit() or int(number) < 1:
            raise typer.BadParameter(f"{ref!r}: use NAME/VERSION with a version number from 1")
        return name, {"version": int(number)}
    return ref, {}


def _read(path: Path) -> str:
    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from None


def _load_structured(path: Path, what: str) -> Any:
    """A JSON file (``.json``) or YAML (anything else, JSON included)."""
    text = _read(path)
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise typer.BadParameter(f"{what} {path} does not parse: {' '.join(str(exc).split())}") from None


def load_chat(path: Path) -> pb.ChatTemplate:
    """A list of ``{role, content}`` (or ``{messages: [...]}``) from YAML or JSON."""
    data = _load_structured(path, "chat template")
    if isinstance(data, dict) and "messages" in data:
        data = data["messages"]
    if not isinstance(data, list) or not data:
        raise typer.BadParameter(f"chat template {path}: expected a non-empty list of {{role, content}} messages")
    messages = []
    for i, item in enumerate(data):
        if not (isinstance(item, dict) and isinstance(item.get("role"), str) and isinstance(item.get("content"), str)
                and set(item) <= {"role", "content"}):
            raise typer.BadParameter(f"chat template {path}: message {i} is not {{role: str, content: str}}")
        messages.append(pb.ChatMessage(role=item["role"], content=item["content"]))
    return pb.ChatTemplate(messages=messages)


def load_model_config(path: Path) -> pb.ModelConfig:
    data = _load_structured(path, "model config")
    if not isinstance(data, dict):
        raise typer.BadParameter(f"model config {path}: expected a mapping of ModelConfig fields")
    try:
        return json_format.ParseDict(data, pb.ModelConfig())
    except json_format.ParseError as exc:
        known = ", ".join(f.name for f in pb.ModelConfig.DESCRIPTOR.fields)
        raise typer.BadParameter(f"model config {path}: {exc} (fields: {known})") from None


def render_variables(values: list[str] | None, vars_file: Path | None) -> Struct:
    data: dict[str, Any] = {}
    if vars_file is not None:
        loaded = _load_structured(vars_file, "variables file")
        if not isinstance(loaded, dict):
            raise typer.BadParameter(f"variables file {vars_file}: expected an object of name: value")
        data.update(loaded)
    data.update({k: parse_json_value(v) for k, v in parse_pairs(values, "variable").items()})
    struct = Struct()
    try:
        struct.update(data)
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(f"variables: {exc}") from None
    return struct


# -- rendering ---------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A Value as JSON would show it: integral numbers without ``.0`` (protobuf numbers are doubles)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _json(value: Value | None) -> str:
    if value is None:
        return "-"
    return json.dumps(_plain(json_format.MessageToDict(value)), separators=(",", ":"))


def show_template(v: pb.PromptVersion) -> None:
    if v.WhichOneof("template") == "chat":
        show_messages(v.chat.messages, "chat template")
    else:
        console.print(Syntax(v.text, "jinja", word_wrap=True, background_color="default"))


def show_messages(messages: Any, title: str) -> None:
    table = Table("#", "role", "content", title=title, show_lines=True)
    for i, m in enumerate(messages):
        table.add_row(str(i), m.role, m.content)
    console.print(table)


def show_variables(variables: Any) -> None:
    if not variables:
        console.print("variables: none")
        return
    table = Table("name", "type", "required", "default", "delimiting", title="variables")
    for s in variables:
        delimiting = short_name(pb.Delimiting, "DELIMITING_", s.delimiting) if s.delimiting else "-"
        if s.delimiter_tag:
            delimiting += f" <{s.delimiter_tag}>"
        table.add_row(s.name, short_name(pb.VariableType, "VARIABLE_TYPE_", s.type), "yes" if s.required else "no",
                      _json(s.default_value) if s.HasField("default_value") else "-", delimiting)
    console.print(table)


def show_version(v: pb.PromptVersion, resolved: str = "") -> None:
    via = (" (via label ", (resolved, "bold"), ")") if resolved else ()
    console.print(Text.assemble((v.prompt_name, "bold"), " version ", (str(v.version), "bold"), *via,
                                f": {short_name(pb.PromptType, 'PROMPT_TYPE_', v.type)}; "
                                f"labels {', '.join(v.labels) or '-'};"
                                f" by {v.author or '-'} at {v.created_at.ToJsonString()}; sha256 {v.sha256[:12]}"))
    if v.commit_message:
        console.print(f"message: {v.commit_message}")
    show_template(v)
    show_variables(v.variables)
    if json_format.MessageToDict(v.model_config):
        show_kv(v.model_config, "model config")
    else:
        console.print("model config: none")


def show_prompt(p: pb.Prompt) -> None:
    show_kv(p, f"prompt {p.name}")


def show_versions(reply: pb.ListVersionsResponse) -> None:
    table = Table("version", "type", "labels", "variables", "author", "created", "message", title="versions")
    for v in reply.versions:
        table.add_row(str(v.version), short_name(pb.PromptType, "PROMPT_TYPE_", v.type), ", ".join(v.labels) or "-",
                      " ".join(var_spec_text(s) for s in v.variables) or "-", v.author,
                      v.created_at.ToJsonString(), v.commit_message)
    console.print(table)
    next_page(reply.page)


def show_diff(reply: pb.DiffVersionsResponse, title: str) -> None:
    if reply.type_changed:
        console.print("the prompt type changed (text <-> chat)", style="yellow")
    if reply.template_diff:
        console.print(Syntax(reply.template_diff, "diff", word_wrap=True, background_color="default"))
    else:
        console.print("template: unchanged")
    changes = [("variables", c) for c in reply.variable_changes] + \
              [("model_config", c) for c in reply.model_config_changes]
    if not changes:
        console.print("variables and model config: unchanged")
        return
    table = Table("section", "path", "change", "before", "after", title=title)
    colors = {"added": "green", "removed": "red", "modified": "yellow"}
    for section, c in changes:
        kind = short_name(pb.ChangeKind, "CHANGE_KIND_", c.kind)
        table.add_row(section, c.path, Text(kind, colors.get(kind, "white")),
                      _json(c.before) if c.HasField("before") else "-",
                      _json(c.after) if c.HasField("after") else "-")
    console.print(table)


# -- commands ----------------------------------------------------------------------------------------------


@prompts_app.command("create")
def create(name: str, description: Annotated[str, typer.Option(help="Free-text description.")] = "",
           tag: TagOpt = None, as_json: JsonOpt = False) -> None:
    """Create a prompt name (its versions come with `version`)."""
    request = pb.CreatePromptRequest(name=name, description=description, tags=parse_pairs(tag))
    emit(call("CreatePrompt", request), as_json, show_prompt)


@prompts_app.command("version", short_help="Create the next immutable version from a template file.",
                     help=f"Create the next immutable version from a template file. {VAR_SPEC_HELP}")
def version(
    name: str,
    file: Annotated[Path, typer.Option("--file", "-f", help="Template file ('-': stdin): text, or with --chat a "
                                                             "YAML/JSON list of {role, content} messages.")],
    chat: Annotated[bool, typer.Option("--chat", help="The file is a chat template.")] = False,
    var: Annotated[list[str] | None, typer.Option("--var", help="Variable declaration (repeatable; see above).")]
    = None,
    config: Annotated[Path | None, typer.Option("--config", help="Model config, JSON or YAML, keys of ModelConfig: "
                                                                 "model, temperature, top_p, top_k, max_tokens, stop, "
                                                                 "presence_penalty, frequency_penalty, "
                                                                 "response_format, extra.")] = None,
    message: Annotated[str, typer.Option("--message", "-m", help="Commit message.")] = "",
    request_id: Annotated[str, typer.Option(help="Idempotency key: a repeat returns the first version.")] = "",
    as_json: JsonOpt = False,
) -> None:
    request = pb.CreateVersionRequest(prompt_name=name, variables=[parse_var_spec(s) for s in var or []],
                                      commit_message=message, request_id=request_id)
    if chat:
        request.chat.CopyFrom(load_chat(file))
    else:
        request.text = _read(file)
    if config is not None:
        request.model_config.CopyFrom(load_model_config(config))
    emit(call("CreateVersion", request), as_json, show_version)


@prompts_app.command("show")
def show(ref: Annotated[str, typer.Argument(metavar="NAME[@LABEL|/VERSION]", help=REF_HELP)],
         as_json: JsonOpt = False) -> None:
    """One version of a prompt: the label it resolved, template, variables and model config."""
    name, selector = parse_ref(ref)
    reply = call("GetPrompt", pb.GetPromptRequest(prompt_name=name, **selector))

    def render(r: pb.GetPromptResponse) -> None:
        p = r.prompt
        console.print(Text.assemble("prompt ", (p.name, "bold"), f": {p.description or '-'}; "
                                    f"tags {fmt(dict(p.tags)) or '-'}; labels "
                                    f"{', '.join(f'{k}={v}' for k, v in sorted(p.labels.items())) or '-'}"))
        show_version(r.version, r.resolved_label)

    emit(reply, as_json, render)


@prompts_app.command("list")
def list_prompts(prefix: Annotated[str, typer.Option(help="Only names starting with this.")] = "",
                 tag: TagOpt = None, page_size: PageSizeOpt = 0, page_token: PageTokenOpt = "",
                 as_json: JsonOpt = False) -> None:
    """Prompts, by name."""
    request = pb.ListPromptsRequest(page=page(page_size, page_token), name_prefix=prefix, tags=parse_pairs(tag))

    def render(reply: pb.ListPromptsResponse) -> None:
        table = Table("name", "latest", "labels", "tags", "description", "updated", title="prompts")
        for p in reply.prompts:
            table.add_row(p.name, str(p.latest_version), fmt(dict(sorted(p.labels.items()))) or "-",
                          fmt(dict(p.tags)) or "-", p.description, p.updated_at.ToJsonString())
        console.print(table)
        next_page(reply.page)

    emit(call("ListPrompts", request), as_json, render)


@prompts_app.command("versions")
def versions(name: str, page_size: PageSizeOpt = 0, page_token: PageTokenOpt = "", as_json: JsonOpt = False) -> None:
    """The versions of a prompt, newest first."""
    request = pb.ListVersionsRequest(prompt_name=name, page=page(page_size, page_token))
    emit(call("ListVersions", request), as_json, show_versions)


@prompts_app.command("tags")
def tags(name: str,
         set_tag: Annotated[list[str] | None, typer.Option("--set", help="Tag k=v to set (repeatable).")] = None,
         remove: Annotated[list[str] | None, typer.Option("--remove", help="Tag key to remove (repeatable).")] = None,
         as_json: JsonOpt = False) -> None:
    """Set and remove tags of a prompt (tags stay editable)."""
    request = pb.UpdateTagsRequest(prompt_name=name, set_tags=parse_pairs(set_tag), remove_tags=remove or [])
    emit(call("UpdateTags", request), as_json, show_prompt)


@prompts_app.command("label")
def label(
    name: str, label_name: Annotated[str, typer.Argument(metavar="LABEL")],
    number: Annotated[int | None, typer.Argument(metavar="[VERSION]", help="Version to point the label at.")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the label instead.")] = False,
    reason: ReasonOpt = "", as_json: JsonOpt = False,
) -> None:
    """Point a label at a version, or remove it with --delete (`production` needs the approver role)."""
    if delete:
        if number is not None:
            raise typer.BadParameter("give either VERSION or --delete, not both")
        reply = call("DeleteLabel", pb.DeleteLabelRequest(prompt_name=name, label=label_name, reason=reason))
        emit(reply, as_json, lambda r: console.print(
            f"deleted {name}@{label_name} (was version {r.previous_version})"))
        return
    if number is None:
        raise typer.BadParameter("give the VERSION to point the label at (or --delete)")
    reply = call("SetLabel", pb.SetLabelRequest(prompt_name=name, label=label_name, version=number, reason=reason))
    emit(reply, as_json, lambda r: console.print(Text.assemble(
        (f"{name}@{label_name}", "bold"), f" -> version {r.label.version} "
        f"(was {r.previous_version or 'unset'}){'; protected' if r.label.protected else ''}")))


@prompts_app.command("render")
def render(
    ref: Annotated[str, typer.Argument(metavar="NAME[@LABEL|/VERSION]", help=REF_HELP)],
    var: Annotated[list[str] | None, typer.Option("--var", help="Value k=v (repeatable), JSON-parsed where it "
                                                                "parses (3, true, [1,2]); quote to force a string: "
                                                                "k='\"3\"'. Values are data, never template syntax.")]
    = None,
    vars_file: Annotated[Path | None, typer.Option("--vars-file", help="JSON (or YAML) object of values; --var "
                                                                       "overrides it.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Render a version in the service's sandbox: the text, or the chat messages."""
    name, selector = parse_ref(ref)
    request = pb.RenderPromptRequest(prompt_name=name, variables=render_variables(var, vars_file), **selector)

    def show_rendered(r: pb.RenderPromptResponse) -> None:
        if r.WhichOneof("rendered") == "chat":
            show_messages(r.chat.messages, f"{r.prompt_name} version {r.version}")
        else:
            typer.echo(r.text, nl=not r.text.endswith("\n"))

    emit(call("RenderPrompt", request), as_json, show_rendered)


@prompts_app.command("diff")
def diff(name: str, from_version: Annotated[int, typer.Argument(metavar="FROM")],
         to_version: Annotated[int, typer.Argument(metavar="TO")], as_json: JsonOpt = False) -> None:
    """What changed between two versions: template as a unified diff, variables and model config by field."""
    request = pb.DiffVersionsRequest(prompt_name=name, from_version=from_version, to_version=to_version)
    emit(call("DiffVersions", request), as_json,
         lambda r: show_diff(r, f"{name}: version {from_version} -> {to_version}"))

