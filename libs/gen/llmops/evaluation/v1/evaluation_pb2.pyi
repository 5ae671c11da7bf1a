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

class EvaluationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVALUATION_STATUS_UNSPECIFIED: _ClassVar[EvaluationStatus]
    EVALUATION_STATUS_PENDING: _ClassVar[EvaluationStatus]
    EVALUATION_STATUS_RUNNING: _ClassVar[EvaluationStatus]
    EVALUATION_STATUS_COMPLETED: _ClassVar[EvaluationStatus]
    EVALUATION_STATUS_FAILED: _ClassVar[EvaluationStatus]
EVALUATION_STATUS_UNSPECIFIED: EvaluationStatus
EVALUATION_STATUS_PENDING: EvaluationStatus
EVALUATION_STATUS_RUNNING: EvaluationStatus
EVALUATION_STATUS_COMPLETED: EvaluationStatus
EVALUATION_STATUS_FAILED: EvaluationStatus

class MetricSpec(_message.Message):
    __slots__ = ("name", "params")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    name: str
    params: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class EvaluationSpec(_message.Message):
    __slots__ = ("model_version", "dataset_version", "split", "prompt_version", "metrics", "max_samples", "sampling_parameters", "training_run_id", "baselines", "judge", "confidence", "bootstrap_samples")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    MAX_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    TRAINING_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    BASELINES_FIELD_NUMBER: _ClassVar[int]
    JUDGE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    dataset_version: str
    split: str
    prompt_version: str
    metrics: _containers.RepeatedCompositeFieldContainer[MetricSpec]
    max_samples: int
    sampling_parameters: _struct_pb2.Struct
    training_run_id: str
    baselines: _containers.RepeatedCompositeFieldContainer[Baseline]
    judge: JudgeSpec
    confidence: float
    bootstrap_samples: int
    def __init__(self, model_version: _Optional[str] = ..., dataset_version: _Optional[str] = ..., split: _Optional[str] = ..., prompt_version: _Optional[str] = ..., metrics: _Optional[_Iterable[_Union[MetricSpec, _Mapping]]] = ..., max_samples: _Optional[int] = ..., sampling_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., training_run_id: _Optional[str] = ..., baselines: _Optional[_Iterable[_Union[Baseline, _Mapping]]] = ..., judge: _Optional[_Union[JudgeSpec, _Mapping]] = ..., confidence: _Optional[float] = ..., bootstrap_samples: _Optional[int] = ...) -> None: ...

