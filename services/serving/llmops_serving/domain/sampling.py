"""A request's sampling parameters: what the client set, else the release's pinned parameters, else
the service's defaults; then checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmops_common.errors import InvalidArgument
from llmops_inference.params import SamplingParams

FIELDS = SamplingParams.names()


def release_defaults(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The pinned parameters a release may set (others are ignored); whole floats become ints where
    the field is an integer (a protobuf Struct holds every number as a double)."""
    out: dict[str, Any] = {}
    for name, value in parameters.items():
        if name not in FIELDS:
            continue
        if name in ("max_tokens", "top_k", "seed", "min_tokens", "logprobs") and isinstance(value, float) \
                and value.is_integer():
            value = int(value)
        if name == "stop":
            value = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, list | tuple) else value
        out[name] = value
    return out


def resolve(client: Mapping[str, Any], release: Mapping[str, Any], *, default_max_tokens: int,
            max_tokens_limit: int) -> tuple[SamplingParams, bool]:
    """(parameters, whether ``max_tokens`` was asked for by the client or release)."""
    unknown = sorted(set(client) - FIELDS)
    if unknown:
        raise InvalidArgument("unknown sampling parameter", field=unknown[0])
    merged: dict[str, Any] = {**release_defaults(release), **client}
    asked = "max_tokens" in merged
    merged.setdefault("max_tokens", min(default_max_tokens, max_tokens_limit))
    if "stop" in merged:
        stop = merged["stop"]
        merged["stop"] = (stop,) if isinstance(stop, str) else tuple(stop) if isinstance(stop, list | tuple) else stop
        if not isinstance(merged["stop"], tuple):
            raise InvalidArgument("must be a string or a list of strings", field="stop")
    return SamplingParams(**merged).checked(max_tokens_limit=max_tokens_limit), asked
