"""skae/_compat.py: the only place private scikit-learn names are used."""

import ast
import importlib.util
import subprocess
import sys
import textwrap
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.utils._param_validation import make_constraint

import skae
import skae._compat

PACKAGE = Path(skae.__file__).parent


def _private_sklearn_imports(path):
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "sklearn"
        ):
            names = [alias.name for alias in node.names]
            if any(part.startswith("_") for part in node.module.split(".")) or any(
                name.startswith("_") for name in names
            ):
                found.append(f"{path.name}: from {node.module} import {names}")
    return found


def test_private_sklearn_names_are_imported_in_compat_only():
    offenders = [
        line
        for path in sorted(PACKAGE.glob("*.py"))
        if path.name != "_compat.py"
        for line in _private_sklearn_imports(path)
    ]
    assert offenders == []
    assert _private_sklearn_imports(PACKAGE / "_compat.py")  # the check can fail


def test_supported_sklearn_uses_its_own_validation():
    assert not skae._compat.USES_FALLBACK


@pytest.fixture(scope="module")
def fallback(request):
    """_compat executed as if scikit-learn had moved its private names."""
    spec = importlib.util.spec_from_file_location(
        "compat_fallback", skae._compat.__file__
    )
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "sklearn.utils._param_validation", None)
        spec.loader.exec_module(module)
    assert module.USES_FALLBACK
    return module


VALUES = [
    -1, 0, 1, 2, 7, np.int64(3), True, False, np.bool_(True), 0.0, 0.5, 1.0,
    1.5, np.float32(0.25), float("inf"), float("nan"), "auto", "adam", "", None,
    (), (8, 4), [3], np.arange(2), np.random.RandomState(0), len, object(),
]  # fmt: skip


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.Integer(1),
        lambda m: m.Integer(0, 5, closed="both"),
        lambda m: m.Interval(Real, 0, None, closed="neither"),
        lambda m: m.Interval(Real, 0, 1, closed="neither"),
        lambda m: m.Interval(Real, 0, 0.5, closed="right"),
        lambda m: m.Interval(Integral, 1, None, closed="left"),
        lambda m: m.StrOptions({"auto", "adam"}),
        lambda m: m.HasMethods(["fit", "score_samples"]),
    ],
)
def test_fallback_constraints_agree_with_sklearn(fallback, make):
    ours, theirs = make(fallback), make(skae._compat)
    for value in VALUES:
        assert ours.is_satisfied_by(value) == theirs.is_satisfied_by(value), value


@pytest.mark.parametrize(
    "constraint", ["boolean", "verbose", "random_state", "array-like", callable, None]
)
def test_fallback_named_constraints_agree_with_sklearn(fallback, constraint):
    for value in VALUES:
        expected = make_constraint(constraint).is_satisfied_by(value)
        assert fallback._fallback_satisfies(constraint, value) == expected, value


def test_fallback_fit_context_validates_parameters(fallback):
    class Estimator:
        _parameter_constraints = {
            "n": [fallback.Integer(1)],
            "how": [fallback.StrOptions({"a", "b"})],
        }

        def __init__(self, n=1, how="a"):
            self.n, self.how = n, how

        def get_params(self, deep=False):
            return {"n": self.n, "how": self.how}

        @fallback.fit_context(prefer_skip_nested_validation=True)
        def fit(self):
            return "fitted"

    assert Estimator().fit() == "fitted"
    with pytest.raises(ValueError, match="'n' parameter of Estimator must be"):
        Estimator(n=True).fit()
    with pytest.raises(ValueError, match="'how' parameter.*Got 'c'"):
        Estimator(how="c").fit()


@pytest.fixture(scope="module")
def output_fallback():
    """_compat executed as if scikit-learn had moved its set_output helpers."""
    spec = importlib.util.spec_from_file_location(
        "compat_output_fallback", skae._compat.__file__
    )
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "sklearn.utils._set_output", None)
        spec.loader.exec_module(module)
    assert module.OUTPUT_USES_FALLBACK and not module.USES_FALLBACK
    return module


class _Fitted:
    n_features_in_ = 3


@pytest.mark.parametrize("names", [None, ["a", "b", "c"]])
@pytest.mark.parametrize("config", [None, "default", "pandas"])
@pytest.mark.parametrize("global_config", ["default", "pandas"])
def test_fallback_output_containers_agree_with_sklearn(
    output_fallback, names, config, global_config
):
    import pandas as pd
    from sklearn import config_context

    estimator = _Fitted()
    if names is not None:
        estimator.feature_names_in_ = np.array(names, dtype=object)
    data = np.arange(6.0).reshape(2, 3)
    original = pd.DataFrame(data, index=[7, 9])
    results = []
    for module in (output_fallback, skae._compat):
        module.set_output_container(estimator, config)
        columns = module.input_feature_names(estimator)
        with config_context(transform_output=global_config):
            results.append(
                (
                    columns,
                    module.wrap_in_output_container(data, original, columns, estimator),
                )
            )
    (ours, ours_output), (theirs, theirs_output) = results
    assert_array_equal(ours, theirs)
    assert type(ours_output) is type(theirs_output)
    if isinstance(theirs_output, pd.DataFrame):
        pd.testing.assert_frame_equal(ours_output, theirs_output)


def test_skae_works_where_sklearn_moved_its_private_names():
    """End to end, in a fresh interpreter without sklearn.base._fit_context."""
    code = textwrap.dedent(
        """
        import numpy as np
        import sklearn.base, sklearn.decomposition, sklearn.model_selection
        import sklearn.pipeline, skorch  # sklearn imports the name from its new place
        del sklearn.base._fit_context  # as if a release had moved it
        import skae, skae._compat
        assert skae._compat.USES_FALLBACK
        X = np.random.RandomState(0).normal(size=(30, 4))
        model = skae.AutoencoderTransformer(hidden_layer_sizes=(4,), max_epochs=2)
        assert model.fit(X).transform(X).shape == (30, 2)
        for bad in ({"n_components": 0}, {"lr": -1.0}, {"activation": "swish"}):
            try:
                model.set_params(**bad).fit(X)
            except ValueError as exc:
                assert next(iter(bad)) in str(exc), exc
            else:
                raise AssertionError(bad)
            model.set_params(n_components=2, lr=1e-3, activation="relu")
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


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
