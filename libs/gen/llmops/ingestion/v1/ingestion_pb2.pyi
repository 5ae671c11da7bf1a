import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from llmops.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_FORMAT_UNSPECIFIED: _ClassVar[DataFormat]
    DATA_FORMAT_JSONL: _ClassVar[DataFormat]
    DATA_FORMAT_JSON_ARRAY: _ClassVar[DataFormat]
    DATA_FORMAT_CSV: _ClassVar[DataFormat]
    DATA_FORMAT_PARQUET: _ClassVar[DataFormat]
    DATA_FORMAT_TEXT_LINES: _ClassVar[DataFormat]
    DATA_FORMAT_TEXT_FILES: _ClassVar[DataFormat]

class RecordShape(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_SHAPE_UNSPECIFIED: _ClassVar[RecordShape]
    RECORD_SHAPE_INSTRUCTION: _ClassVar[RecordShape]
    RECORD_SHAPE_CHAT: _ClassVar[RecordShape]
    RECORD_SHAPE_TEXT: _ClassVar[RecordShape]

class Split(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPLIT_UNSPECIFIED: _ClassVar[Split]
    SPLIT_TRAIN: _ClassVar[Split]
    SPLIT_VALIDATION: _ClassVar[Split]
    SPLIT_TEST: _ClassVar[Split]

class BadRecordPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BAD_RECORD_POLICY_UNSPECIFIED: _ClassVar[BadRecordPolicy]
    BAD_RECORD_POLICY_FAIL: _ClassVar[BadRecordPolicy]
    BAD_RECORD_POLICY_SKIP: _ClassVar[BadRecordPolicy]

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_PENDING: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_SUCCEEDED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
DATA_FORMAT_UNSPECIFIED: DataFormat
DATA_FORMAT_JSONL: DataFormat
DATA_FORMAT_JSON_ARRAY: DataFormat
DATA_FORMAT_CSV: DataFormat
DATA_FORMAT_PARQUET: DataFormat
DATA_FORMAT_TEXT_LINES: DataFormat
DATA_FORMAT_TEXT_FILES: DataFormat
RECORD_SHAPE_UNSPECIFIED: RecordShape
RECORD_SHAPE_INSTRUCTION: RecordShape
RECORD_SHAPE_CHAT: RecordShape
RECORD_SHAPE_TEXT: RecordShape
SPLIT_UNSPECIFIED: Split
SPLIT_TRAIN: Split
SPLIT_VALIDATION: Split
SPLIT_TEST: Split
BAD_RECORD_POLICY_UNSPECIFIED: BadRecordPolicy
BAD_RECORD_POLICY_FAIL: BadRecordPolicy
BAD_RECORD_POLICY_SKIP: BadRecordPolicy
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_PENDING: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_SUCCEEDED: JobStatus
JOB_STATUS_FAILED: JobStatus

class Dataset(_message.Message):
    __slots__ = ("name", "description", "tags", "created_at", "updated_at", "latest_version")
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
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    tags: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    latest_version: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latest_version: _Optional[str] = ...) -> None: ...

class DataSource(_message.Message):
    __slots__ = ("upload_id", "s3_uri", "local_path", "format")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    S3_URI_FIELD_NUMBER: _ClassVar[int]
    LOCAL_PATH_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    s3_uri: str
    local_path: str
    format: DataFormat
    def __init__(self, upload_id: _Optional[str] = ..., s3_uri: _Optional[str] = ..., local_path: _Optional[str] = ..., format: _Optional[_Union[DataFormat, str]] = ...) -> None: ...

class NormalizeStep(_message.Message):
    __slots__ = ("enabled", "form")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    FORM_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    form: str
    def __init__(self, enabled: _Optional[bool] = ..., form: _Optional[str] = ...) -> None: ...

class LengthFilterStep(_message.Message):
    __slots__ = ("enabled", "min_chars", "max_chars", "min_tokens", "max_tokens", "tokenizer")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    MIN_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_CHARS_FIELD_NUMBER: _ClassVar[int]
    MIN_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    min_chars: int
    max_chars: int
    min_tokens: int
    max_tokens: int
    tokenizer: str
    def __init__(self, enabled: _Optional[bool] = ..., min_chars: _Optional[int] = ..., max_chars: _Optional[int] = ..., min_tokens: _Optional[int] = ..., max_tokens: _Optional[int] = ..., tokenizer: _Optional[str] = ...) -> None: ...

class DedupStep(_message.Message):
    __slots__ = ("exact", "near", "threshold", "num_perm", "shingle_size")
    EXACT_FIELD_NUMBER: _ClassVar[int]
    NEAR_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    NUM_PERM_FIELD_NUMBER: _ClassVar[int]
    SHINGLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    exact: bool
    near: bool
    threshold: float
    num_perm: int
    shingle_size: int
    def __init__(self, exact: _Optional[bool] = ..., near: _Optional[bool] = ..., threshold: _Optional[float] = ..., num_perm: _Optional[int] = ..., shingle_size: _Optional[int] = ...) -> None: ...

class PiiStep(_message.Message):
    __slots__ = ("enabled", "kinds", "phone_regions")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    PHONE_REGIONS_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    kinds: _containers.RepeatedScalarFieldContainer[str]
    phone_regions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, enabled: _Optional[bool] = ..., kinds: _Optional[_Iterable[str]] = ..., phone_regions: _Optional[_Iterable[str]] = ...) -> None: ...

