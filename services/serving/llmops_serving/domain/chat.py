"""Chat messages to the prompt text a model continues.

A release's pinned prompt renders them (its template may declare ``messages``, and ``instruction``
and ``input``, which get the last user message and ""), so a fine-tuned model sees the format it was
trained on (training renders records through the same ``as_text``). Without a pinned prompt the
tokenizer's chat template is used, else the platform's plain format: one ``role: content`` line per
message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmops_common.templating import ChatMessage, as_text, render
from llmops_common.templating.schema import Template


def chat_prompt(messages: Sequence[ChatMessage], *, template: Template | None, tokenizer: Any) -> str:
    plain = [{"role": m.role, "content": m.content} for m in messages]
    if template is not None:
        declared = {v.name for v in template.variables}
        last_user = next((m["content"] for m in reversed(plain) if m["role"] == "user"), "")
        values = {"messages": plain, "instruction": last_user, "input": ""}
        return as_text(render(template, {k: v for k, v in values.items() if k in declared}))
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(plain, add_generation_prompt=True, tokenize=False)
    return as_text(list(messages))
