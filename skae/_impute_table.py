""":class:`~skae.IWAEImputer` on DataFrames of mixed-type columns.

Categories and flags cannot be NaN in a float array: a DataFrame with such
columns stays a DataFrame. Its missing values (NaN, None, ``pd.NA``) are
filled by the model's most probable value given the observed ones (a
category, a flag, a count; a number's conditional mean), or with
``sample_posterior=True`` by a draw; the observed values and the columns'
dtypes are kept.
"""

import numpy as np
import pandas as pd
from sklearn.impute import MissingIndicator

from ._base.validation import validate_table_names


def fit_table(imputer, X, estimator):
    """Fit ``imputer`` and its ``estimator`` on the mixed-type DataFrame ``X``."""
    X = validate_table_names(imputer, X, reset=True)
    mask = X.isna().to_numpy()
    imputer._valid_mask = ~mask.all(axis=0)
    imputer.indicator_ = (
        MissingIndicator(error_on_new=False).fit(_missing(X))
        if imputer.add_indicator
        else None
    )
    imputer.estimator_ = estimator.fit(X.loc[:, imputer._valid_mask])
    return imputer


def transform_table(imputer, X, fill_kwargs):
    """The mixed-type DataFrame ``X`` with its missing values filled."""
    X = validate_table_names(imputer, X, reset=False)
    indicator = (
        None
        if imputer.indicator_ is None
        else imputer.indicator_.transform(_missing(X))
    )
    valid = imputer._valid_mask
    kept = X.loc[:, valid].copy()
    missing = kept.isna()
    rows = np.flatnonzero(missing.any(axis=1).to_numpy())
    if len(rows):
        estimator = imputer.estimator_
        filled = estimator._as_table(estimator._impute(kept.iloc[rows], **fill_kwargs))
        filled.index = kept.index[rows]
        for column in kept.columns:
            gaps = missing[column].to_numpy()[rows]
            if gaps.any():
                kept[column] = _filled_column(kept[column], filled[column], gaps)
    if imputer.keep_empty_features:
        X = X.copy()
        X.loc[:, valid] = kept
        X.loc[:, ~valid] = 0.0
        kept = X
    if indicator is None:
        return kept
    names = imputer.indicator_.get_feature_names_out(X.columns.to_numpy(dtype=object))
    flags = pd.DataFrame(indicator, index=kept.index, columns=names)
    return pd.concat([kept, flags], axis=1)


def _missing(X):
    """NaN where ``X`` misses a value, 0 elsewhere: what MissingIndicator reads."""
    return np.where(X.isna().to_numpy(), np.nan, 0.0)


def _filled_column(column, filled, gaps):
    """``column`` with the values of ``filled`` (indexed by row label) at
    its missing values ``gaps`` (a mask over ``filled``'s rows)."""
    fill = filled[gaps]
    values = column.astype(object)
    values.loc[fill.index] = fill.astype(object).to_numpy()
    try:
        return values.astype(column.dtype)
    except (TypeError, ValueError):
        return values.infer_objects()