class SplitStep(_message.Message):
    __slots__ = ("validation_fraction", "test_fraction", "salt")
    VALIDATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    TEST_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    validation_fraction: float
    test_fraction: float
    salt: str
    def __init__(self, validation_fraction: _Optional[float] = ..., test_fraction: _Optional[float] = ..., salt: _Optional[str] = ...) -> None: ...

class PreparationConfig(_message.Message):
    __slots__ = ("normalize", "length_filter", "dedup", "pii", "split", "bad_record_policy")
    NORMALIZE_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FILTER_FIELD_NUMBER: _ClassVar[int]
    DEDUP_FIELD_NUMBER: _ClassVar[int]
    PII_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    BAD_RECORD_POLICY_FIELD_NUMBER: _ClassVar[int]
    normalize: NormalizeStep
    length_filter: LengthFilterStep
    dedup: DedupStep
    pii: PiiStep
    split: SplitStep
    bad_record_policy: BadRecordPolicy
    def __init__(self, normalize: _Optional[_Union[NormalizeStep, _Mapping]] = ..., length_filter: _Optional[_Union[LengthFilterStep, _Mapping]] = ..., dedup: _Optional[_Union[DedupStep, _Mapping]] = ..., pii: _Optional[_Union[PiiStep, _Mapping]] = ..., split: _Optional[_Union[SplitStep, _Mapping]] = ..., bad_record_policy: _Optional[_Union[BadRecordPolicy, str]] = ...) -> None: ...

class StepReport(_message.Message):
    __slots__ = ("step", "records_in", "records_kept", "dropped_by_reason", "records_modified")
    class DroppedByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    STEP_FIELD_NUMBER: _ClassVar[int]
    RECORDS_IN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_KEPT_FIELD_NUMBER: _ClassVar[int]
    DROPPED_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    RECORDS_MODIFIED_FIELD_NUMBER: _ClassVar[int]
    step: str
    records_in: int
    records_kept: int
    dropped_by_reason: _containers.ScalarMap[str, int]
    records_modified: int
    def __init__(self, step: _Optional[str] = ..., records_in: _Optional[int] = ..., records_kept: _Optional[int] = ..., dropped_by_reason: _Optional[_Mapping[str, int]] = ..., records_modified: _Optional[int] = ...) -> None: ...

