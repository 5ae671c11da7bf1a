"""The sandbox templates run in: Jinja2's ``ImmutableSandboxedEnvironment`` with the hooks that
bound a render.

What the sandbox lacks and is added here:

- compile never evaluates: the optimizer is off, and the code generator folds only literal text
  (Jinja otherwise runs ``%``, filters and ``~`` on literals while compiling, outside every limit);
- ``+ * ** %`` and ``~`` check the size of their result before building it, and comparisons the
  size of the data they compare;
- every call (macros, ``caller``, methods, recursive ``loop(...)``) counts a step, checks the
  deadline and the call depth, and ``str`` methods that can grow a string are bounded first;
- ``str.format`` is bounded like ``%``, and ``format_map`` refused;
- ``{{ ... }}`` prints data only, never an object's representation;
- the output of a macro or block is measured before it is joined.
"""

from __future__ import annotations

from functools import lru_cache
from types import BuiltinMethodType, MethodType
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame, operators
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from llmops_common.templating import bounds
from llmops_common.templating.budget import budgeted, budgeted_range, current
from llmops_common.templating.filters import FILTERS, TESTS
from llmops_common.templating.limits import MAX_CALL_DEPTH, RenderRefused

_METHODS = (BuiltinMethodType, MethodType)


class TemplateCodeGenerator(CodeGenerator):
    """Jinja's code generator without compile-time evaluation, with ``~`` routed through the
    environment, and recording the names a template reads from its context."""

    def __init__(self, environment: Any, name: str | None, filename: str | None, *args: Any, **kwargs: Any) -> None:
        super().__init__(environment, name, filename, *args, **{**kwargs, "optimized": False})
        self.undeclared: set[str] = set()

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        if isinstance(node, nodes.TemplateData):
            return super()._output_child_to_const(node, frame, finalize)
        raise nodes.Impossible()

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        # a string is printed as it is; anything else goes through finalize (data only)
        self.write("(_o if type(_o := ")

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write(") is str else str(environment.finalize(_o)))")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("(environment.comparable(")
        self.visit(node.expr, frame)
        self.write(")")
        for operand in node.ops:
            self.write(f" {operators[operand.op]} environment.comparable(")
            self.visit(operand.expr, frame)
            self.write(")")
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_values((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")

    def enter_frame(self, frame: Frame) -> None:
        super().enter_frame(frame)
        for action, name in frame.symbols.loads.values():
            if action == "resolve" and name not in self.environment.globals:
                self.undeclared.add(name)


class TemplateEnvironment(ImmutableSandboxedEnvironment):
    code_generator_class = TemplateCodeGenerator
    intercepted_binops = frozenset(bounds.BINOPS)
    #: compiled templates bind ``concat = environment.concat`` and join every block's output with it
    concat = staticmethod(bounds.join_buffer)  # type: ignore[assignment]
    concat_values = staticmethod(bounds.concat)
    comparable = staticmethod(bounds.comparable)

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
                         auto_reload=False, optimized=False, finalize=bounds.printable, cache_size=0)
        self.filters = dict(FILTERS)
        self.tests = dict(TESTS)
        self.globals = {"range": budgeted_range}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        bounds.BINOP_CHECKS[operator](left, right)
        return current().charge(bounds.BINOPS[operator](left, right))

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        budget = current()
        budget.tick()
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str):
            args = bounds.str_method_args(owner, obj.__name__, args, kwargs)
        elif type(obj) is LoopContext and args:
            args = (budgeted(args[0]), *args[1:])
        elif isinstance(owner, LoopContext | list | tuple | dict):  # loop.changed(x), l.index(x), d.get(x)...
            for argument in args:
                bounds.comparable(argument)
        if budget.depth >= MAX_CALL_DEPTH:
            raise RenderRefused(f"calls nest more than {MAX_CALL_DEPTH} deep (a recursive macro or loop?)")
        budget.depth += 1
        try:
            result = super().call(context, obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        return budget.charge(result)

    def wrap_str_format(self, value: Any) -> Any:
        if type(value) not in _METHODS:
            return None
        sandboxed = super().wrap_str_format(value)
        if sandboxed is None:
            return None
        if value.__name__ == "format_map":
            return _refuse_format_map
        text = value.__self__

        def format_(*args: Any, **kwargs: Any) -> str:
            bounds.check_format(text, args, kwargs)
            return sandboxed(*args, **kwargs)

        return format_


def _refuse_format_map(*args: Any, **kwargs: Any) -> str:
    raise RenderRefused("str.format_map() is not available in templates")


@lru_cache(maxsize=1)
def environment() -> TemplateEnvironment:
    return TemplateEnvironment()
