"""Mixed-type tables: each column's kind, and the matrix a network sees.

A DataFrame may hold numbers, flags (``bool``) and categories
(``category``, ``object`` or ``string`` dtypes). The networks compute on one
float matrix, the *model matrix*: a number is one column as it is, a flag
one 0/1 column, a category one indicator (one-hot) column per category seen
in fit. :class:`ColumnLayout` records each input column's kind, its
categories and its dtype; it encodes data into the model matrix (a missing
value as NaN in each of its columns) and decodes the model's output back
into the original columns and dtypes.

The kinds, and the distribution a probabilistic model puts on each:

``"gaussian"``
    A number, with a normal distribution (a squared error for the
    autoencoders).
``"bernoulli"``
    A flag (``bool``, or numbers in [0, 1]), with a Bernoulli distribution
    (a binary cross-entropy for the autoencoders).
``"categorical"``
    One of a finite set of values, with a categorical distribution (a
    cross-entropy for the autoencoders).
``"poisson"``
    A count (a non-negative integer), with a Poisson distribution;
    probabilistic models only.
"""

import numpy as np
import pandas as pd

from .scaling import fit_scaling

KINDS = ("gaussian", "bernoulli", "categorical", "poisson")
# The kinds a model of one distribution for every column takes by name.
UNIFORM_KINDS = ("gaussian", "bernoulli")


def inferred_kind(values):
    """The kind of a column from its dtype (``likelihood="auto"``).

    ``category`` columns (of numbers too), ``string`` columns and
    ``object`` columns of values that are not all numbers are categorical,
    ``bool`` columns (also pandas' ``boolean``) bernoulli, and numbers,
    integers included, gaussian.
    """
    dtype = values.dtype
    if isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)):
        return "categorical"
    if pd.api.types.is_bool_dtype(dtype):
        return "bernoulli"
    # Other pandas dtypes (periods, intervals) are no kind: refused later.
    if isinstance(dtype, np.dtype) and dtype.kind in "OSU":
        observed = values.dropna()
        if len(observed) and all(isinstance(v, (bool, np.bool_)) for v in observed):
            return "bernoulli"  # flags with missing values: an object column
        numbers = pd.to_numeric(observed, errors="coerce")
        return "categorical" if numbers.isna().any() else "gaussian"
    return "gaussian"


def is_mixed_table(X):
    """Whether ``X`` is a DataFrame with a column that is no number:
    a category, a string or a flag (see :func:`inferred_kind`)."""
    return isinstance(X, pd.DataFrame) and any(
        inferred_kind(X.iloc[:, j]) != "gaussian" for j in range(X.shape[1])
    )


def _frame(X):
    """``X`` as a DataFrame (an array's columns named 0, 1, ...)."""
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))


def _kinds_of(frame, likelihood, name):
    """Each column's kind under the ``likelihood`` parameter."""
    if isinstance(likelihood, str) and likelihood != "auto":
        return [likelihood] * frame.shape[1]
    kinds = [inferred_kind(frame.iloc[:, j]) for j in range(frame.shape[1])]
    if isinstance(likelihood, dict):
        labels = list(frame.columns)
        for key, kind in likelihood.items():
            if key in labels and not isinstance(key, (bool, np.bool_)):
                j = labels.index(key)
            elif isinstance(key, (int, np.integer)) and 0 <= key < len(labels):
                j = int(key)
            else:
                raise ValueError(
                    f"{name}(likelihood=...) names the column {key!r}, which X "
                    f"does not have; its columns are {labels[:10]}"
                    f"{' ...' if len(labels) > 10 else ''} (or positions "
                    f"0 to {len(labels) - 1})."
                )
            if kind not in KINDS:
                raise ValueError(
                    f"{name}(likelihood=...) gives column {key!r} the kind "
                    f"{kind!r}; the kinds are {', '.join(map(repr, KINDS))}."
                )
            kinds[j] = kind
    return kinds


def _categories(values, label, name):
    """The categories of a column: its dtype's for ``category``, else the
    values observed, sorted."""
    if isinstance(values.dtype, pd.CategoricalDtype) and values.notna().any():
        return np.asarray(values.dtype.categories, dtype=object)
    observed = values.dropna()
    try:
        return np.array(sorted(set(observed.tolist())), dtype=object)
    except TypeError as exc:
        raise TypeError(
            f"{name} cannot order the categories of column {label!r} ({exc}); "
            "give its values one type (e.g. X[column].astype(str))."
        ) from None


