"""Per-feature statistics and standardization that neither overflow nor underflow.

``np.std`` squares deviations in float64: beyond about 1e154 the squares
overflow to infinity, and below about 1e-154 they underflow to zero, so a
feature of spread 1e-200 looks constant. Every finite float64 lies between
about 1e-308 and 1.8e308; these functions give finite, accurate results
over that whole range.

What counts as a constant feature is decided relative to the feature's own
magnitude, never against an absolute threshold: a feature of values near
1e-16 that differ is not constant.
"""

import warnings

import numpy as np

from .data import iter_row_chunks

_EPS = np.finfo(np.float64).eps

# Features whose scales lie within this factor of each other (the middle
# 80% of them) are taken to be in one unit: pixels, counts, coordinates,
# the channels of one instrument. Features in different units (a table of
# lengths, weights and prices) differ by orders of magnitude. In one unit,
# no feature's scaled spread departs from the others' by more than it.
COMMON_SCALE_RATIO = 10.0


def _row_chunks(X):
    for chunk in iter_row_chunks(X):
        yield np.asarray(chunk, dtype=np.float64)


def feature_mean_and_std(X):
    """Mean and (population) standard deviation of each column of ``X``.

    Each column is divided by its largest absolute value before the
    deviations are squared, so the squares stay in [0, 4]; the results are
    scaled back. For any finite ``X`` both are finite, and the standard
    deviation is zero only when the column's values are all equal.

    Missing values (NaN) are ignored: each column's statistics are those of
    its observed values (0 and 0 for a column without one).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite values or NaN, of any float dtype.

    Returns
    -------
    mean, std : ndarray of shape (n_features,)
        In float64.
    """
    n_features = X.shape[1]
    n_observed = observed_counts(X)
    peak = np.zeros(n_features)
    for chunk in _row_chunks(X):
        # fmax ignores NaN; on complete data it is max.
        np.fmax(peak, np.fmax.reduce(np.abs(chunk), axis=0, initial=0.0), out=peak)
    unit = np.where(peak > 0, peak, 1.0)
    total = np.zeros(n_features)
    for chunk in _row_chunks(X):
        total += np.nansum(chunk / unit, axis=0)
    unit_mean = total / np.maximum(n_observed, 1)
    squares = np.zeros(n_features)
    for chunk in _row_chunks(X):
        deviation = np.nan_to_num(chunk / unit - unit_mean, nan=0.0)
        squares += np.einsum("ij,ij->j", deviation, deviation)
    return unit_mean * unit, np.sqrt(squares / np.maximum(n_observed, 1)) * unit


def observed_counts(X):
    """The number of observed (not NaN) values in each column of ``X``."""
    counts = np.zeros(X.shape[1])
    for chunk in _row_chunks(X):
        counts += (~np.isnan(chunk)).sum(axis=0)
    return counts


def constant_features(mean, std, n_samples):
    """Which features are indistinguishable from a constant.

    A feature is constant when its standard deviation is no larger than the
    rounding error that computing its mean can leave in it: the bound that
    scikit-learn's ``StandardScaler`` uses, ``var <= n * eps * var +
    (n * eps * mean) ** 2``, written without squares. The bound is relative
    to the feature's magnitude, so a feature whose values differ is constant
    only when they differ by a few units in the last place.

    Parameters
    ----------
    mean, std : ndarray of shape (n_features,)
        From :func:`feature_mean_and_std`.
    n_samples : int or ndarray of shape (n_features,)
        Number of values they were computed on (per feature, for data with
        missing values).

    Returns
    -------
    constant : ndarray of bool, shape (n_features,)
    """
    slack = np.maximum(1.0 - n_samples * _EPS, _EPS)
    return std * np.sqrt(slack) <= n_samples * _EPS * np.abs(mean)


def unit_of_constant_features(mean):
    """The scale that keeps a constant feature in its own units, where it can.

    Deviations from a constant feature stay in the units of ``X`` (a scale of
    1), unless one unit is finer than the float64 resolution of the
    feature's values (beyond 2**52, about 4.5e15): the unit is then that
    resolution, one unit in the last place of the mean, so that rounding
    noise in the training data cannot become values too large for float32.

    Parameters
    ----------
    mean : ndarray of shape (n_features,)

    Returns
    -------
    scale : ndarray of shape (n_features,)
    """
    return np.maximum(1.0, np.spacing(np.abs(mean)))


