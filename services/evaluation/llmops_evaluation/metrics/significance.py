"""Resampling statistics over per-example sufficient statistics: the percentile bootstrap (one model, or
a paired difference on the same resamples) and sacrebleu's paired approximate randomization test.

A metric is a ``Statistic``: one row of numbers per example and a function from column sums to the
metric (a mean is ``[value, 1]`` rows and sum/count; BLEU sums sacrebleu's segment statistics, as its
own bootstrap does). A resample is then a vector of draw counts per example, and a block of resamples
is one matrix product for every metric at once, where sacrebleu re-sums and re-scores each resample in
Python. Sums are float64, exact for integer statistics below 2**53."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sacrebleu.significance import _compute_p_value

_BLOCK_ELEMENTS = 1 << 22  # resamples x examples per block: about 32 MiB of float64


@dataclass(frozen=True)
class Statistic:
    """``rows``: (n, k) per-example statistics; ``score``: (m, k) column sums -> (m,) metric values
    (NaN where a resample holds no value)."""

    rows: np.ndarray
    score: Callable[[np.ndarray], np.ndarray]


def mean_statistic(values: np.ndarray) -> Statistic:
    """The mean of ``values``, NaN entries excluded (and a resample with none left is NaN)."""
    valid = ~np.isnan(values)
    return Statistic(np.column_stack([np.where(valid, values, 0.0), valid.astype(np.float64)]), _ratio)


def _ratio(sums: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sums[:, 1] > 0, sums[:, 0] / sums[:, 1], np.nan)


def _resample_counts(n: int, samples: int, seed: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first resample, counts) blocks: how often each of ``n`` examples is drawn, with replacement,
    in each of ``samples`` bootstrap resamples."""
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, samples, block):
        rows = min(block, samples - start)
        drawn = rng.integers(0, n, size=(rows, n)) + (np.arange(rows) * n)[:, None]
        yield start, np.bincount(drawn.ravel(), minlength=rows * n).reshape(rows, n).astype(np.float64)


def bootstrap(statistics: Sequence[Statistic], samples: int, seed: int) -> list[np.ndarray]:
    """Each statistic's value on the same ``samples`` resamples of the examples (all statistics have
    the same n rows; resample i draws the same examples for all, which makes differences paired)."""
    n = len(statistics[0].rows)
    stacked = np.hstack([s.rows for s in statistics]).astype(np.float64)
    bounds = np.cumsum([0] + [s.rows.shape[1] for s in statistics])
    out = [np.empty(samples) for _ in statistics]
    for start, counts in _resample_counts(n, samples, seed):
        sums = counts @ stacked
        for index, statistic in enumerate(statistics):
            out[index][start:start + len(counts)] = statistic.score(sums[:, bounds[index]:bounds[index + 1]])
    return out


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float] | None:
    """The percentile bootstrap interval; None when no resample has a value."""
    values = values[~np.isnan(values)]
    if not len(values):
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def paired_bootstrap_p_value(deltas: np.ndarray, observed: float) -> float:
    """Two-sided paired bootstrap p-value by the shift method (Efron & Tibshirani 16.4): how often a
    resampled difference, centred on zero, is at least as far from zero as the observed one, +1
    smoothed. (sacrebleu's ``_paired_bs_test`` centres |difference| instead and counts strictly, so
    two identical systems get its smallest p-value; here they get 1.)"""
    deltas = deltas[~np.isnan(deltas)]
    if not len(deltas):
        return 1.0
    extreme = np.count_nonzero(np.abs(deltas - deltas.mean()) >= abs(observed))
    return float((extreme + 1) / (len(deltas) + 1))


@dataclass(frozen=True)
class RandomizationPair:
    """One metric for the randomization test: both systems' per-example statistics, the vectorized
    score of summed rows, and sacrebleu's own score of one summed row (for near-ties)."""

    candidate: np.ndarray
    baseline: np.ndarray
    score: Callable[[np.ndarray], np.ndarray]
    exact: Callable[[np.ndarray], float]


def approximate_randomization(pairs: Sequence[RandomizationPair], trials: int, seed: int) -> list[float]:
    """p-values of sacrebleu's ``_paired_ar_test``, trial for trial: the same generator and swap
    matrix (``default_rng(seed).integers(2, size=(trials, n), dtype=bool)``, drawn in blocks whose
    sizes are multiples of 32 booleans so the stream is identical), the same observed |difference|
    from sacrebleu's scores, and its ``_compute_p_value``. Trial scores are vectorized; a trial whose
    |difference| lies within 1e-9 of the observed one is rescored with sacrebleu's own function, so
    the strict comparison decides exactly as sacrebleu's would (equal sides score 0 either way)."""
    n = len(pairs[0].candidate)
    rng = np.random.default_rng(seed)
    unit = 32 // np.gcd(n, 32)
    block = max(unit, _BLOCK_ELEMENTS // max(n, 1) // unit * unit)
    # swapped a = sum(sys) + pos @ (bl - sys); swapped b = sum(bl) - pos @ (bl - sys)
    differences = np.hstack([p.baseline - p.candidate for p in pairs]).astype(np.float64)
    bounds = np.cumsum([0] + [p.candidate.shape[1] for p in pairs])
    observed = [abs(p.exact(p.baseline.sum(axis=0)) - p.exact(p.candidate.sum(axis=0))) for p in pairs]
    statistics = [np.empty(trials) for _ in pairs]
    for start in range(0, trials, block):
        swap = rng.integers(2, size=(min(block, trials - start), n), dtype=bool)
        moved = swap.astype(np.float64) @ differences
        for index, pair in enumerate(pairs):
            shift = moved[:, bounds[index]:bounds[index + 1]]
            side_a = pair.candidate.sum(axis=0) + shift
            side_b = pair.baseline.sum(axis=0) - shift
            gaps = np.abs(pair.score(side_a) - pair.score(side_b))
            near = (np.abs(gaps - observed[index]) <= 1e-9) & (side_a != side_b).any(axis=1)  # equal sides: 0
            for row in np.flatnonzero(near):
                gaps[row] = abs(pair.exact(side_a[row]) - pair.exact(side_b[row]))
            statistics[index][start:start + len(swap)] = gaps
    return [float(_compute_p_value(stats, diff)) for stats, diff in zip(statistics, observed, strict=True)]
