"""Domain <-> protobuf for the pipelines API."""

from __future__ import annotations

from llmops.pipelines.v1 import pipelines_pb2 as pb
from llmops_common.proto_convert import struct, timestamp
from llmops_pipelines.domain.pipeline import StoredPipeline
from llmops_pipelines.domain.run import PipelineRun, RunStatus, Step

STATUS = {s: getattr(pb, f"RUN_STATUS_{s.name}") for s in RunStatus}
STATUS_FROM = {v: k for k, v in STATUS.items()}


def pipeline(value: StoredPipeline) -> pb.Pipeline:
    return pb.Pipeline(name=value.name, version=value.version, definition_yaml=value.definition_yaml,
                       definition=struct(value.definition.canonical()), digest=value.digest,
                       created_by=value.created_by, created_at=timestamp(value.created_at),
                       next_scheduled_at=timestamp(value.next_scheduled_at))


def step(value: Step) -> pb.Step:
    return pb.Step(name=value.name, kind=value.kind, status=value.status.value, attempt=value.attempt,
                   outputs=value.outputs, metrics=value.metrics, error=value.error,
                   started_at=timestamp(value.started_at), finished_at=timestamp(value.finished_at),
                   deadline=timestamp(value.deadline))


def run(value: PipelineRun) -> pb.PipelineRun:
    return pb.PipelineRun(
        run_id=value.run_id, pipeline=value.pipeline, pipeline_version=value.pipeline_version,
        status=STATUS[value.status], trigger=value.trigger.value, trigger_detail=value.trigger_detail,
        inputs=value.inputs, steps=[step(s) for s in value.steps], reproduces=value.reproduces,
        comparison=[pb.MetricComparison(**row) for row in value.comparison], error=value.error,
        created_by=value.created_by, created_at=timestamp(value.created_at), updated_at=timestamp(value.updated_at),
        finished_at=timestamp(value.finished_at))
