"""The package layout: one subpackage per domain, small modules, no import cycle."""

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "credit_scoring"
MAX_LINES = 500
DOMAINS = {"data", "features", "modeling", "governance", "monitoring", "api", "ui", "spark"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The credit_scoring modules a file imports at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("credit_scoring"):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("credit_scoring"))
    return found


def test_every_module_is_small():
    sizes = {module_name(p): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_domains_are_subpackages():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert DOMAINS <= folders


def test_no_import_cycle():
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for target in imports_of(path):
            if target in modules and target != name:
                graph.add_edge(name, target)
    # A package's __init__ re-exporting its own modules is not a cycle between modules.
    cycles = [
        cycle
        for cycle in nx.simple_cycles(graph)
        if not any(name + "." in other for name in cycle for other in cycle)
    ]
    assert cycles == []
