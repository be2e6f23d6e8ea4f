"""The package's layers import one way: a module imports only from its own layer or lower ones.

Every ``import`` of every module of ``src/condgen`` counts, those inside functions included (a lazy
import is still a dependency). The order, lowest first, is the one ``docs/ARCHITECTURE.md`` draws.
"""

import ast
from pathlib import Path

import pytest

import condgen

PACKAGE = Path(condgen.__file__).parent
#: Lowest first; the names are top-level modules or subpackages of condgen ("" is condgen/__init__.py).
LAYERS = (
    ("errors",),
    ("", "io", "viz", "progress"),
    ("data",),
    ("nn",),
    ("models",),
    ("train",),
    ("plugin",),
    ("metrics",),
    ("evaluation",),
    ("apps",),
    ("tasks",),
    ("ui",),
    ("cli",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def top_level(module: str) -> str:
    """``condgen.data.schema`` → ``data``; ``condgen`` → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module) of every condgen import in the ``source`` of ``module``."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return [(line, name) for line, name in found if name == "condgen" or name.startswith("condgen.")]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_has_a_layer():
    parts = {top_level(module_name(path)) for path in MODULES}
    assert parts <= set(RANK), f"modules outside every layer: {sorted(parts - set(RANK))}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path):
    own = top_level(module_name(path))
    upward = [f"line {line}: {name} (layer {top_level(name) or 'condgen'})"
              for line, name in imported_modules(path.read_text(), module_name(path), path.name == "__init__.py")
              if RANK[top_level(name)] > RANK[own]]
    assert not upward, f"{path.relative_to(PACKAGE)} (layer {own or 'condgen'}) imports upwards: {upward}"


def test_the_walker_sees_lazy_and_relative_imports():
    source = ("import numpy\n"
              "def f():\n    from condgen.cli import app\n    from ..tasks import demo\n    import condgen.io\n")
    found = {name for _, name in imported_modules(source, "condgen.data.probe")}
    assert found == {"condgen.cli", "condgen.tasks", "condgen.io"}
    assert RANK[top_level("condgen.cli")] > RANK[top_level("condgen.data.probe")]
