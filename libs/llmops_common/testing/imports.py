"""What a package's modules import, read from their source (imports inside functions included, so a
cycle cannot hide in a deferred import), for the structure tests: no import cycles, no production
module importing a fake."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path


def _imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """``(module, names)`` per absolute import in ``path``: ``import a.b`` -> ``("a.b", [])``,
    ``from a import b, c`` -> ``("a", ["b", "c"])``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module, [a.name for a in node.names]


def imported_modules(path: Path) -> set[str]:
    """Every name an import in ``path`` gives (``from a import b`` counts ``a`` and ``a.b``)."""
    return {name for module, names in _imports(path) for name in (module, *(f"{module}.{n}" for n in names))}


def import_graph(package: Path) -> dict[str, set[str]]:
    """Each module of the package at ``package`` (dotted, e.g. ``llmops_cli.rpc``) -> the package's
    modules it imports. ``from a import b`` depends on the module ``a.b`` where there is one, else on
    ``a``; a submodule's parent package is not counted (Python has it imported before the submodule)."""
    modules = {".".join(p.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for module, names in _imports(path):
            deps |= {f"{module}.{n}" if f"{module}.{n}" in modules else module for n in names} or {module}
        graph[name] = (deps & modules.keys()) - {name}
    return graph


def import_cycle(package: Path) -> list[str] | None:
    """One import cycle among the package's modules (its first module repeated at the end), or None."""
    try:
        list(TopologicalSorter(import_graph(package)).static_order())
    except CycleError as exc:
        return list(exc.args[1])
    return None