class Baseline(_message.Message):
    __slots__ = ("role", "model_version")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    role: str
    model_version: str
    def __init__(self, role: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class JudgeSpec(_message.Message):
    __slots__ = ("model", "prompt_version", "min_score", "max_score")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    MAX_SCORE_FIELD_NUMBER: _ClassVar[int]
    model: str
    prompt_version: str
    min_score: float
    max_score: float
    def __init__(self, model: _Optional[str] = ..., prompt_version: _Optional[str] = ..., min_score: _Optional[float] = ..., max_score: _Optional[float] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("stage", "done", "total")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    stage: str
    done: int
    total: int
    def __init__(self, stage: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class EvaluationRun(_message.Message):
    __slots__ = ("run_id", "status", "spec", "metrics", "report_uri", "html_report_uri", "error", "correlation_id", "created_by", "created_at", "started_at", "completed_at", "progress", "resolved_models")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ResolvedModelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    REPORT_URI_FIELD_NUMBER: _ClassVar[int]
    HTML_REPORT_URI_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_MODELS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    status: EvaluationStatus
    spec: EvaluationSpec
    metrics: _containers.ScalarMap[str, float]
    report_uri: str
    html_report_uri: str
    error: _common_pb2.ErrorDetail
    correlation_id: str
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    progress: Progress
    resolved_models: _containers.ScalarMap[str, str]
    def __init__(self, run_id: _Optional[str] = ..., status: _Optional[_Union[EvaluationStatus, str]] = ..., spec: _Optional[_Union[EvaluationSpec, _Mapping]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., report_uri: _Optional[str] = ..., html_report_uri: _Optional[str] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ..., correlation_id: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., resolved_models: _Optional[_Mapping[str, str]] = ...) -> None: ...

class MetricResult(_message.Message):
    __slots__ = ("name", "value", "ci_low", "ci_high", "count", "model_role", "greater_is_better", "signature", "confidence")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CI_LOW_FIELD_NUMBER: _ClassVar[int]
    CI_HIGH_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MODEL_ROLE_FIELD_NUMBER: _ClassVar[int]
    GREATER_IS_BETTER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    ci_low: float
    ci_high: float
    count: int
    model_role: str
    greater_is_better: bool
    signature: str
    confidence: float
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., ci_low: _Optional[float] = ..., ci_high: _Optional[float] = ..., count: _Optional[int] = ..., model_role: _Optional[str] = ..., greater_is_better: _Optional[bool] = ..., signature: _Optional[str] = ..., confidence: _Optional[float] = ...) -> None: ...

class MetricComparisonResult(_message.Message):
    __slots__ = ("name", "baseline_role", "delta", "ci_low", "ci_high", "p_value", "test", "verdict")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BASELINE_ROLE_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    CI_LOW_FIELD_NUMBER: _ClassVar[int]
    CI_HIGH_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    name: str
    baseline_role: str
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str
    verdict: str
    def __init__(self, name: _Optional[str] = ..., baseline_role: _Optional[str] = ..., delta: _Optional[float] = ..., ci_low: _Optional[float] = ..., ci_high: _Optional[float] = ..., p_value: _Optional[float] = ..., test: _Optional[str] = ..., verdict: _Optional[str] = ...) -> None: ...

class SampleResult(_message.Message):
    __slots__ = ("record_id", "input", "reference", "prediction", "scores", "model_role", "error")
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    MODEL_ROLE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    input: str
    reference: str
    prediction: str
    scores: _containers.ScalarMap[str, float]
    model_role: str
    error: str
    def __init__(self, record_id: _Optional[str] = ..., input: _Optional[str] = ..., reference: _Optional[str] = ..., prediction: _Optional[str] = ..., scores: _Optional[_Mapping[str, float]] = ..., model_role: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class EvaluationReport(_message.Message):
    __slots__ = ("run", "metrics", "samples", "comparisons")
    RUN_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    COMPARISONS_FIELD_NUMBER: _ClassVar[int]
    run: EvaluationRun
    metrics: _containers.RepeatedCompositeFieldContainer[MetricResult]
    samples: _containers.RepeatedCompositeFieldContainer[SampleResult]
    comparisons: _containers.RepeatedCompositeFieldContainer[MetricComparisonResult]
    def __init__(self, run: _Optional[_Union[EvaluationRun, _Mapping]] = ..., metrics: _Optional[_Iterable[_Union[MetricResult, _Mapping]]] = ..., samples: _Optional[_Iterable[_Union[SampleResult, _Mapping]]] = ..., comparisons: _Optional[_Iterable[_Union[MetricComparisonResult, _Mapping]]] = ...) -> None: ...

class RunMetricValue(_message.Message):
    __slots__ = ("run_id", "value", "delta", "relative_delta")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_DELTA_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    value: float
    delta: float
    relative_delta: float
    def __init__(self, run_id: _Optional[str] = ..., value: _Optional[float] = ..., delta: _Optional[float] = ..., relative_delta: _Optional[float] = ...) -> None: ...

class MetricComparison(_message.Message):
    __slots__ = ("metric_name", "values", "best_run_id")
    METRIC_NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    BEST_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    metric_name: str
    values: _containers.RepeatedCompositeFieldContainer[RunMetricValue]
    best_run_id: str
    def __init__(self, metric_name: _Optional[str] = ..., values: _Optional[_Iterable[_Union[RunMetricValue, _Mapping]]] = ..., best_run_id: _Optional[str] = ...) -> None: ...

class RunEvaluationRequest(_message.Message):
    __slots__ = ("spec", "request_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    spec: EvaluationSpec
    request_id: str
    def __init__(self, spec: _Optional[_Union[EvaluationSpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetEvaluationRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class ListEvaluationRunsRequest(_message.Message):
    __slots__ = ("page", "model_version", "dataset_version", "status")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    model_version: str
    dataset_version: str
    status: EvaluationStatus
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., model_version: _Optional[str] = ..., dataset_version: _Optional[str] = ..., status: _Optional[_Union[EvaluationStatus, str]] = ...) -> None: ...

class ListEvaluationRunsResponse(_message.Message):
    __slots__ = ("runs", "page")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[EvaluationRun]
    page: _common_pb2.PageResponse
    def __init__(self, runs: _Optional[_Iterable[_Union[EvaluationRun, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("run_id", "sample_limit")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    sample_limit: int
    def __init__(self, run_id: _Optional[str] = ..., sample_limit: _Optional[int] = ...) -> None: ...

class CompareRunsRequest(_message.Message):
    __slots__ = ("run_ids", "baseline_run_id", "metric_names")
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    BASELINE_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_NAMES_FIELD_NUMBER: _ClassVar[int]
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    baseline_run_id: str
    metric_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, run_ids: _Optional[_Iterable[str]] = ..., baseline_run_id: _Optional[str] = ..., metric_names: _Optional[_Iterable[str]] = ...) -> None: ...

class CompareRunsResponse(_message.Message):
    __slots__ = ("baseline_run_id", "comparisons")
    BASELINE_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    COMPARISONS_FIELD_NUMBER: _ClassVar[int]
    baseline_run_id: str
    comparisons: _containers.RepeatedCompositeFieldContainer[MetricComparison]
    def __init__(self, baseline_run_id: _Optional[str] = ..., comparisons: _Optional[_Iterable[_Union[MetricComparison, _Mapping]]] = ...) -> None: ...

class ExportReviewRequest(_message.Message):
    __slots__ = ("run_id", "baseline_role", "sample_size", "seed")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    BASELINE_ROLE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    baseline_role: str
    sample_size: int
    seed: int
    def __init__(self, run_id: _Optional[str] = ..., baseline_role: _Optional[str] = ..., sample_size: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class ReviewItem(_message.Message):
    __slots__ = ("item_id", "input", "reference", "output_a", "output_b")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_A_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_B_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    input: str
    reference: str
    output_a: str
    output_b: str
    def __init__(self, item_id: _Optional[str] = ..., input: _Optional[str] = ..., reference: _Optional[str] = ..., output_a: _Optional[str] = ..., output_b: _Optional[str] = ...) -> None: ...

class Review(_message.Message):
    __slots__ = ("review_id", "run_id", "baseline_role", "items", "uri")
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    BASELINE_ROLE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    review_id: str
    run_id: str
    baseline_role: str
    items: _containers.RepeatedCompositeFieldContainer[ReviewItem]
    uri: str
    def __init__(self, review_id: _Optional[str] = ..., run_id: _Optional[str] = ..., baseline_role: _Optional[str] = ..., items: _Optional[_Iterable[_Union[ReviewItem, _Mapping]]] = ..., uri: _Optional[str] = ...) -> None: ...

class ReviewVerdict(_message.Message):
    __slots__ = ("item_id", "choice", "rater")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CHOICE_FIELD_NUMBER: _ClassVar[int]
    RATER_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    choice: str
    rater: str
    def __init__(self, item_id: _Optional[str] = ..., choice: _Optional[str] = ..., rater: _Optional[str] = ...) -> None: ...

class ImportReviewVerdictsRequest(_message.Message):
    __slots__ = ("review_id", "verdicts")
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    review_id: str
    verdicts: _containers.RepeatedCompositeFieldContainer[ReviewVerdict]
    def __init__(self, review_id: _Optional[str] = ..., verdicts: _Optional[_Iterable[_Union[ReviewVerdict, _Mapping]]] = ...) -> None: ...

class ReviewResult(_message.Message):
    __slots__ = ("review_id", "run_id", "wins", "losses", "ties", "win_rate")
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WINS_FIELD_NUMBER: _ClassVar[int]
    LOSSES_FIELD_NUMBER: _ClassVar[int]
    TIES_FIELD_NUMBER: _ClassVar[int]
    WIN_RATE_FIELD_NUMBER: _ClassVar[int]
    review_id: str
    run_id: str
    wins: int
    losses: int
    ties: int
    win_rate: MetricResult
    def __init__(self, review_id: _Optional[str] = ..., run_id: _Optional[str] = ..., wins: _Optional[int] = ..., losses: _Optional[int] = ..., ties: _Optional[int] = ..., win_rate: _Optional[_Union[MetricResult, _Mapping]] = ...) -> None: ...
