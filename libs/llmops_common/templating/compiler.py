"""From template source to a runnable template, without running any of it: count tokens, parse,
check the restricted tree, instrument every loop, generate and compile the Python.

``validate`` does all of it (and discards the result) when a version is created; ``compiled`` does
it once per source and caches the result for rendering, so a version stored before a rule was
added is held to the rule too.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import islice

import jinja2
from jinja2 import TemplateSyntaxError, nodes

from llmops_common.errors import DomainError, InvalidArgument
from llmops_common.templating.environment import TemplateCodeGenerator, environment
from llmops_common.templating.filters import LOOP_BUDGET
from llmops_common.templating.limits import MAX_TEMPLATE_BYTES, MAX_TEMPLATE_TOKENS, plain_message
from llmops_common.templating.restricted import check_tree
from llmops_common.templating.schema import Template, check_declarations


def _location(exc: TemplateSyntaxError, source: str) -> str:
    line = exc.lineno or 1
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    opener = max(text.rfind("{{"), text.rfind("{%"))
    return f"line {line}, column {opener + 1 if opener >= 0 else 1}"


def count_tokens(source: str, field: str, allowed: int = MAX_TEMPLATE_TOKENS) -> int:
    """The lexer tokens in ``source``, refusing more than ``allowed`` before parsing any."""
    try:
        tokens = sum(1 for _ in islice(environment().lexer.tokeniter(source, None), allowed + 1))
    except TemplateSyntaxError as exc:
        raise InvalidArgument(f"does not parse at {_location(exc, source)}: {exc.message}", field=field) from None
    if tokens > allowed:
        raise InvalidArgument(f"the template has more than {MAX_TEMPLATE_TOKENS:,} tokens in all", field=field)
    return tokens


def compile_source(source: str, field: str) -> tuple[jinja2.Template, set[str]]:
    """Parse, check and compile ``source``; returns the template and the names it reads."""
    try:
        tree = environment().parse(source)
    except TemplateSyntaxError as exc:
        raise InvalidArgument(f"does not parse at {_location(exc, source)}: {exc.message}", field=field) from None
    except (RecursionError, MemoryError):
        raise InvalidArgument("the template nests too deeply to parse", field=field) from None
    except ValueError:  # an integer literal past Python's digit limit
        raise InvalidArgument("does not parse: a number literal is too long", field=field) from None
    check_tree(tree, field)
    for loop in list(tree.find_all(nodes.For)):
        loop.iter = nodes.Filter(loop.iter, LOOP_BUDGET, [], [], None, None, lineno=loop.lineno)
    env = environment()
    generator = TemplateCodeGenerator(env, "<template>", None)
    try:
        generator.visit(tree)
        code = compile(generator.stream.getvalue(), "<template>", "exec")
    except TemplateSyntaxError as exc:
        raise InvalidArgument(f"does not compile at {_location(exc, source)}: {exc.message}", field=field) from None
    except Exception as exc:  # noqa: BLE001 - Python's own limits (nesting, size): never an internal error
        raise InvalidArgument(f"the template is too complex to compile: {plain_message(exc)}", field=field) from None
    return env.template_class.from_code(env, code, env.make_globals(None)), generator.undeclared


def validate(template: Template) -> None:
    """Refuse a template that is malformed, uses undeclared variables or syntax outside the
    restricted language, or reaches for internals. Nothing in it is evaluated."""
    check_declarations(template)
    size = sum(len(src.encode(errors="surrogatepass")) for _, src in template.sources())
    if size > MAX_TEMPLATE_BYTES:
        raise InvalidArgument(f"template is {size} bytes; the limit is {MAX_TEMPLATE_BYTES}", field="template")
    allowed, used = MAX_TEMPLATE_TOKENS, set()
    for field, source in template.sources():
        allowed -= count_tokens(source, field, allowed)
    for field, source in template.sources():
        used |= compile_source(source, field)[1]
    undeclared = sorted(used - {v.name for v in template.variables})
    if undeclared:
        raise InvalidArgument(f"the template uses undeclared variables {[n[:40] for n in undeclared[:10]]}",
                              field="variables")


@lru_cache(maxsize=256)
def _cached(source: str) -> jinja2.Template | DomainError:
    try:
        count_tokens(source, "template")
        return compile_source(source, "template")[0]
    except DomainError as exc:
        return exc


def compiled(source: str, field: str) -> jinja2.Template:
    """The runnable template for ``source`` (cached), or the error validation would have given."""
    result = _cached(source)
    if isinstance(result, DomainError):
        raise type(result)(result.message, field=field)
    return result
