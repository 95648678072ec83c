"""Imputation benchmark: skae's ``IWAEImputer`` against scikit-learn's imputers.

``python -m benchmarks imputation [--quick] [--mnist-npz PATH]``. Tables are
standardized by their complete columns' means and deviations (images: by one
mean and deviation), then masked; the imputers fill the masked table
(``fit_transform``) or, for the centre block of images, fill 25% of the images
after a fit on the other 75% complete. Scores: the RMSE over the masked
entries, seconds, the log-likelihood of incomplete held-out rows (skae's VAE
and IWAE; PCA's and FA's Gaussian marginalized), outlier ROC AUC.
"""

import json
import time
import warnings
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, rankdata
from sklearn import datasets as sk
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.ensemble import RandomForestRegressor
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.metrics import roc_auc_score

import skae

from . import _data
from . import _harness as h
from ._data import DataUnavailable

FOREST_TREES, FOREST_ITER = 30, 5  # missForest's 100 trees and 10 rounds cost too much
MAR_RATE, OUTLIER_MISSING, LOGLIK_MISSING = 0.3, 0.2, 0.2
MNIST_ROWS = 10000
TRUE_MODEL_GRID = 161  # latent points per side for the true model
ANCHOR = ("breast_cancer", "mcar50", 0.2867)  # MSE of the MIWAE authors' notebook


def _penguins():
    try:
        from palmerpenguins import load_penguins
    except ImportError as error:  # the benchmarks extra installs it
        raise DataUnavailable("palmerpenguins is not installed") from error

    columns = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    return load_penguins()[columns].dropna().to_numpy(float)


def _embedded(make, n_rows=1000, n_features=10, noise=0.05):
    """A curved 2-D sheet in 3-D (``make``) sent through ``tanh`` of a random
    linear map into ``n_features`` dimensions, plus Gaussian noise."""
    rng = np.random.RandomState(0)
    X = make(n_rows, random_state=0)[0]
    X = np.tanh((X - X.mean(0)) / X.std(0) @ rng.normal(size=(3, n_features)))
    return X + noise * rng.normal(size=X.shape)


TABLES = {
    "breast_cancer": lambda: sk.load_breast_cancer().data,
    "wine": lambda: sk.load_wine().data,
    "diabetes": lambda: sk.load_diabetes().data,
    "iris": lambda: sk.load_iris().data,
    "penguins": _penguins,
    "swiss_roll": partial(_embedded, sk.make_swiss_roll),
    "s_curve": partial(_embedded, sk.make_s_curve),
}
IMAGES = {"digits": lambda: sk.load_digits().data, "mnist": None}  # see load()
DATASETS = [*TABLES, *IMAGES]
SLOW = {"mnist": {"iterative", "missforest"}}  # hours on 784 columns: not run
SETTINGS = {"table": ("mcar20", "mcar50", "mar"), "image": ("mcar20", "mcar50")}
SETTINGS["image"] += ("block",)
ALL_SETTINGS = tuple(dict.fromkeys(SETTINGS["table"] + SETTINGS["image"]))
OUTLIER_SETS = ("breast_cancer", "wine", "manifold")


def load(name, config):
    """The complete table ``name``, standardized, at most ``config.max_rows``
    rows (a seed-0 shuffle first); ``DataUnavailable`` if it is not here."""
    if name == "mnist":  # DataUnavailable without --mnist-npz
        X = _data.mnist_subset(0, MNIST_ROWS, 0, config.mnist_npz, False)[0]
    else:
        X = {**TABLES, **IMAGES}[name]()
    X = np.random.RandomState(0).permutation(np.asarray(X, dtype=float))
    X = X[: config.max_rows]
    axis = 0 if name in TABLES else None  # images: one scale for every pixel
    X = (X - X.mean(axis)) / X.std(axis)
    return X[:, np.isfinite(X).all(0)]  # constant columns out


