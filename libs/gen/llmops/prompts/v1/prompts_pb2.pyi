import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from llmops.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PromptType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROMPT_TYPE_UNSPECIFIED: _ClassVar[PromptType]
    PROMPT_TYPE_TEXT: _ClassVar[PromptType]
    PROMPT_TYPE_CHAT: _ClassVar[PromptType]

class VariableType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VARIABLE_TYPE_UNSPECIFIED: _ClassVar[VariableType]
    VARIABLE_TYPE_STRING: _ClassVar[VariableType]
    VARIABLE_TYPE_INTEGER: _ClassVar[VariableType]
    VARIABLE_TYPE_NUMBER: _ClassVar[VariableType]
    VARIABLE_TYPE_BOOLEAN: _ClassVar[VariableType]
    VARIABLE_TYPE_LIST: _ClassVar[VariableType]
    VARIABLE_TYPE_OBJECT: _ClassVar[VariableType]

class Delimiting(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIMITING_UNSPECIFIED: _ClassVar[Delimiting]
    DELIMITING_FENCED: _ClassVar[Delimiting]
    DELIMITING_TAGGED: _ClassVar[Delimiting]

class ResponseFormatType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESPONSE_FORMAT_TYPE_UNSPECIFIED: _ClassVar[ResponseFormatType]
    RESPONSE_FORMAT_TYPE_JSON_OBJECT: _ClassVar[ResponseFormatType]
    RESPONSE_FORMAT_TYPE_JSON_SCHEMA: _ClassVar[ResponseFormatType]

class ChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_KIND_UNSPECIFIED: _ClassVar[ChangeKind]
    CHANGE_KIND_ADDED: _ClassVar[ChangeKind]
    CHANGE_KIND_REMOVED: _ClassVar[ChangeKind]
    CHANGE_KIND_MODIFIED: _ClassVar[ChangeKind]
PROMPT_TYPE_UNSPECIFIED: PromptType
PROMPT_TYPE_TEXT: PromptType
PROMPT_TYPE_CHAT: PromptType
VARIABLE_TYPE_UNSPECIFIED: VariableType
VARIABLE_TYPE_STRING: VariableType
VARIABLE_TYPE_INTEGER: VariableType
VARIABLE_TYPE_NUMBER: VariableType
VARIABLE_TYPE_BOOLEAN: VariableType
VARIABLE_TYPE_LIST: VariableType
VARIABLE_TYPE_OBJECT: VariableType
DELIMITING_UNSPECIFIED: Delimiting
DELIMITING_FENCED: Delimiting
DELIMITING_TAGGED: Delimiting
RESPONSE_FORMAT_TYPE_UNSPECIFIED: ResponseFormatType
RESPONSE_FORMAT_TYPE_JSON_OBJECT: ResponseFormatType
RESPONSE_FORMAT_TYPE_JSON_SCHEMA: ResponseFormatType
CHANGE_KIND_UNSPECIFIED: ChangeKind
CHANGE_KIND_ADDED: ChangeKind
CHANGE_KIND_REMOVED: ChangeKind
CHANGE_KIND_MODIFIED: ChangeKind

class Prompt(_message.Message):
    __slots__ = ("name", "description", "tags", "created_at", "updated_at", "latest_version", "labels")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    tags: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    latest_version: int
    labels: _containers.ScalarMap[str, int]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latest_version: _Optional[int] = ..., labels: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("role", "content")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class ChatTemplate(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ...) -> None: ...

class VariableSpec(_message.Message):
    __slots__ = ("name", "type", "required", "default_value", "description", "delimiting", "delimiter_tag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DELIMITING_FIELD_NUMBER: _ClassVar[int]
    DELIMITER_TAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: VariableType
    required: bool
    default_value: _struct_pb2.Value
    description: str
    delimiting: Delimiting
    delimiter_tag: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[VariableType, str]] = ..., required: _Optional[bool] = ..., default_value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., description: _Optional[str] = ..., delimiting: _Optional[_Union[Delimiting, str]] = ..., delimiter_tag: _Optional[str] = ...) -> None: ...

