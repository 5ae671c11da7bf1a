"""What a template may be and do, and the errors when it goes past that.

Every bound is checked before the work it bounds is done: a string that would be too long is never
built, a loop over budget stops at the step that crosses it. See docs/architecture.md, "Template
render bounds", for why each bound has the value it has.
"""

from __future__ import annotations

import logging
import re

from llmops_common.errors import PermissionDenied

security_log = logging.getLogger("llmops.security")

# -- the template itself (checked at validation, never by running it) --------------------------------
MAX_TEMPLATE_BYTES = 1024 * 1024
#: lexer tokens over all of a template's sources: what bounds parse and compile time (under a second)
MAX_TEMPLATE_TOKENS = 20_000
#: statement blocks (for, if, macro, call, filter, with, set) nested inside each other
MAX_BLOCK_DEPTH = 12
#: expression nodes nested inside each other (the compiled Python nests about twice as deep)
MAX_EXPRESSION_DEPTH = 40

# -- one render ------------------------------------------------------------------------------------
#: characters of output; also the most any one string, list or mapping a render builds may hold
MAX_OUTPUT_CHARS = 1_000_000
#: characters (or items) that all strings, lists and mappings built during one render may add up to
MAX_BUILT_SIZE = 10 * MAX_OUTPUT_CHARS
#: items of a list or tuple built with ``*`` or ``+``, and the count argument of slice and batch
MAX_SEQUENCE = 100_000
#: items that all calls of ``range`` in one render may produce together
MAX_RANGE_TOTAL = 100_000
#: loop iterations, calls and filter applications in one render
MAX_STEPS = 1_000_000
#: macro, caller and recursive-loop calls nested inside each other
MAX_CALL_DEPTH = 40
#: the largest integer a render may compute, in bits (a 4096-bit number has 1,234 digits)
MAX_INT_BITS = 4096
#: seconds of render time, checked at every loop iteration, call and filter
RENDER_SECONDS = 1.0

_ADDRESS = re.compile(r" (?:object )?at 0x[0-9a-fA-F]+")


class UnsafeTemplate(PermissionDenied):
    """A template or render that reached for what the sandbox forbids."""


class RenderRefused(Exception):
    """Raised inside a render when it would pass a bound or print something that is not data;
    ``render`` reports it as ``InvalidArgument`` naming the template field."""


def security_event(what: str, detail: str) -> UnsafeTemplate:
    """Log a security event and return the error to raise for it."""
    security_log.warning("security event: %s", what, extra={"security_event": what, "detail": detail[:500]})
    return UnsafeTemplate(f"refused: {detail}")


def plain_message(exc: BaseException) -> str:
    """An exception's message, short and without memory addresses (so none reach a client)."""
    text = _ADDRESS.sub("", str(exc)) or type(exc).__name__
    return text if len(text) <= 200 else f"{text[:200]}…"