class ColumnLayout:
    """Each input column's kind, categories and dtype, and the model matrix.

    Parameters
    ----------
    kinds : sequence of str
        One of :data:`KINDS` per input column.
    categories : sequence of ndarray
        The categories of each categorical column, in the order of its
        indicator columns; an empty array for the other columns.
    dtypes : sequence of str
        The dtype of each input column, as ``str(dtype)``.
    labels : sequence, default=None
        The input columns' labels, for messages (their positions if None).
    """

    def __init__(self, kinds, categories, dtypes, labels=None):
        self.kinds = tuple(kinds)
        self.categories = [np.asarray(c, dtype=object) for c in categories]
        self.dtypes = tuple(str(dtype) for dtype in dtypes)
        self.labels = list(range(len(self.kinds))) if labels is None else list(labels)
        self.widths = np.array(
            [
                len(c) if kind == "categorical" else 1
                for kind, c in zip(self.kinds, self.categories)
            ],
            dtype=np.int64,
        )
        self.starts = np.concatenate([[0], np.cumsum(self.widths)[:-1]]).astype(
            np.int64
        )

    @classmethod
    def fit(cls, X, likelihood, name):
        """The layout of the training data ``X`` under ``likelihood``."""
        frame = _frame(X)
        kinds = _kinds_of(frame, likelihood, name)
        categories = [
            _categories(frame.iloc[:, j], frame.columns[j], name)
            if kind == "categorical"
            else np.array([], dtype=object)
            for j, kind in enumerate(kinds)
        ]
        for j, kind in enumerate(kinds):
            if kind == "categorical" and not len(categories[j]):
                raise ValueError(
                    f"{name}: the categorical column {frame.columns[j]!r} has "
                    "no observed value in the training data."
                )
        return cls(kinds, categories, frame.dtypes.astype(str), frame.columns)

    @property
    def n_columns(self):
        """The width of the model matrix."""
        return int(self.widths.sum())

    @property
    def is_plain(self):
        """Whether the model matrix is the input as it is: numbers only, all
        of one kind, as a model with one distribution for every column
        takes them (``likelihood="gaussian"`` or ``"bernoulli"``)."""
        return len(set(self.kinds)) <= 1 and self.kinds[:1] != ("categorical",)

    def column_of(self):
        """The input column of each model-matrix column."""
        return np.repeat(np.arange(len(self.kinds)), self.widths)

    def kind_mask(self, kind):
        """Which model-matrix columns belong to input columns of ``kind``."""
        return np.repeat(np.asarray(self.kinds) == kind, self.widths)

    # ------------------------------------------------------------------
    # Data to the model matrix

    def encode(self, X, name, *, training=False):
        """The model matrix of ``X`` (float64; NaN where a value is missing).

        A category not seen in fit gets an all-zero indicator block: the
        models give it probability 0 (a score of ``-inf``). In ``training``
        data (a continued fit) it is a ``ValueError``: a model cannot learn
        a category it has no output for.
        """
        frame = _frame(X)
        out = np.empty((len(frame), self.n_columns))
        for j, kind in enumerate(self.kinds):
            values = frame.iloc[:, j]
            block = slice(self.starts[j], self.starts[j] + self.widths[j])
            if kind == "categorical":
                out[:, block] = self._indicators(values, j)
                if training:
                    self._check_known(values, out[:, block], j, name)
            else:
                out[:, block] = self._numbers(values, kind, j, name)[:, None]
        return out

    def _indicators(self, values, j):
        missing = values.isna().to_numpy()
        codes = pd.Index(self.categories[j]).get_indexer(values.astype(object))
        block = np.zeros((len(values), self.widths[j]))
        known = codes >= 0
        block[np.flatnonzero(known), codes[known]] = 1.0
        block[missing] = np.nan
        return block

    def _check_known(self, values, block, j, name):
        unknown = block.sum(axis=1) == 0
        if unknown.any():
            new = sorted(set(map(str, values[unknown])))
            raise ValueError(
                f"{name}: column {self.labels[j]!r} has categories that the "
                f"model was not built for: {new[:5]}. A continued fit "
                "(partial_fit, warm_start) keeps the categories of the first "
                "fit; fit anew on data with every category."
            )

    def _numbers(self, values, kind, j, name):
        label = self.labels[j]
        if pd.api.types.is_bool_dtype(values.dtype):
            values = values.astype("float64")
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        numbers = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(numbers) & ~values.isna().to_numpy()
        if bad.any():
            raise ValueError(
                f"{name}: column {label!r} is {kind}, but holds values that "
                f"are no numbers (e.g. {values[bad].iloc[0]!r}). Give it the "
                "kind 'categorical' (likelihood={column: 'categorical'}, or "
                "the category dtype)."
            )
        if np.isinf(numbers).any():
            raise ValueError(f"{name}: column {label!r} holds infinite values.")
        observed = numbers[~np.isnan(numbers)]
        outside = (observed < 0) | (observed > 1)
        if kind == "bernoulli" and outside.any():
            raise ValueError(
                f"{name}: column {label!r} is bernoulli, but holds values "
                f"outside [0, 1] (e.g. {observed[outside][0]:g})."
            )
        if (
            kind == "poisson"
            and ((observed < 0) | (observed != np.round(observed))).any()
        ):
            raise ValueError(
                f"{name}: column {label!r} is poisson, but holds values that "
                "are no counts (non-negative integers)."
            )
        return numbers

    def scaling(self, X, standardize):
        """``(mean, scale)`` of the model matrix ``X``: the Gaussian columns
        scaled as ``standardize`` says, the others left as they are (their
        distributions are over the values themselves)."""
        mean, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
        gaussian = self.kind_mask("gaussian")
        if gaussian.any():
            mean[gaussian], scale[gaussian] = fit_scaling(X[:, gaussian], standardize)
        return mean, scale

    # ------------------------------------------------------------------
    # The model matrix back to data

    def decode(self, values, labels, rng=None):
        """The input columns from model-matrix ``values`` in the data's units.

        ``values`` hold each column's mean (probabilities for indicators
        and flags, the rate of a count). Each column gets its most probable
        value (the category of the largest probability, a flag above 1/2,
        the mode of a count), or with a ``rng`` a draw, in its dtype.
        Returns a DataFrame whose columns are ``labels``.
        """
        columns = {}
        for j, kind in enumerate(self.kinds):
            block = values[:, self.starts[j] : self.starts[j] + self.widths[j]]
            columns[labels[j]] = self._column(block, kind, j, rng)
        return pd.DataFrame(columns)

    def _column(self, block, kind, j, rng):
        dtype = self.dtypes[j]
        if kind == "categorical":
            probability = np.clip(block, 0.0, None)
            if rng is None:
                picks = probability.argmax(axis=1)
            else:
                cumulative = np.cumsum(probability, axis=1)
                draw = rng.uniform(size=(len(block), 1)) * cumulative[:, -1:]
                picks = (cumulative < draw).sum(axis=1).clip(0, block.shape[1] - 1)
            chosen = self.categories[j][picks]
            if dtype == "category":
                return pd.Categorical(chosen, categories=self.categories[j])
            return pd.array(chosen, dtype=dtype) if dtype != "object" else chosen
        value = block[:, 0]
        if kind == "bernoulli":
            value = (
                value >= 0.5 if rng is None else rng.uniform(size=len(value)) < value
            )
            if dtype == "object":  # flags that had missing values
                return value.astype(object)
        elif kind == "poisson":
            rate = np.clip(value, 0.0, None)
            value = np.floor(rate) if rng is None else rng.poisson(rate)
        return _as_dtype(value, dtype)


def _as_dtype(value, dtype):
    """Numbers in a column's dtype: integers rounded, flags as bool."""
    target = pd.api.types.pandas_dtype(dtype)
    if pd.api.types.is_bool_dtype(target):
        return pd.array(np.asarray(value, dtype=bool), dtype=target)
    if pd.api.types.is_integer_dtype(target):
        value = np.round(np.asarray(value, dtype=np.float64))
        info = np.iinfo(getattr(target, "numpy_dtype", target))
        return pd.array(
            np.clip(value, info.min, info.max).astype(info.dtype), dtype=target
        )
    if pd.api.types.is_numeric_dtype(target):
        return pd.array(np.asarray(value, dtype=np.float64)).astype(target)
    return np.asarray(value, dtype=np.float64)
