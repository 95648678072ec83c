"""The data sets of every benchmark: MNIST, scikit-learn's and synthetic ones.

MNIST is read with ``fetch_openml("mnist_784")`` as a user would, or from an
offline ``.npz`` copy (``--mnist-npz PATH``); no test needs it. The protocols
that use them are in ``docs/quality.rst`` and ``docs/outliers.rst``.
"""

from functools import lru_cache, partial

import numpy as np
from scipy.stats import multivariate_normal
from sklearn.datasets import (
    fetch_openml,
    load_breast_cancer,
    load_digits,
    load_sample_images,
    load_wine,
    make_swiss_roll,
)
from sklearn.feature_extraction.image import extract_patches_2d
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


class DataUnavailable(RuntimeError):
    """A data set that cannot be loaded here (no file, no network)."""


# ----------------------------------------------------------------------
# MNIST


@lru_cache(maxsize=1)
def load_mnist(npz=None, download=True):
    """``(X, y)``: the 70,000 MNIST images (pixels 0..255 as float64, training
    set first) and digits, from ``npz`` (keys ``x_train``, ``y_train``,
    ``x_test``, ``y_test``) or OpenML; :class:`DataUnavailable` if neither."""
    if npz is None and not download:
        raise DataUnavailable("MNIST needs --mnist-npz PATH in a quick run")
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
        raise DataUnavailable(
            f"MNIST could not be loaded from {source} ({type(exc).__name__}: "
            f"{exc}); pass --mnist-npz PATH to read a local copy"
        ) from exc
    return np.asarray(X, dtype=np.float64), np.asarray(y).astype(int)


def mnist_subset(seed, n_train=10000, n_test=2000, npz=None, download=True):
    """A seeded random subset of MNIST's pixels: train, test and no references."""
    X = load_mnist(npz, download)[0]
    rows = np.random.RandomState(seed).choice(len(X), n_train + n_test, replace=False)
    return X[rows[:n_train]], X[rows[n_train:]], {}


# ----------------------------------------------------------------------
# Synthetic rows at MNIST's shape (speed, contention, scale)


def digits_data(n_samples=None):
    """``load_digits`` pixels (1797 x 64), optionally the first ``n_samples``."""
    X = load_digits().data
    return X[:n_samples] if n_samples else X


def synthetic_mnist(n_samples=60000, n_features=784, n_latent=8, random_state=0):
    """MNIST-sized float32 data in [0, 1] that lies near a curved manifold.

    Points of an ``n_latent``-dimensional Gaussian pass through a random
    two-layer network with a sigmoid output, plus a little noise: structure an
    autoencoder can learn and PCA can only approximate, at MNIST's shape.
    """
    rng = np.random.RandomState(random_state)
    z = rng.normal(size=(n_samples, n_latent))
    hidden = np.tanh(z @ rng.normal(size=(n_latent, 64)))
    logits = hidden @ rng.normal(scale=0.5, size=(64, n_features))
    logits += 0.1 * rng.normal(size=logits.shape)
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def synthetic_table(n_samples=5000, n_features=30, n_latent=5, random_state=0):
    """A mid-size table: columns in different units, near a curved manifold.

    Points of an ``n_latent``-dimensional Gaussian pass through a random
    two-layer network, plus noise; each column then gets its own offset and
    scale (from 0.01 to 100), as the columns of a real table do.
    """
    rng = np.random.RandomState(random_state)
    hidden = np.tanh(
        rng.normal(size=(n_samples, n_latent)) @ rng.normal(size=(n_latent, 32))
    )
    X = hidden @ rng.normal(scale=0.5, size=(32, n_features))
    X += 0.1 * rng.normal(size=X.shape)
    scales = 10.0 ** rng.uniform(-2, 2, size=n_features)
    return X * scales + rng.normal(scale=10, size=n_features)


def manifold_rows(n_rows, n_features, seed, n_latent=8):
    """Rows like :func:`synthetic_mnist`, from one fixed network.

    The network is drawn from seed 0 and the latent points from ``seed``, so
    a file can be written chunk by chunk, each chunk from its own seed.
    """
    network = np.random.RandomState(0)
    to_hidden = network.normal(size=(n_latent, 64))
    to_output = network.normal(scale=0.5, size=(64, n_features))
    rng = np.random.RandomState(seed)
    logits = np.tanh(rng.normal(size=(n_rows, n_latent)) @ to_hidden) @ to_output
    logits += 0.1 * rng.normal(size=logits.shape)
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


# ----------------------------------------------------------------------
# The quality matrix: each loader returns ``(X_train, X_test, references)``,
# ``references`` mapping a name to a reference held-out log-likelihood.

TEST_FRACTION = 0.25
LARGE_UNIT_FACTOR = 1e4


def _split(X, seed, n_train=None, n_test=None):
    X_train, X_test = train_test_split(X, test_size=TEST_FRACTION, random_state=seed)
    return X_train[:n_train], X_test[:n_test], {}


def _pooled(load, seed, n_train=None, n_test=None):
    """A pooled set, ``load().data``, split 75/25 with the seed."""
    return _split(load().data, seed, n_train, n_test)


digits_split = partial(_pooled, load_digits)
breast_cancer_split = partial(_pooled, load_breast_cancer)
wine_split = partial(_pooled, load_wine)


def patches(seed, n_train=6000, n_test=2000):
    """8x8 grayscale patches: train from each image's left 75%, test its right."""
    train, test = [], []
    for image in load_sample_images().images:
        gray = image @ np.array([0.299, 0.587, 0.114])
        cut = int(0.75 * gray.shape[1])
        for part, rows, out in (
            (gray[:, :cut], n_train, train),
            (gray[:, cut:], n_test, test),
        ):
            found = extract_patches_2d(
                part, (8, 8), max_patches=rows // 2, random_state=seed
            )
            out.append(found.reshape(len(found), -1))
    return np.vstack(train), np.vstack(test), {}


