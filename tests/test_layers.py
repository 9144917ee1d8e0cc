"""Each layer imports only the layers below it (docs/architecture.md)."""

import ast
from pathlib import Path

import pytest

import snnlab

PACKAGE = Path(snnlab.__file__).parent
DESCRIBE = {"network", "models", "connectivity", "plasticity", "distributions", "checks"}
# layer -> the layers it may import (itself included)
ALLOWED = {
    "backend": {"backend"},
    **{d: DESCRIBE for d in DESCRIBE},
    "random": {"random", "backend"},
    "plan": {"plan"} | DESCRIBE,
    "step": {"step", "backend", "plan"},
    "state": {"state", "plan", "step", "backend", "random"} | DESCRIBE,
    "observe": {"observe", "step", "backend", "files"},
    "files": set(),
    "checkpoint": {"plan", "backend", "files"} | DESCRIBE,
    "protocol": DESCRIBE,
    # (the engines' side builds Simulations: above the façade, like the views)
    "distributed": {"distributed", "plan", "state", "observe", "backend", "simulation"},
    # (benchmark records: files written whole, the compiler's facts, the version)
    "bench": {"bench", "files", "backend", "__version__"},
    # (labelled spike data: arrays and files the user gives, nothing of a simulation)
    "data": {"data"},
    # (training: its own kernels through the backend, draws through random)
    "learning": {"learning", "backend", "random"},
    # (the recordings as Neo: reads a simulation through its public methods)
    "exchange": set(),
    # (NIR graphs: networks described in it, out of a simulation's public methods)
    "nir": DESCRIBE,
    # (PyNN's API: its objects collected, then a Network and a Simulation built)
    "pynn": {"pynn"} | DESCRIBE,
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported_layers(path: Path) -> set[str]:
    """The snnlab layers a module imports (relative imports, resolved)."""
    here = path.relative_to(PACKAGE).parent.parts
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = list(here[:len(here) - (node.level - 1)])
            target = base + (node.module.split(".") if node.module else [])
            if target:
                out.add(target[0])
            else:  # "from . import x" at the top: x is the layer
                out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("snnlab."):
            out.add(node.module.split(".")[1])
    return out


MODULES = [p for p in sorted(PACKAGE.rglob("*.py")) if _layer(p) in ALLOWED]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path):
    layer = _layer(path)
    bad = _imported_layers(path) - ALLOWED[layer]
    assert not bad, f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(bad)}"


def test_every_module_has_a_layer():
    above = {"__init__", "simulation", "viz", "zoo", "cli", "testing", "kernels"}
    unknown = {_layer(p) for p in PACKAGE.rglob("*.py")} - set(ALLOWED) - above
    assert not unknown, f"modules outside the layers of docs/architecture.md: {unknown}"
