"""Input validation: scikit-learn's, with clearer messages, and for streams.

Beyond what :func:`sklearn.utils.validation.validate_data` accepts, rows may
come as

- out-of-core data (:func:`~skae._base.stream.is_streamed`), read and
  checked block by block as a :class:`~skae._base.stream.RowStream`;
- a scipy sparse matrix or array, validated as CSR and densified one block
  of rows at a time (whole, when it fits in one block);
- a torch tensor, detached, moved to the CPU, made dense, and with float16
  and bfloat16 upcast to float32.

Datetime and timedelta columns are refused by name: numpy would either fail
without naming them or turn them into nanoseconds silently.
"""

import numpy as np
import pandas as pd
import scipy.sparse
import torch
from sklearn.utils import get_tags
from sklearn.utils.validation import check_array, validate_data

from .stream import RowStream, is_streamed

# The float dtypes that skae computes in; others are converted (sklearn's).
FLOAT_DTYPES = [np.float64, np.float32]
# Phrases of scikit-learn's and numpy's errors for values that are no numbers.
NON_NUMERIC_ERRORS = ("could not convert", "dtype='numeric'", "float() argument")


def is_out_of_core(X):
    """Whether ``X`` stays where it is, read one block of rows at a time.

    True for memory maps, dask arrays and other row-sliceable sources
    (:func:`~skae._base.stream.is_streamed`); false for in-memory data,
    sparse matrices included: those can be split and indexed by rows as a
    whole (``train_test_split``), so a meta-estimator treats them as in
    memory.
    """
    return is_streamed(X)


def takes_sparse(estimator):
    """Whether ``estimator`` takes sparse input, by its tags.

    None (a meta-estimator's default, a skae autoencoder) does; an estimator
    without scikit-learn's tags (a duck-typed one) is not assumed to.
    """
    if estimator is None:
        return True
    try:
        return get_tags(estimator).input_tags.sparse
    except AttributeError:
        return False


def takes_nan(estimator):
    """Whether ``estimator`` takes missing values (NaN), by its tags; as
    :func:`takes_sparse`."""
    if estimator is None:
        return True
    try:
        return get_tags(estimator).input_tags.allow_nan
    except AttributeError:
        return False


def from_tensor(X):
    """``X`` as a numpy array if it is a torch tensor, else unchanged.

    The tensor is detached (a tensor that requires grad has no numpy view),
    moved to the CPU and made dense; float16 and bfloat16, which numpy lacks
    or scikit-learn does not keep, become float32, which holds them exactly.
    """
    if not isinstance(X, torch.Tensor):
        return X
    X = X.detach().cpu()
    if X.layout != torch.strided:
        X = X.to_dense()
    if X.is_floating_point() and X.dtype not in (torch.float32, torch.float64):
        X = X.to(torch.float32)
    return X.resolve_conj().resolve_neg().numpy()


def _columns_and_dtypes(X):
    """``(name, dtype)`` of each column of a DataFrame, or of an array as one."""
    if hasattr(X, "columns") and hasattr(X, "dtypes"):
        return list(zip(X.columns, X.dtypes))
    dtype = getattr(X, "dtype", None)
    return [] if dtype is None else [("X", dtype)]


def _describe(columns):
    return ", ".join(f"{name!r} ({dtype})" for name, dtype in columns)


def check_no_datetimes(estimator, X):
    """Raise a ``ValueError`` naming the datetime or timedelta columns of ``X``."""
    temporal = [
        (name, dtype)
        for name, dtype in _columns_and_dtypes(X)
        if getattr(dtype, "kind", None) in ("M", "m")
    ]
    if temporal:
        what = (
            f"datetime or timedelta columns: {_describe(temporal)}"
            if hasattr(X, "columns")
            else f"dtype {temporal[0][1]}"
        )
        raise ValueError(
            f"{type(estimator).__name__} needs numeric input, but X has "
            f"{what}. Convert them to "
            "numbers first (e.g. seconds since a reference time, "
            "(X[column] - start).dt.total_seconds()), or drop them."
        )


def _non_numeric_columns(X):
    """The columns of a DataFrame whose values are not numbers."""
    columns = []
    for name, dtype in _columns_and_dtypes(X):
        # A categorical column is as numeric as its categories.
        values = getattr(getattr(dtype, "categories", None), "dtype", dtype)
        if getattr(values, "kind", "O") not in "biuf":
            columns.append((name, dtype))
    return columns


def missing_as_nan(X):
    """``X`` with ``pd.NA`` and None in object data as NaN.

    scikit-learn reads NaN as missing, and pandas' nullable dtypes
    (``Float64``, ``Int64``) as NaN already; in an object column or array,
    ``pd.NA`` would be a value that is no number.
    """
    if hasattr(X, "dtypes") and hasattr(X, "where"):
        if any(getattr(dtype, "kind", "") == "O" for dtype in np.ravel(X.dtypes)):
            return X.where(X.notna(), np.nan)
        return X
    if isinstance(X, np.ndarray) and X.dtype == object:
        return np.where(pd.isna(X), np.nan, X)
    return X


def _already_valid(estimator, X, reset):
    """Whether ``validate_data`` would return ``X`` itself, without a
    warning or an error, at inference (``reset=False``).

    True for a 2-D numpy array (not a subclass) of float32 or float64 of
    the fitted width, without missing or infinite values, given to an
    estimator fitted without feature names. scikit-learn's checks take
    about 80 microseconds, half the forward pass of 100 rows through the
    default network; anything else goes through them, for their errors and
    warnings. The sum is finite only where every value is, and costs no
    full-size temporary.
    """
    if not (
        not reset
        and type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in FLOAT_DTYPES
        and X.shape[0] > 0
        and X.shape[1] == getattr(estimator, "n_features_in_", None)
        and not hasattr(estimator, "feature_names_in_")
    ):
        return False
    with np.errstate(over="ignore", invalid="ignore"):  # the slow path speaks
        return bool(np.isfinite(np.sum(X)))


