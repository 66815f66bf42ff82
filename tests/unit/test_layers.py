"""The library's rooms: each package imports only from itself and the packages below it, and the
product never imports the test or benchmark tools (read from the source, so no import is missed)."""

import ast
from pathlib import Path

import pytest

from dae_core.settings import PROJECT_ROOT

# Bottom up: a module may import from its own layer and the layers before it.
LAYERS = ("settings errors tasks", "data", "store", "images", "models", "analysis", "training",
          "studies", "cli")
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names.split()}
PRODUCT = ["app.py", "dae_core", "dashboard", "pages"]


def dae_core_imports(path: Path) -> set[str]:
    """The dae_core packages or top-level modules a file imports (at any depth in the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "dae_core" and len(parts) > 1:
                found.add(parts[1])
            elif parts[0] == "dae_core" and isinstance(node, ast.ImportFrom):
                found |= {a.name for a in node.names}
    return found


def product_files() -> list[Path]:
    files = []
    for entry in PRODUCT:
        path = PROJECT_ROOT / entry
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def layer_of(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT / "dae_core").parts
    return parts[0] if len(parts) > 1 else Path(parts[0]).stem


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "dae_core").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_a_module_imports_only_its_own_layer_and_those_below(path):
    own = layer_of(path)
    if own in ("__init__", "__main__"):
        return
    upward = {name for name in dae_core_imports(path) if RANK.get(name, -1) > RANK[own]}
    assert not upward, f"{path.name} ({own}) imports {upward}, above it"


def test_every_package_is_in_a_layer():
    packages = {p.name for p in (PROJECT_ROOT / "dae_core").iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in (PROJECT_ROOT / "dae_core").glob("*.py")} - {"__init__", "__main__"}
    assert packages | modules == set(RANK)


def test_the_product_never_imports_test_or_benchmark_tools():
    for path in product_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not [n for n in names if n.split(".")[0] in ("tests", "benchmarks", "playwright")], path
