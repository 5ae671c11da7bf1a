"""Opaque keyset cursors: a page token is the sort key of the last row returned, so pages stay
stable and every page is one indexed query however deep it is."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from llmops_common.errors import InvalidArgument

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page:
    size: int
    after: tuple[Any, ...] | None

    def next_key(self, rows: Sequence[T], key: Callable[[T], tuple[Any, ...]]) -> tuple[Any, ...] | None:
        """The sort key to continue after: that of the last row when the page is full, else None."""
        return key(rows[-1]) if len(rows) == self.size else None


def page(page_size: int, token: str) -> Page:
    if page_size < 0:
        raise InvalidArgument("page_size must not be negative", field="page.page_size")
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if not token:
        return Page(size, None)
    try:
        after = tuple(json.loads(base64.urlsafe_b64decode(token.encode())))
    except (ValueError, TypeError):
        raise InvalidArgument("not a page token this API issued", field="page.page_token") from None
    return Page(size, after)


def token(key: tuple[Any, ...] | None) -> str:
    """The token for the page after the row whose sort key is ``key`` ('' when there is none)."""
    if key is None:
        return ""
    return base64.urlsafe_b64encode(json.dumps(list(key), default=str).encode()).decode()
