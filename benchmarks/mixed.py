"""Mixed-type tables benchmark: skae's per-column VAE against the one-hot
workaround (issue 24).

``python -m benchmarks mixed [--quick]``. Each table (see
:mod:`benchmarks._mixed_data`) is split 75/25 per seed. The contenders are
fitted on the training rows at their defaults: the per-column ``VAE()`` on
the raw frame; the same ``VAE(likelihood="gaussian")`` and ``PCA(2)`` on the
one-hot workaround (one-hot categories and flags, standardized numbers);
``IWAEImputer()`` on the raw frame; scikit-learn's imputers. Measures, on
the test rows: the conditional log-likelihood of each category given the
other columns; the accuracy of imputing 30% of each category (MCAR) and the
RMSE of imputing 30% of the numbers; the 5-NN accuracy of a known label on
the 2-D codes; the outlier ROC AUC of planted impossible category pairs; fit
seconds. Goals of issue 24 are judged on the means over seeds.
"""

import json
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

import skae

from . import _harness as h
from . import _mixed_data as md
from ._data import DataUnavailable
from ._mixed_report import (
    DETECTOR,
    DETECTOR_ONEHOT,
    FREQ,
    ITER,
    IWAE,
    KNN,
    ONEHOT,
    PCA2,
    SIMPLE,
    VAE,
    goals,
    render,
)

HIDDEN, PLANTED, CLIP = 0.3, 0.1, 1e-6


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def fit_models(split, seed, params):
    """The fitted contenders of one split and the seconds of each fit."""
    models = {
        VAE: (skae.VAE(random_state=seed, **params), split.train),
        ONEHOT: (
            skae.VAE(likelihood="gaussian", random_state=seed, **params),
            split.A_train,
        ),
        PCA2: (PCA(2, random_state=seed), split.A_train),
        IWAE: (skae.IWAEImputer(skae.IWAE(random_state=seed, **params)), split.train),
        DETECTOR: (skae.OutlierDetector(random_state=seed), split.train),
        DETECTOR_ONEHOT: (
            skae.OutlierDetector(
                skae.VAE(likelihood="gaussian", random_state=seed, **params),
                random_state=seed,
            ),
            split.A_train,
        ),
    }
    if params:  # a capped run: the detector's own VAE too
        models[DETECTOR][0].set_params(estimator=skae.VAE(random_state=seed, **params))
    if not params:  # IWAEImputer() as it is
        models[IWAE] = (skae.IWAEImputer(random_state=seed), split.train)
    seconds, epochs = {}, {}
    for name, (model, X) in models.items():
        start = time.perf_counter()
        _quiet(model.fit, X)
        seconds[name] = time.perf_counter() - start
        if hasattr(model, "net_"):
            epochs[name] = len(model.net_.history)
    return {name: model for name, (model, _) in models.items()}, seconds, epochs


def pca_impute(pca, A):
    """``A`` with its NaN filled by PCA's Gaussian's conditional means."""
    mean, covariance = pca.mean_, pca.get_covariance()
    out = A.copy()
    patterns = np.isnan(A)
    for pattern in np.unique(patterns, axis=0):
        if not pattern.any():
            continue
        rows = (patterns == pattern).all(1)
        seen = ~pattern
        gain = np.linalg.solve(
            covariance[np.ix_(seen, seen)], covariance[np.ix_(seen, pattern)]
        )
        centred = A[np.ix_(rows, seen)] - mean[seen]
        out[np.ix_(rows, pattern)] = mean[pattern] + centred @ gain
    return out


def _renormalized(probabilities):
    probabilities = np.clip(probabilities, CLIP, 1)
    return probabilities / probabilities.sum(1, keepdims=True)


def _log_probability(probabilities, levels, values):
    """Mean log-probability of the observed ``values`` (clipped, renormalized)."""
    hits = np.asarray(values, dtype=object)[:, None] == np.asarray(levels)[None, :]
    chosen = (_renormalized(probabilities) * hits).sum(1)
    return float(np.mean(np.log(np.maximum(chosen, CLIP))))


def category_probabilities(split, models, column):
    """Each contender's probabilities of ``column``'s categories on the test
    rows with ``column`` missing: ``{name: (probabilities, categories)}``."""
    frame = split.test.copy()
    frame[column] = frame[column].mask(np.ones(len(frame), dtype=bool))
    where, levels = md.model_block(models[VAE], column)
    out = {VAE: (_quiet(models[VAE]._impute, frame)[:, where], levels)}
    block, levels = split.block(column)
    A = split.A_test.copy()
    A[:, block] = np.nan
    out[ONEHOT] = (_quiet(models[ONEHOT]._impute, A)[:, block], levels)
    out[PCA2] = (pca_impute(models[PCA2], A)[:, block], levels)
    frequencies = split.A_train[:, block].mean(0)
    out[FREQ] = (np.tile(frequencies, (len(A), 1)), levels)
    return out


