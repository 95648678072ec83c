"""The private scikit-learn names that skae uses, in one place.

skae validates its parameters with scikit-learn's own machinery, as every
scikit-learn estimator does: the constraint classes of
``sklearn.utils._param_validation`` and the ``sklearn.base._fit_context``
decorator. Its per-feature scores follow ``set_output`` as ``transform``
does, through ``sklearn.utils._set_output``, and are named like the input
features (``sklearn.utils.validation._check_feature_names_in``). All are
private, so a release may move them. Every use goes
through this module: it imports them from where the tested releases keep them
(the range in ``pyproject.toml``, which tox tests at both ends), and falls
back to a small implementation of the same behaviour when one of them is not
there, so that skae still imports and still validates its parameters.
"""

import functools
from numbers import Integral

import numpy as np

__all__ = [
    "HasMethods",
    "Integer",
    "Interval",
    "StrOptions",
    "fit_context",
    "input_feature_names",
    "set_output_container",
    "validate_parameter_constraints",
    "wrap_in_output_container",
]


# ----------------------------------------------------------------------
# Fallbacks, used only where scikit-learn no longer has the private names.
# They implement the constraints skae declares, with the same errors.


class _FallbackInterval:
    """A number in a range; ``type`` is ``numbers.Integral`` or ``numbers.Real``."""

    def __init__(self, type, left, right, *, closed):
        self.type, self.left, self.right, self.closed = type, left, right, closed
        self.hidden = False

    def is_satisfied_by(self, value):
        if not isinstance(value, self.type) or value != value:  # NaN
            return False
        left = -np.inf if self.left is None else self.left
        right = np.inf if self.right is None else self.right
        left_closed = self.closed in ("left", "both")
        right_closed = self.closed in ("right", "both")
        return (left < value or (left_closed and value == left)) and (
            value < right or (right_closed and value == right)
        )

    def __str__(self):
        kind = "an int" if self.type is Integral else "a float"
        left = "[" if self.closed in ("left", "both") else "("
        right = "]" if self.closed in ("right", "both") else ")"
        low = "-inf" if self.left is None else self.left
        high = "inf" if self.right is None else self.right
        return f"{kind} in the range {left}{low}, {high}{right}"


class _FallbackStrOptions:
    """One of a set of strings."""

    def __init__(self, options):
        self.options = options
        self.hidden = False

    def is_satisfied_by(self, value):
        return isinstance(value, str) and value in self.options

    def __str__(self):
        return f"a str among {sorted(self.options)}"


class _FallbackHasMethods:
    """An object with the given methods."""

    def __init__(self, methods):
        self.methods = [methods] if isinstance(methods, str) else list(methods)
        self.hidden = False

    def is_satisfied_by(self, value):
        return all(callable(getattr(value, name, None)) for name in self.methods)

    def __str__(self):
        return f"an object implementing {self.methods}"


def _fallback_satisfies(constraint, value):
    if constraint is None:
        return value is None
    if constraint is callable:
        return callable(value)
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    if constraint == "boolean":
        return isinstance(value, (bool, np.bool_))
    if constraint == "verbose":
        return isinstance(value, (bool, np.bool_)) or _FallbackInterval(
            Integral, 0, None, closed="left"
        ).is_satisfied_by(value)
    if constraint == "random_state":
        return (
            value is None
            or isinstance(value, np.random.RandomState)
            or _FallbackInterval(Integral, 0, 2**32 - 1, closed="both").is_satisfied_by(
                value
            )
        )
    if constraint == "array-like":
        return not np.isscalar(value) and (
            hasattr(value, "__len__")
            or hasattr(value, "shape")
            or hasattr(value, "__array__")
        )
    return constraint.is_satisfied_by(value)


def _fallback_validate_parameter_constraints(
    parameter_constraints, params, caller_name
):
    """Raise ``ValueError`` for a parameter that satisfies none of its constraints."""
    for name, value in params.items():
        constraints = parameter_constraints.get(name, "no_validation")
        if constraints == "no_validation":
            continue
        if not any(_fallback_satisfies(c, value) for c in constraints):
            allowed = " or ".join(
                "None" if c is None else getattr(c, "__name__", str(c))
                for c in constraints
            )
            raise ValueError(
                f"The {name!r} parameter of {caller_name} must be {allowed}. "
                f"Got {value!r} instead."
            )


