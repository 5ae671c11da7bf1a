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

class ModelKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_KIND_UNSPECIFIED: _ClassVar[ModelKind]
    MODEL_KIND_BASE: _ClassVar[ModelKind]
    MODEL_KIND_ADAPTER: _ClassVar[ModelKind]
    MODEL_KIND_MERGED: _ClassVar[ModelKind]

class PromotionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROMOTION_STATUS_UNSPECIFIED: _ClassVar[PromotionStatus]
    PROMOTION_STATUS_PENDING: _ClassVar[PromotionStatus]
    PROMOTION_STATUS_APPROVED: _ClassVar[PromotionStatus]
    PROMOTION_STATUS_REJECTED: _ClassVar[PromotionStatus]
    PROMOTION_STATUS_GATES_FAILED: _ClassVar[PromotionStatus]
    PROMOTION_STATUS_SUPERSEDED: _ClassVar[PromotionStatus]

class LineageNodeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINEAGE_NODE_KIND_UNSPECIFIED: _ClassVar[LineageNodeKind]
    LINEAGE_NODE_KIND_DATASET_VERSION: _ClassVar[LineageNodeKind]
    LINEAGE_NODE_KIND_PROMPT_VERSION: _ClassVar[LineageNodeKind]
    LINEAGE_NODE_KIND_TRAINING_RUN: _ClassVar[LineageNodeKind]
    LINEAGE_NODE_KIND_MODEL_VERSION: _ClassVar[LineageNodeKind]
    LINEAGE_NODE_KIND_EVALUATION_RUN: _ClassVar[LineageNodeKind]
    LINEAGE_NODE_KIND_ALIAS: _ClassVar[LineageNodeKind]
    LINEAGE_NODE_KIND_DEPLOYMENT: _ClassVar[LineageNodeKind]
    LINEAGE_NODE_KIND_CODE_VERSION: _ClassVar[LineageNodeKind]
MODEL_KIND_UNSPECIFIED: ModelKind
MODEL_KIND_BASE: ModelKind
MODEL_KIND_ADAPTER: ModelKind
MODEL_KIND_MERGED: ModelKind
PROMOTION_STATUS_UNSPECIFIED: PromotionStatus
PROMOTION_STATUS_PENDING: PromotionStatus
PROMOTION_STATUS_APPROVED: PromotionStatus
PROMOTION_STATUS_REJECTED: PromotionStatus
PROMOTION_STATUS_GATES_FAILED: PromotionStatus
PROMOTION_STATUS_SUPERSEDED: PromotionStatus
LINEAGE_NODE_KIND_UNSPECIFIED: LineageNodeKind
LINEAGE_NODE_KIND_DATASET_VERSION: LineageNodeKind
LINEAGE_NODE_KIND_PROMPT_VERSION: LineageNodeKind
LINEAGE_NODE_KIND_TRAINING_RUN: LineageNodeKind
LINEAGE_NODE_KIND_MODEL_VERSION: LineageNodeKind
LINEAGE_NODE_KIND_EVALUATION_RUN: LineageNodeKind
LINEAGE_NODE_KIND_ALIAS: LineageNodeKind
LINEAGE_NODE_KIND_DEPLOYMENT: LineageNodeKind
LINEAGE_NODE_KIND_CODE_VERSION: LineageNodeKind

class RegisteredModel(_message.Message):
    __slots__ = ("name", "description", "tags", "created_at", "updated_at", "latest_version", "aliases")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AliasesEntry(_message.Message):
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
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    tags: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    latest_version: int
    aliases: _containers.ScalarMap[str, int]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latest_version: _Optional[int] = ..., aliases: _Optional[_Mapping[str, int]] = ...) -> None: ...

class Lineage(_message.Message):
    __slots__ = ("dataset_versions", "prompt_version", "training_run_id", "code_version", "config_hash")
    DATASET_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    TRAINING_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_HASH_FIELD_NUMBER: _ClassVar[int]
    dataset_versions: _containers.RepeatedScalarFieldContainer[str]
    prompt_version: str
    training_run_id: str
    code_version: str
    config_hash: str
    def __init__(self, dataset_versions: _Optional[_Iterable[str]] = ..., prompt_version: _Optional[str] = ..., training_run_id: _Optional[str] = ..., code_version: _Optional[str] = ..., config_hash: _Optional[str] = ...) -> None: ...

