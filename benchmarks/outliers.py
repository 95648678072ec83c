"""Outlier-detection benchmark: skae models against sklearn and PyOD detectors.

Run from the repository root::

    python benchmarks/outliers.py                 # full run, writes the tables
    python benchmarks/outliers.py --quick         # a smoke run in seconds
    python benchmarks/outliers.py --trim-study    # does trimming help?

Protocol (the same for every detector):

- Data sets shipped with scikit-learn, or made by code:

  - ``digits``: ``load_digits``; each of the 10 classes in turn is normal and
    the 9 others are anomalies; a seed's figure is the mean over the classes.
  - ``wine``: ``load_wine``, the same one-class-versus-rest protocol over its
    3 cultivars (13 chemical measurements, 178 samples: the small-data case).
  - ``breast_cancer``: ``load_breast_cancer``, benign tumours normal,
    malignant ones anomalies.
  - ``manifold``: synthetic, 20 features that are smooth nonlinear functions
    of 2 latent variables plus noise; each anomaly is such a sample with 2 of
    its features replaced by those of other samples (dependency anomalies, as
    in ADBench): every value is normal on its own, only the relation between
    features is broken. Made as the case where a curved manifold matters, so
    a nonlinear model should win here; read it as a sanity check, not as
    evidence from the field.

- For each seed, the normal samples are split 60/40 into train and test; the
  test set gets anomalies amounting to 20% of it. In the ``contaminated``
  setting, the training set also holds anomalies (5% of it), disjoint from
  the test anomalies; in ``clean`` it holds none.
- A ``StandardScaler`` fitted on the training set scales the data of every
  detector.
- The latent size ``k = clip(n_features // 4, 2, 8)`` is shared by the skae
  models, PCA and PyOD's VAE. Everything else is each library's default.
- Anomalies are the positive class of ROC AUC and average precision (AP),
  ranked by minus ``score_samples`` (PyOD: by ``decision_function``).
- Fit time is the wall time of ``fit`` on the training set.

The table goes to stdout and, as reStructuredText, to ``--out`` (by default
``benchmarks/results/outliers.rst``, which ``docs/outliers.rst`` includes).
"""

import argparse
import importlib.util
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

# Runnable as ``python benchmarks/outliers.py`` from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import skae  # noqa: E402
from skae import OutlierDetector  # noqa: E402

# Every skae model that may exist; those the installed skae lacks are skipped.
SKAE_MODELS = [
    "AutoencoderTransformer",
    "SparseAutoencoder",
    "DenoisingAutoencoder",
    "VAE",
    "IWAE",
]
DATASETS = ["digits", "wine", "breast_cancer", "manifold"]
SETTINGS = {"clean": 0.0, "contaminated": 0.05}
TRAIN_FRACTION = 0.6
TEST_ANOMALY_FRACTION = 0.2
RESULTS = Path(__file__).resolve().parent / "results"


# ----------------------------------------------------------------------
# Data


def _one_vs_rest(X, y):
    return [(f"class {c}", X[y == c], X[y != c]) for c in np.unique(y)]


def _manifold(n_normal=2000, n_anomalies=600, n_features=20, n_swapped=2):
    rng = np.random.RandomState(0)
    weights = rng.normal(scale=1.5, size=(2, n_features))
    bias = rng.uniform(-1, 1, size=n_features)

    def sample(n):
        latent = rng.uniform(-1, 1, size=(n, 2))
        return np.tanh(latent @ weights + bias) + 0.05 * rng.normal(
            size=(n, n_features)
        )

    normal = sample(n_normal)
    anomalies = sample(n_anomalies)
    for row in anomalies:
        columns = rng.choice(n_features, n_swapped, replace=False)
        row[columns] = normal[rng.randint(n_normal, size=n_swapped), columns]
    return normal, anomalies


def load_tasks(name, quick=False):
    """Return ``[(task, X_normal, X_anomalies)]`` for a data set."""
    if name == "digits":
        tasks = _one_vs_rest(*load_digits(return_X_y=True))
    elif name == "wine":
        tasks = _one_vs_rest(*load_wine(return_X_y=True))
    elif name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        tasks = [("malignant", X[y == 1], X[y == 0])]  # y == 0 is malignant
    elif name == "manifold":
        sizes = dict(n_normal=300, n_anomalies=100) if quick else {}
        tasks = [("dependency", *_manifold(**sizes))]
    else:
        raise ValueError(f"Unknown data set {name!r}; choose from {DATASETS}.")
    return tasks[:1] if quick else tasks


