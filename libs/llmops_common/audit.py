"""The audit entry every service appends, in the same transaction as the change it records.

Each service stores it in its own ``audit_log`` table, keeping the columns it needs: the registry and
the prompt store record ``alias`` (a model alias or a prompt label), ``reason`` and ``before``/``after``;
ingestion records ``detail``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to which named thing (a model, prompt or dataset), and why."""

    actor: str
    action: str
    subject: str
    version: int | str | None = None  # a model or prompt version number; a dataset's content hash
    alias: str | None = None
    reason: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    correlation_id: str | None = None
    id: int | None = None  # assigned by the store
    occurred_at: datetime | None = None  # assigned by the store
    detail: dict[str, Any] | None = None
