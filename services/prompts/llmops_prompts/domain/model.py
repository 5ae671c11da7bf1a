"""Prompts, versions, labels, and the rules that validate them; diffs between versions."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from llmops_common.errors import InvalidArgument
from llmops_common.templating import Template, validate

PROMPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
LATEST = "latest"
DEFAULT_LABELS = ("production", LATEST)


def validate_prompt_name(name: str, *, field_name: str = "name") -> None:
    if not PROMPT_NAME.match(name or ""):
        raise InvalidArgument("prompt names are 1-255 letters, digits, '.', '_' or '-'", field=field_name)


def validate_label(label: str) -> None:
    if not LABEL.match(label or ""):
        raise InvalidArgument("labels are 1-63 letters, digits, '_' or '-'", field="label")
    if label.lower() == LATEST:
        raise InvalidArgument("'latest' is maintained automatically and cannot be set", field="label")


def validate_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        if not key or len(key) > 128 or len(value) > 5000:
            raise InvalidArgument(f"invalid tag {key!r}", field="tags")


@dataclass(frozen=True)
class Prompt:
    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    latest_version: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class PromptVersion:
    prompt_name: str
    version: int
    template: Template
    model_config: dict[str, Any]
    commit_message: str
    author: str
    sha256: str = ""
    request_id: str = ""
    labels: tuple[str, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True)
class CreateVersion:
    prompt_name: str
    template: Template
    model_config: dict[str, Any] = field(default_factory=dict)
    commit_message: str = ""
    request_id: str = ""

    def validate(self) -> None:
        validate_prompt_name(self.prompt_name, field_name="prompt_name")
        validate(self.template)

    def digest(self) -> str:
        body = {"template": template_json(self.template), "model_config": self.model_config}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def template_json(template: Template) -> dict[str, Any]:
    body: dict[str, Any] = {"variables": [asdict(v) for v in template.variables]}
    if template.text is not None:
        body["text"] = template.text
    else:
        body["messages"] = [asdict(m) for m in template.messages]
    return body


# -- diff -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    path: str
    kind: str  # added | removed | modified
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class VersionDiff:
    template_diff: str
    variable_changes: list[FieldChange]
    model_config_changes: list[FieldChange]
    type_changed: bool


def _template_lines(template: Template) -> list[str]:
    if template.text is not None:
        return template.text.splitlines()
    return [line for m in template.messages for line in (f"[{m.role}]", *m.content.splitlines())]


def _dict_changes(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[FieldChange]:
    changes = []
    for key in sorted(set(before) | set(after)):
        path = f"{prefix}{key}"
        if key not in before:
            changes.append(FieldChange(path, "added", None, after[key]))
        elif key not in after:
            changes.append(FieldChange(path, "removed", before[key], None))
        elif isinstance(before[key], dict) and isinstance(after[key], dict):
            changes.extend(_dict_changes(before[key], after[key], f"{path}."))
        elif before[key] != after[key]:
            changes.append(FieldChange(path, "modified", before[key], after[key]))
    return changes


def diff(old: PromptVersion, new: PromptVersion) -> VersionDiff:
    lines = difflib.unified_diff(
        _template_lines(old.template), _template_lines(new.template),
        fromfile=f"{old.prompt_name}/{old.version}", tofile=f"{new.prompt_name}/{new.version}", lineterm="",
    )
    variables = _dict_changes({v.name: asdict(v) for v in old.template.variables},
                              {v.name: asdict(v) for v in new.template.variables}, "variables.")
    return VersionDiff("\n".join(lines), variables,
                       _dict_changes(old.model_config, new.model_config, "model_config."),
                       old.template.kind != new.template.kind)
