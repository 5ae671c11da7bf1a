"""The demo's end: the summary (the one JSON object of its last line) and the HTML report that links every
artifact. S3 artifacts are linked by a presigned URL (valid a day) next to their ``s3://`` address."""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path
from typing import Any

from llmops_cli.demo_setup import StepRecord
from llmops_cli.local import load_stack, service_env
from llmops_common.errors import DomainError
from llmops_common.settings import CommonSettings
from llmops_common.storage import ArtifactStore


def summarize(steps: list[StepRecord], state: dict[str, Any], seconds: float) -> dict[str, Any]:
    rounds = [state[key] for key in ("round1", "round2") if key in state]
    return {"rounds": rounds, "promoted_version": state.get("promoted", ""),
            "alerts": state.get("alerts", []), "new_dataset_version": state.get("feedback_version", ""),
            "dataset_version": state.get("dataset_version", ""), "base_model": state.get("base", ""),
            "steps": {s.name: round(s.seconds, 1) for s in steps}, "seconds": round(seconds, 1)}


def write_report(folder: Path, steps: list[StepRecord], summary: dict[str, Any]) -> Path:
    """``folder/report.html``: every step with its figures and artifacts, the rounds side by side."""
    link = _linker()
    rows = []
    for step in steps:
        figures = "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in step.figures.items())
        artifacts = "".join(f"<li>{_e(k)}: {link(v)}</li>" for k, v in step.artifacts.items() if v)
        rows.append(f"<tr><td>{_e(step.name)}</td><td>{step.seconds:.1f} s</td><td><ul>{figures}</ul></td>"
                    f"<td><ul>{artifacts}</ul></td></tr>")
    rounds = "".join(
        f"<tr><td>{i}</td><td>{_e(r.get('model_version'))}</td><td>{_e(r.get('status'))}</td>"
        f"<td>{_num(r.get('value'))} [{_num(r['interval'][0])}, {_num(r['interval'][1])}]</td>"
        f"<td>{_delta(r.get('base'))}</td><td>{_delta(r.get('champion'))}</td></tr>"
        for i, r in enumerate(summary["rounds"], 1))
    alerts = "".join(f"<li>{_e(a['kind'])} ({_e(a['severity'])}) on {_e(a['subject'])}: {_e(a['message'])}</li>"
                     for a in summary["alerts"])
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>make demo</title><style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:4px;
vertical-align:top}}table{{border-collapse:collapse}}</style></head><body>
<h1>make demo: the whole loop in {summary['seconds']:.0f} s</h1>
<h2>Rounds (ROUGE-L on the sample data's test split, 95% intervals)</h2>
<table><tr><th>round</th><th>model version</th><th>pipeline run</th><th>ROUGE-L</th><th>against the base</th>
<th>against the champion</th></tr>{rounds}</table>
<p>Promoted to production: {_e(summary['promoted_version'])}. New dataset version from feedback:
{_e(summary['new_dataset_version'])}.</p>
<h2>Alerts</h2><ul>{alerts}</ul>
<h2>Steps</h2><table><tr><th>step</th><th>time</th><th>figures</th><th>artifacts</th></tr>{''.join(rows)}</table>
</body></html>"""
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _linker():
    store = ArtifactStore.from_settings(CommonSettings.from_variables(service_env(load_stack())))

    def link(uri: str) -> str:
        if uri.startswith("s3://"):
            try:
                url = store.presigned_get_url(uri, expires=timedelta(days=1))
            except (DomainError, ValueError):  # a malformed address: shown, not linked
                return _e(uri)
            return f'<a href="{_e(url)}">{_e(uri)}</a>'
        if uri.startswith("/"):
            return f'<a href="file://{_e(uri)}">{_e(uri)}</a>'
        return _e(uri)

    return link


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "n/a"


def _delta(comparison: dict[str, Any] | None) -> str:
    if not comparison:
        return "-"
    low, high = comparison["delta_interval"]
    return f"{_num(comparison['delta'])} [{_num(low)}, {_num(high)}]"