class ResponseFormat(_message.Message):
    __slots__ = ("type", "json_schema")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    type: ResponseFormatType
    json_schema: _struct_pb2.Struct
    def __init__(self, type: _Optional[_Union[ResponseFormatType, str]] = ..., json_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ModelConfig(_message.Message):
    __slots__ = ("model", "temperature", "top_p", "top_k", "max_tokens", "stop", "presence_penalty", "frequency_penalty", "response_format", "extra")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_PENALTY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    model: str
    temperature: float
    top_p: float
    top_k: int
    max_tokens: int
    stop: _containers.RepeatedScalarFieldContainer[str]
    presence_penalty: float
    frequency_penalty: float
    response_format: ResponseFormat
    extra: _struct_pb2.Struct
    def __init__(self, model: _Optional[str] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., top_k: _Optional[int] = ..., max_tokens: _Optional[int] = ..., stop: _Optional[_Iterable[str]] = ..., presence_penalty: _Optional[float] = ..., frequency_penalty: _Optional[float] = ..., response_format: _Optional[_Union[ResponseFormat, _Mapping]] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class PromptVersion(_message.Message):
    __slots__ = ("prompt_name", "version", "type", "text", "chat", "variables", "model_config", "commit_message", "author", "created_at", "labels", "sha256")
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CHAT_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    MODEL_CONFIG_FIELD_NUMBER: _ClassVar[int]
    COMMIT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    prompt_name: str
    version: int
    type: PromptType
    text: str
    chat: ChatTemplate
    variables: _containers.RepeatedCompositeFieldContainer[VariableSpec]
    model_config: ModelConfig
    commit_message: str
    author: str
    created_at: _timestamp_pb2.Timestamp
    labels: _containers.RepeatedScalarFieldContainer[str]
    sha256: str
    def __init__(self, prompt_name: _Optional[str] = ..., version: _Optional[int] = ..., type: _Optional[_Union[PromptType, str]] = ..., text: _Optional[str] = ..., chat: _Optional[_Union[ChatTemplate, _Mapping]] = ..., variables: _Optional[_Iterable[_Union[VariableSpec, _Mapping]]] = ..., model_config: _Optional[_Union[ModelConfig, _Mapping]] = ..., commit_message: _Optional[str] = ..., author: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Iterable[str]] = ..., sha256: _Optional[str] = ...) -> None: ...

class Label(_message.Message):
    __slots__ = ("prompt_name", "name", "version", "protected", "updated_at", "updated_by")
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROTECTED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    prompt_name: str
    name: str
    version: int
    protected: bool
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, prompt_name: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[int] = ..., protected: _Optional[bool] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class FieldChange(_message.Message):
    __slots__ = ("path", "kind", "before", "after")
    PATH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    path: str
    kind: ChangeKind
    before: _struct_pb2.Value
    after: _struct_pb2.Value
    def __init__(self, path: _Optional[str] = ..., kind: _Optional[_Union[ChangeKind, str]] = ..., before: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., after: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class CreatePromptRequest(_message.Message):
    __slots__ = ("name", "description", "tags")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    tags: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateVersionRequest(_message.Message):
    __slots__ = ("prompt_name", "text", "chat", "variables", "model_config", "commit_message", "request_id")
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CHAT_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    MODEL_CONFIG_FIELD_NUMBER: _ClassVar[int]
    COMMIT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    prompt_name: str
    text: str
    chat: ChatTemplate
    variables: _containers.RepeatedCompositeFieldContainer[VariableSpec]
    model_config: ModelConfig
    commit_message: str
    request_id: str
    def __init__(self, prompt_name: _Optional[str] = ..., text: _Optional[str] = ..., chat: _Optional[_Union[ChatTemplate, _Mapping]] = ..., variables: _Optional[_Iterable[_Union[VariableSpec, _Mapping]]] = ..., model_config: _Optional[_Union[ModelConfig, _Mapping]] = ..., commit_message: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetLabelRequest(_message.Message):
    __slots__ = ("prompt_name", "label", "version", "reason")
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    prompt_name: str
    label: str
    version: int
    reason: str
    def __init__(self, prompt_name: _Optional[str] = ..., label: _Optional[str] = ..., version: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class SetLabelResponse(_message.Message):
    __slots__ = ("label", "previous_version")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    label: Label
    previous_version: int
    def __init__(self, label: _Optional[_Union[Label, _Mapping]] = ..., previous_version: _Optional[int] = ...) -> None: ...

class DeleteLabelRequest(_message.Message):
    __slots__ = ("prompt_name", "label", "reason")
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    prompt_name: str
    label: str
    reason: str
    def __init__(self, prompt_name: _Optional[str] = ..., label: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DeleteLabelResponse(_message.Message):
    __slots__ = ("previous_version",)
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    previous_version: int
    def __init__(self, previous_version: _Optional[int] = ...) -> None: ...

class GetPromptRequest(_message.Message):
    __slots__ = ("prompt_name", "version", "label")
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    prompt_name: str
    version: int
    label: str
    def __init__(self, prompt_name: _Optional[str] = ..., version: _Optional[int] = ..., label: _Optional[str] = ...) -> None: ...

class GetPromptResponse(_message.Message):
    __slots__ = ("prompt", "version", "resolved_label")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_LABEL_FIELD_NUMBER: _ClassVar[int]
    prompt: Prompt
    version: PromptVersion
    resolved_label: str
    def __init__(self, prompt: _Optional[_Union[Prompt, _Mapping]] = ..., version: _Optional[_Union[PromptVersion, _Mapping]] = ..., resolved_label: _Optional[str] = ...) -> None: ...

class ListPromptsRequest(_message.Message):
    __slots__ = ("page", "name_prefix", "tags")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAGE_FIELD_NUMBER: _ClassVar[int]
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    name_prefix: str
    tags: _containers.ScalarMap[str, str]
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., name_prefix: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListPromptsResponse(_message.Message):
    __slots__ = ("prompts", "page")
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    prompts: _containers.RepeatedCompositeFieldContainer[Prompt]
    page: _common_pb2.PageResponse
    def __init__(self, prompts: _Optional[_Iterable[_Union[Prompt, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class ListVersionsRequest(_message.Message):
    __slots__ = ("prompt_name", "page")
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    prompt_name: str
    page: _common_pb2.PageRequest
    def __init__(self, prompt_name: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListVersionsResponse(_message.Message):
    __slots__ = ("versions", "page")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[PromptVersion]
    page: _common_pb2.PageResponse
    def __init__(self, versions: _Optional[_Iterable[_Union[PromptVersion, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class RenderPromptRequest(_message.Message):
    __slots__ = ("prompt_name", "version", "label", "variables")
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    prompt_name: str
    version: int
    label: str
    variables: _struct_pb2.Struct
    def __init__(self, prompt_name: _Optional[str] = ..., version: _Optional[int] = ..., label: _Optional[str] = ..., variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RenderPromptResponse(_message.Message):
    __slots__ = ("prompt_name", "version", "text", "chat", "model_config")
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CHAT_FIELD_NUMBER: _ClassVar[int]
    MODEL_CONFIG_FIELD_NUMBER: _ClassVar[int]
    prompt_name: str
    version: int
    text: str
    chat: ChatTemplate
    model_config: ModelConfig
    def __init__(self, prompt_name: _Optional[str] = ..., version: _Optional[int] = ..., text: _Optional[str] = ..., chat: _Optional[_Union[ChatTemplate, _Mapping]] = ..., model_config: _Optional[_Union[ModelConfig, _Mapping]] = ...) -> None: ...

class DiffVersionsRequest(_message.Message):
    __slots__ = ("prompt_name", "from_version", "to_version")
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    prompt_name: str
    from_version: int
    to_version: int
    def __init__(self, prompt_name: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ...) -> None: ...

class DiffVersionsResponse(_message.Message):
    __slots__ = ("template_diff", "variable_changes", "model_config_changes", "type_changed")
    TEMPLATE_DIFF_FIELD_NUMBER: _ClassVar[int]
    VARIABLE_CHANGES_FIELD_NUMBER: _ClassVar[int]
    MODEL_CONFIG_CHANGES_FIELD_NUMBER: _ClassVar[int]
    TYPE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    template_diff: str
    variable_changes: _containers.RepeatedCompositeFieldContainer[FieldChange]
    model_config_changes: _containers.RepeatedCompositeFieldContainer[FieldChange]
    type_changed: bool
    def __init__(self, template_diff: _Optional[str] = ..., variable_changes: _Optional[_Iterable[_Union[FieldChange, _Mapping]]] = ..., model_config_changes: _Optional[_Iterable[_Union[FieldChange, _Mapping]]] = ..., type_changed: _Optional[bool] = ...) -> None: ...

class UpdateTagsRequest(_message.Message):
    __slots__ = ("prompt_name", "set_tags", "remove_tags")
    class SetTagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    SET_TAGS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_TAGS_FIELD_NUMBER: _ClassVar[int]
    prompt_name: str
    set_tags: _containers.ScalarMap[str, str]
    remove_tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, prompt_name: _Optional[str] = ..., set_tags: _Optional[_Mapping[str, str]] = ..., remove_tags: _Optional[_Iterable[str]] = ...) -> None: ...
