"""Drift between a reference window and a current window.

``embedding_drift`` compares prompt embeddings two ways:

- ``domain_classifier``: a scikit-learn logistic regression learns to tell the windows apart on a
  stratified half of the rows; the statistic is the ROC AUC of its scores on the other half. Under no
  drift those held-out scores are independent of the held-out labels, so the one-sided Mann-Whitney
  U test (scipy) on them is a valid p-value without refitting. (Pooling out-of-fold scores of a k-fold
  cross-validation breaks that independence: on pure noise it alarmed 12-13% of the time at a nominal
  5%.) The threshold is the AUC's critical value at ``alpha`` from the normal approximation of that
  null, ``0.5 + z(1-alpha) * sqrt((n+m+1) / (12 n m))`` over the held-out sizes.
- ``mmd``: unbiased MMD^2 with an RBF kernel whose bandwidth is the median pairwise squared distance
  (median heuristic); the p-value is a permutation test, all permutations evaluated in one matrix
  product against the kernel matrix, and the threshold is the null's ``1-alpha`` quantile.

Windows larger than ``max_samples`` rows are subsampled (seeded, without replacement) so that 10k
against 10k rows takes seconds; the tests stay valid on the subsample, only their power drops.
alibi-detect (TensorFlow or PyTorch backends as dependencies) and Evidently (its whole reporting
stack) bring far more than these two tests need, which scikit-learn and scipy cover.

``simple_drift`` tests logged inferences feature by feature: lengths, token counts and latency with
the two-sample Kolmogorov-Smirnov test, the prompts' script mix with a chi-square test, the refusal
rate with a two-proportion test; the family is Bonferroni-corrected to ``alpha`` in all (each at ``alpha / 7``).

Every result carries its statistic, the statistic's critical value (``threshold``) and the p-value;
``drifted`` is ``p_value < alpha``. Windows under the minimum size produce no result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from llmops_common.errors import InvalidArgument
from llmops_common.refusals import is_refusal
from llmops_monitoring.domain.records import Inference

ALPHA = 0.05  # the false-alarm rate each test (or, for simple_drift, the family) is held to
MIN_EMBEDDING_WINDOW = 50  # rows per window below which embedding drift says nothing
MIN_SIMPLE_WINDOW = 30  # inferences per window below which simple drift says nothing
MAX_SAMPLES = 1000  # rows per window the embedding tests use at most
SCRIPTS = ("latin", "cyrillic", "cjk", "arabic", "other")


@dataclass(frozen=True)
class DriftResult:
    method: str
    statistic: float
    p_value: float
    threshold: float  # the statistic's critical value at the test's alpha
    drifted: bool


def _check_embeddings(name: str, rows: np.ndarray) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float64)
    if array.ndim != 2:
        raise InvalidArgument(f"{name}: expected a 2-d array of embeddings, got {array.ndim} dimensions", field=name)
    if not np.isfinite(array).all():
        raise InvalidArgument(f"{name}: embeddings must be finite", field=name)
    return array


def _subsample(rows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= limit:
        return rows
    return rows[np.sort(rng.choice(len(rows), size=limit, replace=False))]


def _domain_classifier(reference: np.ndarray, current: np.ndarray, seed: int, alpha: float) -> DriftResult:
    x = np.vstack([reference, current])
    y = np.r_[np.zeros(len(reference)), np.ones(len(current))]
    x_fit, x_test, y_fit, y_test = train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)
    n, m = int(np.sum(y_test == 0)), int(np.sum(y_test == 1))
    threshold = float(0.5 + stats.norm.ppf(1 - alpha) * math.sqrt((n + m + 1) / (12 * n * m)))
    scores = LogisticRegression(max_iter=1000).fit(x_fit, y_fit).decision_function(x_test)
    if np.ptp(scores) == 0:  # the model saw nothing to separate (e.g. identical rows)
        return DriftResult("domain_classifier", 0.5, 1.0, threshold, False)
    auc = float(roc_auc_score(y_test, scores))
    p_value = float(stats.mannwhitneyu(scores[y_test == 1], scores[y_test == 0], alternative="greater").pvalue)
    return DriftResult("domain_classifier", auc, p_value, threshold, bool(p_value < alpha))


def _mmd(reference: np.ndarray, current: np.ndarray, seed: int, permutations: int, alpha: float) -> DriftResult:
    x = np.vstack([reference, current])
    n, total = len(reference), len(x)
    squared = np.sum(x * x, axis=1)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2.0 * (x @ x.T), 0.0)
    off_diagonal = distances[~np.eye(total, dtype=bool)]
    bandwidth = float(np.median(off_diagonal))
    if bandwidth <= 0.0:  # more than half the pairs coincide: fall back to the mean distance, or 1
        positive = off_diagonal[off_diagonal > 0]
        bandwidth = float(positive.mean()) if positive.size else 1.0
    kernel = np.exp(-distances / bandwidth)
    np.fill_diagonal(kernel, 0.0)  # the unbiased estimate leaves out i == j
    rng = np.random.default_rng(seed)
    labels = np.zeros((total, permutations + 1))
    labels[:n, 0] = 1.0
    for column in range(1, permutations + 1):
        labels[rng.permutation(total)[:n], column] = 1.0
    in_reference = kernel @ labels
    row_sums = kernel.sum(axis=1, keepdims=True)
    xx = np.sum(labels * in_reference, axis=0)
    xy = np.sum((1.0 - labels) * in_reference, axis=0)
    yy = np.sum((1.0 - labels) * (row_sums - in_reference), axis=0)
    m = total - n
    mmd2 = xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2.0 * xy / (n * m)
    observed, null = float(mmd2[0]), mmd2[1:]
    p_value = float((1 + np.sum(null >= observed - 1e-12)) / (permutations + 1))
    threshold = float(np.quantile(null, 1 - alpha))
    return DriftResult("mmd", observed, p_value, threshold, bool(p_value < alpha))


def embedding_drift(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    seed: int = 0,
    permutations: int = 200,
    max_samples: int = MAX_SAMPLES,
    alpha: float = ALPHA,
) -> list[DriftResult]:
    """Domain-classifier and MMD drift of ``current`` embeddings against ``reference`` (rows are
    embeddings); ``[]`` when either window has fewer than ``MIN_EMBEDDING_WINDOW`` rows."""
    reference = _check_embeddings("reference", reference)
    current = _check_embeddings("current", current)
    if reference.shape[1] != current.shape[1]:
        raise InvalidArgument(
            f"current: {current.shape[1]} dimensions, the reference has {reference.shape[1]}", field="current"
        )
    if not 1 <= permutations <= 10_000:
        raise InvalidArgument("permutations: must be between 1 and 10000", field="permutations")
    if len(reference) < MIN_EMBEDDING_WINDOW or len(current) < MIN_EMBEDDING_WINDOW:
        return []
    rng = np.random.default_rng(seed)
    limit = max(max_samples, MIN_EMBEDDING_WINDOW)
    reference, current = _subsample(reference, limit, rng), _subsample(current, limit, rng)
    return [
        _domain_classifier(reference, current, seed, alpha),
        _mmd(reference, current, seed, permutations, alpha),
    ]


def two_proportion_test(
    method: str, reference: tuple[int, int], current: tuple[int, int], *, alpha: float, alternative: str
) -> DriftResult:
    """z statistic of ``current``'s rate minus ``reference``'s (each ``(events, total)``); the p-value is
    Fisher's exact test when an expected cell count is under 5, else the z test's. ``alternative`` is
    ``"two-sided"`` or ``"greater"`` (the current rate is higher)."""
    (a, n1), (b, n2) = reference, current
    pooled = (a + b) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (b / n2 - a / n1) / spread if spread > 0 else 0.0
    critical = stats.norm.ppf(1 - alpha / 2 if alternative == "two-sided" else 1 - alpha)
    if spread == 0:
        p_value = 1.0
    elif min(pooled * n1, pooled * n2, (1 - pooled) * n1, (1 - pooled) * n2) < 5:
        # table rows: current, reference; "greater" asks whether current's odds of an event are higher
        fisher_alternative = "greater" if alternative == "greater" else "two-sided"
        p_value = float(stats.fisher_exact([[b, n2 - b], [a, n1 - a]], alternative=fisher_alternative).pvalue)
    elif alternative == "two-sided":
        p_value = float(2 * stats.norm.sf(abs(z)))
    else:
        p_value = float(stats.norm.sf(z))
    return DriftResult(method, float(z), p_value, float(critical), bool(p_value < alpha))




def _script(text: str) -> str:
    """The script most of the text's letters are written in."""
    counts = dict.fromkeys(SCRIPTS, 0)
    for char in text[:2000]:
        if not char.isalpha():
            continue
        point = ord(char)
        if point < 0x250 or 0x1E00 <= point < 0x1F00:
            counts["latin"] += 1
        elif 0x400 <= point < 0x530:
            counts["cyrillic"] += 1
        elif 0x600 <= point < 0x700 or 0x750 <= point < 0x780 or 0xFB50 <= point < 0xFF00:
            counts["arabic"] += 1
        elif 0x3040 <= point < 0x3100 or 0x3400 <= point < 0xA000 or 0xAC00 <= point < 0xD7B0:
            counts["cjk"] += 1
        else:
            counts["other"] += 1
    best = max(SCRIPTS, key=lambda script: counts[script])
    return best if counts[best] else "other"