def mask(X, setting, rng):
    """Where ``X`` is hidden: ``mcarNN`` (NN%), ``mar`` or ``block``."""
    n, d = X.shape
    if setting.startswith("mcar"):
        return rng.uniform(size=X.shape) < int(setting[4:]) / 100
    if setting == "mar":  # each column depends on the rank of column 0
        rank = X[:, 0].argsort().argsort() / max(n - 1, 1)
        up = rng.uniform(size=d) < 0.5  # missing when column 0 is high (or low)
        chance = 2 * MAR_RATE * np.where(up, rank[:, None], 1 - rank[:, None])
        hidden = rng.uniform(size=X.shape) < chance
        hidden[:, 0] = False
        return hidden
    side = int(round(np.sqrt(d)))  # block: the centre half of each side
    start, width = side // 4, side // 2
    block = np.zeros((side, side), dtype=bool)
    block[start : start + width, start : start + width] = True
    return np.broadcast_to(block.ravel(), X.shape).copy()


# ----------------------------------------------------------------------
# Contenders: a key, its label (CONTENDERS) and how it is built (build).


def build(key, seed, params):
    """A new imputer: ``params`` go to skae's models (``max_epochs``)."""
    if key == "missforest":
        forest = RandomForestRegressor(
            FOREST_TREES, max_features="sqrt", n_jobs=1, random_state=seed
        )
        return IterativeImputer(forest, max_iter=FOREST_ITER, random_state=seed)
    if key == "ae":
        model = skae.AutoencoderTransformer(random_state=seed, **params)
        return skae.IWAEImputer(model, random_state=seed)
    if key == "iwae":
        return skae.IWAEImputer(random_state=seed, **params)
    if key == "iterative":
        return IterativeImputer(random_state=seed)
    return SimpleImputer() if key == "mean" else KNNImputer()


CONTENDERS = {"mean": "SimpleImputer(mean)", "knn": "KNNImputer"}
CONTENDERS.update(iterative="IterativeImputer", missforest="missForest")
CONTENDERS.update(iwae="IWAEImputer", ae="IWAEImputer(AutoencoderTransformer)")
SKAE = ("iwae", "ae")


def available(keys):
    """The contenders in ``keys`` that this skae has (skae's: IWAEImputer)."""
    return [k for k in keys if k not in SKAE or hasattr(skae, "IWAEImputer")]


