"""The shape of the package, checked: no import cycles, private names stay home, small units, a header each.

These read the source (``ast``), so they cost nothing at import.  What they hold:

* **No import cycles** among dialfsm's modules, counting every import: at module
  level, under ``TYPE_CHECKING``, and inside functions.
* **No private name imported across modules**: ``from dialfsm.x import _y`` only
  within ``x`` itself.
* **Private attributes are touched only by friends**: a module reads or writes
  ``obj._field`` of another module's object only if :mod:`dialfsm._core`'s
  docstring names it among the friends (or the attribute belongs to a class of
  its own module).
* **Small units**: under ``dialfsm/`` (the testing toolkit included) no class
  is longer than 700 lines and no function longer than 40, docstrings not counted.
* **Every module says what it owns**: a docstring at the top of each.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dialfsm"
MODULES = {
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
    for p in sorted(PACKAGE.rglob("*.py"))
}
MAX_CLASS, MAX_FUNCTION = 700, 40


def _tree(module: str) -> ast.Module:
    return ast.parse(MODULES[module].read_text(encoding="utf-8"))


def _imports(module: str) -> Iterator[tuple[str, str]]:
    """``(imported module, name)`` for every import of a dialfsm module, anywhere in ``module``."""
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dialfsm"):
                    yield alias.name, ""
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dialfsm"):
            assert node.level == 0, f"{module}: relative import"
            for alias in node.names:
                yield node.module, alias.name


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, name in _imports(module):
            full = f"{target}.{name}"
            graph[module].add(full if full in MODULES else target)
    return graph


def test_there_is_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_checker_finds_a_cycle() -> None:
    """A cycle through a function-level import is found (the check is not vacuous)."""
    graph = _graph()
    assert "dialfsm._core" in graph["dialfsm._step"]
    graph["dialfsm._core"].add("dialfsm._step")
    seen, stack = set(), ["dialfsm._step"]
    while stack:
        node = stack.pop()
        for nxt in graph[node]:
            if nxt == "dialfsm._step":
                return
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    pytest.fail("no cycle found")


def test_no_private_name_is_imported_across_modules() -> None:
    bad = [
        f"{module}: from {target} import {name}"
        for module in MODULES
        for target, name in _imports(module)
        if name.startswith("_") and target != module
    ]
    assert bad == []


def _friends() -> set[str]:
    """The modules ``dialfsm._core``'s docstring names as friends (``* :mod:`dialfsm.x```)."""
    doc = ast.get_docstring(_tree("dialfsm._core")) or ""
    section = doc.split("**Who may touch the fields.**", 1)[1].split("\n\n", 2)[1]
    return set(re.findall(r"^\* :mod:`(dialfsm\.\w+)`", section, re.M))


def _own_private_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("_"):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            names.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if (
                    isinstance(item, ast.Assign)
                    and isinstance(item.value, ast.Tuple)
                    and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in item.targets)
                ):
                    names |= {
                        e.value for e in item.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
                    }
    return names


def test_private_attributes_are_touched_only_by_friends() -> None:
    friends = _friends() | {"dialfsm._core", "dialfsm._session"}
    assert {"dialfsm._step", "dialfsm._routing", "dialfsm._tracker"} <= friends
    bad = []
    for module in MODULES:
        tree = _tree(module)
        own = _own_private_names(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.endswith("_"):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if node.attr not in own and module not in friends:
                bad.append(f"{module}:{node.lineno} ._{node.attr.lstrip('_')}")
    assert bad == []


def _length(node: ast.AST) -> int:
    """Lines of ``node``, without the docstrings of it and of what it holds."""
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
    for sub in ast.walk(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and ast.get_docstring(sub):
            doc = sub.body[0]
            lines -= doc.end_lineno - doc.lineno + 1  # type: ignore[operator]
    return lines


def _units() -> Iterator[tuple[str, ast.AST, int]]:
    for module in MODULES:
        for node in ast.walk(_tree(module)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield module, node, _length(node)


def test_every_class_and_function_is_small() -> None:
    big = [
        f"{module}.{node.name}: {n} lines"  # type: ignore[attr-defined]
        for module, node, n in _units()
        if n > (MAX_CLASS if isinstance(node, ast.ClassDef) else MAX_FUNCTION)
    ]
    assert big == []


def test_the_facade_is_the_largest_class_and_stays_small() -> None:
    classes = sorted((n, f"{m}.{node.name}") for m, node, n in _units() if isinstance(node, ast.ClassDef))
    assert classes[-1][1] == "dialfsm._tracker.CallTracker"
    assert classes[-1][0] <= 600


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_says_what_it_owns(module: str) -> None:
    doc = ast.get_docstring(_tree(module))
    assert doc, f"{module} has no docstring"
    assert len(doc.split()) >= 5
