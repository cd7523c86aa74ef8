"""The CRM's feature packages import each other without a cycle: a newcomer can read them
bottom up (activities, clients, plans, tasks, claims, emails …), and a change low down
never has to know about the code above it.

The graph: one node per feature package of ``realtoros_crm`` (every sub-package but the
HTTP layer ``api`` and ``web``, which sit on top of all of them, and ``migrations``); an
edge A → B for every import, anywhere in A (``TYPE_CHECKING`` blocks and function bodies
included), of a module of B — except B's ``models``: the tables are one schema, mapped
together (``realtoros_crm.models``), whose foreign keys go both ways."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import realtoros_crm

ROOT = Path(realtoros_crm.__file__).parent
NOT_FEATURES = {"api", "web", "migrations"}
SHARED_MODULES = {"models"}


def feature_packages(root: Path = ROOT) -> set[str]:
    return {
        path.name
        for path in root.iterdir()
        if (path / "__init__.py").exists() and path.name not in NOT_FEATURES
    }


def imported_modules(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def import_graph(root: Path = ROOT) -> dict[str, dict[str, set[str]]]:
    """package → the packages it imports → the files that do (relative to ``root``)."""
    packages = feature_packages(root)
    graph: dict[str, dict[str, set[str]]] = {package: {} for package in packages}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            for module in imported_modules(ast.parse(path.read_text(), str(path))):
                parts = module.split(".")
                if len(parts) < 3 or parts[0] != "realtoros_crm":
                    continue
                other, name = parts[1], parts[2]
                if other != package and other in packages and name not in SHARED_MODULES:
                    files = graph[package].setdefault(other, set())
                    files.add(str(path.relative_to(root)))
    return graph


def find_cycle(graph: dict[str, dict[str, set[str]]]) -> list[str] | None:
    """One cycle of the graph (its packages, the first repeated at the end), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for other in sorted(graph[node]):
            if cycle := visit(other, [*path, node]):
                return cycle
        done.add(node)
        return None

    for node in sorted(graph):
        if cycle := visit(node, []):
            return cycle
    return None


def describe(graph: dict[str, dict[str, set[str]]], cycle: list[str]) -> str:
    steps = [f"{a} -> {b} ({', '.join(sorted(graph[a][b]))})" for a, b in itertools.pairwise(cycle)]
    return "import cycle between the CRM's feature packages:\n  " + "\n  ".join(steps)


def test_the_feature_packages_import_each_other_without_a_cycle() -> None:
    graph = import_graph()
    assert {"claims", "emails", "tasks", "plans", "activities", "clients"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, describe(graph, cycle)


def test_the_check_finds_a_cycle(tmp_path: Path) -> None:
    """The check itself: a cycle through three packages is found, one through ``models``
    is not (the shared schema)."""
    files = {
        "a/service.py": "from realtoros_crm.b.service import x\n",
        "b/service.py": "from realtoros_crm.c import repository\n",
        "c/repository.py": "def f():\n    from realtoros_crm.a.service import y\n",
        "d/models.py": "from realtoros_crm.e.models import E\n",
        "e/models.py": "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from realtoros_crm.d.models import D\n",
        "e/service.py": "from realtoros_crm.d.models import D\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(text)
    graph = import_graph(tmp_path)
    assert graph["c"] == {"a": {"c/repository.py"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    del graph["c"]["a"]
    assert find_cycle(graph) is None
    # Models import each other (and are imported) without making edges.
    assert graph["d"] == {}
    assert graph["e"] == {}
