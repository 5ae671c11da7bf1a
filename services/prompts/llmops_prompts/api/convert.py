"""Domain values <-> protobuf messages for the prompt store."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct, Value

from llmops.prompts.v1 import prompts_pb2 as pb
from llmops_common.prompt_client import DELIMITINGS, VARIABLE_TYPES, template_from_pb
from llmops_common.proto_convert import timestamp
from llmops_common.templating import ChatMessage
from llmops_prompts.domain.model import CreateVersion, FieldChange, Prompt, PromptVersion, VersionDiff
from llmops_prompts.store import LabelRecord

_TYPES_PB = {v: k for k, v in VARIABLE_TYPES.items()}
_DELIMITING_PB = {v: k for k, v in DELIMITINGS.items()}
_CHANGE = {"added": pb.CHANGE_KIND_ADDED, "removed": pb.CHANGE_KIND_REMOVED, "modified": pb.CHANGE_KIND_MODIFIED}


def _value(python: Any) -> Value:
    value = Value()
    json_format.ParseDict(python, value)
    return value


def create_version_command(request: pb.CreateVersionRequest) -> CreateVersion:
    config = json_format.MessageToDict(request.model_config, preserving_proto_field_name=True)
    return CreateVersion(request.prompt_name, template_from_pb(request), config, request.commit_message,
                         request.request_id)


def model_config(config: dict[str, Any]) -> pb.ModelConfig:
    return json_format.ParseDict(config, pb.ModelConfig(), ignore_unknown_fields=True)


def prompt(value: Prompt) -> pb.Prompt:
    return pb.Prompt(name=value.name, description=value.description, tags=value.tags,
                     created_at=timestamp(value.created_at), updated_at=timestamp(value.updated_at),
                     latest_version=value.latest_version, labels=value.labels)


def chat(messages: list[ChatMessage] | tuple[ChatMessage, ...]) -> pb.ChatTemplate:
    return pb.ChatTemplate(messages=[pb.ChatMessage(role=m.role, content=m.content) for m in messages])


def version(value: PromptVersion) -> pb.PromptVersion:
    template = value.template
    message = pb.PromptVersion(
        prompt_name=value.prompt_name, version=value.version,
        type=pb.PROMPT_TYPE_TEXT if template.text is not None else pb.PROMPT_TYPE_CHAT,
        variables=[
            pb.VariableSpec(name=v.name, type=_TYPES_PB[v.type], required=v.required,
                            default_value=_value(v.default) if v.default is not None else None,
                            description=v.description, delimiting=_DELIMITING_PB[v.delimiting],
                            delimiter_tag=v.delimiter_tag)
            for v in template.variables
        ],
        model_config=model_config(value.model_config), commit_message=value.commit_message, author=value.author,
        created_at=timestamp(value.created_at), labels=list(value.labels), sha256=value.sha256,
    )
    if template.text is not None:
        message.text = template.text
    else:
        message.chat.CopyFrom(chat(template.messages))
    return message


def label(record: LabelRecord, protected: frozenset[str]) -> pb.Label:
    return pb.Label(prompt_name=record.prompt_name, name=record.label, version=record.version,
                    protected=record.label in protected, updated_at=timestamp(record.updated_at),
                    updated_by=record.updated_by)


def variables(value: Struct) -> dict[str, Any]:
    return json_format.MessageToDict(value)


def rendered(found: PromptVersion, output: str | list[ChatMessage]) -> pb.RenderPromptResponse:
    response = pb.RenderPromptResponse(prompt_name=found.prompt_name, version=found.version,
                                       model_config=model_config(found.model_config))
    if isinstance(output, str):
        response.text = output
    else:
        response.chat.CopyFrom(chat(output))
    return response


def _change(change: FieldChange) -> pb.FieldChange:
    return pb.FieldChange(path=change.path, kind=_CHANGE[change.kind],
                          before=_value(change.before) if change.before is not None else None,
                          after=_value(change.after) if change.after is not None else None)


def version_diff(value: VersionDiff) -> pb.DiffVersionsResponse:
    return pb.DiffVersionsResponse(template_diff=value.template_diff,
                                   variable_changes=[_change(c) for c in value.variable_changes],
                                   model_config_changes=[_change(c) for c in value.model_config_changes],
                                   type_changed=value.type_changed)
