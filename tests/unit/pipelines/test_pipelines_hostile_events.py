"""Hostile but well-formed event streams against the pipeline handlers: answers out of order, redelivered,
late, for unknown, other or malformed runs, naming foreign versions, aliases or extreme metrics, with
the driver and the clock interleaved. After every step the runs must stay consistent: only DomainErrors
escape, a finished run never moves or emits again, attempts stay within the retry policy, an answer
moves only the run it answers, promotions are asked only for the run's own version and aliases, and
what a run stores is strict JSON (as the Postgres store writes it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_fakes import ALICE, DEFINITION, FakeGovernance, envelope

from llmops_common.errors import DomainError
from llmops_common.events.evaluation import EvaluationRunCompleted, EvaluationRunFailed
from llmops_common.events.ingestion import DatasetIngested
from llmops_common.events.monitoring import AlertRaised
from llmops_common.events.registry import EvaluationAttached, PromotionApproved, PromotionRejected
from llmops_common.events.training import TrainingRunCompleted, TrainingRunFailed
from llmops_common.validation import canonical_id
from llmops_pipelines import handlers
from llmops_pipelines.domain.run import RunStatus, StepStatus
from llmops_pipelines.governance import PromotionOutcome
from llmops_pipelines.store.memory import InMemoryPipelines

TEXT = DEFINITION.replace("datasets: [qa-data]", "datasets: [qa-data]\n  alerts: [drift]")
MAX_ATTEMPTS = 2
ALIASES = {"staging", "production"}
APPLIED: list[InMemoryPipelines] = []
REQUESTED = {"train": "llmops.training.run.requested", "evaluate": "llmops.evaluation.run.requested"}

# what the bus lets through: no NUL, no lone surrogates
text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)
odd = st.one_of(text, st.sampled_from(["", " ", "x" * 5000, "Ünïcødé-漢字-🙂", "models:/", "a@b@c", "../..", "%00"]))
finite = st.one_of(st.sampled_from([1e308, -1e308, 5e-324, -0.0, 0.0, 1.0]),
                   st.floats(allow_nan=False, allow_infinity=False))
metrics = st.dictionaries(st.one_of(st.sampled_from(["bleu", "bleu_ci_low", "bleu_ci_high", "rouge_l", "loss"]), text),
                          finite, max_size=5)
# the right value about half the time, so runs get far enough for the hostile ones to matter
model_versions = st.one_of(st.just("models:/qa-lora/2"), odd, st.sampled_from([
    "models:/qa-lora/3", "models:/other/2", "models:/qa-lora@production", "models:/qa-lora/0", "models:/qa-lora/-1",
    "models:/qa-lora/9223372036854775808", "models:/QA-LORA/2", "models:/qa-lora/2/3", "models:/qa-lora/ 2"]))
codes = st.one_of(st.sampled_from(["", "internal", "unavailable", "invalid", "INVALID", "not_found"]), odd)
eval_ids = st.one_of(st.just("e-1"), st.sampled_from(["e-1", "e-2"]), odd)
aliases = st.one_of(st.sampled_from(["staging", "production", "canary"]), odd)
versions = st.one_of(st.just(2), st.integers(1, 3), st.integers(-(2**63), 2**63))
# a run by index (as created), the same run's id spelled differently, or an id naming no run
RUNS = st.tuples(st.just("run"), st.integers(0, 5))
targets = st.one_of(RUNS, RUNS, st.tuples(st.just("spelled"), st.integers(0, 5)),
                    st.tuples(st.just("raw"), st.one_of(odd, st.uuids().map(str))))
promotions = st.one_of(st.tuples(st.just("awaiting"), st.integers(0, 5)), st.tuples(st.just("raw"), odd))

answers = st.one_of(
    st.tuples(st.just("trained"), targets, model_versions),
    st.tuples(st.just("train_failed"), targets, codes), st.tuples(st.just("train_failed"), RUNS, codes),
    st.tuples(st.just("evaluated"), targets, eval_ids, st.sampled_from(["qa-lora", "other"]), versions, metrics),
    st.tuples(st.just("attached"), targets, eval_ids, st.sampled_from(["qa-lora", "other"]), versions, metrics),
    st.tuples(st.just("eval_failed"), targets, codes),
    st.tuples(st.just("approved"), promotions, st.sampled_from(["qa-lora", "other"]), versions, aliases,
              st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("rejected"), promotions, st.sampled_from(["qa-lora", "other"]), versions, aliases, odd),
    st.tuples(st.just("decide"), st.integers(0, 5), st.booleans(), st.integers(0, 3), st.integers(0, 3)),
)
actions = st.one_of(
    answers, answers, answers, answers,
    st.tuples(st.just("ingest"), st.sampled_from(["qa-data", "qa-data", "qa-data2", "QA-DATA", "qa"]),
              st.one_of(st.sampled_from(["v1", "v2", ""]), odd)),
    st.tuples(st.just("alert"), st.one_of(st.sampled_from(["drift", "quality", "Drift", ""]), odd), model_versions),
    st.tuples(st.just("redeliver"), st.integers(0, 3)), st.tuples(st.just("redeliver"), st.integers(0, 3)),
    st.tuples(st.just("drive")), st.tuples(st.just("drive")), st.tuples(st.just("drive")),
    st.tuples(st.sampled_from(["later", "tick"]), st.sampled_from([1, 11, 31, 3601, 7 * 86400 + 1])),
    st.tuples(st.just("tick"), st.sampled_from([31, 3601])),
    st.tuples(st.just("cancel"), targets), st.tuples(st.just("cancel"), RUNS),
    st.tuples(st.just("start"), st.one_of(st.sampled_from(["qa-data@v7", "qa-data", "x@"]), odd)),
    st.tuples(st.just("reproduce"), targets),
    st.tuples(st.just("outcome"), st.sampled_from(sorted(ALIASES)), st.sampled_from(list(PromotionOutcome))),
    st.tuples(st.just("down"), st.booleans()),
)


class Registry(FakeGovernance):
    """Promotion ids unique per request id, as the registry's are (the fake's are one per alias)."""

    async def request_promotion(self, request):
        promotion = await super().request_promotion(request)
        promotion = replace(promotion, promotion_id=f"promo-{uuid.uuid5(uuid.NAMESPACE_URL, request.request_id)}")
        self.requests[request.request_id] = promotion
        return promotion


def _view(run):
    return (run.status, [s.as_json() for s in run.steps], run.error, dict(run.inputs), run.due_at, run.awaiting,
            run.comparison)


class World:
    def __init__(self) -> None:
        self.state, self.governance = InMemoryPipelines(), Registry()
        self.governance.aliases["production"] = "models:/qa-lora/1"
        self.services = handlers.Services(self.governance, "code-1", recheck_seconds=30)
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)
        self.order: list[str] = []  # run ids as created
        self.delivered: list = []  # (handler, envelope)
        self.finished: dict[str, tuple] = {}  # run id -> (view when it finished, outbox length then)
        self.calls = 0

    @property
    def uow(self):
        return self.state.unit_of_work

    def _run_id(self, target) -> str:
        kind, value = target
        if kind == "raw":
            return value
        if not self.order:
            return str(uuid.uuid4())
        run_id = self.order[value % len(self.order)]
        return run_id if kind == "run" else "{" + run_id.upper() + "}"  # canonical_id reads it as the same run

    def _promotion_id(self, ref) -> str:
        kind, value = ref
        if kind == "raw" or not self.order:
            return value if kind == "raw" else "promo-none"
        run = self.state.runs[self.order[value % len(self.order)]]
        current = run.current or run.steps[-1]
        return run.awaiting or current.outputs.get("promotion_id", "promo-none")

    async def play(self, actions) -> None:
        if not APPLIED:  # parsing the definition is most of an example's time: apply it once
            APPLIED.append(InMemoryPipelines())
            await handlers.apply_pipeline(APPLIED[0].unit_of_work, FakeGovernance(), TEXT, actor=ALICE)
        self.state.pipelines, self.state.heads = dict(APPLIED[0].pipelines), dict(APPLIED[0].heads)
        with mock.patch.object(handlers, "now", lambda: self.clock):
            for action in actions:
                with contextlib.suppress(DomainError):  # the platform's errors are answers; others fail the test
                    await self.step(*action)
                self.order += [r for r in self.state.runs if r not in self.order]
                self.check()

    async def step(self, kind, *args) -> None:
        if kind == "ingest":
            await self.trigger(handlers.on_dataset_ingested, envelope(DatasetIngested(
                dataset_name=args[0], version=args[1], uri="s3://d")))
        elif kind == "alert":
            await self.trigger(handlers.on_alert_raised, envelope(AlertRaised(
                detector="d", severity="warning", message="m", kind=args[0], model_version=args[1], alert_id="a")))
        elif kind == "redeliver" and self.delivered:
            handler, env = self.delivered[-1 - args[0] % len(self.delivered)]  # one of the last few
            if handler is handlers.on_answer:
                await self.answer(env, again=True)
            else:
                await self.trigger(handler, env, again=True)
        elif kind == "drive":
            await handlers.drive_due_runs(self.uow, self.services)
        elif kind in ("later", "tick"):
            self.clock += timedelta(seconds=args[0])
            if kind == "tick":
                await handlers.drive_due_runs(self.uow, self.services)
        elif kind == "cancel":
            await handlers.cancel_run(self.uow, self._run_id(args[0]), actor=ALICE)
        elif kind == "start":
            await handlers.start_run(self.uow, self.services, "qa", dataset_version=args[0], actor=ALICE)
        elif kind == "reproduce":
            await handlers.reproduce_run(self.uow, self.services, self._run_id(args[0]), actor=ALICE)
        elif kind == "outcome":
            self.governance.outcomes[args[0]] = args[1]
        elif kind == "down":
            self.governance.down = args[0]
        elif kind == "decide" and self.order:  # the registry's own decision on the promotion a run waits on
            run = self.state.runs[self.order[args[0] % len(self.order)]]
            step = run.current or run.steps[-1]
            version = run.output("train", "model_version").rpartition("/")[2]
            await self.step("approved" if args[1] else "rejected", ("awaiting", args[0]), "qa-lora",
                            int(version) if version.isdigit() else 1, step.alias, *(args[2:] if args[1] else ["no"]))
        elif kind in ("approved", "rejected"):
            request_id, model, version, alias, *rest = args
            payload = PromotionApproved(request_id=self._promotion_id(request_id), model_name=model, version=version,
                                        alias=alias, approved_by="bob", approvals=rest[0], required_approvals=rest[1]) \
                if kind == "approved" else PromotionRejected(request_id=self._promotion_id(request_id),
                                                             model_name=model, version=version, alias=alias,
                                                             rejected_by="bob", reason=rest[0])
            await self.answer(envelope(payload, str(uuid.uuid4())))
        elif kind not in ("redeliver", "decide"):
            await self.answer(envelope(self.payload(kind, *args[1:]), self._run_id(args[0])))

    @staticmethod
    def payload(kind, *args):
        if kind == "trained":
            return TrainingRunCompleted(run_id="t-1", adapter_uri="s3://m", model_version=args[0], metrics={"l": 1.0},
                                        base_model_version="models:/tiny/1", dataset_version="qa-data@v1")
        if kind in ("train_failed", "eval_failed"):
            return TrainingRunFailed(run_id="t", reason="boom", code=args[0]) if kind == "train_failed" else \
                EvaluationRunFailed(evaluation_run_id="e", reason="boom", code=args[0])
        run_id, model, version, values = args
        if kind == "evaluated":
            return EvaluationRunCompleted(evaluation_run_id=run_id, model_name=model, model_version=version,
                                          metrics=values)
        return EvaluationAttached(model_name=model, version=version, evaluation_run_id=run_id, metrics=values)

    async def trigger(self, handler, env, *, again=False) -> None:
        before = set(self.state.runs)
        active = {r.pipeline for r in self.state.runs.values() if r.status.active}
        started = await handler(self.uow, self.services, env)
        self.delivered.append((handler, env))
        assert set(started) == set(self.state.runs) - before
        if again:
            assert started == []
        p = env.payload
        for run_id in started:
            run = self.state.runs[run_id]
            if handler is handlers.on_dataset_ingested:
                assert p.dataset_name == "qa-data" and run.inputs["dataset_version"] == f"qa-data@{p.version}"
            else:
                assert p.kind == "drift" and "qa" not in active
                assert p.model_version.removeprefix("models:/").split("/")[0].split("@")[0] == "qa-lora"
        if not again:  # every event comes twice: the second time it starts nothing
            await self.trigger(handler, env, again=True)

    async def answer(self, env, *, again=False) -> None:
        before = {r: _view(run) for r, run in self.state.runs.items()}
        sent = len(self.state.outbox)
        if env.type.startswith("llmops.registry.promotion."):
            target = next((r for r, run in self.state.runs.items()
                           if run.status.active and run.awaiting == env.payload.request_id), None)
        else:
            target = canonical_id(env.correlation_id)
        changed = await handlers.on_answer(self.uow, env)
        self.delivered.append((handlers.on_answer, env))
        moved = {r for r, run in self.state.runs.items() if _view(run) != before[r]}
        assert moved <= {target}, "an answer moved a run it does not answer"
        if not changed or again:
            assert not changed and not moved and len(self.state.outbox) == sent
        if moved and env.type.startswith("llmops.registry.promotion."):
            run, p = self.state.runs[target], env.payload
            step = next(s for s in run.steps if s.kind == "promote" and s.outputs.get("promotion_id") == p.request_id)
            assert (p.model_name, p.alias, f"models:/{p.model_name}/{p.version}") == \
                (run.definition.model_name, step.alias, run.output("train", "model_version")), \
                "a promotion decision about another alias or version moved the run"
        if moved and env.type in ("llmops.evaluation.run.completed", "llmops.registry.evaluation.attached"):
            p = env.payload
            version = p.model_version if env.type.startswith("llmops.evaluation.") else p.version
            assert f"models:/{p.model_name}/{version}" == self.state.runs[target].output("train", "model_version"), \
                "an evaluation of another version answered the run"
        if not again:  # every event comes twice: the second time it changes nothing
            await self.answer(env, again=True)

    def check(self) -> None:
        runs = self.state.runs
        for call in self.governance.calls[self.calls:]:
            run_id = call.request_id.removeprefix("pipeline:").removesuffix(f":{call.alias}")
            run = runs[run_id]
            assert call.alias in ALIASES and call.model_name == "qa-lora" and not run.reproduces
            assert run.output("train", "model_version") == f"models:/qa-lora/{call.version}"
        self.calls = len(self.governance.calls)
        for run_id, (view, sent) in self.finished.items():
            assert _view(runs[run_id]) == view, "a finished run changed"
            assert all(e.correlation_id != run_id for e in self.state.outbox[sent:]), "a finished run emitted"
        for run_id, run in runs.items():
            for step in run.steps:
                assert step.attempt <= MAX_ATTEMPTS
                if step.kind in REQUESTED:
                    sent = sum(e.type == REQUESTED[step.kind] and e.correlation_id == run_id for e in self.state.outbox)
                    assert sent <= step.attempt, f"{step.name}: {sent} requests for {step.attempt} attempts"
                    assert sent or step.status is not StepStatus.SUCCEEDED, f"{step.name}: answered, never asked"
            assert ": internal error: " not in run.error, run.error  # the driver's catch-all hid a defect
            json.dumps([run.inputs, [s.as_json() for s in run.steps], run.comparison], allow_nan=False)
            assert set(run.promoted) <= ALIASES
            train, evaluate = run.step("train"), run.step("evaluate")
            if train.status is StepStatus.SUCCEEDED:
                assert re.fullmatch(r"models:/qa-lora/[1-9][0-9]{0,17}", train.outputs["model_version"])
            if evaluate.status is StepStatus.SUCCEEDED:
                assert evaluate.outputs["evaluation_run_id"] == evaluate.outputs["attached_run_id"]
            current = run.current
            if run.status.active:
                assert run.due_at is not None, "an active run the driver will never look at again"
                assert (run.status is RunStatus.WAITING_APPROVAL) == (current.status is StepStatus.WAITING_APPROVAL)
                assert run.awaiting == (current.outputs["promotion_id"] if run.awaiting else "")
                done = run.steps.index(current)
                assert all(s.status is StepStatus.SUCCEEDED for s in run.steps[:done])
                assert all(s.status is StepStatus.PENDING and not s.attempt for s in run.steps[done + 1:])
            else:
                assert run.due_at is None and not run.awaiting and run.finished_at is not None
                self.finished.setdefault(run_id, (_view(run), len(self.state.outbox)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, max_size=30))
def test_hostile_event_streams_keep_every_run_consistent(script):
    asyncio.run(World().play(script))


# a run trained and evaluated (with an extreme metric), due for its promotions
HAPPY = [("ingest", "qa-data", "v1"), ("drive",), ("trained", ("run", 0), "models:/qa-lora/2"), ("drive",),
         ("evaluated", ("run", 0), "e-1", "qa-lora", 2, {"bleu": 1e308}),
         ("attached", ("run", 0), "e-1", "qa-lora", 2, {})]


ENDINGS = {"waits": [("outcome", "production", PromotionOutcome.PENDING), ("drive",), ("drive",)],
           "succeeds": [("drive",), ("drive",)], "is cancelled": [("cancel", ("run", 0))],
           "is rejected": [("outcome", "staging", PromotionOutcome.REFUSED), ("drive",)]}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(ENDINGS)), answers, st.lists(actions, min_size=5, max_size=25))
def test_hostile_events_after_one_run_waits_or_ends_and_while_another_retries(ending, first, script):
    prefix = [*HAPPY, *ENDINGS[ending], ("ingest", "qa-data", "v2"), ("drive",),
              ("train_failed", ("run", 1), "internal"), ("tick", 11)]
    asyncio.run(World().play([*prefix, first, *script]))


def test_a_reproduction_with_extreme_metrics_stores_strict_json():
    """1e308 reproduced as -1e308: the difference overflows, so it is stored as unknown, not -Infinity."""
    world = World()
    asyncio.run(world.play([
        *HAPPY, ("drive",), ("drive",), ("reproduce", ("run", 0)), ("drive",),
        ("trained", ("run", 1), "models:/qa-lora/3"), ("drive",),
        ("evaluated", ("run", 1), "e-2", "qa-lora", 3, {"bleu": -1e308}),
        ("attached", ("run", 1), "e-2", "qa-lora", 3, {})]))
    reproduction = [run for run in world.state.runs.values() if run.reproduces]
    assert [row["delta"] for run in reproduction for row in run.comparison] == [None]