def _record(measure, dataset, setting, contender, seed, function):
    """``function()``'s value and seconds as a record; its error if it raises."""
    record = dict(measure=measure, dataset=dataset, setting=setting)
    record.update(contender=contender, seed=seed, value=None, seconds=None)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            record["value"] = float(function())
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        record["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    record["seconds"] = time.perf_counter() - start
    return record


def _rmse(imputer, X, hidden, setting):
    X_missing = np.where(hidden, np.nan, X)
    if setting == "block":
        cut = int(0.75 * len(X))
        filled = imputer.fit(X[:cut]).transform(X_missing[cut:])
        X, hidden = X[cut:], hidden[cut:]
    else:
        filled = imputer.fit_transform(X_missing)
    return np.sqrt(np.mean((filled[hidden] - X[hidden]) ** 2))


def rmse_unit(name, seed, config):
    X = load(name, config)
    records = []
    for setting in SETTINGS["table" if name in TABLES else "image"]:
        if setting not in config.settings:
            continue
        hidden = mask(X, setting, np.random.RandomState(seed))
        for key in available(config.contenders):
            if key in SLOW.get(name, ()):
                continue
            imputer = build(key, seed, config.skae_params)
            score = partial(_rmse, imputer, X, hidden, setting)
            records.append(_record("rmse", name, setting, key, seed, score))
    return records


# ----------------------------------------------------------------------
# Log-likelihood of incomplete rows, outlier AUC with missing entries


def marginal_loglik(mean, covariance, X):
    """log N(x_O; mean_O, covariance_OO) of each row over its observed set O
    (0 for a row with none)."""
    out = np.zeros(len(X))
    for i, row in enumerate(X):
        seen = ~np.isnan(row)
        if seen.any():
            part = multivariate_normal(mean[seen], covariance[np.ix_(seen, seen)])
            out[i] = part.logpdf(row[seen])
    return out


def _loglik(model, X_train, X_test):
    """skae's ``score_samples``; PCA's and FA's Gaussian, fitted on the
    mean-imputed rows, marginalized over each test row's observed entries."""
    if isinstance(model, PCA | FactorAnalysis):
        model.fit(SimpleImputer().fit_transform(X_train))
        return marginal_loglik(model.mean_, model.get_covariance(), X_test).mean()
    return model.fit(X_train).score_samples(X_test).mean()


def loglik_unit(name, seed, config):
    X = load(name, config)
    rng = np.random.RandomState(seed)
    X = np.where(rng.uniform(size=X.shape) < LOGLIK_MISSING, np.nan, X)
    X = X[rng.permutation(len(X))]
    X_train, X_test = X[: int(0.75 * len(X))], X[int(0.75 * len(X)) :]
    X_test = X_test[np.isnan(X_test).any(1)]  # the incomplete rows only
    k, setting = max(1, min(4, X.shape[1] // 2)), f"mcar{LOGLIK_MISSING:.0%}"[:-1]
    params = dict(n_components=k, random_state=seed, **config.skae_params)
    models = [skae.VAE(**params), skae.IWAE(**params), PCA(k), FactorAnalysis(k)]
    return [
        _record("loglik", name, setting, type(model).__name__, seed, fit)
        for model in models
        for fit in [partial(_loglik, model, X_train, X_test)]
    ]


def true_model_scores(X):
    """log p(x_obs) of each row of ``X`` (raw units, NaN where missing) under
    the model that generated the "manifold" rows, its uniform 2-D latent
    integrated on a grid: the best a score of the observed entries can do."""
    weights, bias = _data.dependency_network(X.shape[1])
    grid = np.linspace(-1, 1, TRUE_MODEL_GRID)
    means = np.tanh(np.array(np.meshgrid(grid, grid)).reshape(2, -1).T @ weights + bias)
    out = np.empty(len(X))
    for i, row in enumerate(X):
        seen = ~np.isnan(row)
        log_p = (
            -((means[:, seen] - row[seen]) ** 2).sum(1) / 2 / _data.DEPENDENCY_NOISE**2
        )
        log_p -= seen.sum() * np.log(_data.DEPENDENCY_NOISE * np.sqrt(2 * np.pi))
        out[i] = logsumexp(log_p) - np.log(len(means))
    return out


def _true_model_auc(y, X):
    return roc_auc_score(y, -true_model_scores(X))


def outlier_unit(name, seed, config):
    """ROC AUC of ``OutlierDetector()`` on complete test rows and with
    :data:`OUTLIER_MISSING` of their entries missing, and the share of the
    normal test rows it flags; on "manifold", also the AUC of the
    generating model's own log p(x_obs) (``true model``)."""
    _, normal, anomalies = _data.load_tasks(name, quick=config.max_rows is not None)[0]
    X_train, X_test, y_test = _data.split(normal, anomalies, seed, 0.0)
    hidden = np.random.RandomState(seed).uniform(size=X_test.shape) < OUTLIER_MISSING
    torch.manual_seed(seed)  # OutlierDetector() is unseeded
    vae = skae.VAE(**config.skae_params) if config.skae_params else None
    detector, fitted = skae.OutlierDetector(vae), []

    def auc(X):  # the first call fits (its seconds include the fit)
        if not fitted:
            fitted.append(detector.fit(X_train))
        return roc_auc_score(y_test, -detector.score_samples(X))

    def flagged(X):
        return np.mean(detector.predict(X[y_test == 0]) == -1)

    tests = {"complete": X_test, "20% missing": np.where(hidden, np.nan, X_test)}
    records = [
        _record(measure, name, setting, "OutlierDetector()", seed, partial(f, X))
        for measure, f in (("auc", auc), ("flagged", flagged))
        for setting, X in tests.items()
    ]
    if name == "manifold":
        raw = _data.split(normal, anomalies, seed, 0.0, standardize=False)[1]
        for setting, X in tests.items():
            X = np.where(np.isnan(X), np.nan, raw)
            score = partial(_true_model_auc, y_test, X)
            records.append(_record("auc", name, setting, "true model", seed, score))
    return records


# ----------------------------------------------------------------------
# Runs

MEASURES = {"rmse": rmse_unit, "loglik": loglik_unit, "auc": outlier_unit}


@dataclass
class ImputationConfig(h.Config):
    """What one run measures; :meth:`quick`: two tables, 120 rows, 3 epochs."""

    datasets: tuple = h.option(
        tuple(DATASETS), "data sets", choices=DATASETS, metavar="NAME"
    )
    contenders: tuple = h.option(
        tuple(CONTENDERS), "imputers", choices=list(CONTENDERS)
    )
    measures: tuple = h.option(tuple(MEASURES), "measures", choices=list(MEASURES))
    settings: tuple = h.option(
        ALL_SETTINGS, "missingness of the RMSE", choices=list(ALL_SETTINGS)
    )
    seeds: int = h.option(3, "seeds")
    max_rows: int | None = h.option(None, "cap on the rows of every data set")
    mnist_npz: str | None = h.option(None, "MNIST .npz (x_train, x_test); else skipped")
    max_epochs: int | None = h.option(None, "cap on max_epochs of skae's models")
    QUICK = dict(datasets=("iris", "penguins"), seeds=1, max_rows=120, max_epochs=3)
    JOBS = 1

    @property
    def skae_params(self):
        return {"max_epochs": self.max_epochs} if self.max_epochs else {}


def _unit(measure, name, seed, config):
    try:
        return MEASURES[measure](name, seed, config), None
    except DataUnavailable as exc:
        return [], str(exc)


def run(config, jobs=1, threads=None, log=print):
    """``(records, skipped)``: a dict per score, ``{data set: reason}``.
    Imputation runs on every data set, the log-likelihood on the tables,
    outlier AUC on :data:`OUTLIER_SETS`."""
    tables = [name for name in config.datasets if name in TABLES]
    names = {"rmse": config.datasets, "loglik": tables, "auc": OUTLIER_SETS}
    seeds = range(config.seeds)
    units = [(m, n, seed) for m in config.measures for n in names[m] for seed in seeds]
    results = h.run_units(_unit, [(*unit, config) for unit in units], jobs, threads)
    records, skipped = [], {}
    for (measure, name, seed), (unit_records, reason) in zip(units, results):
        records += unit_records
        if reason:
            skipped[name] = reason
        seconds = sum(r["seconds"] for r in unit_records)
        log(f"{measure:6s} {name:14s} seed {seed}: {reason or f'{seconds:.1f} s'}")
    return records, skipped


# ----------------------------------------------------------------------
# Tables: mean ± standard deviation over seeds


def _cell(found, key, digits):
    """Mean ± standard deviation of ``key`` over the records that did not fail."""
    values = [r[key] for r in found if r["value"] is not None]
    if not values:
        return "failed" if found else "n/a"
    text = f"{np.mean(values):.{digits}f}"
    return text + (f" ± {np.std(values, ddof=1):.{digits}f}" if len(values) > 1 else "")


def grid(records, measure, key="value", digits=3):
    """``(header, rows, means, columns)``: a row per data set and setting, a
    column per contender; ``means`` maps, per row, a contender to its mean."""
    cells = {}
    for r in records:
        if r["measure"] == measure:
            row = cells.setdefault((r["dataset"], r["setting"]), {})
            row.setdefault(r["contender"], []).append(r)
    columns = list(dict.fromkeys(c for row in cells.values() for c in row))
    rows, means = [], []
    for where, row in cells.items():
        rows.append([*where, *(_cell(row.get(c, []), key, digits) for c in columns)])
        ok = {c: [r[key] for r in row[c] if r["value"] is not None] for c in row}
        means.append({c: np.mean(values) for c, values in ok.items() if values})
    labels = [CONTENDERS.get(column, column) for column in columns]
    return ["data set", "missing", *labels], rows, means, columns


def mean_ranks(means, columns):
    """Each contender's mean rank (1: lowest) over the rows where all ran."""
    full = [mean for mean in means if len(mean) == len(columns)]
    ranks = [rankdata([mean[column] for column in columns]) for mean in full]
    return (np.mean(ranks, axis=0) if ranks else None), len(full)


BLOCKS = [
    ("rmse", "value", 3, "RMSE on the hidden entries, standardized (lower is better)"),
    ("rmse", "seconds", 2, "Seconds to fit and transform"),
    ("loglik", "value", 2, "Held-out log-likelihood of incomplete rows, nats/row"),
    ("auc", "value", 3, "ROC AUC of outlier scores, test rows complete or not"),
    ("flagged", "value", 3, "Share of normal test rows that OutlierDetector() flags"),
]


def anchor(records):
    """The MSE on :data:`ANCHOR`'s data and missingness, beside the paper's."""
    name, setting, reference = ANCHOR
    found = {}
    for r in records:
        where = (r["measure"], r["dataset"], r["setting"])
        if where == ("rmse", name, setting) and r["value"] is not None:
            found.setdefault(r["contender"], []).append(r["value"] ** 2)
    parts = [f"{CONTENDERS[c]} {np.mean(v):.4f}" for c, v in found.items()]
    return parts and (
        f"Anchor: MSE on {name} at 50% MCAR (standardized): {', '.join(parts)}; "
        f"the MIWAE authors' notebook reports {reference} after 1,001 epochs."
    )


def notes(report):
    lines = [f"{name}: skipped ({why})" for name, why in report["skipped"].items()]
    config, ran = report["config"], report["contenders"]
    imputed = {r["dataset"] for r in report["records"] if r["measure"] == "rmse"}
    for name in set(SLOW) & imputed:
        lines.append(f"{name}: {', '.join(sorted(SLOW[name]))} not run (too slow)")
    if set(config["contenders"]) - set(ran):
        lines.append("skae has no IWAEImputer here: its contenders were not run")
    lines.append(
        "hyperimpute's MIWAE is not a contender: installing it pulls TensorFlow, "
        "XGBoost, LightGBM, CatBoost, Jupyter and NVIDIA's NCCL (about 100 packages)"
    )
    errors = {}
    for r in (r for r in report["records"] if r.get("error")):
        where = (r["measure"], r["contender"], r["error"])
        errors.setdefault(where, {})[r["dataset"]] = None
    for (measure, contender, error), names in errors.items():
        lines.append(f"{measure}, {contender} failed on {', '.join(names)}: {error}")
    return lines


def render(report):
    """The reStructuredText report of a run (the dict saved as JSON)."""
    out = []
    for measure, key, digits, title in BLOCKS:
        header, rows, means, columns = grid(report["records"], measure, key, digits)
        if not rows:
            continue
        if (measure, key) == ("rmse", "value"):
            ranks, n_rows = mean_ranks(means, columns)
            if ranks is not None:
                mean = [f"{rank:.2f}" for rank in ranks]
                rows.append([f"mean rank ({n_rows} rows)", "", *mean])
        out.append(f"**{title}**\n\n{h.table(header, rows, 'rst')}\n")
    out += [f"{anchor(report['records'])}\n"] if anchor(report["records"]) else []
    out.append("Notes:\n\n" + "\n".join(f"- {line}" for line in notes(report)) + "\n")
    quick = "QUICK SMOKE RUN: not meaningful. " if report["quick"] else ""
    out.append(
        f"{quick}Mean ± standard deviation over {report['config']['seeds']} "
        f"seed(s). {h.describe(report['environment'])}. Total "
        f"{report['total_seconds']:.0f} s. Generated by ``{report['command']}``.\n"
    )
    return "\n".join(out)


# ----------------------------------------------------------------------
# Command line


def add_arguments(parser):
    ImputationConfig.add_arguments(parser)
    h.output_arguments(parser, "imputation")


def run_command(args, argv=()):
    """Run the benchmark of the parsed ``args`` (or render ``--tables-from``)."""
    if args.tables_from:
        report = json.loads(args.tables_from.read_text(encoding="utf-8"))
    else:
        h.set_threads(args.threads)
        config, start = ImputationConfig.from_args(args), time.perf_counter()
        records, skipped = run(config, args.jobs, args.threads, h.log)
        seconds, ran = time.perf_counter() - start, available(config.contenders)
        report = h.report("imputation", argv, quick=args.quick, config=asdict(config))
        report.update(total_seconds=seconds, contenders=ran, skipped=skipped)
        report["records"] = records
    return h.write_tables(args, report, render)
