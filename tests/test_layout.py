"""Rooms a reader can hold: no module over 500 lines, no class over 300, no function over 80, and no
import cycle between the package's modules (module-level imports)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hf_seqmask"
MODULES = sorted(PACKAGE.rglob("*.py"))
LIMITS = {"module": 500, "class": 300, "function": 80}


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_modules_classes_and_functions_fit_a_reader(path):
    text = path.read_text()
    too_long = []
    if text.count("\n") > LIMITS["module"]:
        too_long.append(f"module {text.count(chr(10))} lines")
    for node in ast.walk(ast.parse(text)):
        kind = "class" if isinstance(node, ast.ClassDef) else "function"
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            if lines > LIMITS[kind]:
                too_long.append(f"{kind} {node.name} {lines} lines")
    assert not too_long, f"{path.name}: {too_long} (limits {LIMITS})"


def _module_level_imports(path: Path) -> set[str]:
    """The package modules ``path`` imports at module level (not inside functions or TYPE_CHECKING)."""
    name = _name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("hf_seqmask"):
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("hf_seqmask"))
    modules = {_name(p) for p in MODULES}
    return {m for m in found if m in modules and m != name}


def test_no_import_cycle_between_modules():
    graph = {_name(p): _module_level_imports(p) for p in MODULES}
    # A package's __init__ re-exports its modules: an edge into a package means "some module in it",
    # so only edges between plain modules can form a real cycle.
    packages = {_name(p) for p in MODULES if p.name == "__init__.py"}
    graph = {m: {d for d in deps if d not in packages} for m, deps in graph.items() if m not in packages}
    state: dict[str, int] = {}

    def visit(module, trail):
        state[module] = 1
        for dependency in sorted(graph.get(module, ())):
            if state.get(dependency) == 1:
                cycle = [*trail[trail.index(dependency) :], dependency]
                pytest.fail(f"import cycle: {' -> '.join(cycle)}")
            if dependency not in state:
                visit(dependency, [*trail, dependency])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