def _ks(method: str, reference: Sequence[float], current: Sequence[float], alpha: float) -> DriftResult:
    n, m = len(reference), len(current)
    result = stats.ks_2samp(reference, current)
    critical = math.sqrt(-math.log(alpha / 2) * (n + m) / (2 * n * m))  # the asymptotic critical D
    return DriftResult(method, float(result.statistic), float(result.pvalue), critical, bool(result.pvalue < alpha))


def _script_mix(reference: Sequence[Inference], current: Sequence[Inference], alpha: float) -> DriftResult:
    table = np.zeros((2, len(SCRIPTS)))
    for row, window in enumerate((reference, current)):
        for inference in window:
            table[row, SCRIPTS.index(_script(inference.prompt))] += 1
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:  # one script in both windows: nothing to compare
        return DriftResult("script_mix.chi2", 0.0, 1.0, float(stats.chi2.ppf(1 - alpha, 1)), False)
    result = stats.chi2_contingency(table, correction=False)
    critical = float(stats.chi2.ppf(1 - alpha, result.dof))
    return DriftResult(
        "script_mix.chi2", float(result.statistic), float(result.pvalue), critical, bool(result.pvalue < alpha)
    )


_NUMERIC: tuple[tuple[str, Callable[[Inference], float]], ...] = (
    ("prompt_chars.ks", lambda i: len(i.prompt)),
    ("output_chars.ks", lambda i: len(i.output)),
    ("prompt_tokens.ks", lambda i: i.prompt_tokens),
    ("completion_tokens.ks", lambda i: i.completion_tokens),
    ("latency_ms.ks", lambda i: i.latency_ms),
)


def simple_drift(
    reference: Sequence[Inference], current: Sequence[Inference], *, alpha: float = ALPHA
) -> list[DriftResult]:
    """Seven tests of ``current`` against ``reference`` (see the module docstring), each at ``alpha / 7``;
    ``[]`` when either window has fewer than ``MIN_SIMPLE_WINDOW`` inferences."""
    if len(reference) < MIN_SIMPLE_WINDOW or len(current) < MIN_SIMPLE_WINDOW:
        return []
    each = alpha / (len(_NUMERIC) + 2)
    results = [
        _ks(method, [feature(i) for i in reference], [feature(i) for i in current], each)
        for method, feature in _NUMERIC
    ]
    results.append(_script_mix(reference, current, each))
    refusals = [(sum(is_refusal(i.output) for i in window), len(window)) for window in (reference, current)]
    results.append(two_proportion_test("refusal_rate.z", refusals[0], refusals[1], alpha=each, alternative="two-sided"))
    return results
