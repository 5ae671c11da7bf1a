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

class RunStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATUS_UNSPECIFIED: _ClassVar[RunStatus]
    RUN_STATUS_PENDING: _ClassVar[RunStatus]
    RUN_STATUS_QUEUED: _ClassVar[RunStatus]
    RUN_STATUS_RUNNING: _ClassVar[RunStatus]
    RUN_STATUS_SUCCEEDED: _ClassVar[RunStatus]
    RUN_STATUS_FAILED: _ClassVar[RunStatus]
    RUN_STATUS_CANCELLING: _ClassVar[RunStatus]
    RUN_STATUS_CANCELLED: _ClassVar[RunStatus]

class TrainingMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRAINING_METHOD_UNSPECIFIED: _ClassVar[TrainingMethod]
    TRAINING_METHOD_LORA: _ClassVar[TrainingMethod]
    TRAINING_METHOD_QLORA: _ClassVar[TrainingMethod]
    TRAINING_METHOD_FULL: _ClassVar[TrainingMethod]

class SweepAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SWEEP_ALGORITHM_UNSPECIFIED: _ClassVar[SweepAlgorithm]
    SWEEP_ALGORITHM_GRID: _ClassVar[SweepAlgorithm]
    SWEEP_ALGORITHM_RANDOM: _ClassVar[SweepAlgorithm]
    SWEEP_ALGORITHM_BAYESIAN: _ClassVar[SweepAlgorithm]

class Goal(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GOAL_UNSPECIFIED: _ClassVar[Goal]
    GOAL_MINIMIZE: _ClassVar[Goal]
    GOAL_MAXIMIZE: _ClassVar[Goal]
RUN_STATUS_UNSPECIFIED: RunStatus
RUN_STATUS_PENDING: RunStatus
RUN_STATUS_QUEUED: RunStatus
RUN_STATUS_RUNNING: RunStatus
RUN_STATUS_SUCCEEDED: RunStatus
RUN_STATUS_FAILED: RunStatus
RUN_STATUS_CANCELLING: RunStatus
RUN_STATUS_CANCELLED: RunStatus
TRAINING_METHOD_UNSPECIFIED: TrainingMethod
TRAINING_METHOD_LORA: TrainingMethod
TRAINING_METHOD_QLORA: TrainingMethod
TRAINING_METHOD_FULL: TrainingMethod
SWEEP_ALGORITHM_UNSPECIFIED: SweepAlgorithm
SWEEP_ALGORITHM_GRID: SweepAlgorithm
SWEEP_ALGORITHM_RANDOM: SweepAlgorithm
SWEEP_ALGORITHM_BAYESIAN: SweepAlgorithm
GOAL_UNSPECIFIED: Goal
GOAL_MINIMIZE: Goal
GOAL_MAXIMIZE: Goal

class LoraConfig(_message.Message):
    __slots__ = ("r", "alpha", "dropout", "target_modules")
    R_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    DROPOUT_FIELD_NUMBER: _ClassVar[int]
    TARGET_MODULES_FIELD_NUMBER: _ClassVar[int]
    r: int
    alpha: float
    dropout: float
    target_modules: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, r: _Optional[int] = ..., alpha: _Optional[float] = ..., dropout: _Optional[float] = ..., target_modules: _Optional[_Iterable[str]] = ...) -> None: ...