def validate_in_memory(estimator, X, *, reset):
    """``validate_data`` for in-memory ``X`` (sparse kept as CSR), in float32
    or float64, with a clear message for columns that are not numeric."""
    if _already_valid(estimator, X, reset):
        return X
    X = missing_as_nan(from_tensor(X))
    check_no_datetimes(estimator, X)
    try:
        X = validate_data(
            estimator,
            X,
            reset=reset,
            accept_sparse="csr",
            dtype=FLOAT_DTYPES,
            ensure_all_finite="allow-nan",
        )
    except (ValueError, TypeError) as exc:
        if not any(phrase in str(exc) for phrase in NON_NUMERIC_ERRORS):
            raise
        columns = _non_numeric_columns(X) if hasattr(X, "columns") else []
        where = f" in columns {_describe(columns)}" if columns else ""
        # Objects that are no numbers at all (dicts, Periods) stay a TypeError.
        error = TypeError if isinstance(exc, TypeError) else ValueError
        raise error(
            f"{type(estimator).__name__} needs numeric input, but X has "
            f"non-numeric values{where} ({exc}). Encode categorical columns "
            "first, e.g. with sklearn.preprocessing.OneHotEncoder."
        ) from exc
    check_no_infinity(X)
    return X


def check_no_infinity(X):
    """Raise scikit-learn's ``ValueError`` for infinite values.

    NaN (and ``pd.NA``, which scikit-learn turns into NaN) marks a missing
    entry; infinity is no value skae can learn or score.
    """
    values = X.data if scipy.sparse.issparse(X) else X
    if np.isinf(values).any():
        raise ValueError(
            "Input X contains infinity or a value too large for "
            f"{values.dtype}. Missing entries may be NaN; infinite ones "
            "must be replaced or dropped."
        )
    return X


def _check_block(rows):
    """A block of streamed rows checked as in-memory ones are."""
    return check_no_infinity(
        check_array(rows, dtype=None, ensure_all_finite="allow-nan")
    )


def validate_rows(estimator, X, *, reset, check):
    """Validate ``X`` as scikit-learn does, with clearer messages.

    ``check(X)`` runs the estimator's own checks on validated data.
    Out-of-core data (:func:`~skae._base.stream.is_streamed`) and sparse
    matrices come back as a :class:`~skae._base.stream.RowStream`: the
    first rows of out-of-core data (all of a sparse matrix) are validated
    here, and every block is checked, dense, when it is read. Data of one
    block are read into memory.
    """
    X = from_tensor(X)
    if is_streamed(X):
        # The first rows: width, dtype, feature names.
        validate_rows(estimator, np.asarray(X[:2]), reset=reset, check=check)
    else:
        X = validate_in_memory(estimator, X, reset=reset)
        if not scipy.sparse.issparse(X):
            check(X)
            return X
    stream = RowStream(X, check=lambda rows: check(_check_block(rows)))
    return stream if stream.n_blocks > 1 else stream.read(0, len(stream))


def validate_table_names(estimator, X, *, reset):
    """A mixed-type DataFrame ``X`` for a meta-estimator that passes it on:
    its feature names and width checked (and set, with ``reset``), its
    missing values as NaN; the wrapped estimator validates its columns."""
    X = missing_as_nan(X)
    check_no_datetimes(estimator, X)
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    return X


def check_table(estimator, X, layout, *, reset, training=False):
    """The model matrix of a mixed-type table ``X`` (see
    :class:`~skae._base.columns.ColumnLayout`), float64 with NaN for missing
    values; its feature names and width are checked (and, with ``reset``,
    set) as :func:`~sklearn.utils.validation.validate_data` does."""
    X = validate_table_names(estimator, X, reset=reset)
    if not hasattr(X, "shape") or len(X.shape) != 2:
        X = check_array(X, dtype=None, ensure_all_finite=False)
    rows = layout.encode(X, type(estimator).__name__, training=training)
    check_array(rows, ensure_all_finite="allow-nan")
    return rows


def validate_codes(Z, n_components):
    """Codes for ``inverse_transform``: checked, and streamed if out of core
    or sparse."""
    Z = from_tensor(Z)
    if is_streamed(Z):
        Z = RowStream(Z, check=check_array)
    else:
        Z = check_array(Z, accept_sparse="csr", dtype=FLOAT_DTYPES)
        if scipy.sparse.issparse(Z):
            Z = RowStream(Z, check=check_array)
            Z = Z if Z.n_blocks > 1 else Z.read(0, len(Z))
    if Z.shape[1] != n_components:
        raise ValueError(
            f"X has {Z.shape[1]} features, but inverse_transform expects "
            f"codes with n_components={n_components} features."
        )
    return Z


def validate_passed_on(estimator, X, *, reset):
    """``X`` validated for a meta-estimator that passes its rows on.

    As :func:`validate_in_memory`, except that out-of-core data stay out of
    core: only their first rows are checked here (width, type, names), and
    the wrapped estimator checks every block it reads.
    """
    X = from_tensor(X)
    if is_out_of_core(X):
        validate_in_memory(estimator, np.asarray(X[:2]), reset=reset)
        return X
    return validate_in_memory(estimator, X, reset=reset)


def dense_rows(rows):
    """A block of rows (sparse, a memory map's, a dask array's) as a numpy array."""
    return rows.toarray() if scipy.sparse.issparse(rows) else np.asarray(rows)
