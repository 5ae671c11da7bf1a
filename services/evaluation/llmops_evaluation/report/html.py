"""The report as one self-contained HTML page, rendered from ``report.html`` by Jinja2 with autoescape:
every string from the data (outputs, references, prompts, model names, failure reasons) is hostile
and shows as text. Plots are SVG documents embedded as ``data:`` images: an SVG shown as an image
runs no script and cannot break out of the page's markup or clash with its element ids.

The input is a ``build_report`` dict, possibly read back from storage, so every field is read
defensively: a missing or mistyped field shows as "n/a", never as an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmops_common.html_pages import as_dict as _dict
from llmops_common.html_pages import as_list as _list
from llmops_common.html_pages import data_uri, fmt, page, text
from llmops_common.html_pages import number as _number
from llmops_evaluation.report import plots

#: characters of one output, reference or prompt shown in a table cell
CELL_CHARS = 2000
#: failures listed per kind (the JSON report lists them all)
MAX_FAILURES_HTML = 200

_PAGE = page(__package__, "report.html")






def _text(value: Any, limit: int = CELL_CHARS) -> str:
    return text(value, limit)


def _interval(value: Any) -> str:
    interval = _dict(value)
    if not interval:
        return ""
    confidence = fmt(100 * _number(interval.get("confidence")))
    return f"[{fmt(interval.get('low'))}, {fmt(interval.get('high'))}] at {confidence}%"



def _metric_table(models: Mapping[str, Any]) -> tuple[list[str], list[dict[str, Any]], list[Any]]:
    roles = list(models)
    names: list[str] = []
    for role in roles:
        names += [name for name in _dict(_dict(models[role]).get("metrics")) if name not in names]
    rows, bars = [], []
    for name in names:
        cells, role_bars = [], []
        for role in roles:
            metric = _dict(_dict(_dict(models[role]).get("metrics")).get(name))
            interval = _dict(metric.get("interval"))
            cells.append({"value": fmt(metric.get("value")) if metric else "", "interval": _interval(interval)})
            if metric:
                low, high = (_number(interval.get("low")), _number(interval.get("high"))) if interval else (None, None)
                role_bars.append((role, _number(metric.get("value")), low, high))
        rows.append({"name": name, "cells": cells})
        bars.append((name, role_bars))
    return roles, rows, bars


def _side(value: Any) -> dict[str, str]:
    side = _dict(value)
    return {"role": _text(side.get("role")), "output": _text(side.get("output")), "error": _text(side.get("error")),
            "score": fmt(side.get("score"))}


def _comparison(c: Mapping[str, Any]) -> dict[str, str]:
    return {"metric": _text(c.get("metric"), 100), "baseline": _text(c.get("baseline_role"), 100),
            "delta": fmt(c.get("delta")), "interval": _interval(c.get("interval")), "p_value": fmt(c.get("p_value")),
            "test": _text(c.get("test"), 50), "verdict": _text(c.get("verdict"), 20)}


def _loss(e: Mapping[str, Any]) -> dict[str, Any]:
    return {"record_id": _text(e.get("record_id"), 200), "prompt": _text(e.get("prompt")),
            "reference": _text(e.get("reference")), "delta": fmt(e.get("delta")),
            "candidate": _side(e.get("candidate")), "baseline": _side(e.get("baseline"))}


def _failures(rows: Any, reason: str) -> tuple[list[dict[str, str]], int]:
    rows = _list(rows)
    shown = [{"role": _text(_dict(r).get("role")), "record_id": _text(_dict(r).get("record_id"), 200),
              "reason": _text(_dict(r).get(reason), 500)} for r in rows[:MAX_FAILURES_HTML]]
    return shown, max(len(rows) - MAX_FAILURES_HTML, 0)


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one HTML page (inline CSS, plots as embedded SVG images, no scripts)."""
    run = _dict(report.get("run"))
    models = _dict(report.get("models"))
    roles, metric_rows, bars = _metric_table(models)
    worst = _dict(report.get("worst_losses"))
    histogram = _dict(worst.get("differences"))
    counts = [_number(c) for c in _list(histogram.get("counts"))]
    edges = [_number(e) for e in _list(histogram.get("edges"))]
    generation_failures, generation_more = _failures(_dict(report.get("failures")).get("generation"), "error")
    judge_failures, judge_more = _failures(_dict(report.get("failures")).get("judge"), "reason")
    return _PAGE.render(
        run_id=_text(run.get("run_id"), 200),
        facts=[(label, _text(run.get(key), 500)) for label, key in (
            ("Model", "model_version"), ("Dataset", "dataset_version"), ("Split", "split"),
            ("Prompt", "prompt_version"), ("Training run", "training_run_id"), ("Created by", "created_by"),
            ("Created", "created_at"), ("Started", "started_at"))],
        examples=fmt(report.get("examples")),
        resolved=[(_text(role, 100), _text(uri, 500)) for role, uri in _dict(run.get("resolved_models")).items()],
        models=[{"role": _text(role, 100), "uri": _text(_dict(m).get("model_uri"), 500),
                 "generation_failures": fmt(_dict(m).get("generation_failures")),
                 "judge_failures": fmt(_dict(m).get("judge_failures"))} for role, m in models.items()],
        params=[(_text(k, 100), _text(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False), 500))
                for k, v in _dict(report.get("generation_params")).items()],
        signatures=[(_text(k, 100), _text(v, 500)) for k, v in _dict(report.get("signatures")).items()],
        roles=roles,
        metric_rows=metric_rows,
        comparisons=[_comparison(_dict(c)) for c in _list(report.get("comparisons"))],
        bars_plot=data_uri(plots.metric_bars(bars)),
        worst=bool(worst),
        worst_metric=_text(worst.get("metric"), 100),
        worst_baseline=_text(worst.get("baseline_role"), 100),
        worst_summary={k: fmt(worst.get(k)) for k in ("compared", "wins", "losses", "ties")},
        differences_plot=data_uri(plots.difference_histogram(counts, edges, str(worst.get("metric", "")),
                                                              str(worst.get("baseline_role", ""))))
        if worst else None,
        losses=[_loss(_dict(e)) for e in _list(worst.get("examples"))],
        generation_failures=generation_failures, generation_more=generation_more,
        judge_failures=judge_failures, judge_more=judge_more,
    )
