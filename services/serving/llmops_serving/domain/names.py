"""The names a client puts in ``model``: ``name@alias`` (a release), ``name/3`` (a version), or a bare
``name`` (a local model, or an adapter's name on one)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmops_common.errors import NotFound
from llmops_common.validation import quote

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,63}")
MAX_VERSION = 2**62


@dataclass(frozen=True)
class ModelName:
    model: str
    alias: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{self.model}@{self.alias}"
        if self.version is not None:
            return f"{self.model}/{self.version}"
        return self.model


def parse_model_name(text: object) -> ModelName:
    """The parsed name, or NotFound (a name that cannot exist is an unknown model)."""
    if not isinstance(text, str) or not text:
        raise NotFound("the model name is empty", field="model")
    model, at, alias = text.partition("@")
    if at:
        if NAME.fullmatch(model) and ALIAS.fullmatch(alias):
            return ModelName(model, alias=alias)
    else:
        model, slash, version = text.partition("/")
        if not slash and NAME.fullmatch(model):
            return ModelName(model)
        if (slash and NAME.fullmatch(model) and version.isascii() and version.isdigit()
                and len(version) <= len(str(MAX_VERSION))):
            number = int(version)
            if 1 <= number <= MAX_VERSION:
                return ModelName(model, version=number)
    raise NotFound(f"the model {quote(text, 80)} does not exist; name a release as name@alias or a version as "
                   "name/3", field="model")
