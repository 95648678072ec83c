"""The private scikit-learn names that skae uses, in one place.

skae validates its parameters with scikit-learn's own machinery, as every
scikit-learn estimator does: the constraint classes of
``sklearn.utils._param_validation`` and the ``sklearn.base._fit_context``
decorator. Both are private, so a release may move them. Every use goes
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
    "validate_parameter_constraints",
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