class DatasetUsage(_message.Message):
    __slots__ = ("used_by", "reference", "recorded_at")
    USED_BY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    used_by: str
    reference: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, used_by: _Optional[str] = ..., reference: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DatasetVersion(_message.Message):
    __slots__ = ("dataset_name", "version", "uri", "manifest_uri", "shape", "record_count", "split_counts", "preparation", "config_hash", "source", "steps", "profile_uri", "profile_html_uri", "job_id", "created_at", "created_by", "used_by")
    class SplitCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_URI_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    SPLIT_COUNTS_FIELD_NUMBER: _ClassVar[int]
    PREPARATION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_HASH_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_URI_FIELD_NUMBER: _ClassVar[int]
    PROFILE_HTML_URI_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    USED_BY_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    version: str
    uri: str
    manifest_uri: str
    shape: RecordShape
    record_count: int
    split_counts: _containers.ScalarMap[str, int]
    preparation: PreparationConfig
    config_hash: str
    source: DataSource
    steps: _containers.RepeatedCompositeFieldContainer[StepReport]
    profile_uri: str
    profile_html_uri: str
    job_id: str
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    used_by: _containers.RepeatedCompositeFieldContainer[DatasetUsage]
    def __init__(self, dataset_name: _Optional[str] = ..., version: _Optional[str] = ..., uri: _Optional[str] = ..., manifest_uri: _Optional[str] = ..., shape: _Optional[_Union[RecordShape, str]] = ..., record_count: _Optional[int] = ..., split_counts: _Optional[_Mapping[str, int]] = ..., preparation: _Optional[_Union[PreparationConfig, _Mapping]] = ..., config_hash: _Optional[str] = ..., source: _Optional[_Union[DataSource, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[StepReport, _Mapping]]] = ..., profile_uri: _Optional[str] = ..., profile_html_uri: _Optional[str] = ..., job_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., used_by: _Optional[_Iterable[_Union[DatasetUsage, _Mapping]]] = ...) -> None: ...

class IngestionProgress(_message.Message):
    __slots__ = ("records_read", "bytes_read", "total_bytes", "step", "peak_memory_bytes")
    RECORDS_READ_FIELD_NUMBER: _ClassVar[int]
    BYTES_READ_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    records_read: int
    bytes_read: int
    total_bytes: int
    step: str
    peak_memory_bytes: int
    def __init__(self, records_read: _Optional[int] = ..., bytes_read: _Optional[int] = ..., total_bytes: _Optional[int] = ..., step: _Optional[str] = ..., peak_memory_bytes: _Optional[int] = ...) -> None: ...