def _fallback_fit_context(*, prefer_skip_nested_validation):
    """Validate the estimator's parameters before running its fit method."""

    def decorator(fit_method):
        @functools.wraps(fit_method)
        def wrapper(estimator, *args, **kwargs):
            validate_parameter_constraints(
                estimator._parameter_constraints,
                estimator.get_params(deep=False),
                caller_name=type(estimator).__name__,
            )
            return fit_method(estimator, *args, **kwargs)

        return wrapper

    return decorator


# ----------------------------------------------------------------------
# The names skae uses: scikit-learn's where it has them, else the fallbacks.
# All or none: sklearn's _fit_context validates with its own constraint
# classes, so they must come from the same place.

try:
    from sklearn.base import _fit_context as fit_context
    from sklearn.utils._param_validation import (
        HasMethods,
        Interval,
        StrOptions,
        validate_parameter_constraints,
    )

    USES_FALLBACK = False
except ImportError:  # pragma: no cover - exercised by tests/test_compat.py
    fit_context = _fallback_fit_context
    HasMethods = _FallbackHasMethods
    Interval = _FallbackInterval
    StrOptions = _FallbackStrOptions
    validate_parameter_constraints = _fallback_validate_parameter_constraints
    USES_FALLBACK = True


class Integer(Interval):
    """An integer in a range, numpy integers included and booleans excluded.

    ``True`` is an ``Integral`` to Python, so ``Interval(Integral, ...)``
    accepts it; ``n_components=True`` is a mistake, not a 1.
    """

    def __init__(self, left, right=None, *, closed="left"):
        super().__init__(Integral, left, right, closed=closed)

    def is_satisfied_by(self, value):
        return not isinstance(value, (bool, np.bool_)) and super().is_satisfied_by(
            value
        )


# ----------------------------------------------------------------------
# Output containers: per-feature outputs (one column per input feature)
# follow set_output(transform=...) and the global transform_output config,
# as transform does. A second group, with its own fallback: the
# parameter validation above does not depend on it.


def _fallback_output_config(estimator):
    from sklearn import get_config

    config = getattr(estimator, "_sklearn_output_config", {})
    return config.get("transform", get_config()["transform_output"])


def _fallback_wrap(data, original_input, columns, estimator):
    output = _fallback_output_config(estimator)
    if output == "default":
        return data
    if output != "pandas":
        raise ValueError(f"output config must be 'default' or 'pandas', got {output}")
    import pandas as pd

    index = original_input.index if isinstance(original_input, pd.DataFrame) else None
    return pd.DataFrame(data, index=index, columns=list(columns))


def _fallback_check_feature_names_in(estimator, input_features=None):
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return np.asarray(names, dtype=object)
    return np.asarray([f"x{i}" for i in range(estimator.n_features_in_)], dtype=object)


try:
    from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config
    from sklearn.utils.validation import _check_feature_names_in

    def _wrap(data, original_input, columns, estimator):
        output = _get_output_config("transform", estimator)["dense"]
        if output == "default":
            return data
        adapter = ADAPTERS_MANAGER.adapters[output]
        return adapter.create_container(data, original_input, columns, inplace=True)

    OUTPUT_USES_FALLBACK = False
except ImportError:  # pragma: no cover - exercised by tests/test_compat.py
    _check_feature_names_in = _fallback_check_feature_names_in
    _wrap = _fallback_wrap
    OUTPUT_USES_FALLBACK = True


def input_feature_names(estimator):
    """The names of a fitted estimator's input features, as an object array.

    ``feature_names_in_`` when it was fitted on named columns, else ``x0``,
    ``x1``, ... (scikit-learn's default names).
    """
    return _check_feature_names_in(estimator, None)


def wrap_in_output_container(data, original_input, columns, estimator):
    """``data`` in the container that ``estimator.set_output(transform=...)`` sets.

    A numpy array for ``"default"``, else a DataFrame with the given
    ``columns`` and, for pandas input, the index of ``original_input``; the
    global ``transform_output`` configuration applies where the estimator
    sets none.
    """
    return _wrap(data, original_input, columns, estimator)


def set_output_container(estimator, transform):
    """What ``set_output(transform=...)`` does, for an estimator without transform.

    scikit-learn's ``set_output`` is offered only to estimators with
    ``transform``; this stores the choice where scikit-learn looks for it
    (and where ``clone`` copies it from). None leaves it unchanged.
    """
    if transform is not None:
        if not hasattr(estimator, "_sklearn_output_config"):
            estimator._sklearn_output_config = {}
        estimator._sklearn_output_config["transform"] = transform
    return estimator
