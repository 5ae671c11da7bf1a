"""Golden tests: every reference metric the suite reports equals sacrebleu or rouge-score called directly
on the same data, to 1e-9 (non-ASCII text, multi-sentence Lsum, corpus against sentence BLEU, empty
hypotheses), and the randomization p-value equals sacrebleu's ``_paired_ar_test`` exactly."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import Result, _paired_ar_test

from llmops_evaluation.domain.results import Example, Generation, ModelOutputs
from llmops_evaluation.metrics import reference, significance, vectorized
from llmops_evaluation.metrics.suite import MetricSuite

TOL = 1e-9
ROUGE = ("rouge1", "rouge2", "rougeL", "rougeLsum")

REFERENCES = [
    "The cat sat on the mat.",
    "Zürich liegt am Zürichsee; die Straße ist schön.",
    "東京は日本の首都です。大阪は二番目に大きい都市です。",
    "First sentence here.\nSecond sentence follows.\nA third, shorter one.",
    "Running runners ran quickly through the running tracks.",
    "L'élève a réussi l'examen — félicitations !",
    "Empty hypothesis for this reference.",
    "один два три четыре пять",
    "Numbers 1,234.56 and 7% stay.",
    "Short.",
]
HYPOTHESES = [
    "The cat is on the mat.",
    "Zürich liegt am See; die Strasse ist schön.",
    "東京は日本の首都です。",
    "Second sentence follows.\nFirst sentence here.\nAn extra line.",
    "The runner runs quick on the tracks.",
    "L'élève a réussi l'examen !",
    "",
    "один два три",
    "Numbers 1,234.56 and 8% stay.",
    "",
]


def suite_scores(names, hypotheses=HYPOTHESES, references=REFERENCES, **kwargs):
    examples = [Example(str(i), f"prompt {i}", ref) for i, ref in enumerate(references)]
    outputs = ModelOutputs("candidate", "models:/m/1",
                           tuple(Generation(str(i), hyp) for i, hyp in enumerate(hypotheses)))
    suite = MetricSuite(names, **kwargs)
    return suite, suite.score(examples, outputs)


def test_corpus_bleu_and_chrf_equal_sacrebleu_with_its_signature() -> None:
    suite, scores = suite_scores(["bleu", "chrf"])
    summary = suite.summarize(scores)
    bleu = BLEU()
    expected = bleu.corpus_score(HYPOTHESES, [REFERENCES])
    assert summary["bleu"].value == pytest.approx(expected.score, abs=TOL)
    assert summary["bleu"].value == pytest.approx(sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES]).score, abs=TOL)
    assert summary["bleu"].signature == str(bleu.get_signature()) == "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|" \
        f"version:{sacrebleu.__version__}"
    chrf = CHRF()
    assert summary["chrf"].value == pytest.approx(chrf.corpus_score(HYPOTHESES, [REFERENCES]).score, abs=TOL)
    assert summary["chrf"].signature == str(chrf.get_signature())
    assert summary["bleu"].count == summary["chrf"].count == len(REFERENCES)


def test_corpus_bleu_is_not_the_mean_of_sentence_bleu_and_each_is_reported_where_it_belongs() -> None:
    suite, scores = suite_scores(["bleu", "chrf"])
    sentence = [sacrebleu.sentence_bleu(h, [r]).score for h, r in zip(HYPOTHESES, REFERENCES, strict=True)]
    np.testing.assert_allclose(scores.per_sample["bleu"], sentence, rtol=0, atol=TOL)
    sentence_chrf = [sacrebleu.sentence_chrf(h, [r]).score for h, r in zip(HYPOTHESES, REFERENCES, strict=True)]
    np.testing.assert_allclose(scores.per_sample["chrf"], sentence_chrf, rtol=0, atol=TOL)
    corpus = suite.summarize(scores)["bleu"].value
    assert abs(corpus - float(np.mean(sentence))) > 1.0  # the two differ: the suite reports the corpus one
    assert [row["bleu"] for row in scores.sample_scores()] == pytest.approx(sentence, abs=TOL)


def test_all_empty_hypotheses_score_what_sacrebleu_and_rouge_score_give() -> None:
    empty = [""] * len(REFERENCES)
    suite, scores = suite_scores(["bleu", "chrf", *ROUGE], hypotheses=empty)
    summary = suite.summarize(scores)
    assert summary["bleu"].value == sacrebleu.corpus_bleu(empty, [REFERENCES]).score == 0.0
    assert summary["chrf"].value == sacrebleu.corpus_chrf(empty, [REFERENCES]).score == 0.0
    assert all(summary[name].value == 0.0 for name in ROUGE)


def test_rouge_equals_rouge_score_with_stemming_and_newline_split_lsum() -> None:
    _, scores = suite_scores(list(ROUGE))
    scorer = rouge_scorer.RougeScorer(list(ROUGE), use_stemmer=True)
    for i, (hyp, ref) in enumerate(zip(HYPOTHESES, REFERENCES, strict=True)):
        expected = scorer.score(ref, hyp)
        for name in ROUGE:
            assert scores.per_sample[name][i] == pytest.approx(expected[name].fmeasure, abs=TOL), (name, i)
    # the multi-sentence example: Lsum credits the reordered sentences, L does not
    assert scores.per_sample["rougeLsum"][3] > scores.per_sample["rougeL"][3]
    summary = MetricSuite(list(ROUGE)).summarize(scores)
    for name in ROUGE:
        direct = np.mean([scorer.score(r, h)[name].fmeasure for h, r in zip(HYPOTHESES, REFERENCES, strict=True)])
        assert summary[name].value == pytest.approx(direct, abs=TOL)


def test_each_rouge_type_alone_equals_its_own_scorer() -> None:
    for name in ROUGE:
        scores = reference.rouge_f1(HYPOTHESES, REFERENCES, [name])
        scorer = rouge_scorer.RougeScorer([name], use_stemmer=True)
        expected = [scorer.score(r, h)[name].fmeasure for h, r in zip(HYPOTHESES, REFERENCES, strict=True)]
        np.testing.assert_allclose(scores[name], expected, rtol=0, atol=TOL)
        assert list(scores) == [name]


_WORDS = ["the", "cats", "running", "ran", "über", "naïve", "東京", "a", "é", "on", "mat", ".", ",", "!", "runs"]
_texts = st.lists(st.sampled_from([*_WORDS, "\n", " "]), max_size=25).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_texts, _texts), min_size=1, max_size=6))
def test_property_rouge_equals_rouge_score_on_any_text(pairs) -> None:
    hyps, refs = [p[0] for p in pairs], [p[1] for p in pairs]
    scores = reference.rouge_f1(hyps, refs)
    scorer = rouge_scorer.RougeScorer(list(ROUGE), use_stemmer=True)
    for i, (hyp, ref) in enumerate(pairs):
        expected = scorer.score(ref, hyp)
        for name in ROUGE:
            assert abs(scores[name][i] - expected[name].fmeasure) <= TOL


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_texts, _texts), min_size=1, max_size=8))
def test_property_vectorized_scores_equal_sacrebleus_own_from_the_same_statistics(pairs) -> None:
    hyps, refs = [p[0] for p in pairs], [p[1] for p in pairs]
    for metric, vector, sentence in ((BLEU(), vectorized.bleu_from_stats, sacrebleu.sentence_bleu),
                                     (CHRF(), vectorized.chrf_from_stats, sacrebleu.sentence_chrf)):
        rows = reference.segment_statistics(metric, hyps, refs)
        sums = np.cumsum(rows, axis=0)  # corpus statistics of every prefix, as resamples give
        expected = [metric._compute_score_from_stats(list(map(int, row))).score for row in sums]
        np.testing.assert_allclose(vector(sums), expected, rtol=0, atol=TOL)
        expected_sentences = [sentence(h, [r]).score for h, r in pairs]
        sentence_scores = vector(rows, effective_order=True) if vector is vectorized.bleu_from_stats else vector(rows)
        np.testing.assert_allclose(sentence_scores, expected_sentences, rtol=0, atol=TOL)
        assert reference.score_from_sums(metric, rows.sum(axis=0)) == pytest.approx(
            metric.corpus_score(hyps, [refs]).score, abs=TOL)


def test_vectorized_bleu_equals_sacrebleu_on_random_statistics_including_zero_orders() -> None:
    rng = np.random.default_rng(3)
    total = np.sort(rng.integers(0, 40, size=(2000, 4)), axis=1)[:, ::-1]  # totals shrink with the order
    correct = np.minimum(total, rng.integers(0, 12, size=(2000, 4)) * rng.integers(0, 2, size=(2000, 4)))
    rows = np.column_stack([total[:, 0], rng.integers(0, 60, size=2000), correct, total])
    for effective in (False, True):
        metric = BLEU(effective_order=effective)
        expected = [metric._compute_score_from_stats(list(map(int, row))).score for row in rows]
        np.testing.assert_allclose(vectorized.bleu_from_stats(rows, effective_order=effective), expected,
                                   rtol=0, atol=TOL)


def _pair(seed: int, n: int, redraw: float):
    """References, a baseline, and a candidate that redraws a fraction of the baseline's outputs from
    the same distribution (so the difference is noise and the p-value mid-range)."""
    rnd = random.Random(seed)
    vocab = ["alpha", "beta", "gamma", "delta", "über", "東京", "mat", "cat", "sat", "on", "the"]

    def sentence(low: int) -> str:
        return " ".join(rnd.choice(vocab) for _ in range(rnd.randint(low, 12)))

    refs = [sentence(3) for _ in range(n)]
    base = [sentence(0) for _ in range(n)]
    cand = [sentence(0) if rnd.random() < redraw else b for b in base]
    return refs, base, cand


@pytest.mark.parametrize(("n", "redraw", "block"), [(97, 0.3, 1 << 22), (250, 0.2, 2000), (64, 0.3, 64 * 40),
                                                     (40, 0.0, 1 << 22)])
def test_approximate_randomization_p_values_equal_sacrebleus(monkeypatch, n, redraw, block) -> None:
    """Same trials as ``_paired_ar_test`` (also when the swap matrix is drawn in several blocks), so the
    same p-value, not merely a close one; the systems are close enough for a mid-range p."""
    monkeypatch.setattr(significance, "_BLOCK_ELEMENTS", block)
    refs, base, cand = _pair(n, n, redraw)
    examples = [Example(str(i), "", r) for i, r in enumerate(refs)]
    suite = MetricSuite(["bleu", "chrf"], ar_trials=2000, seed=7)
    scores = {role: suite.score(examples, ModelOutputs(role, "models:/m/1", tuple(
        Generation(str(i), h) for i, h in enumerate(hyps)))) for role, hyps in (("candidate", cand), ("base", base))}
    comparisons = {c.metric: c for c in suite.compare(scores["candidate"], scores["base"], "base")}
    metrics = {"BLEU": BLEU(), "chrF2": CHRF()}
    info = {}
    for name, metric in metrics.items():
        stats = metric._extract_corpus_statistics(base, [refs])
        info[name] = (np.array(stats), Result(metric._aggregate_and_compute(stats).score))
    _, expected = _paired_ar_test(info, "candidate", cand, [refs], metrics, n_samples=2000, seed=7)
    assert comparisons["bleu"].p_value == expected["BLEU"].p_value
    assert comparisons["chrf"].p_value == expected["chrF2"].p_value
    assert comparisons["bleu"].test == comparisons["chrf"].test == "approximate_randomization"
    if redraw:
        assert 0.01 < expected["BLEU"].p_value < 1.0 and 0.01 < expected["chrF2"].p_value < 1.0
    assert comparisons["bleu"].delta == pytest.approx(
        sacrebleu.corpus_bleu(cand, [refs]).score - sacrebleu.corpus_bleu(base, [refs]).score, abs=TOL)


@pytest.mark.parametrize(("prediction", "answer", "match"), [
    ("The Eiffel Tower!", "eiffel tower", True),
    ("  an   apple ", "Apple.", True),
    ("Paris, France", "paris france", True),
    ("theater", "the ater", False),  # articles only as whole words
    ("Zürich", "zürich", True),
    ("42", "forty-two", False),
    ("", "", True),
])
def test_exact_match_uses_squads_normalisation(prediction, answer, match) -> None:
    assert reference.exact_match([prediction], [answer])[0] == float(match)


@pytest.mark.parametrize(("text", "refusal"), [
    ("I'm sorry, but I can't help with that.", True),
    ("I cannot assist with this request.", True),
    ("I’m unable to provide that information.", True),
    ("As an AI language model, I do not have opinions.", True),
    ("I must decline.", True),
    ("I won't comply with that.", True),
    ("I can't wait to see the results: 42.", False),
    ("The answer is Paris.", False),
    ("AI models can help with translation.", False),
])
def test_refusal_detection(text, refusal) -> None:
    assert reference.is_refusal(text) is refusal


def test_perplexity_is_exp_of_summed_nll_over_summed_tokens_from_generations_that_have_one() -> None:
    examples = [Example(str(i), "p", "r") for i in range(4)]
    generations = (Generation("0", "a", reference_nll=2.0, reference_tokens=4),
                   Generation("1", "b", reference_nll=None, reference_tokens=3),
                   Generation("2", "", error="prompt too long", reference_nll=6.0, reference_tokens=2),
                   Generation("3", "c", reference_nll=1.0, reference_tokens=0))
    suite = MetricSuite(["perplexity"])
    scores = suite.score(examples, ModelOutputs("candidate", "models:/m/1", generations))
    value = suite.summarize(scores)["perplexity"]
    assert value.value == pytest.approx(math.exp(8.0 / 6.0), abs=TOL)
    assert value.count == 2 and not value.greater_is_better
    assert [row.get("perplexity") for row in scores.sample_scores()] == pytest.approx(
        [math.exp(0.5), None, math.exp(3.0), None])
