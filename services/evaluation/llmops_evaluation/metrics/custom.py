"""Custom metrics from installed packages: the entry-point group ``llmops.evaluation.metrics``. Each entry
point names a callable ``(predictions, references, inputs) -> Sequence[float]`` giving one finite score
per example (reported as a mean with a bootstrap interval); greater is better unless the callable has
``greater_is_better = False``. Only installed entry points are ever loaded, never a module path taken
from a request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata

import numpy as np

from llmops_common.errors import InvalidArgument
from llmops_common.validation import quote

GROUP = "llmops.evaluation.metrics"
FIELD = "spec.metrics"


def names() -> frozenset[str]:
    """The installed custom metrics' names (nothing is imported)."""
    return frozenset(entry.name for entry in metadata.entry_points(group=GROUP))


@dataclass(frozen=True)
class CustomMetric:
    name: str
    function: Callable[[list[str], list[str], list[str]], Sequence[float]]

    @property
    def greater_is_better(self) -> bool:
        return bool(getattr(self.function, "greater_is_better", True))

    def __call__(self, predictions: Sequence[str], references: Sequence[str], inputs: Sequence[str]) -> np.ndarray:
        """One finite score per example; InvalidArgument naming the metric otherwise."""
        count = len(predictions)
        try:
            returned = self.function(list(predictions), list(references), list(inputs))
        except Exception as exc:  # a plugin's failure of any kind is reported, named, as bad input
            raise InvalidArgument(f"custom metric {self.name!r} raised {type(exc).__name__}: {quote(str(exc), 80)}",
                                  field=FIELD) from exc
        try:
            values = np.asarray(returned, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"custom metric {self.name!r} did not return numbers", field=FIELD) from exc
        if values.shape != (count,):
            raise InvalidArgument(f"custom metric {self.name!r} returned {values.size} scores of shape "
                                  f"{values.shape} for {count} examples", field=FIELD)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise InvalidArgument(f"custom metric {self.name!r} returned a non-finite score "
                                  f"({values[bad[0]]}) for example {bad[0]}", field=FIELD)
        return values


def load(name: str) -> CustomMetric:
    """The installed entry point ``name`` (the first, if several packages declare it), loaded."""
    entries = sorted(metadata.entry_points(group=GROUP, name=name), key=lambda entry: entry.value)
    if not entries:
        raise InvalidArgument(f"unknown metric {quote(name)}", field=FIELD)
    try:
        function = entries[0].load()
    except Exception as exc:  # an installed plugin that does not import is reported, named
        raise InvalidArgument(f"custom metric {name!r} could not be loaded: {type(exc).__name__}: "
                              f"{quote(str(exc), 80)}", field=FIELD) from exc
    if not callable(function):
        raise InvalidArgument(f"custom metric {name!r} is not callable", field=FIELD)
    return CustomMetric(name, function)
