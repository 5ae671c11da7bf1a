"""``llmops eval`` options and files as evaluation-service requests: the run spec and raters' verdicts.

Pure functions, no I/O. Bad input is ``InvalidArgument`` naming the option (``--baseline``) or the
file's line, which the CLI prints as one line. The service checks the rest against what exists and
against its own rules (reference shapes, metric names, roles, choices), so those are left to it.
"""

from __future__ import annotations

import json

from llmops.evaluation.v1 import evaluation_pb2 as pb
from llmops_cli.training_spec import finite, split_names
from llmops_common.errors import InvalidArgument
from llmops_common.validation import quote

MAX_VERDICT_BYTES = 4 * 2**20  # one ImportReviewVerdicts request; a larger file goes in several imports
VERDICT_FIELDS = ("item_id", "choice", "rater")


def parse_baselines(values: list[str] | None) -> list[pb.Baseline]:
    """``role=models:/name/N`` options, in order; a role given twice is refused here (the service
    checks the role's and the reference's shapes)."""
    baselines: list[pb.Baseline] = []
    for value in values or []:
        role, sep, model = value.partition("=")
        role, model = role.strip(), model.strip()
        if not sep or not role or not model:
            raise InvalidArgument(f"{quote(value)} is not ROLE=models:/NAME/VERSION", field="--baseline")
        if any(b.role == role for b in baselines):
            raise InvalidArgument(f"role {quote(role)} is given twice", field="--baseline")
        baselines.append(pb.Baseline(role=role, model_version=model))
    return baselines


def build_eval_spec(*, model: str, dataset: str, split: str = "test", prompt: str = "",
                    baselines: list[str] | None = None, metrics: list[str] | None = None, max_samples: int = 0,
                    judge_model: str = "", judge_prompt: str = "", confidence: float | None = None,
                    bootstrap_samples: int | None = None) -> pb.EvaluationSpec:
    """The spec from ``eval run``'s options; what is not given stays unset, for the service's default."""
    if bool(judge_model) != bool(judge_prompt):
        raise InvalidArgument("--judge-model and --judge-prompt go together",
                              field="--judge-prompt" if judge_model else "--judge-model")
    if max_samples < 0:
        raise InvalidArgument(f"{max_samples} is below 0", field="--max-samples")
    if bootstrap_samples is not None and bootstrap_samples <= 0:
        raise InvalidArgument(f"{bootstrap_samples} is not above 0", field="--bootstrap-samples")
    if confidence is not None and not 0.5 < finite(confidence, "--confidence") < 1:
        raise InvalidArgument(f"{confidence:g} is not in (0.5, 1)", field="--confidence")
    spec = pb.EvaluationSpec(model_version=model, dataset_version=dataset, split=split, prompt_version=prompt,
                             metrics=[pb.MetricSpec(name=name) for name in split_names(metrics)],
                             max_samples=max_samples, baselines=parse_baselines(baselines),
                             confidence=confidence or 0.0, bootstrap_samples=bootstrap_samples or 0)
    if judge_model:
        spec.judge.CopyFrom(pb.JudgeSpec(model=judge_model, prompt_version=judge_prompt))
    return spec


def parse_verdicts(data: bytes) -> list[pb.ReviewVerdict]:
    """Raters' verdicts from JSON Lines: one object a line with string ``item_id``, ``choice`` ("a",
    "b" or "tie") and ``rater``; other keys are ignored, so raters may fill in ``choice`` and
    ``rater`` on the exported lines themselves. Blank lines are skipped."""
    if len(data) > MAX_VERDICT_BYTES:
        raise InvalidArgument(f"{len(data):,} bytes is over {MAX_VERDICT_BYTES:,}; split the file and import "
                              "each part (a rater's later verdict on an item replaces the earlier)",
                              field="verdicts")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"not UTF-8 at byte {exc.start}", field="verdicts") from None
    verdicts = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"verdicts line {number}"
        try:
            row = json.loads(line, parse_constant=_no_constant)
        except ValueError:
            raise InvalidArgument(f"{quote(line)} is not a JSON object", field=where) from None
        if not isinstance(row, dict):
            raise InvalidArgument(f"{quote(line)} is not a JSON object", field=where)
        for key in VERDICT_FIELDS:
            if not isinstance(row.get(key), str) or not row[key]:
                raise InvalidArgument(f"needs a non-empty string {key!r}", field=f"{where}.{key}")
        verdicts.append(pb.ReviewVerdict(item_id=row["item_id"], choice=row["choice"].strip().lower(),
                                         rater=row["rater"]))
    if not verdicts:
        raise InvalidArgument("the file holds no verdicts", field="verdicts")
    return verdicts


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")

