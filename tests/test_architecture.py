"""The shape of the code (docs/architecture.md) that import-linter cannot see.

`lint-imports` (in make test) checks the layers and cycles; these check what keeps a cycle from
hiding and a module from growing into a second app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portal", "plans", "keys", "localaws", "demo")
FIRST_PARTY = (*PACKAGES, "tests")
MAX_LINES = 400


def product_files() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def imports_inside_functions(path: Path) -> list[str]:
    """First-party imports in a function body, except an AppConfig.ready() connecting
    receivers — Django's documented place for it."""
    tree = ast.parse(path.read_text())
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if path.name == "apps.py" and function.name == "ready":
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} imports {name} in {function.name}()"
                for name in names
                if name.split(".")[0] in FIRST_PARTY
            ]
    return found


def test_no_product_module_imports_inside_a_function() -> None:
    found = [line for path in product_files() for line in imports_inside_functions(path)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_product_file_is_over_400_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{lines} lines: split it by job (docs/architecture.md)"
