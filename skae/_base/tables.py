"""What an estimator does with mixed-type tables: DataFrames in and out.

A model whose input columns are not all numbers of one kind (see
:mod:`~skae._base.columns`) validates a DataFrame column by column into the
model matrix, gives its module the columns' terms
(:mod:`~skae._base.column_terms`), and turns reconstructions and samples
back into DataFrames of the original columns and dtypes.
"""

import numpy as np
import pandas as pd
import scipy.sparse

from .column_terms import MIN_ENTROPY, ColumnTerms, marginal_entropies
from .columns import UNIFORM_KINDS, ColumnLayout
from .scaling import fit_scaling
from .validation import (
    check_no_datetimes,
    check_table,
    from_tensor,
    missing_as_nan,
    validate_rows,
)


class TableColumns:
    """The estimator's side of mixed-type columns: a mixin of the base class.

    Fitted attributes it sets: ``feature_kinds_`` (always), and for mixed
    columns ``categories_`` and ``feature_dtypes_``.
    """

    def _column_likelihood(self):
        """The kinds of the columns: ``"auto"`` (from the dtypes), a kind
        for all of them, or a dict by column; the VAE's ``likelihood``."""
        return "auto"

    def _uniform_kind(self):
        """The kind of every column when the input is a matrix of numbers."""
        likelihood = self._column_likelihood()
        return likelihood if likelihood in UNIFORM_KINDS else "gaussian"

    def _validate_X(self, X, *, reset, training=False):
        """``X`` validated into the model matrix (see
        :func:`~skae._base.validation.validate_rows`); with ``reset``, the
        columns' kinds are fitted first. ``training``: rows to train on,
        where a category not seen in the first fit is an error."""
        X = from_tensor(X)
        layout = self._fit_layout(X) if reset else self._mixed_layout()
        if layout is None:
            rows = validate_rows(self, X, reset=reset, check=self._check_data)
            if reset:
                for name in ("categories_", "feature_dtypes_"):
                    self.__dict__.pop(name, None)
                kinds = [self._uniform_kind()] * self.n_features_in_
                self.feature_kinds_ = np.array(kinds, dtype=object)
            return rows
        rows = check_table(self, _dense(X), layout, reset=reset, training=training)
        if reset:
            self.feature_kinds_ = np.array(layout.kinds, dtype=object)
            self.categories_ = [_storable(c) for c in layout.categories]
            self.feature_dtypes_ = np.array(layout.dtypes, dtype=object)
        return rows

    def _fit_layout(self, X):
        """The mixed layout of training data ``X``, or None for numbers."""
        likelihood = self._column_likelihood()
        if isinstance(likelihood, str) and likelihood in UNIFORM_KINDS:
            return None
        if not isinstance(likelihood, dict) and not isinstance(X, pd.DataFrame):
            return None
        check_no_datetimes(self, X)
        X = missing_as_nan(_dense(X))
        layout = ColumnLayout.fit(X, likelihood, type(self).__name__)
        return None if set(layout.kinds) == {"gaussian"} else layout

    def _mixed_layout(self):
        """The fitted :class:`~skae._base.columns.ColumnLayout`, or None for
        a model of numbers."""
        if getattr(self, "categories_", None) is None:
            return None
        return ColumnLayout(
            self.feature_kinds_,
            self.categories_,
            self.feature_dtypes_,
            getattr(self, "feature_names_in_", None),
        )

    @property
    def _n_model_columns(self):
        """The width of the model matrix: ``n_features_in_`` for numbers."""
        layout = self._mixed_layout()
        return self.n_features_in_ if layout is None else layout.n_columns

    def _fit_table_scaling(self, X):
        """``(mean_, scale_)`` of the model matrix ``X``."""
        layout = self._mixed_layout()
        if layout is None:
            return fit_scaling(X, self.standardize)
        return layout.scaling(X, self.standardize)

    def _column_terms(self, X):
        """The module's :class:`~skae._base.column_terms.ColumnTerms` for
        the model matrix ``X`` (scaled), or None for numbers. A flag or
        category's loss is divided by its training entropy, as a Gaussian
        column's squared error is by its variance: each column's loss is 1
        for a model that predicts its marginal distribution, whatever its
        kind (autoencoders; the VAE's log-probabilities are not weighted)."""
        layout = self._mixed_layout()
        if layout is None:
            return None
        values = np.asarray(X, dtype=np.float64)
        entropies = marginal_entropies(values, layout.kinds, layout.widths)
        weights = np.where(
            np.isnan(entropies), 1.0, 1.0 / np.maximum(entropies, MIN_ENTROPY)
        )
        return ColumnTerms(layout.kinds, layout.widths, weights)

    def _as_table(self, values, rng=None):
        """Model-matrix ``values`` in the data's units as the input's
        columns: a DataFrame of the original dtypes for mixed columns (see
        :meth:`~skae._base.columns.ColumnLayout.decode`), else unchanged."""
        layout = self._mixed_layout()
        if layout is None:
            return values
        labels = getattr(self, "feature_names_in_", None)
        labels = range(self.n_features_in_) if labels is None else labels
        return layout.decode(values, list(labels), rng)


def _storable(categories):
    """Categories as a numeric array when they are numbers (which a model
    file stores as such), else as objects."""
    values = categories.tolist()
    numbers = all(
        isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
        for v in values
    )
    return np.asarray(values) if numbers and values else categories


def _dense(X):
    return X.toarray() if scipy.sparse.issparse(X) else X