def standardize(X, mean, scale):
    """``(X - mean) / scale`` in float64, without overflow in the subtraction.

    ``X - mean`` overflows where ``X`` and ``mean`` are large and of
    opposite signs, although the quotient may be small; those entries are
    computed from halves instead. Entries whose quotient itself exceeds the
    float64 range are infinite.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    mean, scale : ndarray of shape (n_features,)
        ``scale`` is positive.

    Returns
    -------
    X_scaled : ndarray of shape (n_samples, n_features), float64
    """
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.subtract(X, mean, dtype=np.float64)
        # The sum is finite only if every difference is: the usual case
        # needs no full-size mask (a tenth of the scaling of an inference
        # chunk).
        if not np.isfinite(np.sum(scaled)):
            overflow = np.isinf(scaled)
            if overflow.any():
                rows, columns = np.nonzero(overflow)
                half = (
                    0.5 * np.asarray(X[rows, columns], np.float64) - 0.5 * mean[columns]
                )
                scaled[rows, columns] = half / scale[columns] * 2.0
                scaled[~overflow] /= np.broadcast_to(scale, scaled.shape)[~overflow]
                return scaled
        scaled /= scale
    return scaled


def activity_adjusted_scale(X, std):
    """Per-feature scale of the values that depart from the feature's median.

    ``std / sqrt(activity)``, where ``activity`` is the fraction of rows
    whose value differs from the feature's median. For a feature with
    distinct values (most continuous measurements) the activity is about 1
    and the scale is its standard deviation. For a feature that is mostly at
    one value and only sometimes active (an image pixel that is usually
    black, a one-hot column, a sparse count), the standard deviation
    measures how rarely it is active rather than how large it is when
    active, and dividing by it would turn an unseen stroke into a value in
    the hundreds; this scale is instead the root mean square deviation of
    its active values, the size of the feature when it is used. Pixels of
    one image then get similar scales, close to one common scale, while
    columns in different units keep their own.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    std : ndarray of shape (n_features,)
        From :func:`feature_mean_and_std`.

    Returns
    -------
    scale : ndarray of shape (n_features,)
        Zero for constant features, as ``std``.
    """
    n_observed = np.maximum(observed_counts(X), 1)
    missing = np.isnan(X).any()
    if missing:
        with warnings.catch_warnings():  # a column without an observed value
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nan_to_num(np.nanmedian(X, axis=0), nan=0.0)
    else:
        median = np.median(X, axis=0)
    departs = np.zeros(X.shape[1])
    for chunk in _row_chunks(X):
        departs += ((chunk != median) & ~np.isnan(chunk)).sum(axis=0)
    activity = np.maximum(departs / n_observed, 1.0 / n_observed)
    return std / np.sqrt(activity)


def common_unit_scale(scales):
    """One scale for features in one unit, or None for features in several.

    Features are in one unit when the 90th percentile of their scales is at
    most :data:`COMMON_SCALE_RATIO` times the 10th (a few odd features, such
    as rarely lit pixels or one column in other units, do not decide it).
    Such features are best scaled together, by their median scale, as
    ``PCA`` sees them: the relative sizes of their spreads are information
    (a pixel that varies little matters little), which per-feature scaling
    would erase. Each feature's scale stays within that factor of its own,
    so that no odd feature outweighs, or vanishes beside, the others by more
    than the factor squared.

    Parameters
    ----------
    scales : ndarray of shape (n_features,)
        Positive per-feature scales.

    Returns
    -------
    ndarray of shape (n_features,) or None
    """
    if scales.size == 0:
        return None
    low, high = np.percentile(scales, [10.0, 90.0])
    if high > COMMON_SCALE_RATIO * low:
        return None
    common = np.median(scales)
    return np.clip(common, scales / COMMON_SCALE_RATIO, scales * COMMON_SCALE_RATIO)


def fit_scaling(X, standardize="auto"):
    """Per-feature ``(mean, scale)`` of ``X`` for ``standardize``.

    - ``"auto"``: the activity-adjusted scale of each feature
      (:func:`activity_adjusted_scale`); features in one unit share one
      (:func:`common_unit_scale`).
    - ``True``: each feature's standard deviation.
    - ``False``: no scaling (zeros and ones).

    Constant features have no spread to scale by: ``"auto"`` measures their
    deviations in the typical unit of the other features, ``True`` in the
    feature's own units; neither finer than the float64 resolution of its
    values (:func:`unit_of_constant_features`).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    standardize : "auto" or bool

    Returns
    -------
    mean, scale : ndarray of shape (n_features,)
    """
    if standardize is False:
        return np.zeros(X.shape[1]), np.ones(X.shape[1])
    mean, std = feature_mean_and_std(X)
    auto = standardize == "auto"
    scale = activity_adjusted_scale(X, std) if auto else std
    constant = constant_features(mean, std, np.maximum(observed_counts(X), 1))
    common = common_unit_scale(scale[~constant]) if auto else None
    if common is not None:
        scale[~constant] = common
    if constant.any():
        typical = np.median(scale[~constant]) if auto and not constant.all() else 1
        scale[constant] = np.maximum(typical, unit_of_constant_features(mean))[constant]
    return mean, scale
