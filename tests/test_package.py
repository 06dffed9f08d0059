"""The package's structure: no import cycles, public names, one place for each thing."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import zjfin

PACKAGE = Path(zjfin.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="zjfin."):
        spec = importlib.util.find_spec(info.name)
        out[info.name] = Path(spec.origin)
    out["zjfin"] = PACKAGE / "__init__.py"
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """zjfin modules that module ``name`` imports, at any depth of its code (imports inside
    functions count: they run too), except under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from zjfin import _cli`` imports a module, ``from zjfin import screen`` a name.
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" and node.args:
            if isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    out = set()
    for target in found:
        if target in known and target != name:
            out.add(target)
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = walk(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = walk(node)
            if found:
                return found
    return None


def test_no_import_cycles():
    modules = _modules()
    known = set(modules)
    # A package's __init__ runs before its modules: a module importing its own package
    # (``from zjfin import __version__``) closes a cycle, so packages count as nodes too.
    graph = {name: _imports(name, path, known) for name, path in modules.items()}
    assert _cycle(graph) is None, " → ".join(_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_public_function_shadows_its_module():
    import sys

    import zjfin.model  # noqa: F401 - loaded on demand otherwise

    for name in zjfin.__all__:
        value = getattr(zjfin, name)
        module = sys.modules.get(f"zjfin.{name}")
        assert module is None or value is module, f"zjfin.{name} shadows the module zjfin.{name}"
    assert sys.modules["zjfin._screen"].screen is zjfin.screen


def test_every_error_is_exported():
    import zjfin._errors as errors

    classes = {name for name, value in vars(errors).items() if isinstance(value, type) and issubclass(value, Exception)}
    assert classes <= set(zjfin.__all__)
    assert zjfin.PolicyError.__module__ == "zjfin"
    assert issubclass(zjfin.ModelFormatError, zjfin.ZjfinError) and issubclass(zjfin.ModelDataError, zjfin.ZjfinError)


@pytest.mark.parametrize("name", sorted(m for m in _modules() if not m.endswith("__main__")))
def test_every_module_imports(name):
    importlib.import_module(name)
