"""Data sets and train/test splits of the outlier benchmark (``outliers.py``).

The protocol is described in the docstring of ``benchmarks/outliers.py``.
"""

import numpy as np
from sklearn.datasets import fetch_openml, load_breast_cancer, load_digits, load_wine
from sklearn.preprocessing import StandardScaler

SMALL_DATASETS = ["digits", "wine", "breast_cancer", "manifold"]
DATASETS = [*SMALL_DATASETS, "mnist"]
TRAIN_FRACTION = 0.6
TEST_ANOMALY_FRACTION = 0.2

# MNIST one-class tasks: each of these digits in turn is normal. The pools
# are subsets, drawn once (seed 0) from the 70,000 images, so that the run
# stays within minutes on two CPU cores; each seed then splits them 60/40.
MNIST_DIGITS = (0, 4, 7)
MNIST_NORMAL_ROWS = 1000
MNIST_ANOMALY_ROWS = 500
MNIST_QUICK_ROWS = 60
# Pixels stay in their units (0..255), as a user would feed them: a
# StandardScaler would divide the near-constant border pixels by a tiny
# spread, so that one faint stroke there dominates a test image's score.
UNSCALED_DATASETS = {"mnist"}


class DatasetUnavailable(RuntimeError):
    """A data set that could not be loaded here (no file, no network)."""


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


def load_mnist(npz=None):
    """Return ``(X, y)``: all 70,000 MNIST images, training set first.

    ``X`` holds the 784 pixels (0..255) as float64, ``y`` the digits as int.

    Parameters
    ----------
    npz : path-like, default=None
        A ``.npz`` file with ``x_train``, ``y_train``, ``x_test`` and
        ``y_test`` (Keras' layout). None downloads ``mnist_784`` with
        ``sklearn.datasets.fetch_openml`` (or reads scikit-learn's cache).

    Raises
    ------
    DatasetUnavailable
        When the file or the download fails.
    """
    try:
        if npz is not None:
            with np.load(npz) as data:
                parts = [data[key] for key in ("x_train", "x_test")]
                X = np.vstack([part.reshape(len(part), -1) for part in parts])
                y = np.concatenate([data["y_train"], data["y_test"]])
        else:
            X, y = fetch_openml("mnist_784", as_frame=False, return_X_y=True)
    except Exception as exc:  # noqa: BLE001 - any failure means: not here
        source = str(npz) if npz is not None else "fetch_openml('mnist_784')"
        raise DatasetUnavailable(
            f"MNIST could not be loaded from {source} ({type(exc).__name__}: "
            f"{exc}); pass --mnist-npz PATH to read a local copy"
        ) from exc
    return np.asarray(X, dtype=np.float64), np.asarray(y).astype(int)


def _mnist_tasks(X, y, quick=False):
    n_normal = MNIST_QUICK_ROWS if quick else MNIST_NORMAL_ROWS
    n_anomalies = MNIST_QUICK_ROWS if quick else MNIST_ANOMALY_ROWS
    rng = np.random.RandomState(0)
    tasks = []
    for digit in MNIST_DIGITS:
        normal = rng.permutation(np.flatnonzero(y == digit))[:n_normal]
        anomalies = rng.permutation(np.flatnonzero(y != digit))[:n_anomalies]
        tasks.append((f"digit {digit}", X[normal], X[anomalies]))
    return tasks


def load_tasks(name, quick=False, mnist_npz=None):
    """Return ``[(task, X_normal, X_anomalies)]`` for a data set.

    Raises :class:`DatasetUnavailable` when MNIST cannot be loaded.
    """
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
    elif name == "mnist":
        tasks = _mnist_tasks(*load_mnist(mnist_npz), quick=quick)
    else:
        raise ValueError(f"Unknown data set {name!r}; choose from {DATASETS}.")
    return tasks[:1] if quick else tasks


def split(X_normal, X_anomalies, seed, contamination, standardize=True):
    """Train and test sets: the protocol in ``outliers.py``'s docstring.

    Returns ``X_train, X_test, y_test`` (1 for anomalies). The test set and
    the normal training rows depend on ``seed`` only, not on
    ``contamination``: a larger contamination adds anomalies to the same
    normal training rows, and every setting is scored on the same test set.
    """
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
    if not standardize:
        return X_train, X_test, y_test
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_test
