"""The use cases on the in-memory store with fake references: what a training completion turns into,
what a request must name, and how completed runs compare."""

from __future__ import annotations

import uuid

import pytest

from llmops_common.auth import Principal, Role
from llmops_common.errors import FailedPrecondition, InvalidArgument
from llmops_common.events import Envelope
from llmops_common.events.training import TrainingRunCompleted
from llmops_evaluation import handlers
from llmops_evaluation.domain.results import (
    CANDIDATE,
    Comparison,
    EvaluationOutcome,
    Interval,
    MetricValue,
    ModelResult,
)
from llmops_evaluation.domain.run import EvaluationRun, RunStatus
from llmops_evaluation.domain.spec import Baseline, EvaluationSpec, JudgeSpec
from llmops_evaluation.evaluator import flat_metrics
from llmops_evaluation.references import References, ResolvedDataset, ResolvedModel, ResolvedPrompt
from llmops_evaluation.settings import EvaluationSettings
from llmops_evaluation.store.memory import InMemoryEvaluation

ANN = Principal("ann", "key-1", Role.DEVELOPER)


class FakeReferences(References):
    """Models, aliases, datasets and prompts by name; anything else does not exist."""

    def __init__(self, models=(), aliases=None, datasets=(), prompts=()) -> None:
        self.models, self.aliases = set(models), dict(aliases or {})
        self.datasets, self.prompts = set(datasets), set(prompts)

    def _model(self, uri: str) -> ResolvedModel:
        name, version = uri.removeprefix("models:/").split("/")
        return ResolvedModel(uri, name, int(version), "adapter", f"s3://m/{name}/{version}", "ab" * 32)

    async def resolve_model(self, ref, field):
        if ref.startswith("models:/") and "@" in ref:
            name, alias = ref.removeprefix("models:/").split("@")
            ref = self.aliases.get((name, alias), "missing")
        if ref not in self.models:
            raise FailedPrecondition(f"{ref} does not exist", field=field)
        return self._model(ref)

    async def champion(self, model_name, alias):
        held = self.aliases.get((model_name, alias))
        return self._model(held) if held else None

    async def resolve_dataset(self, ref, split):
        if ref not in self.datasets:
            raise FailedPrecondition(f"{ref} does not exist", field="spec.dataset_version")
        return ResolvedDataset(ref, "instruction", ("s3://d/x.parquet",))

    async def resolve_prompt(self, ref, field):
        if ref not in self.prompts:
            raise FailedPrecondition(f"{ref} does not exist", field=field)
        return ResolvedPrompt(ref, {})


def completed(**fields) -> Envelope:
    payload = TrainingRunCompleted(run_id="r-1", adapter_uri="s3://x", **fields)
    return Envelope.wrap(payload, producer="training", correlation_id="corr-9")


async def test_a_training_completion_evaluates_against_the_champion_and_the_base():
    state = InMemoryEvaluation()
    refs = FakeReferences(models={"models:/bot/1", "models:/bot/2"}, aliases={("bot", "production"): "models:/bot/1"})
    envelope = completed(model_version="models:/bot/2", base_model_version="models:/tiny/1",
                         dataset_version="boxes@abc", prompt_version="p/1")
    run = await handlers.on_training_completed(state.unit_of_work, refs, EvaluationSettings(), envelope, actor=ANN)
    assert run.spec.model_version == "models:/bot/2" and run.spec.prompt_version == "p/1"
    assert run.spec.baselines == (Baseline("champion", "models:/bot/1"), Baseline("base", "models:/tiny/1"))
    assert run.spec.split == "test" and run.spec.training_run_id == "r-1" and run.correlation_id == "corr-9"
    again = await handlers.on_training_completed(state.unit_of_work, refs, EvaluationSettings(), envelope, actor=ANN)
    assert again.run_id == run.run_id and len(state.runs) == 1  # a redelivery is the same run


async def test_a_candidate_that_already_holds_the_alias_is_compared_with_its_base_only():
    refs = FakeReferences(models={"models:/bot/2"}, aliases={("bot", "production"): "models:/bot/2"})
    run = await handlers.on_training_completed(
        InMemoryEvaluation().unit_of_work, refs, EvaluationSettings(),
        completed(model_version="models:/bot/2", base_model_version="models:/tiny/1", dataset_version="d@1"), actor=ANN)
    assert [b.role for b in run.spec.baselines] == ["base"]


@pytest.mark.parametrize("fields", [{"dataset_version": "d@1"}, {"model_version": "models:/bot/2"}])
async def test_a_completion_without_a_registered_version_or_dataset_starts_nothing(fields):
    state = InMemoryEvaluation()
    assert await handlers.on_training_completed(state.unit_of_work, FakeReferences(), EvaluationSettings(),
                                                completed(**fields), actor=ANN) is None
    assert not state.runs


