"""Deployments: which serving replica serves, or served, which model version, as serving reports it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from llmops_common.errors import InvalidArgument
from llmops_common.validation import check_text, quote
from llmops_registry.domain.governance import parse_model_uri, validate_alias
from llmops_registry.domain.model import validate_model_name

MAX_DEPLOYMENT = 512  # a requested model: name@alias or name/N
MAX_REPLICA = 255
MAX_PROMPT_VERSION = 255


@dataclass(frozen=True)
class DeploymentSwitch:
    """One replica switching a deployment's route to a model version (one serving event, by its id).
    ``loaded_at`` is when the replica switched; ``alias`` is "" for a deployment pinned to a version."""

    event_id: uuid.UUID
    deployment: str
    replica: str
    model_name: str
    version: int
    alias: str
    loaded_at: datetime
    previous_version: int | None = None
    prompt_version: str = ""

    def validate(self, model_version_uri: str) -> None:
        """Bounded names, and ``model_version_uri`` naming this switch's own model version."""
        for value, name, limit in ((self.deployment, "deployment", MAX_DEPLOYMENT),
                                   (self.replica, "replica", MAX_REPLICA)):
            if not check_text(value, name, max_len=limit).strip():
                raise InvalidArgument(f"{name} must not be empty", field=name)
        validate_model_name(self.model_name, field_name="model_name")
        if self.version < 1:
            raise InvalidArgument(f"version must be at least 1, not {self.version}", field="version")
        if self.alias:
            validate_alias(self.alias)
        check_text(self.prompt_version, "prompt_version", max_len=MAX_PROMPT_VERSION)
        ref = parse_model_uri(model_version_uri, field_name="model_version_uri")
        if (ref.model_name, ref.version) != (self.model_name, self.version):
            raise InvalidArgument(f"{quote(model_version_uri)} is not models:/{self.model_name}/{self.version}",
                                  field="model_version_uri")


@dataclass(frozen=True)
class Deployment:
    """A (deployment, replica) that served ``model_name``/``version``: from its latest switch to that
    version; ``current`` while it still serves it."""

    deployment: str
    replica: str
    model_name: str
    version: int
    alias: str
    prompt_version: str
    loaded_at: datetime
    current: bool
