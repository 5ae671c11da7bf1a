"""Fakes for the training service's ports (same contracts as Ray and the other services) and fixtures."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from llmops_common.auth import Principal, Role
from llmops_common.errors import FailedPrecondition, Unavailable
from llmops_training.domain.registration import Registration
from llmops_training.domain.resolution import ModelInfo, ResolvedBase, ResolvedDataset, ResolvedPrompt
from llmops_training.jobs.protocol import JobEvent, SweepPlan, TrainPlan
from llmops_training.launcher import JobLauncher, JobLost
from llmops_training.references import References
from llmops_training.settings import TrainingSettings
from llmops_training.store.memory import InMemoryTraining

ANN = Principal("k1", "ann", Role.DEVELOPER)
LLAMA = ModelInfo("llama", frozenset({"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj",
                                      "model.layers.0.self_attn.v_proj", "model.layers.0.mlp.up_proj", "lm_head"}),
                  512, ("q_proj", "v_proj"))


def event(seq: int, kind: str, **fields: Any) -> JobEvent:
    return JobEvent(seq=seq, kind=kind, at=time.time(), **fields)


@dataclass
class FakeLauncher(JobLauncher):
    """Replays a scripted log per job: ``script[job_id]`` is released ``release`` events at a time."""

    is_reachable: bool = True
    script: dict[str, list[JobEvent]] = field(default_factory=dict)
    submitted: dict[str, TrainPlan | SweepPlan] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    lost: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    async def reachable(self) -> bool:
        return self.is_reachable

    async def submit(self, job_id: str, plan: TrainPlan | SweepPlan) -> None:
        self.calls.append("submit")
        if not self.is_reachable:
            raise Unavailable("no cluster")
        self.submitted.setdefault(job_id, plan)

    async def poll(self, job_id: str, after: int) -> list[JobEvent]:
        if not self.is_reachable:
            raise Unavailable("no cluster")
        if job_id in self.lost:
            raise JobLost("the driver actor is gone")
        return [e for e in self.script.get(job_id, []) if e.seq > after]

    async def cancel(self, job_id: str) -> None:
        if not self.is_reachable:
            raise Unavailable("no cluster")
        self.cancelled.append(job_id)
        log = self.script.setdefault(job_id, [])
        log.append(event(len(log) + 1, "cancelled"))

    async def close(self) -> None:
        pass


@dataclass
class FakeReferences(References):
    bases: dict[str, ResolvedBase] = field(default_factory=dict)
    datasets: dict[str, ResolvedDataset] = field(default_factory=dict)
    prompts: dict[str, ResolvedPrompt] = field(default_factory=dict)
    registered: dict[str, tuple[str, Registration]] = field(default_factory=dict)  # request id -> version
    registry_up: bool = True

    async def resolve_base(self, ref: str) -> ResolvedBase:
        if ref not in self.bases:
            raise FailedPrecondition(f"{ref} does not exist", field="base_model")
        return self.bases[ref]

    async def resolve_dataset(self, ref: str) -> ResolvedDataset:
        if ref not in self.datasets:
            raise FailedPrecondition(f"{ref} does not exist", field="dataset_version")
        return self.datasets[ref]

    async def resolve_prompt(self, ref: str) -> ResolvedPrompt:
        if ref not in self.prompts:
            raise FailedPrecondition(f"{ref} does not exist", field="prompt_version")
        return self.prompts[ref]

    async def register(self, registration: Registration) -> str:
        if not self.registry_up:
            raise Unavailable("registry away")
        if registration.request_id not in self.registered:
            self.registered[registration.request_id] = (f"models:/{registration.model_name}/"
                                                        f"{len(self.registered) + 1}", registration)
        return self.registered[registration.request_id][0]


@pytest.fixture
def state() -> InMemoryTraining:
    return InMemoryTraining()


@pytest.fixture
def launcher() -> FakeLauncher:
    return FakeLauncher()


@pytest.fixture
def refs() -> FakeReferences:
    return FakeReferences(
        bases={"models:/tiny/1": ResolvedBase("models:/tiny/1", "s3://llmops-models/tiny/1", "models:/tiny/1", "tiny",
                                              LLAMA),
               "models:/tiny@prod": ResolvedBase("models:/tiny@prod", "s3://llmops-models/tiny/1", "models:/tiny/1",
                                                 "tiny", LLAMA)},
        datasets={"qa@v1": ResolvedDataset("qa@v1", "instruction", ("s3://llmops-datasets/qa/v1/data/train-00000.parquet",),
                                           ("s3://llmops-datasets/qa/v1/data/validation-00000.parquet",)),
                  "corpus@v1": ResolvedDataset("corpus@v1", "text", ("s3://llmops-datasets/corpus/v1/t.parquet",))},
        prompts={"qa@latest": ResolvedPrompt("qa/2", {"text": "{{ instruction }}", "messages": [], "variables": []},
                                             ("instruction",)),
                 "bad@latest": ResolvedPrompt("bad/1", {"text": "{{ question }}", "messages": [], "variables": []},
                                              ("question",))},
    )


@pytest.fixture
def settings() -> TrainingSettings:
    return TrainingSettings(queue_timeout_seconds=0.2, poll_interval_seconds=0.01, progress_event_interval_seconds=60,
                            stream_poll_seconds=0.01)