@pytest.mark.parametrize(("spec", "field"), [
    (EvaluationSpec("models:/bot/2", "d@1", metrics=("bleu", "nope")), "spec.metrics[1].name"),
    (EvaluationSpec("models:/bot/2", "d@1", metrics=("judge_score",)), "spec.judge"),
    (EvaluationSpec("models:/bot/2", "d@1", confidence=1.0), "spec.confidence"),
    (EvaluationSpec("models:/bot/2", "d@1", baselines=(Baseline("candidate", "models:/bot/1"),)),
     "spec.baselines[0].role"),
])
async def test_a_bad_spec_is_invalid_argument_naming_the_field(spec, field):
    with pytest.raises(InvalidArgument) as refused:
        await handlers.start_run(InMemoryEvaluation().unit_of_work, None, handlers.StartRun(spec), actor=ANN)
    assert refused.value.field == field


@pytest.mark.parametrize(("spec", "field"), [
    (EvaluationSpec("models:/nope/1", "d@1"), "spec.model_version"),
    (EvaluationSpec("models:/bot/2", "nope@1"), "spec.dataset_version"),
    (EvaluationSpec("models:/bot/2", "d@1", prompt_version="nope/1"), "spec.prompt_version"),
    (EvaluationSpec("models:/bot/2", "d@1", baselines=(Baseline("champion", "models:/bot/9"),)),
     "spec.baselines[0].model_version"),
    (EvaluationSpec("models:/bot/2", "d@1", judge=JudgeSpec("judge@production", "nope/1")),
     "spec.judge.prompt_version"),
])
async def test_an_unknown_reference_is_failed_precondition_and_stores_nothing(spec, field):
    state = InMemoryEvaluation()
    refs = FakeReferences(models={"models:/bot/2"}, datasets={"d@1"})
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.start_run(state.unit_of_work, refs, handlers.StartRun(spec), actor=ANN)
    assert refused.value.field == field and not state.runs


def outcome(candidate: dict[str, float], champion: dict[str, float]) -> EvaluationOutcome:
    def result(role, values):
        return ModelResult(role, f"models:/bot/{1 if role == 'champion' else 2}", {
            name: MetricValue(name, v, Interval(v - 1, v + 1), 10, greater_is_better=name != "perplexity")
            for name, v in values.items()})
    comparison = Comparison("bleu", "champion", 2.0, Interval(0.5, 3.5), 0.01, "approximate_randomization", "better")
    results = {CANDIDATE: result(CANDIDATE, candidate), "champion": result("champion", champion)}
    return EvaluationOutcome((), {}, results, (comparison,), {}, {})


def test_flat_metrics_name_intervals_baselines_and_comparisons_and_drop_what_is_not_finite():
    flat = flat_metrics(outcome({"bleu": 12.0, "rougeL": float("nan")}, {"bleu": 10.0}))
    assert flat == {"bleu": 12.0, "bleu_ci_low": 11.0, "bleu_ci_high": 13.0, "bleu_champion": 10.0,
                    "bleu_delta_champion": 2.0, "bleu_delta_champion_ci_low": 0.5, "bleu_delta_champion_ci_high": 3.5,
                    "bleu_delta_champion_p_value": 0.01}


async def test_compare_runs_uses_each_metrics_direction_and_skips_intervals_and_comparisons():
    state = InMemoryEvaluation()
    ids = []
    for bleu, perplexity in ((10.0, 8.0), (12.0, 9.0)):
        spec = EvaluationSpec("models:/bot/2", "d@1", baselines=(Baseline("champion", "models:/bot/1"),))
        metrics = flat_metrics(outcome({"bleu": bleu, "perplexity": perplexity}, {"bleu": 1.0}))
        run = EvaluationRun(str(uuid.uuid4()), spec, "ann", status=RunStatus.COMPLETED, metrics=metrics)
        async with state.unit_of_work() as tx:
            await tx.add_run(run)
            await tx.commit()
        ids.append(run.run_id)
    baseline, rows = await handlers.compare_runs(state.unit_of_work, ids, "", [])
    assert baseline == ids[0]
    by_name = {row.metric: row for row in rows}
    assert set(by_name) == {"bleu", "perplexity"}
    assert by_name["bleu"].best_run_id == ids[1] and by_name["perplexity"].best_run_id == ids[0]
    assert [v.delta for v in by_name["bleu"].values] == [0.0, 2.0]
    assert by_name["bleu"].values[1].relative_delta == pytest.approx(0.2)
    with pytest.raises(InvalidArgument):
        await handlers.compare_runs(state.unit_of_work, ids[:1], "", [])