class IngestionJob(_message.Message):
    __slots__ = ("job_id", "dataset_name", "status", "progress", "version", "reused_existing_version", "error", "created_at", "started_at", "finished_at", "correlation_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REUSED_EXISTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    dataset_name: str
    status: JobStatus
    progress: IngestionProgress
    version: DatasetVersion
    reused_existing_version: bool
    error: _common_pb2.ErrorDetail
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    correlation_id: str
    def __init__(self, job_id: _Optional[str] = ..., dataset_name: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., progress: _Optional[_Union[IngestionProgress, _Mapping]] = ..., version: _Optional[_Union[DatasetVersion, _Mapping]] = ..., reused_existing_version: _Optional[bool] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., correlation_id: _Optional[str] = ...) -> None: ...

class SourcePosition(_message.Message):
    __slots__ = ("file", "line")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    file: str
    line: int
    def __init__(self, file: _Optional[str] = ..., line: _Optional[int] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("role", "content")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class InstructionRecord(_message.Message):
    __slots__ = ("instruction", "input", "output")
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    instruction: str
    input: str
    output: str
    def __init__(self, instruction: _Optional[str] = ..., input: _Optional[str] = ..., output: _Optional[str] = ...) -> None: ...

class ChatRecord(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ...) -> None: ...

class Record(_message.Message):
    __slots__ = ("record_id", "split", "source", "instruction", "chat", "text")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    CHAT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    split: Split
    source: SourcePosition
    instruction: InstructionRecord
    chat: ChatRecord
    text: str
    def __init__(self, record_id: _Optional[str] = ..., split: _Optional[_Union[Split, str]] = ..., source: _Optional[_Union[SourcePosition, _Mapping]] = ..., instruction: _Optional[_Union[InstructionRecord, _Mapping]] = ..., chat: _Optional[_Union[ChatRecord, _Mapping]] = ..., text: _Optional[str] = ...) -> None: ...

class Distribution(_message.Message):
    __slots__ = ("min", "max", "mean", "p50", "p90", "p99", "bucket_bounds", "bucket_counts")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    P50_FIELD_NUMBER: _ClassVar[int]
    P90_FIELD_NUMBER: _ClassVar[int]
    P99_FIELD_NUMBER: _ClassVar[int]
    BUCKET_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_COUNTS_FIELD_NUMBER: _ClassVar[int]
    min: float
    max: float
    mean: float
    p50: float
    p90: float
    p99: float
    bucket_bounds: _containers.RepeatedScalarFieldContainer[float]
    bucket_counts: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, min: _Optional[float] = ..., max: _Optional[float] = ..., mean: _Optional[float] = ..., p50: _Optional[float] = ..., p90: _Optional[float] = ..., p99: _Optional[float] = ..., bucket_bounds: _Optional[_Iterable[float]] = ..., bucket_counts: _Optional[_Iterable[int]] = ...) -> None: ...

class NGramCount(_message.Message):
    __slots__ = ("ngram", "count")
    NGRAM_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    ngram: str
    count: int
    def __init__(self, ngram: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class DuplicateCluster(_message.Message):
    __slots__ = ("size", "examples", "kind")
    SIZE_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    size: int
    examples: _containers.RepeatedScalarFieldContainer[str]
    kind: str
    def __init__(self, size: _Optional[int] = ..., examples: _Optional[_Iterable[str]] = ..., kind: _Optional[str] = ...) -> None: ...

class DatasetProfile(_message.Message):
    __slots__ = ("dataset_name", "version", "json_uri", "html_uri", "steps", "char_lengths", "token_lengths", "duplicate_clusters", "pii_counts", "top_ngrams", "field_completeness", "script_mix", "bad_record_count", "bad_record_samples", "record_count", "split_counts", "tokenizer", "ngram_n", "ngram_sample_fraction", "html_url", "summary")
    class PiiCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class FieldCompletenessEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ScriptMixEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class SplitCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    JSON_URI_FIELD_NUMBER: _ClassVar[int]
    HTML_URI_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CHAR_LENGTHS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_LENGTHS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    PII_COUNTS_FIELD_NUMBER: _ClassVar[int]
    TOP_NGRAMS_FIELD_NUMBER: _ClassVar[int]
    FIELD_COMPLETENESS_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_MIX_FIELD_NUMBER: _ClassVar[int]
    BAD_RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    BAD_RECORD_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    SPLIT_COUNTS_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_FIELD_NUMBER: _ClassVar[int]
    NGRAM_N_FIELD_NUMBER: _ClassVar[int]
    NGRAM_SAMPLE_FRACTION_FIELD_NUMBER: _ClassVar[int]
    HTML_URL_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    version: str
    json_uri: str
    html_uri: str
    steps: _containers.RepeatedCompositeFieldContainer[StepReport]
    char_lengths: Distribution
    token_lengths: Distribution
    duplicate_clusters: _containers.RepeatedCompositeFieldContainer[DuplicateCluster]
    pii_counts: _containers.ScalarMap[str, int]
    top_ngrams: _containers.RepeatedCompositeFieldContainer[NGramCount]
    field_completeness: _containers.ScalarMap[str, float]
    script_mix: _containers.ScalarMap[str, float]
    bad_record_count: int
    bad_record_samples: _containers.RepeatedCompositeFieldContainer[_common_pb2.ErrorDetail]
    record_count: int
    split_counts: _containers.ScalarMap[str, int]
    tokenizer: str
    ngram_n: int
    ngram_sample_fraction: float
    html_url: str
    summary: str
    def __init__(self, dataset_name: _Optional[str] = ..., version: _Optional[str] = ..., json_uri: _Optional[str] = ..., html_uri: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[StepReport, _Mapping]]] = ..., char_lengths: _Optional[_Union[Distribution, _Mapping]] = ..., token_lengths: _Optional[_Union[Distribution, _Mapping]] = ..., duplicate_clusters: _Optional[_Iterable[_Union[DuplicateCluster, _Mapping]]] = ..., pii_counts: _Optional[_Mapping[str, int]] = ..., top_ngrams: _Optional[_Iterable[_Union[NGramCount, _Mapping]]] = ..., field_completeness: _Optional[_Mapping[str, float]] = ..., script_mix: _Optional[_Mapping[str, float]] = ..., bad_record_count: _Optional[int] = ..., bad_record_samples: _Optional[_Iterable[_Union[_common_pb2.ErrorDetail, _Mapping]]] = ..., record_count: _Optional[int] = ..., split_counts: _Optional[_Mapping[str, int]] = ..., tokenizer: _Optional[str] = ..., ngram_n: _Optional[int] = ..., ngram_sample_fraction: _Optional[float] = ..., html_url: _Optional[str] = ..., summary: _Optional[str] = ...) -> None: ...

