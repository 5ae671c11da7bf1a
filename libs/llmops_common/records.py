"""A dataset record as the text a model sees and the text it should answer, for each ingestion shape.
Training masks its loss on the first part; evaluation generates from it and scores against the second,
so both read a record the same way."""

from __future__ import annotations

from typing import Any

from llmops_common.templating import as_text, render
from llmops_common.templating.wire import template_from_wire


def record_prompt(record: dict[str, Any], shape: str, template: dict[str, Any] | None) -> tuple[str, str]:
    """(prompt, completion) for one record: instruction -> template(instruction, input) and ``output``;
    chat -> template(messages before the last assistant turn) and that turn; text -> nothing and the
    whole text. ``template`` is ``templating.wire.template_to_wire``; it gets only the fields it
    declares. A chat record with no assistant turn raises ValueError."""
    if shape == "text":
        return "", record["text"]
    tpl = template_from_wire(template or {})
    declared = {v.name for v in tpl.variables}
    if shape == "instruction":
        values = {"instruction": record["instruction"], "input": record.get("input") or ""}
        values = {k: v for k, v in values.items() if k in declared}
        return as_text(render(tpl, values)), record["output"]
    messages = list(record["messages"])
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        raise ValueError("a chat record has no assistant turn")
    earlier = [{"role": m["role"], "content": m["content"]} for m in messages[:last]]
    values = {"messages": earlier} if "messages" in declared else {}
    return as_text(render(tpl, values)), messages[last]["content"]
