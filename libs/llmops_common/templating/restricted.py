"""The restricted template language: an allow-list of syntax nodes, filters and tests, bounded
nesting, and no ``_``-prefixed attributes. Checked on the parsed tree, so nothing runs.

Left out of Jinja: ``extends``, ``include``, ``import`` and ``block`` (templates stand alone), and
the extension nodes (``do``, loop controls, autoescape overrides).
"""

from __future__ import annotations

from jinja2 import nodes

from llmops_common.errors import InvalidArgument
from llmops_common.templating.filters import FILTERS, TESTS
from llmops_common.templating.limits import MAX_BLOCK_DEPTH, MAX_EXPRESSION_DEPTH, MAX_INT_BITS, security_event

STATEMENTS = (nodes.Template, nodes.Output, nodes.For, nodes.If, nodes.Macro, nodes.CallBlock, nodes.FilterBlock,
              nodes.With, nodes.Assign, nodes.AssignBlock)
EXPRESSIONS = (nodes.TemplateData, nodes.Const, nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Slice, nodes.Tuple,
               nodes.List, nodes.Dict, nodes.Pair, nodes.Keyword, nodes.CondExpr, nodes.Filter, nodes.Test, nodes.Call,
               nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Neg, nodes.Pos, nodes.Add, nodes.Sub,
               nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow, nodes.Concat)
ALLOWED = frozenset(STATEMENTS + EXPRESSIONS)
#: statements whose bodies nest (an ``elif`` does not nest: it compiles to a flat Python ``elif``)
BLOCKS = (nodes.For, nodes.If, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.With, nodes.AssignBlock)
TEMPLATE_FILTERS = frozenset(name for name in FILTERS if name.isidentifier())


def _where(node: nodes.Node) -> str:
    return f"line {node.lineno}" if getattr(node, "lineno", None) else "the template"


def check_tree(tree: nodes.Template, field: str) -> None:
    """Refuse a parsed template that uses syntax, filters or tests outside the allow-list, nests too
    deeply, holds an oversized integer literal, or reaches for a ``_``-prefixed attribute."""
    stack: list[tuple[nodes.Node, int, int]] = [(tree, 0, 0)]
    while stack:
        node, blocks, depth = stack.pop()
        kind = type(node)
        if kind not in ALLOWED:
            raise InvalidArgument(f"{_where(node)} uses {kind.__name__.lower()}, which templates may not use",
                                  field=field)
        if isinstance(node, BLOCKS):
            blocks += 1
            if blocks > MAX_BLOCK_DEPTH:
                raise InvalidArgument(f"{_where(node)}: blocks nest more than {MAX_BLOCK_DEPTH} deep", field=field)
        depth = depth + 1 if isinstance(node, nodes.Expr) else 0
        if depth > MAX_EXPRESSION_DEPTH:
            raise InvalidArgument(f"{_where(node)}: an expression nests more than {MAX_EXPRESSION_DEPTH} deep",
                                  field=field)
        _check_node(node, field)
        elifs = {id(branch) for branch in node.elif_} if isinstance(node, nodes.If) else set()
        for child in node.iter_child_nodes():
            stack.append((child, blocks - 1 if id(child) in elifs else blocks, depth))


def _check_node(node: nodes.Node, field: str) -> None:
    if isinstance(node, nodes.Filter) and node.name not in TEMPLATE_FILTERS:
        raise InvalidArgument(f"{_where(node)}: there is no filter {node.name!r} in templates; they may use "
                              f"{', '.join(sorted(TEMPLATE_FILTERS))}", field=field)
    if isinstance(node, nodes.Test) and node.name not in TESTS:
        raise InvalidArgument(f"{_where(node)}: there is no test {node.name!r} in templates", field=field)
    if isinstance(node, nodes.Const) and isinstance(node.value, int) and node.value.bit_length() > MAX_INT_BITS:
        raise InvalidArgument(f"{_where(node)}: an integer literal is over {MAX_INT_BITS} bits", field=field)
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        attr = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(attr, str) and attr.startswith("_"):
            raise security_event("template reaches for an internal attribute",
                                 f"{field} accesses {attr[:40]!r}, which templates may not use")
