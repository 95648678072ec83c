"""Input validation: scikit-learn's, with clearer messages, and for streams."""

import numpy as np
from sklearn.utils.validation import check_array, validate_data

from .stream import RowStream, is_streamed


def validate_rows(estimator, X, *, reset, check):
    """Validate ``X`` as scikit-learn does, with a clearer message for strings.

    ``check(X)`` runs the estimator's own checks on validated data.
    Out-of-core data (:func:`~skae._base.stream.is_streamed`) come back as a
    :class:`~skae._base.stream.RowStream`: their first rows are validated
    here, and every block is checked when it is read. Data of one block
    are read into memory.
    """
    if is_streamed(X):
        # The first rows: width, dtype, feature names.
        validate_rows(estimator, np.asarray(X[:2]), reset=reset, check=check)
        stream = RowStream(X, check=lambda rows: check(check_array(rows, dtype=None)))
        return stream if stream.n_blocks > 1 else stream.read(0, len(stream))
    try:
        X = validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32])
    except ValueError as exc:
        if "could not convert" in str(exc) or "dtype='numeric'" in str(exc):
            raise ValueError(
                f"{type(estimator).__name__} needs numeric input, but X has "
                f"non-numeric values ({exc}). Encode categorical columns "
                "first, e.g. with sklearn.preprocessing.OneHotEncoder."
            ) from exc
        raise
    check(X)
    return X


def validate_codes(Z, n_components):
    """Codes for ``inverse_transform``: checked, and streamed if out of core."""
    Z = (
        RowStream(Z, check=check_array)
        if is_streamed(Z)
        else check_array(Z, dtype=[np.float64, np.float32])
    )
    if Z.shape[1] != n_components:
        raise ValueError(
            f"X has {Z.shape[1]} features, but inverse_transform expects "
            f"codes with n_components={n_components} features."
        )
    return Z
