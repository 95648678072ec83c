"""Two design choices for mixed-type tables, measured.

``python -m benchmarks mixed-choices`` compares, on penguins (if
``palmerpenguins`` is installed) and a generated table, over three seeds of
a 75/25 train/test split:

- **the VAE's start on mixed columns**: the random networks (skae's
  default) against the factor-analysis start turned into each column's
  natural parameter to first order (``ColumnTerms.linearized``), for a
  ``VAE(2)`` fitted without the label column (``species``), by the held-out
  log-likelihood in nats per row (``VAE.score``) and the accuracy of a
  5-nearest-neighbour classifier of the label, trained on the training
  rows' 2-D codes and tested on the test rows';
- **the autoencoders' column weights**: a flag's or category's
  cross-entropy divided by its training entropy (skae's default) against
  unweighted, by the held-out reconstruction: the RMSE of the numbers in
  training standard deviations and the share of categories and flags
  reconstructed exactly.

Writes ``results/mixed_choices.json`` and ``.rst``.
"""

import warnings
from unittest import mock

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skae import VAE, AutoencoderTransformer
from skae._base import tables
from skae._models import variational

from . import _harness as h
from ._data import DataUnavailable

SEEDS = (0, 1, 2)


def generated_table(n_rows=2000, seed=7):
    """Two numbers, two categories that follow a latent variable, a flag
    and a count."""
    rng = np.random.RandomState(seed)
    t = rng.normal(size=n_rows)
    kind = np.digitize(t, [-0.5, 0.5])
    return pd.DataFrame(
        {
            "length": t + 0.1 * rng.normal(size=n_rows),
            "mass": 2 * t + 0.1 * rng.normal(size=n_rows),
            "species": pd.Categorical(np.array(["a", "b", "c"])[kind]),
            "island": np.array(["x", "y", "z"], dtype=object)[kind],
            "male": rng.uniform(size=n_rows) < 0.5,
            "eggs": rng.poisson(np.exp(0.3 * t + 0.5)),
        }
    )


def tables_to_measure():
    found = {"generated": generated_table()}
    try:
        from palmerpenguins import load_penguins
    except ImportError:
        h.log("palmerpenguins is not installed: penguins left out")
    else:
        found["penguins"] = load_penguins()
    if not found:
        raise DataUnavailable("no table")
    return found


def _linearized_start(module, X, random_state):
    """The factor-analysis start through each column's link, for a mixed VAE."""
    columns, module.columns = module.columns, None
    try:
        likelihood, module.likelihood = module.likelihood, "gaussian"
        module.columns = None
        original_start(module, X, random_state)
    finally:
        module.columns, module.likelihood = columns, likelihood
    decoder = module.decoder.linear
    weight, bias = columns.linearized(
        decoder.weight.detach().double().numpy(), decoder.bias.detach().double().numpy()
    )
    module.decoder.set_linear(weight, bias)


original_start = variational.VAEModule.start_from_linear_model


def vae_start(table, seed, start):
    train, test = train_test_split(table, random_state=seed)
    label = "species"
    patch = mock.patch.object(
        variational.VAEModule,
        "start_from_linear_model",
        _linearized_start if start == "linearized" else original_start,
    )
    with patch:
        model = VAE(2, random_state=seed).fit(train.drop(columns=label))
    codes = [model.transform(part.drop(columns=label)) for part in (train, test)]
    knn = KNeighborsClassifier(5).fit(codes[0], train[label].astype(str))
    accuracy = knn.score(codes[1], test[label].astype(str))
    return model.score(test.drop(columns=label)), accuracy


def _unweighted(estimator, X):
    terms = unweighted_original(estimator, X)
    if terms is not None:
        terms.weights.fill_(1.0)
    return terms


unweighted_original = tables.TableColumns._column_terms


def autoencoder_weights(table, seed, weights):
    train, test = train_test_split(table, random_state=seed)
    hook = unweighted_original if weights == "entropy" else _unweighted
    with mock.patch.object(tables.TableColumns, "_column_terms", hook):
        model = AutoencoderTransformer(2, random_state=seed).fit(train)
    back = model.inverse_transform(model.transform(test))
    test = test.reset_index(drop=True)
    numbers = [
        c for c, k in zip(table.columns, model.feature_kinds_) if k == "gaussian"
    ]
    others = [c for c in table.columns if c not in numbers]
    error = (back[numbers] - test[numbers]) / train[numbers].std()
    rmse = float(np.sqrt(np.nanmean(error.to_numpy(dtype=float) ** 2)))
    observed = test[others].notna().to_numpy()
    same = back[others].astype(str).to_numpy() == test[others].astype(str).to_numpy()
    return rmse, float(same[observed].mean())


def add_arguments(parser):
    parser.add_argument("--json", default=str(h.RESULTS / "mixed_choices.json"))


def run_command(args, argv):
    warnings.simplefilter("ignore")
    rows_start, rows_weights, results = [], [], {}
    for name, table in tables_to_measure().items():
        start = {
            choice: [vae_start(table, seed, choice) for seed in SEEDS]
            for choice in ("random", "linearized")
        }
        weights = {
            choice: [autoencoder_weights(table, seed, choice) for seed in SEEDS]
            for choice in ("entropy", "unweighted")
        }
        results[name] = {"vae_start": start, "autoencoder_weights": weights}
        rows_start.append(
            [
                name,
                *(
                    f"{np.mean([r[i] for r in start[c]]):.3f}"
                    for c in ("random", "linearized")
                    for i in (0, 1)
                ),
            ]
        )
        rows_weights.append(
            [
                name,
                *(
                    f"{np.mean([r[i] for r in weights[c]]):.3f}"
                    for c in ("entropy", "unweighted")
                    for i in (0, 1)
                ),
            ]
        )
        h.log(f"{name}: {results[name]}")
    text = "\n".join(
        [
            h.table(
                [
                    "table",
                    "random start (default): log-likelihood",
                    "5-NN label accuracy",
                    "linearized FA start: log-likelihood",
                    "5-NN label accuracy",
                ],
                rows_start,
                style="list-table",
            ),
            h.table(
                [
                    "table",
                    "entropy-weighted: numbers RMSE",
                    "categories exact",
                    "unweighted: numbers RMSE",
                    "categories exact",
                ],
                rows_weights,
                style="list-table",
            ),
        ]
    )
    print(text)
    report = h.report("mixed-choices", argv, seeds=list(SEEDS), results=results)
    path = h.save_json(report, args.json)
    path.with_suffix(".rst").write_text(text, encoding="utf-8")