def large_unit_column(seed, n_train=None, n_test=None):
    """``wine`` with its first column (alcohol) multiplied by 1e4."""
    X = load_wine().data.copy()
    X[:, 0] *= LARGE_UNIT_FACTOR
    return _split(X, seed, n_train, n_test)


def swiss_roll(seed, n_train=2000, n_test=1000):
    X, _ = make_swiss_roll(n_train + n_test, noise=0.5, random_state=seed)
    return X[:n_train], X[n_train:], {}


def linear_gaussian(seed, n_train=2000, n_test=1000):
    """Probabilistic PCA data; the true model's held-out log-likelihood too."""
    rng = np.random.RandomState(seed)
    n_latent, n_features, noise_std = 4, 20, 1.0
    W = rng.normal(size=(n_latent, n_features))
    mean = rng.normal(size=n_features)
    Z = rng.normal(size=(n_train + n_test, n_latent))
    X = Z @ W + mean + noise_std * rng.normal(size=(len(Z), n_features))
    covariance = W.T @ W + noise_std**2 * np.eye(n_features)
    truth = multivariate_normal(mean, covariance).logpdf(X[n_train:]).mean()
    return X[:n_train], X[n_train:], {"true parameters": float(truth)}


def counts(seed, n_train=2000, n_test=1000):
    """Poisson counts with a low-rank log-intensity; most entries are 0."""
    rng = np.random.RandomState(seed)
    n_latent, n_features = 4, 50
    W = rng.normal(scale=0.5, size=(n_latent, n_features))
    bias = rng.uniform(-4, -1, size=n_features)
    Z = rng.normal(size=(n_train + n_test, n_latent))
    X = rng.poisson(np.exp(bias + Z @ W)).astype(np.float64)
    return X[:n_train], X[n_train:], {}


# ----------------------------------------------------------------------
# Outlier detection: one-class tasks ``(task, X_normal, X_anomalies)``.

OUTLIER_SMALL = ["digits", "wine", "breast_cancer", "manifold"]
OUTLIER_SETS = [*OUTLIER_SMALL, "mnist"]
TRAIN_FRACTION = 0.6
TEST_ANOMALY_FRACTION = 0.2
# MNIST one-class tasks: each of these digits in turn is normal. The pools
# are subsets, drawn once (seed 0) from the 70,000 images, so that the run
# stays within minutes on two CPU cores; each seed then splits them 60/40.
MNIST_DIGITS = (0, 4, 7)
MNIST_NORMAL_ROWS = 1000
MNIST_ANOMALY_ROWS = 500
MNIST_QUICK_ROWS = 60


def _one_vs_rest(X, y):
    return [(f"class {c}", X[y == c], X[y != c]) for c in np.unique(y)]


DEPENDENCY_NOISE = 0.05


def dependency_network(n_features=20):
    """``(weights, bias)`` of the "manifold" task's rows: ``tanh(latent @
    weights + bias)``, the latent uniform on [-1, 1]^2, plus Gaussian noise
    of deviation :data:`DEPENDENCY_NOISE` (the first draws of seed 0)."""
    rng = np.random.RandomState(0)
    weights = rng.normal(scale=1.5, size=(2, n_features))
    return weights, rng.uniform(-1, 1, size=n_features)


def _dependency_anomalies(n_normal=2000, n_anomalies=600, n_features=20, n_swapped=2):
    rng = np.random.RandomState(0)
    weights = rng.normal(scale=1.5, size=(2, n_features))
    bias = rng.uniform(-1, 1, size=n_features)

    def sample(n):
        latent = rng.uniform(-1, 1, size=(n, 2))
        noise = DEPENDENCY_NOISE * rng.normal(size=(n, n_features))
        return np.tanh(latent @ weights + bias) + noise

    normal, anomalies = sample(n_normal), sample(n_anomalies)
    for row in anomalies:
        columns = rng.choice(n_features, n_swapped, replace=False)
        row[columns] = normal[rng.randint(n_normal, size=n_swapped), columns]
    return normal, anomalies


def mnist_tasks(X, y, quick=False):
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
    """``[(task, X_normal, X_anomalies)]`` of an outlier data set (or
    :class:`DataUnavailable`)."""
    if name in ("digits", "wine"):
        loader = load_digits if name == "digits" else load_wine
        tasks = _one_vs_rest(*loader(return_X_y=True))
    elif name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        tasks = [("malignant", X[y == 1], X[y == 0])]  # y == 0 is malignant
    elif name == "manifold":
        sizes = dict(n_normal=300, n_anomalies=100) if quick else {}
        tasks = [("dependency", *_dependency_anomalies(**sizes))]
    elif name == "mnist":
        tasks = mnist_tasks(*load_mnist(mnist_npz), quick=quick)
    else:
        raise ValueError(f"Unknown data set {name!r}; choose from {OUTLIER_SETS}.")
    return tasks[:1] if quick else tasks


def split(X_normal, X_anomalies, seed, contamination, standardize=True):
    """``X_train, X_test, y_test`` (1: anomaly), as ``docs/outliers.rst`` says:
    the test set and the normal training rows depend on ``seed`` only, so a
    larger ``contamination`` adds anomalies to the same normal rows."""
    rng = np.random.RandomState(seed)
    normal = rng.permutation(len(X_normal))
    anomalies = rng.permutation(len(X_anomalies))
    n_train = int(round(TRAIN_FRACTION * len(normal)))
    n_test = len(normal) - n_train
    share = TEST_ANOMALY_FRACTION / (1 - TEST_ANOMALY_FRACTION)
    n_test_anomalies = int(round(n_test * share))
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
