"""Every private scikit-learn name that skae uses, in one place.

skae validates its parameters with scikit-learn's own machinery, as every
scikit-learn estimator does: the constraint classes of
``sklearn.utils._param_validation`` and the ``sklearn.base._fit_context``
decorator. Its per-feature scores follow ``set_output`` as ``transform``
does, through ``sklearn.utils._set_output``, and are named like the input
features (``sklearn.utils.validation._check_feature_names_in``); the
imputer shares scikit-learn's imputer base (``sklearn.impute._base.
_BaseImputer``: ``missing_values``, ``add_indicator``) and its mask of
missing values (``sklearn.utils._mask._get_mask``); the
choice of ``set_output`` is kept in the private attribute that scikit-learn
reads (:data:`OUTPUT_CONFIG_ATTRIBUTE`). All are private, so a release may
move them (and :func:`memory_map_of` reads a private attribute of
``numpy.memmap``): ``pyproject.toml`` pins the range of scikit-learn that has them,
and tox tests both of its ends. ``tests/test_compat.py`` checks that no
other module of skae uses a private name of scikit-learn or skorch.
"""

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context as fit_context
from sklearn.impute._base import _BaseImputer as BaseImputer
from sklearn.utils._mask import _get_mask as missing_mask
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config
from sklearn.utils.validation import _check_feature_names_in as feature_names_in

__all__ = [
    "OUTPUT_CONFIG_ATTRIBUTE",
    "BaseImputer",
    "HasMethods",
    "Integer",
    "Interval",
    "StrOptions",
    "feature_names_in",
    "fit_context",
    "input_feature_names",
    "memory_map_of",
    "missing_mask",
    "validate_params",
    "set_output_container",
    "wrap_in_output_container",
]

# Where scikit-learn keeps an estimator's set_output choice; a model file
# stores it with the fitted attributes.
OUTPUT_CONFIG_ATTRIBUTE = "_sklearn_output_config"


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


def input_feature_names(estimator):
    """The names of a fitted estimator's input features, as an object array.

    ``feature_names_in_`` when it was fitted on named columns, else ``x0``,
    ``x1``, ... (scikit-learn's default names).
    """
    return feature_names_in(estimator, None)


def wrap_in_output_container(data, original_input, columns, estimator):
    """``data`` in the container that ``estimator.set_output(transform=...)`` sets.

    A numpy array for ``"default"``, else a DataFrame with the given
    ``columns`` and, for pandas input, the index of ``original_input``; the
    global ``transform_output`` configuration applies where the estimator
    sets none.
    """
    output = _get_output_config("transform", estimator)["dense"]
    if output == "default":
        return data
    adapter = ADAPTERS_MANAGER.adapters[output]
    return adapter.create_container(data, original_input, columns, inplace=True)


def set_output_container(estimator, transform):
    """What ``set_output(transform=...)`` does, for an estimator without transform.

    scikit-learn's ``set_output`` is offered only to estimators with
    ``transform``; this stores the choice where scikit-learn looks for it
    (and where ``clone`` copies it from). None leaves it unchanged.
    """
    if transform is not None:
        config = getattr(estimator, OUTPUT_CONFIG_ATTRIBUTE, None)
        if config is None:
            config = {}
            setattr(estimator, OUTPUT_CONFIG_ATTRIBUTE, config)
        config["transform"] = transform
    return estimator


def memory_map_of(array):
    """The :class:`mmap.mmap` behind a :class:`numpy.memmap`, or None.

    numpy keeps it in the private ``_mmap`` (None for a memmap's views that
    own no mapping, absent for other arrays).
    """
    return getattr(array, "_mmap", None)


def validate_params(estimator):
    """Check ``estimator``'s parameters against its ``_parameter_constraints``.

    What ``fit`` checks first, for an estimator that is not fitted (one read
    from a model file); raises ``InvalidParameterError``, a ``ValueError``.
    """
    estimator._validate_params()
