"""A fake of the registry port and helpers that play the other services' answers, for the handler tests."""

from __future__ import annotations

from typing import Any

from llmops_common.auth import Principal, Role
from llmops_common.events import Envelope, EventPayload
from llmops_common.events.evaluation import EvaluationRunCompleted
from llmops_common.events.ingestion import DatasetIngested
from llmops_common.events.registry import EvaluationAttached
from llmops_common.events.training import TrainingRunCompleted
from llmops_pipelines.domain.policy import PipelineDefinition
from llmops_pipelines.domain.requests import PromotionRequest
from llmops_pipelines.governance import Governance, Promotion, PromotionOutcome

ALICE = Principal("k1", "alice", Role.ADMIN)

DEFINITION = """
name: qa
model_name: qa-lora
trigger:
  datasets: [qa-data]
train:
  base_model: models:/tiny@latest
  prompt_version: qa@production
  spec: {hyperparameters: {max_steps: 5, seed: 7}}
evaluate:
  metrics: [bleu]
promote:
  - {alias: staging, gates: [{metric: bleu_delta_base_ci_low, threshold: 0}]}
  - {alias: production, approvals: 1}
retry: {max_attempts: 2, backoff_seconds: 10}
"""


class FakeGovernance(Governance):
    """Promotions answer as ``outcomes`` says per alias (approved by default); repeats of a request id
    return the promotion opened first, as the registry does."""

    def __init__(self) -> None:
        self.applied: list[PipelineDefinition] = []
        self.aliases: dict[str, str] = {}
        self.outcomes: dict[str, PromotionOutcome] = {}
        self.requests: dict[str, Promotion] = {}
        self.calls: list[PromotionRequest] = []
        self.down = False

    async def apply_policies(self, definition: PipelineDefinition, *, reason: str) -> None:
        self.applied.append(definition)

    async def alias_version(self, model_name: str, alias: str) -> str | None:
        return self.aliases.get(alias)

    async def request_promotion(self, request: PromotionRequest) -> Promotion:
        from llmops_common.errors import Unavailable

        if self.down:
            raise Unavailable("the registry service cannot be reached")
        self.calls.append(request)
        outcome = self.outcomes.get(request.alias, PromotionOutcome.APPROVED)
        promotion = Promotion(f"promo-{request.alias}", outcome, "gates_failed: bleu too low"
                              if outcome is PromotionOutcome.REFUSED else outcome.value)
        self.requests[request.request_id] = promotion
        return promotion


def envelope(payload: EventPayload, correlation_id: str = "c") -> Envelope[Any]:
    return Envelope.wrap(payload, producer="test", correlation_id=correlation_id)


def ingested(name: str = "qa-data", version: str = "v1") -> Envelope[Any]:
    return envelope(DatasetIngested(dataset_name=name, version=version, uri=f"s3://d/{name}/{version}"))


def trained(run_id: str, model_version: str = "models:/qa-lora/2") -> Envelope[Any]:
    return envelope(TrainingRunCompleted(
        run_id="t-1", adapter_uri="s3://m/qa-lora/2", metrics={"train_loss": 1.5}, model_version=model_version,
        base_model_version="models:/tiny/1", dataset_version="qa-data@v1", prompt_version="qa/3",
        config_hash="abc"), run_id)


def evaluated(run_id: str, run: str = "e-1", bleu: float = 30.0, version: int = 2) -> Envelope[Any]:
    return envelope(EvaluationRunCompleted(
        evaluation_run_id=run, model_name="qa-lora", model_version=version, report_uri="s3://r/report.json",
        metrics={"bleu": bleu, "bleu_ci_low": bleu - 2, "bleu_ci_high": bleu + 2}), run_id)


def attached(run_id: str, run: str = "e-1", version: int = 2) -> Envelope[Any]:
    return envelope(EvaluationAttached(model_name="qa-lora", version=version, evaluation_run_id=run, metrics={}),
                    run_id)
