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

class Rating(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RATING_UNSPECIFIED: _ClassVar[Rating]
    RATING_POSITIVE: _ClassVar[Rating]
    RATING_NEGATIVE: _ClassVar[Rating]

class AlertKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_KIND_UNSPECIFIED: _ClassVar[AlertKind]
    ALERT_KIND_DRIFT: _ClassVar[AlertKind]
    ALERT_KIND_ABUSE: _ClassVar[AlertKind]
    ALERT_KIND_QUALITY: _ClassVar[AlertKind]
    ALERT_KIND_LATENCY: _ClassVar[AlertKind]
    ALERT_KIND_ERROR_RATE: _ClassVar[AlertKind]

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEVERITY_UNSPECIFIED: _ClassVar[Severity]
    SEVERITY_INFO: _ClassVar[Severity]
    SEVERITY_WARNING: _ClassVar[Severity]
    SEVERITY_CRITICAL: _ClassVar[Severity]

class AlertStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_STATUS_UNSPECIFIED: _ClassVar[AlertStatus]
    ALERT_STATUS_OPEN: _ClassVar[AlertStatus]
    ALERT_STATUS_ACKNOWLEDGED: _ClassVar[AlertStatus]
    ALERT_STATUS_RESOLVED: _ClassVar[AlertStatus]
RATING_UNSPECIFIED: Rating
RATING_POSITIVE: Rating
RATING_NEGATIVE: Rating
ALERT_KIND_UNSPECIFIED: AlertKind
ALERT_KIND_DRIFT: AlertKind
ALERT_KIND_ABUSE: AlertKind
ALERT_KIND_QUALITY: AlertKind
ALERT_KIND_LATENCY: AlertKind
ALERT_KIND_ERROR_RATE: AlertKind
SEVERITY_UNSPECIFIED: Severity
SEVERITY_INFO: Severity
SEVERITY_WARNING: Severity
SEVERITY_CRITICAL: Severity
ALERT_STATUS_UNSPECIFIED: AlertStatus
ALERT_STATUS_OPEN: AlertStatus
ALERT_STATUS_ACKNOWLEDGED: AlertStatus
ALERT_STATUS_RESOLVED: AlertStatus

class InferenceRecord(_message.Message):
    __slots__ = ("inference_id", "model_version", "release", "key_id", "user", "session", "prompt", "output", "prompt_tokens", "completion_tokens", "latency_ms", "ttft_ms", "finish_reason", "scores", "created_at")
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    INFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    TTFT_MS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    inference_id: str
    model_version: str
    release: str
    key_id: str
    user: str
    session: str
    prompt: str
    output: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    ttft_ms: float
    finish_reason: str
    scores: _containers.ScalarMap[str, float]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, inference_id: _Optional[str] = ..., model_version: _Optional[str] = ..., release: _Optional[str] = ..., key_id: _Optional[str] = ..., user: _Optional[str] = ..., session: _Optional[str] = ..., prompt: _Optional[str] = ..., output: _Optional[str] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., latency_ms: _Optional[float] = ..., ttft_ms: _Optional[float] = ..., finish_reason: _Optional[str] = ..., scores: _Optional[_Mapping[str, float]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListInferencesRequest(_message.Message):
    __slots__ = ("page", "model_version", "release", "key_id", "user", "session", "created", "min_injection_score")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    MIN_INJECTION_SCORE_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    model_version: str
    release: str
    key_id: str
    user: str
    session: str
    created: _common_pb2.TimeRange
    min_injection_score: float
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., model_version: _Optional[str] = ..., release: _Optional[str] = ..., key_id: _Optional[str] = ..., user: _Optional[str] = ..., session: _Optional[str] = ..., created: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., min_injection_score: _Optional[float] = ...) -> None: ...

class ListInferencesResponse(_message.Message):
    __slots__ = ("inferences", "page")
    INFERENCES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    inferences: _containers.RepeatedCompositeFieldContainer[InferenceRecord]
    page: _common_pb2.PageResponse
    def __init__(self, inferences: _Optional[_Iterable[_Union[InferenceRecord, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class AlertActionRequest(_message.Message):
    __slots__ = ("alert_id", "note")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    note: str
    def __init__(self, alert_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class GetBlocklistRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BlockEntry(_message.Message):
    __slots__ = ("subject_kind", "subject", "alert_id", "reason", "created_at")
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    subject_kind: str
    subject: str
    alert_id: str
    reason: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, subject_kind: _Optional[str] = ..., subject: _Optional[str] = ..., alert_id: _Optional[str] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Blocklist(_message.Message):
    __slots__ = ("entries", "enforced")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    ENFORCED_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[BlockEntry]
    enforced: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[BlockEntry, _Mapping]]] = ..., enforced: _Optional[bool] = ...) -> None: ...

class GetModelReportRequest(_message.Message):
    __slots__ = ("model_version", "days")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    days: int
    def __init__(self, model_version: _Optional[str] = ..., days: _Optional[int] = ...) -> None: ...

class ModelReport(_message.Message):
    __slots__ = ("html_uri", "summary")
    HTML_URI_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    html_uri: str
    summary: _struct_pb2.Struct
    def __init__(self, html_uri: _Optional[str] = ..., summary: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Feedback(_message.Message):
    __slots__ = ("feedback_id", "inference_id", "rating", "score", "comment", "correction", "categories", "user", "tags", "created_at")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    feedback_id: str
    inference_id: str
    rating: Rating
    score: float
    comment: str
    correction: str
    categories: _containers.RepeatedScalarFieldContainer[str]
    user: str
    tags: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, feedback_id: _Optional[str] = ..., inference_id: _Optional[str] = ..., rating: _Optional[_Union[Rating, str]] = ..., score: _Optional[float] = ..., comment: _Optional[str] = ..., correction: _Optional[str] = ..., categories: _Optional[_Iterable[str]] = ..., user: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("alert_id", "detector", "kind", "severity", "status", "deployment", "model_version", "message", "values", "thresholds", "details", "raised_at", "resolved_at", "subject_kind", "subject", "window_start", "window_end", "examples", "acknowledged_at", "acknowledged_by", "occurrences")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ThresholdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_BY_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCES_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    detector: str
    kind: AlertKind
    severity: Severity
    status: AlertStatus
    deployment: str
    model_version: str
    message: str
    values: _containers.ScalarMap[str, float]
    thresholds: _containers.ScalarMap[str, float]
    details: _struct_pb2.Struct
    raised_at: _timestamp_pb2.Timestamp
    resolved_at: _timestamp_pb2.Timestamp
    subject_kind: str
    subject: str
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    examples: _containers.RepeatedScalarFieldContainer[str]
    acknowledged_at: _timestamp_pb2.Timestamp
    acknowledged_by: str
    occurrences: int
    def __init__(self, alert_id: _Optional[str] = ..., detector: _Optional[str] = ..., kind: _Optional[_Union[AlertKind, str]] = ..., severity: _Optional[_Union[Severity, str]] = ..., status: _Optional[_Union[AlertStatus, str]] = ..., deployment: _Optional[str] = ..., model_version: _Optional[str] = ..., message: _Optional[str] = ..., values: _Optional[_Mapping[str, float]] = ..., thresholds: _Optional[_Mapping[str, float]] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., subject_kind: _Optional[str] = ..., subject: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., examples: _Optional[_Iterable[str]] = ..., acknowledged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledged_by: _Optional[str] = ..., occurrences: _Optional[int] = ...) -> None: ...

class SendFeedbackRequest(_message.Message):
    __slots__ = ("inference_id", "rating", "score", "comment", "correction", "categories", "tags", "request_id", "user")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    INFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    inference_id: str
    rating: Rating
    score: float
    comment: str
    correction: str
    categories: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.ScalarMap[str, str]
    request_id: str
    user: str
    def __init__(self, inference_id: _Optional[str] = ..., rating: _Optional[_Union[Rating, str]] = ..., score: _Optional[float] = ..., comment: _Optional[str] = ..., correction: _Optional[str] = ..., categories: _Optional[_Iterable[str]] = ..., tags: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("page", "status", "min_severity", "kind", "deployment", "raised", "model_version")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    RAISED_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    status: AlertStatus
    min_severity: Severity
    kind: AlertKind
    deployment: str
    raised: _common_pb2.TimeRange
    model_version: str
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., status: _Optional[_Union[AlertStatus, str]] = ..., min_severity: _Optional[_Union[Severity, str]] = ..., kind: _Optional[_Union[AlertKind, str]] = ..., deployment: _Optional[str] = ..., raised: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., model_version: _Optional[str] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts", "page")
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    page: _common_pb2.PageResponse
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class ExportFeedbackDatasetRequest(_message.Message):
    __slots__ = ("dataset_name", "window", "deployment", "model_version", "rating", "min_score", "corrections_only", "max_records", "request_ingestion", "request_id")
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    CORRECTIONS_ONLY_FIELD_NUMBER: _ClassVar[int]
    MAX_RECORDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_INGESTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    window: _common_pb2.TimeRange
    deployment: str
    model_version: str
    rating: Rating
    min_score: float
    corrections_only: bool
    max_records: int
    request_ingestion: bool
    request_id: str
    def __init__(self, dataset_name: _Optional[str] = ..., window: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., deployment: _Optional[str] = ..., model_version: _Optional[str] = ..., rating: _Optional[_Union[Rating, str]] = ..., min_score: _Optional[float] = ..., corrections_only: _Optional[bool] = ..., max_records: _Optional[int] = ..., request_ingestion: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class ExportFeedbackDatasetResponse(_message.Message):
    __slots__ = ("export_id", "uri", "record_count", "ingestion_event_id")
    EXPORT_ID_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    INGESTION_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    export_id: str
    uri: str
    record_count: int
    ingestion_event_id: str
    def __init__(self, export_id: _Optional[str] = ..., uri: _Optional[str] = ..., record_count: _Optional[int] = ..., ingestion_event_id: _Optional[str] = ...) -> None: ...
