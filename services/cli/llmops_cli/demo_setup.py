"""What the demo's steps share: its names and settings, the tuning measured to fit ten minutes, the step
runner that runs ``llmops`` commands as a user types them, and the pipeline definition it applies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.text import Text

from llmops_cli.output import console

BASE, PROMPT, DATASET, FEEDBACK, PIPELINE, MODEL = ("demo-base", "demo-qa", "demo-qa", "demo-qa-feedback",
                                                  "demo-qa", "demo-qa-lora")
METRIC = "rougeL"  # the gate and the headline: an average over examples, its interval the clearer one
#: services' settings for the demo: fast detection windows, the block list enforced, serving following
#: the demo's model; the environment wins where it sets the same variable
SERVICE_SETTINGS = {
    "LLMOPS_SERVING_MODELS": json.dumps([MODEL]),
    "LLMOPS_SERVING_MONITORING_ENDPOINT": "127.0.0.1:50057",
    "LLMOPS_SERVING_BLOCKLIST_REFRESH_SECONDS": "1",
    "LLMOPS_MONITORING_DETECT_INTERVAL_SECONDS": "2",
    "LLMOPS_MONITORING_WINDOW_MINUTES": "0.5",
    "LLMOPS_MONITORING_REFERENCE_WINDOW_MINUTES": "5",
    "LLMOPS_MONITORING_MIN_WINDOW": "20",
    "LLMOPS_MONITORING_ENFORCE_BLOCKLIST": "true",
    "LLMOPS_PIPELINES_POLL_INTERVAL_SECONDS": "1",
    "LLMOPS_PIPELINES_PROMOTION_RECHECK_SECONDS": "5",
    "LLMOPS_EVALUATION_POLL_INTERVAL_SECONDS": "1",
    "LLMOPS_EVALUATION_SHARD_SIZE": "16",
    "LLMOPS_TRAINING_POLL_INTERVAL_SECONDS": "1",
}
WINDOW_SECONDS = 30  # LLMOPS_MONITORING_WINDOW_MINUTES


@dataclass(frozen=True)
class Tuning:
    """The sizes that keep the demo within 10 minutes on two CPU cores (measured: docs/pipelines.md)."""

    records: int = 600
    bootstrap_steps: int = 40
    train_steps: int = 40
    learning_rate: float = 3e-3
    micro_batch: int = 8
    lora_r: int = 16
    eval_samples: int = 0  # the whole test split
    max_tokens: int = 24
    questions: int = 30
    attacks: int = 6
    drifted: int = 30


@dataclass
class StepRecord:
    name: str
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)


class Demo:
    """Runs the steps in order, printing each with its elapsed time; a failing step stops the demo."""

    def __init__(self, home: Path, tuning: Tuning) -> None:
        self.home, self.tuning = home, tuning
        self.folder = home / "demo"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.steps: list[StepRecord] = []
        self.started = time.monotonic()
        self.keys: dict[str, str] = {}

    def step(self, name: str, action: Callable[[StepRecord], None]) -> StepRecord:
        record = StepRecord(name)
        console.print(Text.assemble(("▶ ", "bold cyan"), (name, "bold"),
                                    (f"  (at {time.monotonic() - self.started:.0f} s)", "dim")))
        began = time.monotonic()
        action(record)
        record.seconds = time.monotonic() - began
        self.steps.append(record)
        shown = ", ".join(f"{k}={v}" for k, v in record.figures.items() if not isinstance(v, dict | list))
        console.print(Text.assemble(("✔ ", "green"), f"{name} in {record.seconds:.1f} s", (f"  {shown}", "dim")))
        return record

    def llmops(self, *args: str, key: str | None = None, as_json: bool = True, allow_failure: bool = False,
               timeout: float = 900) -> Any:
        """One ``llmops`` command as its own process, shown as typed; the last JSON document it printed.
        A failure stops the demo unless ``allow_failure`` (then the output, if any, is returned)."""
        shown = " ".join(args)
        console.print(Text(f"  $ llmops {shown}", style="dim"))
        env = {**os.environ, **({"LLMOPS_API_KEY": key} if key else {})}
        command = [sys.executable, "-m", "llmops_cli.main", *args, *(["--json"] if as_json else [])]
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=None, text=True, env=env, timeout=timeout)
        if done.returncode != 0 and not allow_failure:
            raise DemoFailed(f"`llmops {shown}` exited with {done.returncode}: {done.stdout[-2000:]}")
        return last_json(done.stdout) if as_json else done.stdout


def last_json(text: str) -> Any:
    """The last of the JSON documents in ``text`` (a command may print several); None without one."""
    decoder, found, at = json.JSONDecoder(), None, 0
    while True:
        at = text.find("{", at)
        if at < 0:
            return found
        try:
            found, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            at += 1


class DemoFailed(RuntimeError):
    pass


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def pipeline_definition(t: Tuning, prompt_version: str) -> str:
    lora = {"r": t.lora_r, "alpha": 2 * t.lora_r, "dropout": 0.0,
            "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
    spec = {"method": "TRAINING_METHOD_LORA", "lora": lora,
            "hyperparameters": {"max_steps": t.train_steps, "learning_rate": t.learning_rate,
                                "per_device_batch_size": t.micro_batch, "max_seq_length": 64, "seed": 7,
                                "warmup_ratio": 0.1, "lr_scheduler": "linear"},
            "distributed": {"num_workers": 2, "deepspeed_stage": 2}}
    evaluation = {"sampling_parameters": {"max_tokens": t.max_tokens, "temperature": 0}}
    return f"""# The demo's lifecycle policy (llmops pipelines apply): train on every new version of the
# sample data or of the curated feedback, evaluate on the sample data's test split against the
# champion and the base, promote to staging when the gates pass, to production after one approval.
name: {PIPELINE}
model_name: {MODEL}
description: make demo
trigger:
  datasets: [{DATASET}, {FEEDBACK}]
train:
  base_model: models:/{BASE}@latest
  dataset: {DATASET}
  prompt_version: {prompt_version}
  spec: {json.dumps(spec)}
  timeout_seconds: 900
evaluate:
  dataset: {DATASET}
  metrics: [rougeL, bleu]
  compare_with: [champion, base]
  max_samples: {t.eval_samples}
  spec: {json.dumps(evaluation)}
  timeout_seconds: 900
promote:
  - alias: staging
    gates:
      - {{metric: {METRIC}_delta_base_ci_low, threshold: 0}}
      - {{metric: {METRIC}, min_absolute_change: 0}}
  - alias: production
    approvals: 1
    gates:
      - {{metric: {METRIC}, min_absolute_change: 0}}
retry: {{max_attempts: 2, backoff_seconds: 5}}
"""
