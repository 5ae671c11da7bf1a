"""The metric suite: scores one model's outputs (per-example values and corpus statistics), summarizes
them with percentile-bootstrap intervals, and compares a candidate with a baseline on the same
resamples (paired), with sacrebleu's approximate randomization p-value for BLEU and chrF.

Per example: ``bleu`` and ``chrf`` hold sentence scores (``sacrebleu.sentence_bleu`` /
``sentence_chrf``), but their corpus value and intervals come from summed segment statistics, as
sacrebleu's corpus scores and bootstrap do; ``perplexity`` is exp(summed NLL / summed reference
tokens) over the examples that have one. A failed generation is scored as an empty output (counted in
``generation_failures``); its latency is no value. ``output_tokens`` has no better direction: it is
compared as greater-is-better by convention."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from llmops_common.errors import InvalidArgument
from llmops_common.validation import quote
from llmops_evaluation.domain.results import Comparison, Example, Interval, MetricValue, ModelOutputs, verdict
from llmops_evaluation.metrics import custom, reference, significance, vectorized

DEFAULT_METRICS: tuple[str, ...] = ("bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum",
                                    "exact_match", "perplexity", "output_tokens", "refusal_rate", "latency_ms",
                                    "tokens_per_second", "cost_per_1k_tokens", "generation_failures")
JUDGE_SCORE = "judge_score"
BUILTIN = frozenset(DEFAULT_METRICS) | {JUDGE_SCORE}
_LOWER_IS_BETTER = frozenset({"perplexity", "refusal_rate", "latency_ms", "cost_per_1k_tokens",
                              "generation_failures"})
_TOTALS_ONLY = ("tokens_per_second", "cost_per_1k_tokens", "generation_failures")  # no interval
_RANDOMIZED = ("bleu", "chrf")  # p-value by approximate randomization
AR_TRIALS = 10_000  # sacrebleu's default number of approximate-randomization trials


def known_metrics() -> frozenset[str]:
    return BUILTIN | custom.names()


def greater_is_better(name: str) -> bool:
    if name in BUILTIN:
        return name not in _LOWER_IS_BETTER
    return custom.load(name).greater_is_better


@dataclass
class ModelScores:
    """One model's scores. ``per_sample[name]`` has one value per example (NaN: none); ``stats`` holds the
    per-example sufficient statistics summed for bleu, chrf (sacrebleu's segment statistics) and
    perplexity (NLL, tokens); ``totals`` the counts behind throughput and cost."""

    role: str
    n: int
    per_sample: dict[str, np.ndarray] = field(default_factory=dict)
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)

    def sample_scores(self) -> list[dict[str, float]]:
        """Example i's per-sample metric values; a metric with no value for it is left out."""
        columns = list(self.per_sample.items())
        return [{name: float(values[i]) for name, values in columns if not math.isnan(values[i])}
                for i in range(self.n)]


class MetricSuite:
    def __init__(self, names: Sequence[str] = (), *, confidence: float = 0.95, bootstrap_samples: int = 1000,
                 seed: int = 12345, price_per_hour: float = 0.0, ar_trials: int = AR_TRIALS) -> None:
        self.names = tuple(names) or DEFAULT_METRICS
        known = known_metrics()
        for name in self.names:
            if name not in known:
                raise InvalidArgument(f"unknown metric {quote(name)}; known: {', '.join(sorted(known))}",
                                      field="spec.metrics")
        self.custom = {name: custom.load(name) for name in self.names if name not in BUILTIN}
        self.confidence = confidence
        self.bootstrap_samples = bootstrap_samples
        self.seed = seed
        self.price_per_hour = price_per_hour
        self.ar_trials = ar_trials

    def score(self, examples: Sequence[Example], outputs: ModelOutputs) -> ModelScores:
        generations = outputs.generations
        if len(generations) != len(examples) or any(
                g.record_id != e.record_id for g, e in zip(generations, examples, strict=True)):
            raise InvalidArgument(f"{outputs.role}'s generations are not aligned with the examples",
                                  field="outputs.generations")
        names = set(self.names)
        hypotheses = ["" if g.failed else g.output for g in generations]
        references = [e.reference for e in examples]
        scores = ModelScores(outputs.role, len(examples))
        if "bleu" in names:
            metric = reference.bleu_metric()
            scores.stats["bleu"] = reference.segment_statistics(metric, hypotheses, references)
            scores.per_sample["bleu"] = vectorized.bleu_from_stats(scores.stats["bleu"], effective_order=True)
            scores.signatures["bleu"] = str(metric.get_signature())
        if "chrf" in names:
            metric = reference.chrf_metric()
            scores.stats["chrf"] = reference.segment_statistics(metric, hypotheses, references)
            scores.per_sample["chrf"] = vectorized.chrf_from_stats(scores.stats["chrf"])
            scores.signatures["chrf"] = str(metric.get_signature())
        rouge_types = [name for name in reference.ROUGE_TYPES if name in names]
        if rouge_types:
            scores.per_sample.update(reference.rouge_f1(hypotheses, references, rouge_types))
        if "exact_match" in names:
            scores.per_sample["exact_match"] = reference.exact_match(hypotheses, references)
        if "perplexity" in names:
            counted = [g.reference_nll is not None and g.reference_tokens > 0 for g in generations]
            rows = np.array([[g.reference_nll, g.reference_tokens] if ok else [0.0, 0.0]
                             for g, ok in zip(generations, counted, strict=True)], dtype=np.float64).reshape(-1, 2)
            scores.stats["perplexity"] = rows
            with np.errstate(divide="ignore", invalid="ignore"):
                scores.per_sample["perplexity"] = np.where(counted, np.exp(rows[:, 0] / rows[:, 1]), np.nan)
        tokens = np.array([0.0 if g.failed else float(g.output_tokens) for g in generations])
        if "output_tokens" in names:
            scores.per_sample["output_tokens"] = tokens
        if "refusal_rate" in names:
            scores.per_sample["refusal_rate"] = np.array([float(reference.is_refusal(h)) for h in hypotheses])
        if "latency_ms" in names:
            scores.per_sample["latency_ms"] = np.array([np.nan if g.failed else g.latency_ms for g in generations])
        prompts = [e.prompt for e in examples]
        for name, metric in self.custom.items():
            scores.per_sample[name] = metric(hypotheses, references, prompts)
        scores.totals = {"output_tokens": float(tokens.sum()), "wall_seconds": float(outputs.wall_seconds),
                         "generation_failures": float(outputs.failures)}
        return scores

    def add_per_sample(self, scores: ModelScores, name: str, values: np.ndarray) -> None:
        """Attach another per-example metric (e.g. judge_score); NaN is no value."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (scores.n,):
            raise InvalidArgument(f"{name} has {values.size} values for {scores.n} examples", field=name)
        scores.per_sample[name] = values

    def summarize(self, scores: ModelScores) -> dict[str, MetricValue]:
        names = self._names(scores)
        resampled = [name for name in names if name not in _TOTALS_ONLY]
        statistics = [self._statistic(scores, name) for name in resampled]
        draws = dict(zip(resampled, self._bootstrap(statistics, scores.n), strict=True))
        out = {}
        for name in names:
            if name in _TOTALS_ONLY:
                value, count = self._total(scores, name)
                interval = None
            else:
                value, count = self._value(scores, name)
                bounds = significance.percentile_interval(draws[name], self.confidence) if count else None
                interval = Interval(*bounds, confidence=self.confidence) if bounds else None
            out[name] = MetricValue(name, value, interval, count, self._greater(name),
                                    scores.signatures.get(name, ""))
        return out

    def compare(self, candidate: ModelScores, baseline: ModelScores, baseline_role: str) -> list[Comparison]:
        """Candidate minus baseline on every metric with an interval that both have values for."""
        if candidate.n != baseline.n:
            raise InvalidArgument(f"{baseline_role} was scored on {baseline.n} examples, the candidate on "
                                  f"{candidate.n}", field="baseline")
        names = [name for name in self._names(candidate) if name not in _TOTALS_ONLY
                 and name in self._names(baseline) and self._value(candidate, name)[1]
                 and self._value(baseline, name)[1]]
        if not names or not candidate.n:
            return []
        statistics = [self._statistic(s, name) for name in names for s in (candidate, baseline)]
        draws = self._bootstrap(statistics, candidate.n)
        randomized = [name for name in names if name in _RANDOMIZED]
        ar = dict(zip(randomized, significance.approximate_randomization(
            [self._randomization_pair(candidate, baseline, name) for name in randomized],
            self.ar_trials, self.seed), strict=True)) if randomized else {}
        comparisons = []
        for index, name in enumerate(names):
            deltas = draws[2 * index] - draws[2 * index + 1]
            delta = self._value(candidate, name)[0] - self._value(baseline, name)[0]
            bounds = significance.percentile_interval(deltas, self.confidence)
            if bounds is None:
                continue
            interval = Interval(*bounds, confidence=self.confidence)
            if name in ar:
                p_value, test = ar[name], "approximate_randomization"
            else:
                p_value, test = significance.paired_bootstrap_p_value(deltas, delta), "paired_bootstrap"
            comparisons.append(Comparison(name, baseline_role, delta, interval, p_value, test,
                                          verdict(interval, self._greater(name))))
        return comparisons

    def _greater(self, name: str) -> bool:
        return self.custom[name].greater_is_better if name in self.custom else greater_is_better(name)

    def _names(self, scores: ModelScores) -> list[str]:
        extra = [name for name in scores.per_sample if name not in self.names]
        return [name for name in self.names if name in _TOTALS_ONLY or name in scores.per_sample] + extra

    def _bootstrap(self, statistics: list[significance.Statistic], n: int) -> list[np.ndarray]:
        if not n or not statistics:
            return [np.full(self.bootstrap_samples, np.nan) for _ in statistics]
        return significance.bootstrap(statistics, self.bootstrap_samples, self.seed)

    @staticmethod
    def _statistic(scores: ModelScores, name: str) -> significance.Statistic:
        if name in _CORPUS_SCORES:
            return significance.Statistic(scores.stats[name], _CORPUS_SCORES[name])
        return significance.mean_statistic(scores.per_sample[name])

    @staticmethod
    def _value(scores: ModelScores, name: str) -> tuple[float, int]:
        """The metric's value and how many examples it stands on."""
        if name in ("bleu", "chrf"):
            return _exact(name)(scores.stats[name].sum(axis=0)), scores.n
        values = scores.per_sample[name]
        valid = values[~np.isnan(values)]
        if name == "perplexity":
            nll, tokens = scores.stats[name].sum(axis=0)
            return (math.exp(nll / tokens) if len(valid) else math.nan), len(valid)
        return (float(valid.mean()) if len(valid) else math.nan), len(valid)

    def _total(self, scores: ModelScores, name: str) -> tuple[float, int]:
        tokens, seconds = scores.totals["output_tokens"], scores.totals["wall_seconds"]
        if name == "generation_failures":
            return scores.totals["generation_failures"], scores.n
        if name == "tokens_per_second":
            return (tokens / seconds, scores.n) if seconds > 0 else (math.nan, 0)
        if not tokens:  # cost_per_1k_tokens
            return math.nan, 0
        return self.price_per_hour * seconds / 3600 / tokens * 1000, scores.n

    @staticmethod
    def _randomization_pair(candidate: ModelScores, baseline: ModelScores, name: str) -> significance.RandomizationPair:
        return significance.RandomizationPair(candidate.stats[name], baseline.stats[name], _CORPUS_SCORES[name],
                                              _exact(name))


def _perplexity(sums: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(sums[:, 1] > 0, np.exp(sums[:, 0] / sums[:, 1]), np.nan)


#: the score of summed per-example statistics rows, vectorized
_CORPUS_SCORES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "bleu": vectorized.bleu_from_stats, "chrf": vectorized.chrf_from_stats, "perplexity": _perplexity}
_SACREBLEU = {"bleu": reference.bleu_metric(), "chrf": reference.chrf_metric()}  # stateless when scoring sums


def _exact(name: str) -> Callable[[np.ndarray], float]:
    return functools.partial(reference.score_from_sums, _SACREBLEU[name])
