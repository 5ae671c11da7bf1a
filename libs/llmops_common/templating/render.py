"""Render a template in this process, within one budget: steps, a deadline, call depth, and the size
of everything built and printed. Whatever goes wrong inside a render is the template's or the
values' fault and is reported as ``InvalidArgument`` (or ``UnsafeTemplate`` for what the sandbox
forbids), naming the field, never as an internal error."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from jinja2.exceptions import SecurityError, UndefinedError

from llmops_common.errors import InvalidArgument
from llmops_common.templating import budget
from llmops_common.templating.compiler import compiled
from llmops_common.templating.limits import (
    MAX_OUTPUT_CHARS,
    RENDER_SECONDS,
    RenderRefused,
    plain_message,
    security_event,
)
from llmops_common.templating.schema import ChatMessage, Template, bind

#: output chunks taken between two checks of the output size (a chunk is at most one value or literal)
_CHUNKS = 32


def render(template: Template, values: Mapping[str, Any], *, seconds: float = RENDER_SECONDS
           ) -> str | list[ChatMessage]:
    """Render a text template to a string, or a chat template to its messages."""
    variables = bind(template.variables, values)
    variables["range"] = budget.budgeted_range
    runnable = [(field, compiled(source, field)) for field, source in template.sources()]
    token = budget.begin(seconds)
    try:
        outputs = [_render_source(code, variables, field) for field, code in runnable]
    finally:
        budget.end(token)
    if template.text is not None:
        return outputs[0]
    return [ChatMessage(m.role, output) for m, output in zip(template.messages, outputs, strict=True)]


def _render_source(code: Any, variables: dict[str, Any], field: str) -> str:
    chunks: list[str] = []
    size = 0
    try:
        context = code.environment.context_class(code.environment, variables, code.name, code.blocks)
        stream: Iterator[str] = code.root_render_func(context)
        while batch := list(islice(stream, _CHUNKS)):
            size += sum(map(len, batch))
            if size > MAX_OUTPUT_CHARS:
                raise RenderRefused(f"the rendered output exceeds {MAX_OUTPUT_CHARS:,} characters")
            chunks += batch
    except RenderRefused as exc:
        raise InvalidArgument(str(exc), field=field) from None
    except SecurityError as exc:
        raise security_event("render refused by the sandbox", f"{field}: {plain_message(exc)}") from None
    except UndefinedError as exc:
        raise InvalidArgument(plain_message(exc), field=field) from None
    except RecursionError:
        raise InvalidArgument("the render recursed too deeply", field=field) from None
    except MemoryError:
        raise InvalidArgument("the render ran out of memory", field=field) from None
    except OverflowError:
        raise InvalidArgument("a number in the render is too large", field=field) from None
    except Exception as exc:  # noqa: BLE001 - any other failure inside a render is the template's
        raise InvalidArgument(f"the render failed: {type(exc).__name__}: {plain_message(exc)}", field=field) from None
    return "".join(chunks)


def as_text(rendered: str | Sequence[ChatMessage]) -> str:
    """A rendered prompt as the text a model sees: a chat prompt is one ``role: content`` line per
    message. Training renders records and serving renders requests through this one function."""
    if isinstance(rendered, str):
        return rendered
    return "".join(f"{m.role}: {m.content}\n" for m in rendered)