class Hyperparameters(_message.Message):
    __slots__ = ("learning_rate", "num_epochs", "max_steps", "per_device_batch_size", "gradient_accumulation_steps", "max_seq_length", "warmup_ratio", "weight_decay", "lr_scheduler", "seed", "checkpoint_every_steps", "eval_every_steps", "packing", "warmup_steps", "max_grad_norm")
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    NUM_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    PER_DEVICE_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_ACCUMULATION_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    WARMUP_RATIO_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_DECAY_FIELD_NUMBER: _ClassVar[int]
    LR_SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_EVERY_STEPS_FIELD_NUMBER: _ClassVar[int]
    EVAL_EVERY_STEPS_FIELD_NUMBER: _ClassVar[int]
    PACKING_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_GRAD_NORM_FIELD_NUMBER: _ClassVar[int]
    learning_rate: float
    num_epochs: float
    max_steps: int
    per_device_batch_size: int
    gradient_accumulation_steps: int
    max_seq_length: int
    warmup_ratio: float
    weight_decay: float
    lr_scheduler: str
    seed: int
    checkpoint_every_steps: int
    eval_every_steps: int
    packing: bool
    warmup_steps: int
    max_grad_norm: float
    def __init__(self, learning_rate: _Optional[float] = ..., num_epochs: _Optional[float] = ..., max_steps: _Optional[int] = ..., per_device_batch_size: _Optional[int] = ..., gradient_accumulation_steps: _Optional[int] = ..., max_seq_length: _Optional[int] = ..., warmup_ratio: _Optional[float] = ..., weight_decay: _Optional[float] = ..., lr_scheduler: _Optional[str] = ..., seed: _Optional[int] = ..., checkpoint_every_steps: _Optional[int] = ..., eval_every_steps: _Optional[int] = ..., packing: _Optional[bool] = ..., warmup_steps: _Optional[int] = ..., max_grad_norm: _Optional[float] = ...) -> None: ...

class DistributedConfig(_message.Message):
    __slots__ = ("num_workers", "use_gpu", "gpus_per_worker", "deepspeed_stage", "deepspeed_config", "mixed_precision", "cpu_offload")
    NUM_WORKERS_FIELD_NUMBER: _ClassVar[int]
    USE_GPU_FIELD_NUMBER: _ClassVar[int]
    GPUS_PER_WORKER_FIELD_NUMBER: _ClassVar[int]
    DEEPSPEED_STAGE_FIELD_NUMBER: _ClassVar[int]
    DEEPSPEED_CONFIG_FIELD_NUMBER: _ClassVar[int]
    MIXED_PRECISION_FIELD_NUMBER: _ClassVar[int]
    CPU_OFFLOAD_FIELD_NUMBER: _ClassVar[int]
    num_workers: int
    use_gpu: bool
    gpus_per_worker: float
    deepspeed_stage: int
    deepspeed_config: _struct_pb2.Struct
    mixed_precision: str
    cpu_offload: bool
    def __init__(self, num_workers: _Optional[int] = ..., use_gpu: _Optional[bool] = ..., gpus_per_worker: _Optional[float] = ..., deepspeed_stage: _Optional[int] = ..., deepspeed_config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., mixed_precision: _Optional[str] = ..., cpu_offload: _Optional[bool] = ...) -> None: ...

