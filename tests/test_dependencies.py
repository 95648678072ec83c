"""Every third-party package that skae imports is declared in pyproject.toml."""

import ast
import sys
from pathlib import Path

import pytest

import skae

PACKAGE = Path(skae.__file__).parent
# Import names whose distribution is named otherwise.
DISTRIBUTIONS = {"sklearn": "scikit-learn"}


def _imported_top_level_modules():
    names = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"skae"}


def test_every_imported_package_is_a_declared_dependency():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    declared = {
        requirement.split(">")[0].split("<")[0].split("=")[0].strip()
        for requirement in pyproject["project"]["dependencies"]
    }
    imported = {DISTRIBUTIONS.get(name, name) for name in _imported_top_level_modules()}
    assert imported  # the check can fail
    assert imported - declared == set()
