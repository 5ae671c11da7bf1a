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
from llmops_common.validation import check_request_id, check_text, fullmatch_name, quote

PROMPT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
#: lower case only, so a case variant ('Production') can never sit beside a protected label
LABEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
LATEST = "latest"
DEFAULT_LABELS = ("production", LATEST)
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 5000


def validate_prompt_name(name: str, *, field_name: str = "name") -> None:
    fullmatch_name(PROMPT_NAME, name, field_name, "prompt name",
                   "prompt names are 1-255 letters, digits, '.', '_' or '-', starting with a letter or digit")


def validate_label(label: str) -> None:
    if label.casefold() == LATEST:
        raise InvalidArgument("'latest' is maintained automatically and cannot be set", field="label")
    fullmatch_name(LABEL, label, "label", "label", "labels are 1-63 lower-case letters, digits, '_' or '-'")


def validate_tags(tags: dict[str, str], field: str = "tags") -> None:
    for key, value in tags.items():
        if not key:
            raise InvalidArgument("a tag key must not be empty", field=field)
        check_text(key, field, max_len=MAX_TAG_KEY)
        check_text(value, f"{field}[{quote(key)}]", max_len=MAX_TAG_VALUE)


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
        check_request_id(self.request_id)
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
