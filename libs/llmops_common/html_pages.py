"""What the platform's self-contained HTML reports share: a Jinja2 page with autoescape (every string
from the data is hostile and shows as text), defensive readers for report data that may come back from
storage damaged (a missing or mistyped field shows as "n/a", never as an error), and SVG plots embedded
as ``data:`` images (an SVG shown as an image runs no script and cannot break out of the markup)."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, select_autoescape

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True), undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)


def page(package: str, name: str) -> Template:
    """The template ``name`` shipped in ``package``."""
    return _ENV.from_string(files(package).joinpath(name).read_text(encoding="utf-8"))


def as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def fmt(value: Any) -> str:
    """A number to four significant digits; "n/a" for null, NaN or anything else."""
    value = number(value)
    if not math.isfinite(value):
        return "n/a"
    return f"{value:,.0f}" if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"


def text(value: Any, limit: int) -> str:
    """``value`` as text, cut at ``limit`` characters with a note of its length."""
    out = value if isinstance(value, str) else ("" if value is None else str(value))
    return out if len(out) <= limit else f"{out[:limit]}… ({len(out):,} characters)"


def data_uri(svg: str | None) -> str | None:
    return None if svg is None else "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