def split(X_normal, X_anomalies, seed, contamination):
    """Train and test sets: the protocol in the module docstring."""
    rng = np.random.RandomState(seed)
    normal = rng.permutation(len(X_normal))
    anomalies = rng.permutation(len(X_anomalies))
    n_train = int(round(TRAIN_FRACTION * len(normal)))
    n_test = len(normal) - n_train
    n_test_anomalies = int(
        round(n_test * TEST_ANOMALY_FRACTION / (1 - TEST_ANOMALY_FRACTION))
    )
    n_train_anomalies = int(round(n_train * contamination / (1 - contamination)))
    if n_test_anomalies + n_train_anomalies > len(anomalies):
        raise ValueError("Not enough anomalies for this split.")
    test_anomalies = anomalies[:n_test_anomalies]
    train_anomalies = anomalies[n_test_anomalies:][:n_train_anomalies]
    X_train = np.vstack([X_normal[normal[:n_train]], X_anomalies[train_anomalies]])
    X_test = np.vstack([X_normal[normal[n_train:]], X_anomalies[test_anomalies]])
    y_test = np.r_[np.zeros(n_test), np.ones(n_test_anomalies)]
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_test


# ----------------------------------------------------------------------
# Detectors


class _PyODScores:
    """A PyOD detector with sklearn's sign: ``score_samples`` higher is normal."""

    def __init__(self, detector):
        self.detector = detector

    def fit(self, X):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.detector.fit(X)
        return self

    def score_samples(self, X):
        return -self.detector.decision_function(X)


class _Trimmed:
    """Fit, drop the lowest-scored ``fraction`` of the training set, refit."""

    def __init__(self, detector, fraction):
        self.detector = detector
        self.fraction = fraction

    def fit(self, X):
        first = clone(self.detector).fit(X)
        scores = first.score_samples(X)
        keep = scores >= np.percentile(scores, 100 * self.fraction)
        self.detector_ = clone(self.detector).fit(X[keep])
        return self

    def score_samples(self, X):
        return self.detector_.score_samples(X)


def skae_models():
    """The names of the skae models installed."""
    return [name for name in SKAE_MODELS if getattr(skae, name, None) is not None]


def make_detectors(k, seed, quick=False, pyod=True):
    """Return ``{name: detector}``, each with ``fit`` and ``score_samples``."""
    quick_nets = dict(hidden_layer_sizes=(16,), max_epochs=3) if quick else {}
    detectors = {}
    for name in skae_models():
        model = getattr(skae, name)(n_components=k, random_state=seed, **quick_nets)
        detectors[f"skae {name}"] = OutlierDetector(model)
    detectors["PCA reconstruction"] = OutlierDetector(
        PCA(n_components=k), method="reconstruction"
    )
    detectors["PCA log-likelihood"] = OutlierDetector(PCA(n_components=k))
    detectors["IsolationForest"] = IsolationForest(random_state=seed)
    detectors["LocalOutlierFactor"] = LocalOutlierFactor(novelty=True)
    detectors["OneClassSVM"] = OneClassSVM()
    if pyod and importlib.util.find_spec("pyod") is not None:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.vae import VAE

        epochs = {"epoch_num": 1} if quick else {}
        detectors["PyOD AutoEncoder"] = _PyODScores(
            AutoEncoder(random_state=seed, verbose=0, **epochs)
        )
        detectors["PyOD VAE"] = _PyODScores(
            VAE(latent_dim=k, random_state=seed, verbose=0, **epochs)
        )
    return detectors


