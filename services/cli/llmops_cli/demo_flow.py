"""The demo's steps, in order (see ``demo``): each drives the platform through the ``llmops`` command line,
the OpenAI-compatible API or the feedback REST API, and records its figures and artifacts."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import urllib.error
import urllib.request
from datetime import UTC
from typing import Any

import openai
from google.protobuf.timestamp_pb2 import Timestamp

from llmops.common.v1 import common_pb2
from llmops.monitoring.v1 import monitoring_pb2 as mpb
from llmops.monitoring.v1 import monitoring_pb2_grpc as mpb_grpc
from llmops.pipelines.v1 import pipelines_pb2 as ppb
from llmops.pipelines.v1 import pipelines_pb2_grpc as ppb_grpc
from llmops_cli import demo_data
from llmops_cli.demo_report import summarize, write_report
from llmops_cli.demo_setup import (
    BASE,
    DATASET,
    FEEDBACK,
    METRIC,
    MODEL,
    PIPELINE,
    PROMPT,
    SERVICE_SETTINGS,
    WINDOW_SECONDS,
    Demo,
    DemoFailed,
    StepRecord,
    Tuning,
    pipeline_definition,
    wait_until,
)
from llmops_cli.local import load_stack, service_env
from llmops_cli.rpc import ServiceClient
from llmops_cli.services import SERVICES, rest_url
from llmops_cli.supervisor import Supervisor

_COUNTRY = re.compile(r"\b([A-Z][a-z]+)land\b")


class Flow(Demo):
    def __init__(self, tuning: Tuning) -> None:
        super().__init__(load_stack().home, tuning)
        self.pipelines = ServiceClient(SERVICES["pipelines"], ppb_grpc.PipelinesServiceStub)
        self.monitoring = ServiceClient(SERVICES["monitoring"], mpb_grpc.MonitoringServiceStub)
        self.state: dict[str, Any] = {}

    def run(self) -> dict[str, Any]:
        self.step("platform up: NATS, PostgreSQL, S3, Ray and eight services", self.platform)
        self.step("bootstrap a base model (pretrained on Ray)", self.base_model)
        self.step("create a prompt and apply the lifecycle pipeline", self.prompt_and_pipeline)
        self.step("ingest the sample dataset (planted duplicates and PII)", self.ingest)
        self.step("round 1: LoRA fine-tuning on Ray + DeepSpeed (2 workers), evaluation against the base",
                  lambda r: self.round(r, 1))
        self.step("govern: gates promote to staging, a second user approves production", self.approve)
        self.step("serving hot-loads the release", self.served)
        self.step("traffic through the openai client, human feedback", self.traffic)
        self.step("an injection campaign raises an alert; the attacker is blocked", self.abuse)
        self.step("export the feedback into a new dataset version (it starts round 2)", self.export)
        self.step("a drifted batch raises a drift alert", self.drift)
        self.step("round 2: the pipeline retrains, evaluated against round 1 (the champion)",
                  lambda r: self.round(r, 2))
        summary = summarize(self.steps, self.state, time.monotonic() - self.started)
        report = write_report(self.folder, self.steps, summary)
        console_table(self.steps)
        summary["report"] = str(report)
        return summary

    # -- steps ---------------------------------------------------------------------------------------

    def platform(self, record: StepRecord) -> None:
        from llmops_cli.migrations import migrate

        for name, value in SERVICE_SETTINGS.items():
            os.environ.setdefault(name, value)
        stack = load_stack()
        stack.up(with_ray=True)
        env = service_env(stack)
        asyncio.run(migrate(list(SERVICES), env))
        statuses = Supervisor(stack).start_all(list(SERVICES.values()), env, timeout=300)
        record.figures["services"] = len(statuses)
        record.artifacts["logs"] = str(stack.home / "logs")

    def base_model(self, record: StepRecord) -> None:
        """Bootstrapped once per home: a later demo reuses the base (the same seed gives the same model)."""
        found = self.llmops("models", "resolve", f"models:/{BASE}@latest", allow_failure=True)
        if found and found.get("model_version"):
            version = found["model_version"]
            self.state["base"] = f"models:/{BASE}/{version['version']}"
            record.figures.update(model_version=self.state["base"], reused=True)
            return
        booted = self.llmops("models", "bootstrap-base", BASE, "--steps", str(self.tuning.bootstrap_steps))
        record.figures.update(model_version=booted["model_version"], parameters=booted["parameters"],
                              final_loss=round(booted["loss"], 3) if booted.get("loss") is not None else None)
        self.state["base"] = booted["model_version"]

    def prompt_and_pipeline(self, record: StepRecord) -> None:
        template = self.folder / "prompt.txt"
        template.write_text(demo_data.PROMPT_TEMPLATE)
        self.llmops("prompts", "create", PROMPT, "--description", "make demo: capitals", allow_failure=True)
        version = self.llmops("prompts", "version", PROMPT, "--file", str(template), "--var", "instruction:string",
                              "--request-id", "make-demo-prompt-1")
        prompt_version = f"{PROMPT}/{version['version']}"
        definition = self.folder / "pipeline.yaml"
        definition.write_text(pipeline_definition(self.tuning, prompt_version))
        applied = self.llmops("pipelines", "apply", str(definition))
        record.figures.update(prompt=prompt_version, pipeline=f"{applied['name']} v{applied['version']}")
        record.artifacts.update(pipeline_definition=str(definition))

    def ingest(self, record: StepRecord) -> None:
        sample = demo_data.sample_dataset(self.tuning.records, seed=0)
        self.state["sample"] = sample
        path = demo_data.write_jsonl(self.folder / "capitals.jsonl", sample.records)
        self.state["since"] = time.time()
        job = self.llmops("datasets", "ingest", DATASET, str(path))
        version = job["version"]
        steps = {s["step"]: s for s in version.get("steps", [])}
        dropped = {f"{name}:{reason}": int(n) for name, s in steps.items()
                   for reason, n in s.get("dropped_by_reason", {}).items()}
        record.figures.update(dataset_version=f"{DATASET}@{version['version']}", records_in=len(sample.records),
                              records_kept=int(version["record_count"]), dropped=dropped,
                              planted_duplicates=sample.planted.exact_duplicates + sample.planted.near_duplicates,
                              planted_pii=sum(sample.planted.pii.values()),
                              redacted=int(steps.get("pii", {}).get("records_modified", 0)))
        record.artifacts.update(dataset=version["uri"], profile=version.get("profile_html_uri", ""))
        self.state["dataset_version"] = f"{DATASET}@{version['version']}"

    def round(self, record: StepRecord, number: int) -> None:
        dataset = self.state["dataset_version"] if number == 1 else self.state["feedback_version"]
        run = self._run_for(dataset)
        settled = self.llmops("pipelines", "status", run, "--wait", "--interval", "1", allow_failure=True)
        train, evaluate = (next(s for s in settled["steps"] if s["name"] == n) for n in ("train", "evaluate"))
        if evaluate["status"] != "succeeded":
            raise DemoFailed(f"round {number} did not evaluate: {settled.get('error') or evaluate.get('error')}")
        metrics = evaluate["metrics"]
        outcome = {"run_id": run, "status": settled["status"].removeprefix("RUN_STATUS_").lower(),
                   "model_version": train["outputs"]["model_version"], "dataset_version": dataset,
                   "training_loss": metrics_value(train["metrics"], "loss", "train_loss"),
                   "metric": METRIC, "value": metrics.get(METRIC),
                   "interval": [metrics.get(f"{METRIC}_ci_low"), metrics.get(f"{METRIC}_ci_high")],
                   "error": settled.get("error", "")}
        for role in ("base", "champion"):
            if f"{METRIC}_{role}" in metrics:
                outcome[role] = {"value": metrics[f"{METRIC}_{role}"],
                                 "delta": metrics.get(f"{METRIC}_delta_{role}"),
                                 "delta_interval": [metrics.get(f"{METRIC}_delta_{role}_ci_low"),
                                                    metrics.get(f"{METRIC}_delta_{role}_ci_high")]}
        if "base" in outcome:
            outcome["beats_base"] = (outcome["base"]["delta_interval"][0] or 0) > 0
        self.state[f"round{number}"] = outcome
        self.state[f"round{number}_run"] = settled
        record.figures.update({k: v for k, v in outcome.items() if k in ("model_version", "value", "status")})
        record.figures["interval"] = [round(x, 2) for x in outcome["interval"] if x is not None]
        record.artifacts.update({f"round {number} evaluation report": evaluate["outputs"].get("html_report_uri", ""),
                                 f"round {number} adapter": train["outputs"].get("adapter_uri", "")})

    def approve(self, record: StepRecord) -> None:
        settled = self.state["round1_run"]
        production = next(s for s in settled["steps"] if s["name"] == "promote-production")
        staging = next(s for s in settled["steps"] if s["name"] == "promote-staging")
        if settled["status"] != "RUN_STATUS_WAITING_APPROVAL":
            raise DemoFailed(f"round 1 ended {settled['status']}: {settled.get('error', '')}")
        approver = self.llmops("keys", "create", f"demo-approver-{int(time.time())}", "--role", "approver")
        promotion = production["outputs"]["promotion_id"]
        self.llmops("models", "approve", promotion, "--comment", "make demo: reviewed the report",
                    key=approver["key"])
        done = self.llmops("pipelines", "status", self.state["round1"]["run_id"], "--wait", "--interval", "1")
        if done["status"] != "RUN_STATUS_SUCCEEDED":
            raise DemoFailed(f"round 1 ended {done['status']}: {done.get('error', '')}")
        self.state["promoted"] = self.state["round1"]["model_version"]
        self.state["round1"]["status"] = "succeeded"
        record.figures.update(staging=staging["status"], production_promotion=promotion,
                              approved_by=approver["name"], promoted=self.state["promoted"])

    def served(self, record: StepRecord) -> None:
        port = SERVICES["serving"].http_port()
        self.state["serving_url"] = rest_url(port)
        admin = self._api(self._admin_key())

        def loaded() -> bool:
            try:
                reply = admin.chat.completions.create(model=f"{MODEL}@production", max_tokens=2, temperature=0,
                                                      messages=[{"role": "user", "content": "Hello"}])
            except openai.OpenAIError:
                return False
            return bool(reply.id)

        wait_until(loaded, 180, "serving to load models:/demo-qa-lora@production")
        record.figures.update(model=f"{MODEL}@production", url=self.state["serving_url"])

    def traffic(self, record: StepRecord) -> None:
        t = self.tuning
        stamp = int(time.time())
        self.state["traffic_started"] = stamp
        self.users = {who: f"{who}-{stamp}" for who in ("alice", "mallory")}  # this demo's, in the log
        for who in ("alice", "mallory"):
            self.keys[who] = self.llmops("keys", "create", f"demo-{who}-{stamp}", "--role",
                                         "developer")["key"]
        questions = demo_data.task_questions(t.questions, seed=1)
        answers = asyncio.run(self._ask("alice", questions))
        wait_until(lambda: self._logged(self.users["alice"]) >= len(questions), 120,
                   "the requests in monitoring's log")
        right = 0
        for (inference_id, output), question in zip(answers, questions, strict=True):
            correct = expected_answer(question)
            good = output.strip() == correct
            right += good
            body = {"inference_id": inference_id, "rating": "up" if good else "down", "user": self.users["alice"]}
            if not good:
                body["correction"] = correct
            self._feedback(body)
        record.figures.update(requests=len(questions), exact_answers=right, feedback=len(questions),
                              corrections=len(questions) - right)
        self.state["traffic_done"] = time.monotonic()

    def abuse(self, record: StepRecord) -> None:
        asyncio.run(self._ask("mallory", demo_data.injection_attempts(self.tuning.attacks, seed=2)))
        def campaign() -> list[mpb.Alert]:
            return [a for a in self._alerts(mpb.ALERT_KIND_ABUSE) if a.severity == mpb.SEVERITY_CRITICAL]

        wait_until(campaign, 90, "the malicious-user alert")
        blocked = asyncio.run(self._blocked("mallory"))
        alerts = self._alerts(mpb.ALERT_KIND_ABUSE)
        self.state["alerts"] = [alert_summary(a) for a in alerts]
        record.figures.update(alerts=len(alerts), critical=[a.subject for a in campaign()], attacker_blocked=blocked)

    def drift(self, record: StepRecord) -> None:
        wait_left = WINDOW_SECONDS + 2 - (time.monotonic() - self.state["traffic_done"])
        if wait_left > 0:  # the ordinary traffic becomes the reference window
            time.sleep(wait_left)
        asyncio.run(self._ask("alice", demo_data.drifted_prompts(self.tuning.drifted, seed=3)))
        alerts = wait_until(lambda: self._alerts(mpb.ALERT_KIND_DRIFT), 120, "the drift alert")
        self.state["alerts"] += [alert_summary(a) for a in alerts]
        record.figures.update(alerts=len(alerts), detectors=sorted({a.detector for a in alerts}))

    def export(self, record: StepRecord) -> None:
        exported = self.llmops("feedback", "export", FEEDBACK, "--model-version", self.state["promoted"], "--wait",
                               "--timeout", "300")
        self.state["feedback_version"] = f"{FEEDBACK}@{exported['version']}"
        self.state["since"] = time.time() - 60  # the version's ingestion started the round
        record.figures.update(dataset_version=self.state["feedback_version"],
                              records=int(exported.get("record_count", 0)))
        record.artifacts.update(feedback_dataset=exported.get("uri", ""))

    # -- helpers -------------------------------------------------------------------------------------

    def _run_for(self, dataset_version: str) -> str:
        """The pipeline run the dataset version started (or one started by hand, when the version existed
        before and its ingestion started nothing)."""
        def started() -> str | None:
            runs = self.pipelines.call("ListRuns", ppb.ListRunsRequest(pipeline=PIPELINE)).runs
            return next((r.run_id for r in runs if r.inputs.get("dataset_version") == dataset_version
                         and r.created_at.ToDatetime(tzinfo=UTC).timestamp() >= self.state["since"] - 1), None)

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if run := started():
                return run
            time.sleep(1)
        return self.llmops("pipelines", "start", PIPELINE, "--dataset", dataset_version)["run_id"]

    def _admin_key(self) -> str:
        from llmops_cli.local import admin_key

        return admin_key(load_stack())

    def _api(self, key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.state["serving_url"], api_key=key, max_retries=0, timeout=60)

    async def _ask(self, who: str, prompts: list[str]) -> list[tuple[str, str]]:
        async with openai.AsyncOpenAI(base_url=self.state["serving_url"], api_key=self.keys[who], max_retries=2,
                                      timeout=120) as api:
            async def one(text: str) -> tuple[str, str]:
                reply = await api.chat.completions.create(
                    model=f"{MODEL}@production", messages=[{"role": "user", "content": text}],
                    max_tokens=self.tuning.max_tokens, temperature=0, user=self.users[who])
                return reply.id, reply.choices[0].message.content or ""

            return list(await asyncio.gather(*(one(p) for p in prompts)))

    async def _blocked(self, who: str) -> bool:
        async def refused() -> bool:
            try:
                await self._ask(who, ["What is the capital of Brailand?"])
            except openai.PermissionDeniedError:
                return True
            return False

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if await refused():
                return True
            await asyncio.sleep(1)
        return False

    def _feedback(self, body: dict[str, Any]) -> None:
        port = SERVICES["monitoring"].http_port()
        request = urllib.request.Request(f"{rest_url(port)}/feedback", data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {self.keys['alice']}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                reply.read()
        except urllib.error.HTTPError as exc:
            raise DemoFailed(f"feedback refused ({exc.code}): {exc.read()[:300]!r}") from None

    def _logged(self, user: str) -> int:
        request = mpb.ListInferencesRequest(user=user, page=common_pb2.PageRequest(page_size=500))
        return len(self.monitoring.call("ListInferences", request).inferences)

    def _alerts(self, kind: int) -> list[mpb.Alert]:
        """This demo's alerts of ``kind`` (raised since its traffic began)."""
        since = Timestamp(seconds=self.state["traffic_started"] - 1)
        request = mpb.ListAlertsRequest(kind=kind, raised=common_pb2.TimeRange(start=since))
        return list(self.monitoring.call("ListAlerts", request).alerts)


def alert_summary(alert: mpb.Alert) -> dict[str, str]:
    return {"kind": mpb.AlertKind.Name(alert.kind).removeprefix("ALERT_KIND_").lower(), "detector": alert.detector,
            "severity": mpb.Severity.Name(alert.severity).removeprefix("SEVERITY_").lower(),
            "subject": alert.subject or alert.model_version, "message": alert.message}


def expected_answer(question: str) -> str:
    match = _COUNTRY.search(question)
    return demo_data.answer(match.group(1)) if match else ""


def metrics_value(metrics: dict[str, float], *names: str) -> float | None:
    return next((metrics[n] for n in names if n in metrics), None)


def console_table(steps: list[StepRecord]) -> None:
    from rich.table import Table

    from llmops_cli.output import console

    table = Table("step", "seconds", "figures", "artifacts", title="make demo")
    for step in steps:
        figures = "\n".join(f"{k}: {v}" for k, v in step.figures.items())
        artifacts = "\n".join(f"{k}: {v}" for k, v in step.artifacts.items() if v)
        table.add_row(step.name, f"{step.seconds:.1f}", figures, artifacts)
    console.print(table)
