"""Prompt templates: validation, variable checking and bounded, sandboxed rendering, shared by the
prompt service and its client library (so a client renders exactly what the service would).

Built on Jinja2's ``ImmutableSandboxedEnvironment``, restricted and bounded (see
docs/architecture.md, "Template render bounds"):

- ``validate`` never evaluates a template: it counts tokens, parses, checks the tree against an
  allow-list (syntax, filters, tests, nesting) and compiles with constant folding off;
- ``render`` runs within one budget per render (steps, a deadline, call depth, sizes checked before
  anything is built) and prints data only;
- ``RenderPool`` renders in killable worker processes with a memory limit, for a service that must
  keep answering while a hostile render runs.
"""

from llmops_common.templating.compiler import validate
from llmops_common.templating.isolation import RenderPool
from llmops_common.templating.limits import (
    MAX_OUTPUT_CHARS,
    MAX_RANGE_TOTAL,
    MAX_SEQUENCE,
    MAX_TEMPLATE_BYTES,
    RENDER_SECONDS,
    UnsafeTemplate,
)
from llmops_common.templating.render import as_text, render
from llmops_common.templating.schema import (
    CHAT_ROLES,
    NAME,
    TAG,
    ChatMessage,
    Delimiting,
    Template,
    VariableSpec,
    VariableType,
    bind,
)

__all__ = [
    "CHAT_ROLES", "MAX_OUTPUT_CHARS", "MAX_RANGE_TOTAL", "MAX_SEQUENCE", "MAX_TEMPLATE_BYTES", "NAME", "RENDER_SECONDS",
    "TAG", "ChatMessage", "Delimiting", "RenderPool", "Template", "UnsafeTemplate", "VariableSpec", "VariableType",
    "as_text", "bind", "render", "validate",
]