class EvaluationResult(_message.Message):
    __slots__ = ("evaluation_run_id", "metrics", "report_uri", "completed_at", "attached_by", "trusted", "recorded_at")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    EVALUATION_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    REPORT_URI_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTACHED_BY_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    evaluation_run_id: str
    metrics: _containers.ScalarMap[str, float]
    report_uri: str
    completed_at: _timestamp_pb2.Timestamp
    attached_by: str
    trusted: bool
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, evaluation_run_id: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ..., report_uri: _Optional[str] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attached_by: _Optional[str] = ..., trusted: _Optional[bool] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ModelVersion(_message.Message):
    __slots__ = ("model_name", "version", "artifact_uri", "kind", "base_model_version", "format", "size_bytes", "sha256", "tags", "lineage", "evaluations", "created_at", "created_by", "aliases")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_URI_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    version: int
    artifact_uri: str
    kind: ModelKind
    base_model_version: str
    format: str
    size_bytes: int
    sha256: str
    tags: _containers.ScalarMap[str, str]
    lineage: Lineage
    evaluations: _containers.RepeatedCompositeFieldContainer[EvaluationResult]
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model_name: _Optional[str] = ..., version: _Optional[int] = ..., artifact_uri: _Optional[str] = ..., kind: _Optional[_Union[ModelKind, str]] = ..., base_model_version: _Optional[str] = ..., format: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., lineage: _Optional[_Union[Lineage, _Mapping]] = ..., evaluations: _Optional[_Iterable[_Union[EvaluationResult, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ...) -> None: ...

class Release(_message.Message):
    __slots__ = ("model_name", "alias", "version", "prompt_version", "sampling_parameters", "updated_at", "updated_by")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    alias: str
    version: int
    prompt_version: str
    sampling_parameters: _struct_pb2.Struct
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, model_name: _Optional[str] = ..., alias: _Optional[str] = ..., version: _Optional[int] = ..., prompt_version: _Optional[str] = ..., sampling_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class MetricGate(_message.Message):
    __slots__ = ("metric_name", "threshold", "min_absolute_change", "min_relative_change", "greater_is_better")
    METRIC_NAME_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MIN_ABSOLUTE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    MIN_RELATIVE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    GREATER_IS_BETTER_FIELD_NUMBER: _ClassVar[int]
    metric_name: str
    threshold: float
    min_absolute_change: float
    min_relative_change: float
    greater_is_better: bool
    def __init__(self, metric_name: _Optional[str] = ..., threshold: _Optional[float] = ..., min_absolute_change: _Optional[float] = ..., min_relative_change: _Optional[float] = ..., greater_is_better: _Optional[bool] = ...) -> None: ...

class AliasPolicy(_message.Message):
    __slots__ = ("model_name", "alias", "protected", "gates", "required_approvals", "approver_role", "auto_request_on_evaluation", "updated_at", "updated_by")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    PROTECTED_FIELD_NUMBER: _ClassVar[int]
    GATES_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_APPROVALS_FIELD_NUMBER: _ClassVar[int]
    APPROVER_ROLE_FIELD_NUMBER: _ClassVar[int]
    AUTO_REQUEST_ON_EVALUATION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    alias: str
    protected: bool
    gates: _containers.RepeatedCompositeFieldContainer[MetricGate]
    required_approvals: int
    approver_role: str
    auto_request_on_evaluation: bool
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, model_name: _Optional[str] = ..., alias: _Optional[str] = ..., protected: _Optional[bool] = ..., gates: _Optional[_Iterable[_Union[MetricGate, _Mapping]]] = ..., required_approvals: _Optional[int] = ..., approver_role: _Optional[str] = ..., auto_request_on_evaluation: _Optional[bool] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class GateResult(_message.Message):
    __slots__ = ("gate", "passed", "candidate_value", "current_value", "message")
    GATE_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_VALUE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_VALUE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    gate: MetricGate
    passed: bool
    candidate_value: float
    current_value: float
    message: str
    def __init__(self, gate: _Optional[_Union[MetricGate, _Mapping]] = ..., passed: _Optional[bool] = ..., candidate_value: _Optional[float] = ..., current_value: _Optional[float] = ..., message: _Optional[str] = ...) -> None: ...

class PromotionDecision(_message.Message):
    __slots__ = ("actor", "approved", "comment", "decided_at")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    actor: str
    approved: bool
    comment: str
    decided_at: _timestamp_pb2.Timestamp
    def __init__(self, actor: _Optional[str] = ..., approved: _Optional[bool] = ..., comment: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PromotionRequest(_message.Message):
    __slots__ = ("id", "model_name", "alias", "version", "prompt_version", "sampling_parameters", "status", "requested_by", "reason", "gate_results", "decisions", "required_approvals", "previous_version", "created_at", "closed_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    GATE_RESULTS_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_APPROVALS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    model_name: str
    alias: str
    version: int
    prompt_version: str
    sampling_parameters: _struct_pb2.Struct
    status: PromotionStatus
    requested_by: str
    reason: str
    gate_results: _containers.RepeatedCompositeFieldContainer[GateResult]
    decisions: _containers.RepeatedCompositeFieldContainer[PromotionDecision]
    required_approvals: int
    previous_version: int
    created_at: _timestamp_pb2.Timestamp
    closed_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., model_name: _Optional[str] = ..., alias: _Optional[str] = ..., version: _Optional[int] = ..., prompt_version: _Optional[str] = ..., sampling_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., status: _Optional[_Union[PromotionStatus, str]] = ..., requested_by: _Optional[str] = ..., reason: _Optional[str] = ..., gate_results: _Optional[_Iterable[_Union[GateResult, _Mapping]]] = ..., decisions: _Optional[_Iterable[_Union[PromotionDecision, _Mapping]]] = ..., required_approvals: _Optional[int] = ..., previous_version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., closed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LineageNode(_message.Message):
    __slots__ = ("id", "kind", "ref", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: LineageNodeKind
    ref: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[LineageNodeKind, str]] = ..., ref: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class LineageEdge(_message.Message):
    __slots__ = ("from_id", "to_id", "relation")
    FROM_ID_FIELD_NUMBER: _ClassVar[int]
    TO_ID_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    from_id: str
    to_id: str
    relation: str
    def __init__(self, from_id: _Optional[str] = ..., to_id: _Optional[str] = ..., relation: _Optional[str] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("id", "occurred_at", "actor", "action", "model_name", "version", "alias", "reason", "before", "after", "correlation_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    occurred_at: _timestamp_pb2.Timestamp
    actor: str
    action: str
    model_name: str
    version: int
    alias: str
    reason: str
    before: _struct_pb2.Struct
    after: _struct_pb2.Struct
    correlation_id: str
    def __init__(self, id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., model_name: _Optional[str] = ..., version: _Optional[int] = ..., alias: _Optional[str] = ..., reason: _Optional[str] = ..., before: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., after: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., correlation_id: _Optional[str] = ...) -> None: ...

class CreateRegisteredModelRequest(_message.Message):
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

class GetRegisteredModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListRegisteredModelsRequest(_message.Message):
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

class ListRegisteredModelsResponse(_message.Message):
    __slots__ = ("models", "page")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[RegisteredModel]
    page: _common_pb2.PageResponse
    def __init__(self, models: _Optional[_Iterable[_Union[RegisteredModel, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class CreateModelVersionRequest(_message.Message):
    __slots__ = ("model_name", "artifact_uri", "kind", "base_model_version", "format", "tags", "lineage", "request_id")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_URI_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    artifact_uri: str
    kind: ModelKind
    base_model_version: str
    format: str
    tags: _containers.ScalarMap[str, str]
    lineage: Lineage
    request_id: str
    def __init__(self, model_name: _Optional[str] = ..., artifact_uri: _Optional[str] = ..., kind: _Optional[_Union[ModelKind, str]] = ..., base_model_version: _Optional[str] = ..., format: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., lineage: _Optional[_Union[Lineage, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetModelVersionRequest(_message.Message):
    __slots__ = ("model_name", "version")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    version: int
    def __init__(self, model_name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class SearchModelVersionsRequest(_message.Message):
    __slots__ = ("page", "model_name", "name_prefix", "tags", "kind", "base_model_version", "alias", "created")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    model_name: str
    name_prefix: str
    tags: _containers.ScalarMap[str, str]
    kind: ModelKind
    base_model_version: str
    alias: str
    created: _common_pb2.TimeRange
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., model_name: _Optional[str] = ..., name_prefix: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., kind: _Optional[_Union[ModelKind, str]] = ..., base_model_version: _Optional[str] = ..., alias: _Optional[str] = ..., created: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ...) -> None: ...

class SearchModelVersionsResponse(_message.Message):
    __slots__ = ("versions", "page")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[ModelVersion]
    page: _common_pb2.PageResponse
    def __init__(self, versions: _Optional[_Iterable[_Union[ModelVersion, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class SetAliasRequest(_message.Message):
    __slots__ = ("model_name", "alias", "version", "prompt_version", "sampling_parameters", "reason", "expected_version")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    alias: str
    version: int
    prompt_version: str
    sampling_parameters: _struct_pb2.Struct
    reason: str
    expected_version: int
    def __init__(self, model_name: _Optional[str] = ..., alias: _Optional[str] = ..., version: _Optional[int] = ..., prompt_version: _Optional[str] = ..., sampling_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., reason: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class SetAliasResponse(_message.Message):
    __slots__ = ("release", "previous_version")
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    release: Release
    previous_version: int
    def __init__(self, release: _Optional[_Union[Release, _Mapping]] = ..., previous_version: _Optional[int] = ...) -> None: ...

class DeleteAliasRequest(_message.Message):
    __slots__ = ("model_name", "alias", "reason")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    alias: str
    reason: str
    def __init__(self, model_name: _Optional[str] = ..., alias: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DeleteAliasResponse(_message.Message):
    __slots__ = ("previous_version",)
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    previous_version: int
    def __init__(self, previous_version: _Optional[int] = ...) -> None: ...

class ResolveRequest(_message.Message):
    __slots__ = ("uri",)
    URI_FIELD_NUMBER: _ClassVar[int]
    uri: str
    def __init__(self, uri: _Optional[str] = ...) -> None: ...

class ResolveResponse(_message.Message):
    __slots__ = ("model_version", "release")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    model_version: ModelVersion
    release: Release
    def __init__(self, model_version: _Optional[_Union[ModelVersion, _Mapping]] = ..., release: _Optional[_Union[Release, _Mapping]] = ...) -> None: ...

class GetReleaseRequest(_message.Message):
    __slots__ = ("model_name", "alias")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    alias: str
    def __init__(self, model_name: _Optional[str] = ..., alias: _Optional[str] = ...) -> None: ...

class SetPolicyRequest(_message.Message):
    __slots__ = ("policy", "reason")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    policy: AliasPolicy
    reason: str
    def __init__(self, policy: _Optional[_Union[AliasPolicy, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ("model_name", "alias")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    alias: str
    def __init__(self, model_name: _Optional[str] = ..., alias: _Optional[str] = ...) -> None: ...

class RequestPromotionRequest(_message.Message):
    __slots__ = ("model_name", "alias", "version", "prompt_version", "sampling_parameters", "reason", "request_id")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    alias: str
    version: int
    prompt_version: str
    sampling_parameters: _struct_pb2.Struct
    reason: str
    request_id: str
    def __init__(self, model_name: _Optional[str] = ..., alias: _Optional[str] = ..., version: _Optional[int] = ..., prompt_version: _Optional[str] = ..., sampling_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ApprovePromotionRequest(_message.Message):
    __slots__ = ("promotion_id", "comment")
    PROMOTION_ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    promotion_id: str
    comment: str
    def __init__(self, promotion_id: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class RejectPromotionRequest(_message.Message):
    __slots__ = ("promotion_id", "reason")
    PROMOTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    promotion_id: str
    reason: str
    def __init__(self, promotion_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class GetPromotionRequest(_message.Message):
    __slots__ = ("promotion_id",)
    PROMOTION_ID_FIELD_NUMBER: _ClassVar[int]
    promotion_id: str
    def __init__(self, promotion_id: _Optional[str] = ...) -> None: ...

class ListPromotionsRequest(_message.Message):
    __slots__ = ("page", "model_name", "alias", "status")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    model_name: str
    alias: str
    status: PromotionStatus
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., model_name: _Optional[str] = ..., alias: _Optional[str] = ..., status: _Optional[_Union[PromotionStatus, str]] = ...) -> None: ...

class ListPromotionsResponse(_message.Message):
    __slots__ = ("promotions", "page")
    PROMOTIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    promotions: _containers.RepeatedCompositeFieldContainer[PromotionRequest]
    page: _common_pb2.PageResponse
    def __init__(self, promotions: _Optional[_Iterable[_Union[PromotionRequest, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ("model_name", "alias", "reason")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    alias: str
    reason: str
    def __init__(self, model_name: _Optional[str] = ..., alias: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RollbackResponse(_message.Message):
    __slots__ = ("release", "previous_version")
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    release: Release
    previous_version: int
    def __init__(self, release: _Optional[_Union[Release, _Mapping]] = ..., previous_version: _Optional[int] = ...) -> None: ...

class GetLineageRequest(_message.Message):
    __slots__ = ("model_name", "version", "max_depth")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    version: int
    max_depth: int
    def __init__(self, model_name: _Optional[str] = ..., version: _Optional[int] = ..., max_depth: _Optional[int] = ...) -> None: ...

class GetLineageResponse(_message.Message):
    __slots__ = ("root_id", "nodes", "edges")
    ROOT_ID_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    root_id: str
    nodes: _containers.RepeatedCompositeFieldContainer[LineageNode]
    edges: _containers.RepeatedCompositeFieldContainer[LineageEdge]
    def __init__(self, root_id: _Optional[str] = ..., nodes: _Optional[_Iterable[_Union[LineageNode, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[LineageEdge, _Mapping]]] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("page", "model_name", "actor", "action", "occurred")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    model_name: str
    actor: str
    action: str
    occurred: _common_pb2.TimeRange
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., model_name: _Optional[str] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., occurred: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("events", "page")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    page: _common_pb2.PageResponse
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class AttachEvaluationRequest(_message.Message):
    __slots__ = ("model_name", "version", "evaluation")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    version: int
    evaluation: EvaluationResult
    def __init__(self, model_name: _Optional[str] = ..., version: _Optional[int] = ..., evaluation: _Optional[_Union[EvaluationResult, _Mapping]] = ...) -> None: ...
