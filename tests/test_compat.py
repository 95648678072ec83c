"""skae/_compat.py: the only place private scikit-learn and skorch names are used."""

import ast
from pathlib import Path

import numpy as np
import pytest

import skae
import skae._compat

PACKAGE = Path(skae.__file__).parent


THIRD_PARTY = ("sklearn", "skorch")


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


def _private_imports(path):
    """``from sklearn... import _name`` and imports of private modules."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            THIRD_PARTY
        ):
            names = [alias.name for alias in node.names]
            if any(part.startswith("_") for part in node.module.split(".")) or any(
                name.startswith("_") for name in names
            ):
                found.append(f"{path.name}: from {node.module} import {names}")
    return found


def _is_private(name):
    return name.startswith("_") and not name.endswith("__")


def _private_attributes_used(path):
    """Private names used as attributes, or passed to getattr and the like."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            used.add(node.attr)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _is_private(node.args[1].value)
        ):
            used.add(node.args[1].value)
    return used


def _private_names_defined(path):
    """Private names skae defines: functions, classes, variables, attributes."""
    defined = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            defined.add(node.attr)
    return {name for name in defined if _is_private(name)}


def test_private_third_party_names_are_used_in_compat_only():
    """No module but _compat imports, or reads an attribute of, a private
    scikit-learn or skorch name: every private name used elsewhere is one
    that skae itself defines."""
    compat = PACKAGE / "_compat.py"
    offenders = [
        line for path in _modules() if path != compat for line in _private_imports(path)
    ]
    assert offenders == []
    defined = set().union(*(_private_names_defined(path) for path in _modules()))
    foreign = {
        path.relative_to(PACKAGE).as_posix(): sorted(
            _private_attributes_used(path) - defined
        )
        for path in _modules()
        if path != compat
    }
    assert {path: names for path, names in foreign.items() if names} == {}
    # The checks can fail: _compat itself uses private scikit-learn names.
    assert _private_imports(compat)
    assert "_mmap" in _private_attributes_used(compat) - defined


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_integer_constraint_rejects_booleans(value):
    assert not skae._compat.Integer(0).is_satisfied_by(value)
    assert skae._compat.Integer(0).is_satisfied_by(np.int64(3))


def test_tox_environment_runs_the_scikit_learn_it_names():
    """tox's sklearn-oldest env pins the lower bound of pyproject.toml's range."""
    import os

    import sklearn

    expected = os.environ.get("SKAE_EXPECTED_SKLEARN")
    if expected is None:
        pytest.skip("not run by a tox environment that pins scikit-learn")
    assert sklearn.__version__ == expected
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    lower = pyproject.split('"scikit-learn>=')[1].split(",")[0]
    assert expected.startswith(lower)