class TrainingSpec(_message.Message):
    __slots__ = ("base_model", "dataset_version", "prompt_version", "method", "lora", "hyperparameters", "distributed", "output_model_name", "code_version", "tags", "extra")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    LORA_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTED_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    CODE_VERSION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    base_model: str
    dataset_version: str
    prompt_version: str
    method: TrainingMethod
    lora: LoraConfig
    hyperparameters: Hyperparameters
    distributed: DistributedConfig
    output_model_name: str
    code_version: str
    tags: _containers.ScalarMap[str, str]
    extra: _struct_pb2.Struct
    def __init__(self, base_model: _Optional[str] = ..., dataset_version: _Optional[str] = ..., prompt_version: _Optional[str] = ..., method: _Optional[_Union[TrainingMethod, str]] = ..., lora: _Optional[_Union[LoraConfig, _Mapping]] = ..., hyperparameters: _Optional[_Union[Hyperparameters, _Mapping]] = ..., distributed: _Optional[_Union[DistributedConfig, _Mapping]] = ..., output_model_name: _Optional[str] = ..., code_version: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("step", "uri", "metrics", "created_at")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    STEP_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    step: int
    uri: str
    metrics: _containers.ScalarMap[str, float]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, step: _Optional[int] = ..., uri: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("step", "total_steps", "epoch", "metrics", "updated_at")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    step: int
    total_steps: int
    epoch: float
    metrics: _containers.ScalarMap[str, float]
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, step: _Optional[int] = ..., total_steps: _Optional[int] = ..., epoch: _Optional[float] = ..., metrics: _Optional[_Mapping[str, float]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TrainingRun(_message.Message):
    __slots__ = ("run_id", "name", "status", "spec", "progress", "checkpoints", "output_uri", "model_version", "metrics", "error", "sweep_id", "ray_job_id", "correlation_id", "config_hash", "created_by", "created_at", "started_at", "finished_at")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_URI_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    RAY_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIG_HASH_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    name: str
    status: RunStatus
    spec: TrainingSpec
    progress: Progress
    checkpoints: _containers.RepeatedCompositeFieldContainer[Checkpoint]
    output_uri: str
    model_version: str
    metrics: _containers.ScalarMap[str, float]
    error: _common_pb2.ErrorDetail
    sweep_id: str
    ray_job_id: str
    correlation_id: str
    config_hash: str
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    def __init__(self, run_id: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[_Union[RunStatus, str]] = ..., spec: _Optional[_Union[TrainingSpec, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., checkpoints: _Optional[_Iterable[_Union[Checkpoint, _Mapping]]] = ..., output_uri: _Optional[str] = ..., model_version: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ..., sweep_id: _Optional[str] = ..., ray_job_id: _Optional[str] = ..., correlation_id: _Optional[str] = ..., config_hash: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Range(_message.Message):
    __slots__ = ("min", "max", "log_scale", "integer")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    LOG_SCALE_FIELD_NUMBER: _ClassVar[int]
    INTEGER_FIELD_NUMBER: _ClassVar[int]
    min: float
    max: float
    log_scale: bool
    integer: bool
    def __init__(self, min: _Optional[float] = ..., max: _Optional[float] = ..., log_scale: _Optional[bool] = ..., integer: _Optional[bool] = ...) -> None: ...

class ParameterSpace(_message.Message):
    __slots__ = ("path", "choices", "range")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    path: str
    choices: _struct_pb2.ListValue
    range: Range
    def __init__(self, path: _Optional[str] = ..., choices: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., range: _Optional[_Union[Range, _Mapping]] = ...) -> None: ...

class SweepSpec(_message.Message):
    __slots__ = ("base", "parameters", "algorithm", "objective_metric", "goal", "max_trials", "max_concurrent_trials", "early_stopping", "quality_margin")
    BASE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_METRIC_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    MAX_TRIALS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_TRIALS_FIELD_NUMBER: _ClassVar[int]
    EARLY_STOPPING_FIELD_NUMBER: _ClassVar[int]
    QUALITY_MARGIN_FIELD_NUMBER: _ClassVar[int]
    base: TrainingSpec
    parameters: _containers.RepeatedCompositeFieldContainer[ParameterSpace]
    algorithm: SweepAlgorithm
    objective_metric: str
    goal: Goal
    max_trials: int
    max_concurrent_trials: int
    early_stopping: str
    quality_margin: float
    def __init__(self, base: _Optional[_Union[TrainingSpec, _Mapping]] = ..., parameters: _Optional[_Iterable[_Union[ParameterSpace, _Mapping]]] = ..., algorithm: _Optional[_Union[SweepAlgorithm, str]] = ..., objective_metric: _Optional[str] = ..., goal: _Optional[_Union[Goal, str]] = ..., max_trials: _Optional[int] = ..., max_concurrent_trials: _Optional[int] = ..., early_stopping: _Optional[str] = ..., quality_margin: _Optional[float] = ...) -> None: ...

class Trial(_message.Message):
    __slots__ = ("run_id", "status", "parameters", "objective", "compute_seconds", "tokens", "peak_memory_bytes", "estimated_cost", "stopped_early", "steps")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_COST_FIELD_NUMBER: _ClassVar[int]
    STOPPED_EARLY_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    status: RunStatus
    parameters: _struct_pb2.Struct
    objective: float
    compute_seconds: float
    tokens: int
    peak_memory_bytes: int
    estimated_cost: float
    stopped_early: bool
    steps: int
    def __init__(self, run_id: _Optional[str] = ..., status: _Optional[_Union[RunStatus, str]] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., objective: _Optional[float] = ..., compute_seconds: _Optional[float] = ..., tokens: _Optional[int] = ..., peak_memory_bytes: _Optional[int] = ..., estimated_cost: _Optional[float] = ..., stopped_early: _Optional[bool] = ..., steps: _Optional[int] = ...) -> None: ...

class Sweep(_message.Message):
    __slots__ = ("sweep_id", "name", "status", "spec", "trial_run_ids", "best_run_id", "best_metric", "created_at", "finished_at", "cheapest_run_id", "trials", "error", "correlation_id")
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    TRIAL_RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    BEST_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    BEST_METRIC_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    CHEAPEST_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    sweep_id: str
    name: str
    status: RunStatus
    spec: SweepSpec
    trial_run_ids: _containers.RepeatedScalarFieldContainer[str]
    best_run_id: str
    best_metric: float
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    cheapest_run_id: str
    trials: _containers.RepeatedCompositeFieldContainer[Trial]
    error: _common_pb2.ErrorDetail
    correlation_id: str
    def __init__(self, sweep_id: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[_Union[RunStatus, str]] = ..., spec: _Optional[_Union[SweepSpec, _Mapping]] = ..., trial_run_ids: _Optional[_Iterable[str]] = ..., best_run_id: _Optional[str] = ..., best_metric: _Optional[float] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cheapest_run_id: _Optional[str] = ..., trials: _Optional[_Iterable[_Union[Trial, _Mapping]]] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ..., correlation_id: _Optional[str] = ...) -> None: ...

class SubmitRunRequest(_message.Message):
    __slots__ = ("name", "spec", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    spec: TrainingSpec
    request_id: str
    def __init__(self, name: _Optional[str] = ..., spec: _Optional[_Union[TrainingSpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("page", "statuses", "sweep_id", "base_model", "dataset_version", "created")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    statuses: _containers.RepeatedScalarFieldContainer[RunStatus]
    sweep_id: str
    base_model: str
    dataset_version: str
    created: _common_pb2.TimeRange
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., statuses: _Optional[_Iterable[_Union[RunStatus, str]]] = ..., sweep_id: _Optional[str] = ..., base_model: _Optional[str] = ..., dataset_version: _Optional[str] = ..., created: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "page")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[TrainingRun]
    page: _common_pb2.PageResponse
    def __init__(self, runs: _Optional[_Iterable[_Union[TrainingRun, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class CancelRunRequest(_message.Message):
    __slots__ = ("run_id", "reason")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    reason: str
    def __init__(self, run_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class StreamProgressRequest(_message.Message):
    __slots__ = ("run_id", "from_start")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_START_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    from_start: bool
    def __init__(self, run_id: _Optional[str] = ..., from_start: _Optional[bool] = ...) -> None: ...

class StreamProgressResponse(_message.Message):
    __slots__ = ("run_id", "status", "progress", "checkpoint", "message", "occurred_at")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    status: RunStatus
    progress: Progress
    checkpoint: Checkpoint
    message: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, run_id: _Optional[str] = ..., status: _Optional[_Union[RunStatus, str]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ..., message: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitSweepRequest(_message.Message):
    __slots__ = ("name", "spec", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    spec: SweepSpec
    request_id: str
    def __init__(self, name: _Optional[str] = ..., spec: _Optional[_Union[SweepSpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetSweepRequest(_message.Message):
    __slots__ = ("sweep_id",)
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    sweep_id: str
    def __init__(self, sweep_id: _Optional[str] = ...) -> None: ...
