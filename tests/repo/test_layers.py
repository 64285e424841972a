"""The package's layers: imports only point down, and no module imports itself back.

    cli, __main__              the commands
    dev/                       simulator, local control plane and node, demos
    plugin/                    kubectl drs
    engine/                    kopf wiring, cache and queue, one reconcile pass, Kubernetes I/O
    outbound/                  coalescing, rate limiting, the client cache
    resource/                  pure: spec, status, reconcile steps, credentials
    app/                       settings, logs, metrics
    drs/                       the DRS client, usable on its own

A module may import from its own folder and from any folder below it, never from above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "drs_pause_operator"
RANK = {
    "drs": 0,
    "app": 1,
    "resource": 2,
    "outbound": 3,
    "engine": 4,
    "plugin": 4,
    "dev": 5,
    "cli": 6,
    "__main__": 7,
    "__init__": 0,
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Modules of the package this file imports (absolute or relative, lazy ones too)."""
    here = _module(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
    modules = {_module(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in found if m in modules and m != _module(path)}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


FILES = sorted(PACKAGE.rglob("*.py"))
GRAPH = {_module(p): _imports(p) for p in FILES}


def test_every_module_is_in_a_known_layer() -> None:
    assert {_layer(m) for m in GRAPH} <= set(RANK)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down(module: str) -> None:
    layer = _layer(module)
    upward = [
        target
        for target in sorted(GRAPH[module])
        if _layer(target) != layer and RANK[_layer(target)] >= RANK[layer]
        and _layer(target) != "__init__"
    ]
    assert upward == [], f"{module} imports from its own level or above: {upward}"


def test_no_import_cycle() -> None:
    # Package __init__ modules re-export their children: an edge into a package from its own
    # child is how Python loads it, not a cycle of the code.
    def edges(module: str) -> set[str]:
        return {t for t in GRAPH[module] if not module.startswith(t + ".")}

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(edges(module)):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