def loglik(split, models):
    """``{contender: {column: nats per row}}`` for each categorical column."""
    out = {}
    for column in split.categories:
        values = split.test[column].astype(object).to_numpy()
        found = category_probabilities(split, models, column)
        for name, (probabilities, levels) in found.items():
            score = _log_probability(probabilities, levels, values)
            out.setdefault(name, {})[column] = score
    return out


def _masked(split, seed):
    """``(frame, A, hidden)``: the test rows with 30% of each category hidden
    (MCAR), then with 30% of the numbers hidden; ``hidden``: their masks."""
    rng = np.random.RandomState(seed + 1000)
    n = len(split.test)
    hidden = {c: rng.uniform(size=n) < HIDDEN for c in split.categories}
    numbers = rng.uniform(size=(n, len(split.numbers))) < HIDDEN
    cat_frame, num_frame = split.test.copy(), split.test.copy()
    cat_A, num_A = split.A_test.copy(), split.A_test.copy()
    for column, rows in hidden.items():
        cat_frame[column] = cat_frame[column].mask(rows)
        cat_A[np.ix_(rows, np.arange(cat_A.shape[1])[split.block(column)[0]])] = np.nan
    for j, column in enumerate(split.numbers):
        num_frame[column] = num_frame[column].mask(numbers[:, j])
    num_A[:, split.number_columns()] = np.where(
        numbers, np.nan, num_A[:, split.number_columns()]
    )
    return (cat_frame, cat_A, hidden), (num_frame, num_A, numbers)


def _from_matrix(split, filled, model=None):
    """``({category: predicted values}, standardized numbers)`` of a filled
    one-hot matrix, or of a skae ``model``'s filled model matrix."""
    block = (lambda column: md.model_block(model, column)) if model else split.block
    guesses = {}
    for column in split.categories:
        where, levels = block(column)
        guesses[column] = np.asarray(levels)[filled[:, where].argmax(1)]
    if model is None:
        return guesses, filled[:, split.number_columns()]
    layout = model._mixed_layout()
    columns = [layout.starts[list(layout.labels).index(c)] for c in split.numbers]
    return guesses, split.standardized(filled[:, columns])


def imputations(split, models, seed):
    """``{contender: (category accuracy, numbers' RMSE)}`` on the masked test
    rows (RMSE in standardized units)."""
    (cat_frame, cat_A, hidden), (num_frame, num_A, numbers) = _masked(split, seed)
    matrix = {
        ONEHOT: models[ONEHOT]._impute,
        PCA2: lambda A: pca_impute(models[PCA2], A),
        KNN: KNNImputer().fit(split.A_train).transform,
        ITER: _quiet(IterativeImputer(random_state=seed).fit, split.A_train).transform,
    }
    found = {
        VAE: (
            _from_matrix(split, _quiet(models[VAE]._impute, cat_frame), models[VAE])[0],
            _from_matrix(split, _quiet(models[VAE]._impute, num_frame), models[VAE])[1],
        ),
        IWAE: (
            {c: _quiet(models[IWAE].transform, cat_frame)[c] for c in hidden},
            split.standardized(
                _quiet(models[IWAE].transform, num_frame)[split.numbers]
            ),
        ),
    }
    for name, impute in matrix.items():
        found[name] = (
            _from_matrix(split, _quiet(impute, cat_A))[0],
            _from_matrix(split, _quiet(impute, num_A))[1],
        )
    mode = SimpleImputer(strategy="most_frequent").fit(_objects(split.train, hidden))
    guessed = mode.transform(_objects(cat_frame, hidden))
    mean = SimpleImputer().fit(split.A_train).transform(num_A)
    found[SIMPLE] = (dict(zip(hidden, guessed.T)), mean[:, split.number_columns()])
    truth = split.standardized(split.test[split.numbers])
    out = {}
    for name, (guesses, filled) in found.items():
        right = [
            np.asarray(guesses[c], dtype=object)[rows]
            == split.test[c].astype(object).to_numpy()[rows]
            for c, rows in hidden.items()
        ]
        rmse = np.sqrt(np.mean((np.asarray(filled)[numbers] - truth[numbers]) ** 2))
        out[name] = (float(np.concatenate(right).mean()), float(rmse))
    return out


def _objects(frame, columns):
    """Categorical columns as objects, missing as NaN (for SimpleImputer)."""
    values = frame[list(columns)].astype(object)
    return values.where(values.notna(), np.nan).to_numpy()


def label_accuracy(split, models, seed):
    """5-NN accuracy (5-fold) of the label on the 2-D codes of all rows."""
    full = split.full
    A = split.encoder.transform(full)
    codes = {
        VAE: _quiet(models[VAE].transform, full),
        ONEHOT: _quiet(models[ONEHOT].transform, A),
        PCA2: models[PCA2].transform(A),
    }
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    knn = KNeighborsClassifier(5)
    return {
        name: float(cross_val_score(knn, Z, split.label, cv=folds).mean())
        for name, Z in codes.items()
    }


