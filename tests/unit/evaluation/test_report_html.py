"""The HTML report: hostile data shows as text, NaN as "n/a", plots as SVG images, and any report
dict (read back from storage) renders without an error."""

from __future__ import annotations

import base64
import math
import re
import xml.etree.ElementTree as ET

from evaluation_outcomes import make_outcome, make_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmops_evaluation.domain.results import JudgeFailure
from llmops_evaluation.report.build import build_report
from llmops_evaluation.report.html import render_html

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = "</svg><img onerror=alert(2) src=x>"


def _hostile_report() -> dict:
    outcome = make_outcome({"candidate": [SCRIPT, BREAKOUT], "champion": [BREAKOUT, SCRIPT]},
                           {"candidate": [0.1, 0.2], "champion": [0.9, 0.8]},
                           errors={"champion": {1: f"failed: {SCRIPT}"}},
                           prompts=[f"prompt {SCRIPT}", "p"], references=[f"ref {BREAKOUT}", "r"],
                           model_uri="models:/<b>evil</b>/{n}")
    outcome.judge_failures["candidate"] = (JudgeFailure("r1", f"reason {SCRIPT}"),)
    report = build_report(make_run(), outcome)
    report["run"]["created_by"] = BREAKOUT
    return report


def _images(html: str) -> list[str]:
    found = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    return [base64.b64decode(m).decode() for m in found]


def test_hostile_strings_from_the_data_are_escaped() -> None:
    html = render_html(_hostile_report())
    assert "<script" not in html.lower()
    assert "<img onerror" not in html and "<b>evil" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;/svg&gt;&lt;img onerror=alert(2) src=x&gt;" in html
    assert "prompt &lt;script&gt;" in html and "ref &lt;/svg&gt;" in html
    assert "failed: &lt;script&gt;" in html and "reason &lt;script&gt;" in html
    assert "models:/&lt;b&gt;evil&lt;/b&gt;/0" in html
    # every tag in the page is one the template writes
    assert {t.lower() for t in re.findall(r"<([A-Za-z][A-Za-z0-9]*)", html)} <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "table", "tr", "th", "td", "span",
        "br", "code", "pre", "img"}


def test_the_worst_losses_sit_side_by_side_with_the_reference() -> None:
    html = render_html(_hostile_report())
    table = html[html.index("Where the candidate lost most"):html.index("<h2>Failures")]
    rows = re.findall(r"<tr>\n(.*?)</tr>", table, re.DOTALL)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rows[0], re.DOTALL)
    assert "<code>r0</code>" in cells[0] and "prompt &lt;script&gt;" in cells[0]
    assert "ref &lt;/svg&gt;" in cells[1]
    assert "&lt;script&gt;alert(1)" in cells[2] and "0.1" in cells[2]
    assert "&lt;/svg&gt;&lt;img" in cells[3] and "0.9" in cells[3]
    assert cells[4] == "-0.8"


def test_nan_shows_as_na_and_the_plots_are_svg_images() -> None:
    html = render_html(_hostile_report())
    assert "<tr><th>stop</th><td>[&#34;\\n\\n&#34;]</td></tr>" in html  # parameters as JSON
    judge_row = re.search(r"<tr><th>judge_score</th>(.*?)</tr>", html, re.DOTALL)
    assert judge_row and judge_row[1].count("n/a") == 2
    images = _images(html)
    assert len(images) == 2
    for svg in images:
        assert ET.fromstring(svg).tag.endswith("svg")
        assert "<script" not in svg


def test_a_report_without_baselines_renders_without_comparisons_or_losses() -> None:
    report = build_report(make_run(()), make_outcome({"candidate": ["a"]}, {"candidate": [math.nan]}))
    html = render_html(report)
    assert "No baselines" in html and "lost most" not in html
    assert len(_images(html)) == 1


JSON = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)
KEYS = st.sampled_from(["run", "models", "comparisons", "worst_losses", "failures", "signatures", "generation_params",
                        "examples"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, JSON))
def test_any_report_shape_renders(report: dict) -> None:
    assert render_html(report).startswith("<!DOCTYPE html>")


def test_a_damaged_report_renders_what_it_can() -> None:
    report = _hostile_report()
    report["models"]["candidate"]["metrics"]["bleu"] = {"value": "high", "interval": [1]}
    report["worst_losses"]["differences"] = {"counts": [1, -2], "edges": [0, 1, "x"]}
    report["comparisons"].append(None)
    html = render_html(report)
    assert len(_images(html)) == 1  # the histogram is refused, the bars still drawn


def test_long_cells_and_long_failure_lists_are_cut_with_a_note() -> None:
    outcome = make_outcome({"candidate": ["x" * 5000] + [""] * 249, "champion": ["y"] * 250},
                           {"candidate": [0.0] * 250, "champion": [1.0] * 250},
                           errors={"candidate": {i: f"error {i}" for i in range(1, 250)}})
    html = render_html(build_report(make_run(), outcome))
    assert "x" * 2000 + "… (5,000 characters)" in html and "x" * 2001 not in html
    assert "<h3>Generation (249)</h3>" in html and "… and 49 more in the JSON report." in html
    assert "error 200<" in html and "error 201<" not in html


def test_plot_labels_from_data_cannot_start_mathtext_or_markup() -> None:
    report = _hostile_report()
    report["models"]["<x>$\\frac{"] = {"metrics": {"$\\sqrt{": {"value": 1.0, "interval": {"low": 0, "high": 2}}}}
    svg = _images(render_html(report))[0]
    assert ET.fromstring(svg) is not None and "<x>" not in svg