def latent_size(n_features):
    return int(np.clip(n_features // 4, 2, 8))


def evaluate(detector, X_train, X_test, y_test):
    """Fit ``detector``; return ROC AUC, average precision and fit seconds.

    A detector that raises gets NaN (shown as "failed" in the tables): one
    library's crash on a small task must not stop the whole comparison.
    """
    start = time.perf_counter()
    try:
        detector.fit(X_train)
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        print(f"  {type(detector).__name__} failed: {type(exc).__name__}: {exc}")
        return (np.nan, np.nan, np.nan)
    fit_time = time.perf_counter() - start
    anomaly_score = -np.asarray(detector.score_samples(X_test), dtype=np.float64)
    return (
        roc_auc_score(y_test, anomaly_score),
        average_precision_score(y_test, anomaly_score),
        fit_time,
    )


# ----------------------------------------------------------------------
# Runs


def run(datasets, settings, seeds, quick=False, pyod=True, trim=None, log=print):
    """Return ``{(dataset, setting, detector): array (n_seeds, 3)}``.

    Each row holds ROC AUC, AP and fit time for one seed, averaged over the
    tasks (normal classes) of the data set. With ``trim`` (a fraction), each
    skae model and PCA also runs trimmed: refitted without that fraction of
    its worst-scored training samples.
    """
    results = {}
    for dataset in datasets:
        tasks = load_tasks(dataset, quick=quick)
        k = latent_size(tasks[0][1].shape[1])
        for setting in settings:
            for seed in seeds:
                per_task = {}
                for _, X_normal, X_anomalies in tasks:
                    data = split(X_normal, X_anomalies, seed, SETTINGS[setting])
                    detectors = make_detectors(k, seed, quick=quick, pyod=pyod)
                    if trim:
                        for name in list(detectors):
                            if name.startswith(("skae", "PCA")):
                                detectors[f"{name}, trimmed {trim:g}"] = _Trimmed(
                                    detectors[name], trim
                                )
                    for name, detector in detectors.items():
                        per_task.setdefault(name, []).append(evaluate(detector, *data))
                for name, values in per_task.items():
                    results.setdefault((dataset, setting, name), []).append(
                        np.mean(values, axis=0)
                    )
                log(f"{dataset:14s} {setting:13s} seed {seed} done")
    return {key: np.array(rows) for key, rows in results.items()}


# ----------------------------------------------------------------------
# Tables


def _cell(values, digits=3):
    if np.isnan(values).any():
        return "failed"
    if len(values) < 2:
        return f"{values.mean():.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def _rst_table(header, rows):
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([rule, line(header), rule, *map(line, rows), rule])


def tables(results, datasets, settings):
    """One reStructuredText table per data set."""
    out = []
    for dataset in datasets:
        names = list(dict.fromkeys(n for d, _, n in results if d == dataset))
        header = ["detector"]
        for setting in settings:
            header += [f"ROC AUC ({setting})", f"AP ({setting})"]
        header += ["fit time (s)"]
        rows = []
        for name in names:
            row = [name]
            times = []
            for setting in settings:
                values = results[(dataset, setting, name)]
                row += [_cell(values[:, 0]), _cell(values[:, 1])]
                times.append(values[:, 2])
            times = np.concatenate(times)
            failed = np.isnan(times).all()
            row.append("failed" if failed else f"{np.nanmean(times):.2f}")
            rows.append(row)
        # best first, by the first setting's ROC AUC
        # (failed detectors last)
        rows.sort(key=lambda r: -float(r[1].split()[0]) if r[1] != "failed" else 1)
        title = dataset.replace("_", " ")
        out.append(f"{title}\n{'~' * len(title)}\n\n{_rst_table(header, rows)}\n")
    return "\n".join(out)


def environment():
    versions = f"skae {skae.__version__}, scikit-learn {sklearn.__version__}, "
    versions += f"torch {torch.__version__}"
    if importlib.util.find_spec("pyod") is not None:
        import pyod

        versions += f", pyod {pyod.__version__}"
    return (
        f"{versions}; Python {platform.python_version()}, "
        f"{torch.get_num_threads()} torch thread(s), {os.cpu_count()} CPU(s)"
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds")
    parser.add_argument(
        "--datasets", nargs="+", default=DATASETS, choices=DATASETS, metavar="NAME"
    )
    parser.add_argument(
        "--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS)
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: one task per data set, tiny nets, a few epochs",
    )
    parser.add_argument("--no-pyod", action="store_true", help="skip PyOD")
    parser.add_argument(
        "--trim-study",
        action="store_true",
        help="contaminated training sets only, each skae model and PCA also "
        "refitted without the worst-scored 5%% of the training set",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--out", type=Path, default=None, help="the .rst to write")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = ["contaminated"] if args.trim_study else args.settings
    trim = SETTINGS["contaminated"] if args.trim_study else None
    out = args.out or RESULTS / (
        "outliers_trimming.rst" if args.trim_study else "outliers.rst"
    )
    start = time.perf_counter()
    results = run(
        args.datasets,
        settings,
        range(args.seeds),
        quick=args.quick,
        pyod=not args.no_pyod,
        trim=trim,
        log=lambda message: print(message, flush=True),
    )
    text = tables(results, args.datasets, settings)
    footer = (
        f"Mean ± standard deviation over {args.seeds} seed(s); fit time "
        f"averaged over seeds and settings. {environment()}. Total "
        f"{time.perf_counter() - start:.0f} s. Generated by "
        f"``python benchmarks/outliers.py {' '.join(argv or sys.argv[1:])}``."
    )
    if args.quick:
        footer = "QUICK SMOKE RUN: not meaningful. " + footer
    text = f"{text}\n{footer}\n"
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
