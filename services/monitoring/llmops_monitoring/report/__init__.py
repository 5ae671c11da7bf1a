"""The HTML report per model version: ``build_summary`` gathers the data, ``render_model_report``
renders it."""

from llmops_monitoring.report.build import DriftPoint, build_summary
from llmops_monitoring.report.html import render_model_report

__all__ = ["DriftPoint", "build_summary", "render_model_report"]