class CreateDatasetRequest(_message.Message):
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

class GetDatasetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ("page", "name_prefix")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    name_prefix: str
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., name_prefix: _Optional[str] = ...) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("datasets", "page")
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[Dataset]
    page: _common_pb2.PageResponse
    def __init__(self, datasets: _Optional[_Iterable[_Union[Dataset, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class IngestDatasetRequest(_message.Message):
    __slots__ = ("dataset_name", "source", "shape", "column_mapping", "preparation", "request_id")
    class ColumnMappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_MAPPING_FIELD_NUMBER: _ClassVar[int]
    PREPARATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    source: DataSource
    shape: RecordShape
    column_mapping: _containers.ScalarMap[str, str]
    preparation: PreparationConfig
    request_id: str
    def __init__(self, dataset_name: _Optional[str] = ..., source: _Optional[_Union[DataSource, _Mapping]] = ..., shape: _Optional[_Union[RecordShape, str]] = ..., column_mapping: _Optional[_Mapping[str, str]] = ..., preparation: _Optional[_Union[PreparationConfig, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetIngestionJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class UploadFileHeader(_message.Message):
    __slots__ = ("dataset_name", "filename", "size_bytes", "sha256")
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    filename: str
    size_bytes: int
    sha256: str
    def __init__(self, dataset_name: _Optional[str] = ..., filename: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class UploadFileRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: UploadFileHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[UploadFileHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadFileResponse(_message.Message):
    __slots__ = ("upload_id", "s3_uri", "size_bytes", "sha256")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    S3_URI_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    s3_uri: str
    size_bytes: int
    sha256: str
    def __init__(self, upload_id: _Optional[str] = ..., s3_uri: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class GetDatasetVersionRequest(_message.Message):
    __slots__ = ("dataset_name", "version")
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    version: str
    def __init__(self, dataset_name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class ListDatasetVersionsRequest(_message.Message):
    __slots__ = ("dataset_name", "page")
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    page: _common_pb2.PageRequest
    def __init__(self, dataset_name: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListDatasetVersionsResponse(_message.Message):
    __slots__ = ("versions", "page")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[DatasetVersion]
    page: _common_pb2.PageResponse
    def __init__(self, versions: _Optional[_Iterable[_Union[DatasetVersion, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class GetProfileRequest(_message.Message):
    __slots__ = ("dataset_name", "version")
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    version: str
    def __init__(self, dataset_name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class SampleRecordsRequest(_message.Message):
    __slots__ = ("dataset_name", "version", "split", "limit", "seed")
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    version: str
    split: Split
    limit: int
    seed: int
    def __init__(self, dataset_name: _Optional[str] = ..., version: _Optional[str] = ..., split: _Optional[_Union[Split, str]] = ..., limit: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class SampleRecordsResponse(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[Record]
    def __init__(self, records: _Optional[_Iterable[_Union[Record, _Mapping]]] = ...) -> None: ...

class DiffVersionsRequest(_message.Message):
    __slots__ = ("dataset_name", "from_version", "to_version", "sample_limit")
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    from_version: str
    to_version: str
    sample_limit: int
    def __init__(self, dataset_name: _Optional[str] = ..., from_version: _Optional[str] = ..., to_version: _Optional[str] = ..., sample_limit: _Optional[int] = ...) -> None: ...

class DiffVersionsResponse(_message.Message):
    __slots__ = ("added_count", "removed_count", "unchanged_count", "added", "removed")
    ADDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    added_count: int
    removed_count: int
    unchanged_count: int
    added: _containers.RepeatedCompositeFieldContainer[Record]
    removed: _containers.RepeatedCompositeFieldContainer[Record]
    def __init__(self, added_count: _Optional[int] = ..., removed_count: _Optional[int] = ..., unchanged_count: _Optional[int] = ..., added: _Optional[_Iterable[_Union[Record, _Mapping]]] = ..., removed: _Optional[_Iterable[_Union[Record, _Mapping]]] = ...) -> None: ...
