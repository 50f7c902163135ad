"""Read the imports between a package's own modules from its source, without importing it.

The layering test (tests/layers_test.py) points these functions at ``src/deploywatch``; its planted-violation
tests point them at a small package written in a temporary directory.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Edge:
    """One import of ``target`` by ``source`` (module names relative to the package, e.g. ``checks.validate``)."""

    source: str
    target: str
    line: int
    type_checking: bool  # under ``if TYPE_CHECKING:``: read by mypy only, never executed


def module_names(root: Path) -> dict[str, Path]:
    """Every module of the package at ``root``, by its name relative to the package (``__init__`` for the root)."""
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, type_checking: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    # ast.walk would lose which imports sit under `if TYPE_CHECKING:`, so the tree is walked by hand.
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node, type_checking
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.body:
            yield from _walk(child, True)
        for child in node.orelse:
            yield from _walk(child, type_checking)
        return
    for child in ast.iter_child_nodes(node):
        yield from _walk(child, type_checking)


def imports(root: Path, package: str) -> list[Edge]:
    """Every import from one of the package's modules of another, at module level or inside functions.

    ``from pkg import name`` counts as an import of ``pkg.name`` when that is a module, else of ``pkg``.
    """
    modules = module_names(root)
    edges: list[Edge] = []
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        own = [] if name == "__init__" else name.split(".")
        # The package a relative import of level 1 starts from.
        base = own if is_package else own[:-1]
        for node, type_checking in _walk(ast.parse(path.read_text(encoding="utf-8"), str(path)), False):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
                candidates = [_ours(target, package) for target in targets]
            else:
                if node.level:
                    start = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                    prefix = [*start, *(node.module.split(".") if node.module else [])]
                else:
                    found = _ours(node.module or "", package)
                    if found is None:
                        continue
                    prefix = found.split(".") if found != "__init__" else []
                candidates = []
                for alias in node.names:
                    submodule = ".".join([*prefix, alias.name])
                    candidates.append(submodule if submodule in modules else ".".join(prefix) or "__init__")
            for target in candidates:
                if target is not None and target != name:
                    edges.append(Edge(name, target, node.lineno, type_checking))
    return edges


def _ours(dotted: str, package: str) -> str | None:
    if dotted == package:
        return "__init__"
    if dotted.startswith(package + "."):
        return dotted[len(package) + 1 :]
    return None


def area_of(module: str, areas: Mapping[str, str]) -> str | None:
    """The area (future package) of a module: its own entry in ``areas``, else its top-level package's."""
    return areas.get(module, areas.get(module.split(".", maxsplit=1)[0]))


def layer_violations(
    edges: Sequence[Edge], areas: Mapping[str, str], layers: Sequence[frozenset[str]]
) -> dict[str, Edge]:
    """Imports from a lower layer to a higher one, as ``"a -> b"`` (first such import of ``b`` in ``a``)."""
    rank = {area: index for index, layer in enumerate(layers) for area in layer}
    found: dict[str, Edge] = {}
    for edge in edges:
        source, target = area_of(edge.source, areas), area_of(edge.target, areas)
        if source is None or target is None:
            continue  # reported by unmapped_modules
        if rank[source] < rank[target]:
            found.setdefault(f"{edge.source} -> {edge.target}", edge)
    return found


def unmapped_modules(modules: Sequence[str], areas: Mapping[str, str], layers: Sequence[frozenset[str]]) -> list[str]:
    """Modules without an area, or whose area is in no layer."""
    known = {area for layer in layers for area in layer}
    return sorted(module for module in modules if area_of(module, areas) not in known)


def import_circles(edges: Sequence[Edge]) -> list[str]:
    """One circle per group of modules that import each other, as ``"a -> b -> a"``.

    Each group (a strongly connected component) is reported by its shortest circle through its
    alphabetically first module, so the text is stable however the files are read, followed by the group's
    other members (``"a -> b -> a (with c, d)"``): a new import that pulls more modules into a known
    circle then changes its text instead of hiding behind it.
    """
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    circles = []
    for group in _components(graph):
        if len(group) < 2:
            continue
        circle = _shortest_circle(graph, group, min(group))
        others = sorted(group - set(circle))
        circles.append(" -> ".join(circle) + (f" (with {', '.join(others)})" if others else ""))
    return sorted(circles)


def _components(graph: Mapping[str, set[str]]) -> list[set[str]]:
    # Tarjan's algorithm, iterative so that a long chain cannot exhaust the recursion limit.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                groups.append(group)
    return groups


def _shortest_circle(graph: Mapping[str, set[str]], group: set[str], start: str) -> list[str]:
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & group):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{start} is in a circle but none was found")  # unreachable for a component of 2+
