"""The mixed tables of ``python -m benchmarks mixed`` and what each unit shares.

Penguins (``palmerpenguins``; :class:`~benchmarks._data.DataUnavailable`
without it) and generated tables whose structure is known: a latent class
(the label) sets a 2-D latent point, the numbers are a curved map of it, a
``group`` category is the class with some rows flipped at random, a ``site``
category is one of two neighbouring sites of each group (so that most group-site pairs
never occur), a flag and a count follow the latent point.
"""

from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ._data import DataUnavailable

TEST = 0.25  # held-out fraction


def penguins():
    """``(frame, label)``: the 333 complete penguins, their species."""
    try:
        from palmerpenguins import load_penguins
    except ImportError as exc:
        raise DataUnavailable(
            "penguins need palmerpenguins (pip install palmerpenguins)"
        ) from exc
    frame = load_penguins().dropna().reset_index(drop=True)
    return frame, frame["species"].astype(object).to_numpy()


def generated(n_rows, n_classes, n_sites, flip, noise, seed):
    """``(frame, label)``: a generated table of ``n_rows`` rows (see the
    module's docstring); ``flip`` of the groups are random, ``noise`` is the
    numbers' noise deviation."""
    rng = np.random.RandomState(seed)
    label = rng.randint(n_classes, size=n_rows)
    centres = rng.normal(scale=2.0, size=(n_classes, 2))
    z = centres[label] + 0.7 * rng.normal(size=(n_rows, 2))
    numbers = np.tanh(z @ rng.normal(size=(2, 4)) / 2) * 3
    numbers += noise * rng.normal(size=numbers.shape)
    group = np.where(
        rng.uniform(size=n_rows) < flip, rng.randint(n_classes, size=n_rows), label
    )
    site = (group * n_sites // n_classes + rng.randint(2, size=n_rows)) % n_sites
    groups = [f"g{k}" for k in range(n_classes)]
    frame = pd.DataFrame(numbers, columns=[f"x{j}" for j in range(4)])
    frame["group"] = pd.Categorical(np.array(groups)[group], categories=groups)
    frame["site"] = np.array([f"s{k}" for k in range(n_sites)], dtype=object)[site]
    frame["flag"] = rng.uniform(size=n_rows) < 1 / (1 + np.exp(-z[:, 0]))
    frame["count"] = rng.poisson(np.exp(0.5 + 0.4 * np.clip(z[:, 1], -4, 4)))
    return frame, label


TABLES = {
    "penguins": penguins,
    "latent3": partial(generated, 600, 3, 4, 0.05, 0.1, 1),
    "latent8": partial(generated, 2000, 8, 12, 0.15, 0.3, 2),
    "large": partial(generated, 6667, 4, 6, 0.1, 0.2, 3),  # 5,000 training rows
}
TIMED = "large"  # the table of the fit-time goal


def kinds(frame):
    """``(categories, flags, numbers)``: the column names of each kind, by dtype."""
    flags = [c for c in frame if pd.api.types.is_bool_dtype(frame[c])]
    numbers = [
        c for c in frame if c not in flags and pd.api.types.is_numeric_dtype(frame[c])
    ]
    return [c for c in frame if c not in flags + numbers], flags, numbers


def one_hot(categories, flags, numbers):
    """The workaround: one-hot categories and flags, standardized numbers."""
    encoder = OneHotEncoder(sparse_output=False, handle_unknown="ignore")
    return ColumnTransformer(
        [("onehot", encoder, categories + flags), ("scaled", StandardScaler(), numbers)]
    )


@dataclass
class Split:
    """One seed's train/test split of a table, and its one-hot encoding."""

    train: pd.DataFrame
    test: pd.DataFrame
    label: np.ndarray  # of train then test rows
    categories: list
    flags: list
    numbers: list
    encoder: ColumnTransformer = field(repr=False)
    A_train: np.ndarray = field(repr=False)
    A_test: np.ndarray = field(repr=False)

    @classmethod
    def of(cls, frame, label, seed, max_rows=None):
        order = np.random.RandomState(seed).permutation(len(frame))[:max_rows]
        cut = int(round((1 - TEST) * len(order)))
        train = frame.iloc[order[:cut]].reset_index(drop=True)
        test = frame.iloc[order[cut:]].reset_index(drop=True)
        columns = kinds(frame)
        encoder = one_hot(*columns).fit(train)
        A_train, A_test = encoder.transform(train), encoder.transform(test)
        return cls(train, test, label[order], *columns, encoder, A_train, A_test)

    @property
    def full(self):
        return pd.concat([self.train, self.test], ignore_index=True)

    def block(self, column):
        """``(slice, categories)`` of a category or flag in the one-hot matrix."""
        encoder = self.encoder.named_transformers_["onehot"]
        start = 0
        for name, levels in zip(self.categories + self.flags, encoder.categories_):
            if name == column:
                return slice(start, start + len(levels)), np.asarray(levels, object)
            start += len(levels)
        raise KeyError(column)

    def number_columns(self):
        """The numbers' columns in the one-hot matrix (they come last)."""
        n = self.A_train.shape[1]
        return np.arange(n - len(self.numbers), n)

    def standardized(self, values):
        """Numbers in the data's units, standardized as the workaround does."""
        scaler = self.encoder.named_transformers_["scaled"]
        return (np.asarray(values, dtype=float) - scaler.mean_) / scaler.scale_


def model_block(model, column):
    """``(slice, categories)`` of ``column`` in a fitted skae model's matrix."""
    layout = model._mixed_layout()
    j = list(layout.labels).index(column)
    start = layout.starts[j]
    return slice(start, start + layout.widths[j]), layout.categories[j]


def plant(split, rng, n_rows):
    """Up to ``n_rows`` test rows, each with one category changed so that it
    forms a pair with another category that never occurs in training."""
    train, test, columns = split.train, split.test, split.categories
    seen = {
        (a, b): set(zip(train[a].astype(object), train[b].astype(object)))
        for a in columns
        for b in columns
        if a != b
    }
    levels = {a: sorted(set(train[a].astype(object))) for a in columns}
    changes = []
    for i in rng.permutation(len(test)):
        row = test.iloc[i].astype(object)
        for a in rng.permutation(columns):
            others = [b for b in columns if b != a]
            options = [
                value
                for value in levels[a]
                if value != row[a]
                and any((value, row[b]) not in seen[a, b] for b in others)
            ]
            if options:
                changes.append((i, a, options[rng.randint(len(options))]))
                break
        if len(changes) == n_rows:
            break
    planted = test.iloc[[i for i, _, _ in changes]].reset_index(drop=True)
    for k, (_, column, value) in enumerate(changes):
        planted.loc[k, column] = value
    return planted