def outlier_auc(split, models, seed):
    """ROC AUC of the detectors: test rows against planted impossible ones."""
    n_planted = max(10, int(PLANTED * len(split.test)))
    planted = md.plant(split, np.random.RandomState(seed + 2000), n_planted)
    rows = pd.concat([split.test, planted], ignore_index=True)
    y = np.r_[np.zeros(len(split.test)), np.ones(len(planted))]
    scores = {
        DETECTOR: _quiet(models[DETECTOR].score_samples, rows),
        DETECTOR_ONEHOT: _quiet(
            models[DETECTOR_ONEHOT].score_samples, split.encoder.transform(rows)
        ),
    }
    return {name: float(roc_auc_score(y, -s)) for name, s in scores.items()}, len(
        planted
    )


def valid_output(split, model, seed):
    """Whether ``inverse_transform`` and ``sample`` give the training columns
    in their dtypes, with only categories seen in training."""
    made = [
        _quiet(model.inverse_transform, _quiet(model.transform, split.test)),
        _quiet(model.sample, 200, random_state=seed),
    ]
    for frame in made:
        if list(frame.columns) != list(split.train.columns):
            return False
        if list(frame.dtypes.astype(str)) != list(split.train.dtypes.astype(str)):
            return False
        for column in split.categories:
            if not set(frame[column].astype(object)) <= set(split.train[column]):
                return False
    return True


def unit(name, seed, config):
    """Every record of one table and seed."""
    frame, label = md.TABLES[name]()
    split = md.Split.of(frame, label, seed, config.max_rows)
    models, seconds, epochs = fit_models(split, seed, config.skae_params)
    base = dict(dataset=name, seed=seed)

    def record(measure, contender, value, **extra):
        return {
            **base,
            "measure": measure,
            "contender": contender,
            "value": value,
            **extra,
        }

    out = []
    for contender, columns in loglik(split, models).items():
        total = float(sum(columns.values()))
        out.append(record("loglik", contender, total, columns=columns))
    for contender, (accuracy, rmse) in imputations(split, models, seed).items():
        out += [record("accuracy", contender, accuracy)]
        out += [record("rmse", contender, rmse)]
    for contender, accuracy in label_accuracy(split, models, seed).items():
        out.append(record("knn5", contender, accuracy))
    aucs, n_planted = outlier_auc(split, models, seed)
    for contender, auc in aucs.items():
        out.append(record("auc", contender, auc, planted=n_planted))
    for contender in (VAE, ONEHOT):
        per_epoch = seconds[contender] / epochs[contender]
        extra = dict(epochs=epochs[contender], per_epoch=per_epoch)
        extra.update(rows=len(split.train))
        out.append(record("fit_seconds", contender, seconds[contender], **extra))
    out.append(record("valid_output", VAE, valid_output(split, models[VAE], seed)))
    return out


MEASURES = ("loglik", "accuracy", "rmse", "knn5", "auc", "fit_seconds")
MEASURES += ("valid_output",)


@dataclass
class MixedConfig(h.Config):
    """What one run measures; :meth:`quick`: penguins, 120 rows, 3 epochs."""

    datasets: tuple = h.option(
        tuple(md.TABLES), "tables", choices=list(md.TABLES), metavar="NAME"
    )
    seeds: int = h.option(3, "seeds")
    max_rows: int | None = h.option(None, "cap on the rows of every table")
    max_epochs: int | None = h.option(None, "cap on max_epochs of skae's models")
    QUICK = dict(datasets=("penguins", "latent3"), seeds=1, max_rows=120, max_epochs=3)

    @property
    def skae_params(self):
        return {"max_epochs": self.max_epochs} if self.max_epochs else {}


def _unit(name, seed, config):
    try:
        return unit(name, seed, config), None
    except DataUnavailable as exc:
        return [], str(exc)


def run(config, threads=None, log=print):
    """``(records, skipped)``: the records of every table and seed, and
    ``{table: reason}`` for tables not here."""
    units = [(name, seed) for name in config.datasets for seed in range(config.seeds)]
    results = h.run_units(_unit, [(*u, config) for u in units], 1, threads)
    records, skipped = [], {}
    for (name, seed), (found, reason) in zip(units, results):
        records += found
        if reason:
            skipped[name] = reason
        log(f"{name:10s} seed {seed}: {reason or f'{len(found)} records'}")
    return records, skipped


# ----------------------------------------------------------------------
# Command line


def add_arguments(parser):
    MixedConfig.add_arguments(parser)
    h.output_arguments(parser, "mixed")


def run_command(args, argv=()):
    """Run the benchmark of the parsed ``args`` (or render ``--tables-from``)."""
    if args.tables_from:
        report = json.loads(args.tables_from.read_text(encoding="utf-8"))
    else:
        h.set_threads(args.threads)
        config, start = MixedConfig.from_args(args), time.perf_counter()
        records, skipped = run(config, args.threads, h.log)
        report = h.report("mixed", argv, quick=args.quick, config=asdict(config))
        report.update(total_seconds=time.perf_counter() - start, skipped=skipped)
        report.update(goals=goals(records), records=records)
    return h.write_tables(args, report, render)
