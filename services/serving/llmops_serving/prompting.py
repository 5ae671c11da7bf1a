"""Prompts from the prompt store: a release's pinned template, and gRPC's server-side templates.

Both go through ``PromptClient`` (cached, invalidated by the prompt store's events). Its errors are
re-labelled for a serving caller: a pinned prompt that vanished makes the release unservable
(FailedPrecondition); an unknown ``prompt_ref`` is the caller's NotFound.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from llmops_common.errors import FailedPrecondition, NotFound
from llmops_common.prompt_client import PromptClient
from llmops_common.templating import render
from llmops_common.templating.schema import Template
from llmops_serving.gateway import Message

PromptRenderer = Callable[[str, dict[str, Any]], Awaitable[tuple[str | None, tuple[Message, ...] | None]]]


class Prompts:
    def __init__(self, client: PromptClient) -> None:
        self.client = client

    async def pinned(self, ref: str) -> Template:
        """A release's pinned prompt ``name/version``."""
        try:
            return (await self.client.get(ref)).template
        except NotFound:
            raise FailedPrecondition(f"the release's pinned prompt {ref[:120]!r} no longer exists",
                                     field="prompt_version") from None

    async def render(self, ref: str, variables: dict[str, Any]) -> tuple[str | None, tuple[Message, ...] | None]:
        """(prompt text, None) for a text template, (None, messages) for a chat template."""
        try:
            entry = await self.client.get(ref)
        except NotFound:
            raise NotFound(f"no prompt {ref[:120]!r}", field="prompt_template.prompt_ref") from None
        rendered = render(entry.template, variables)
        if isinstance(rendered, str):
            return rendered, None
        return None, tuple(rendered)


