"""Property-based tests: odd but legal (and some bad) input for every estimator.

The property, for any data and parameters drawn: ``fit`` either raises a
clear exception (``ValueError`` or ``TypeError`` whose message names the
problem; any other exception, or another message, fails the test), or the
model gives finite outputs of the right shape and dtype. Rows far outside the
training data score below every training row, and ``OutlierDetector`` never
labels them inliers.

The data cover magnitudes from 1e-300 to 1e307 (one per data set or one per
column, and columns with a large offset), 1 row, 1 column and wide shapes,
float64, float32 and int64, constant and duplicate columns and rows, and NaN
or infinity; the parameters are Python or numpy scalars. The models are tiny,
so that an example takes a fraction of a second. How many examples run is
the hypothesis profile's choice (``tests/conftest.py``: 50 per estimator by
default, 500 with ``HYPOTHESIS_PROFILE=slow``).

``skae.load`` gets the files of small saved models with their JSON edited at
random (values replaced, deleted, inserted, of another type, nested deeply):
it either raises a ``ValueError`` or returns a model whose outputs have the
right shape, with finite codes and no NaN score (rows far from an edited
mean score -inf, as far rows do).
"""

import functools
import io
import json
import re
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import assume, event, given, note
from hypothesis import strategies as st

import skae
from skae import (
    IWAE,
    VAE,
    AutoencoderTransformer,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    OutlierDetector,
    SparseAutoencoder,
)

# Exponents of the column magnitudes per dtype: float32 keeps headroom below
# its largest value (3.4e38), int64 below 9.2e18.
EXPONENTS = {np.float64: (-300, 307), np.float32: (-30, 36), np.int64: (0, 15)}

# Deviations of the far rows, in units of the column's own magnitude: one
# that float32 holds (the score overflows or is huge) and one it does not.
FAR = (1e10, 1e40)


# ----------------------------------------------------------------------------
# Strategies


@st.composite
def datasets(draw):
    """``(X, bad)``: a data set, and the kind of bad value put in it (or None)."""
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64]))
    n_rows = draw(st.integers(1, 12))
    n_columns = draw(st.one_of(st.integers(1, 5), st.integers(20, 60)))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    X = rng.uniform(-1, 1, size=(n_rows, n_columns))
    low, high = EXPONENTS[dtype]
    exponents = st.integers(low, high)
    if draw(st.booleans()):
        X *= 10.0 ** draw(exponents)
    else:
        powers = draw(st.lists(exponents, min_size=n_columns, max_size=n_columns))
        X *= 10.0 ** np.array(powers, dtype=float)
    columns = st.integers(0, n_columns - 1)
    if draw(st.booleans()):  # a large offset (10**6 times the spread)
        column, power = draw(columns), draw(exponents)
        spread = X[:, column] / (np.abs(X[:, column]).max() or 1.0)
        X[:, column] = 10.0 ** min(power + 6, high) * (1 + 1e-6 * spread)
    for column in draw(st.sets(columns, max_size=2)):  # constant columns
        X[:, column] = draw(st.sampled_from([0.0, 1.0, -3.5])) * 10.0 ** draw(exponents)
    if n_columns > 1 and draw(st.booleans()):  # a duplicate column
        X[:, draw(columns)] = X[:, draw(columns)]
    if n_rows > 1 and draw(st.booleans()):  # duplicate rows
        X[draw(st.integers(1, n_rows - 1)) :] = X[0]
    X = np.round(X).astype(dtype) if dtype is np.int64 else X.astype(dtype)
    bad = (
        None
        if dtype is np.int64
        else draw(st.sampled_from([None] * 8 + ["nan", "inf"]))
    )
    if bad is not None:
        X[draw(st.integers(0, n_rows - 1)), draw(columns)] = (
            np.nan if bad == "nan" else -np.inf
        )
    note(
        f"X: {X.shape} {X.dtype}, |X| in [{np.abs(X).min():.3g}, {np.abs(X).max():.3g}]"
    )
    return X, bad


def integers(*values):
    """One of ``values`` as a Python int or a numpy integer of some width."""
    return st.sampled_from(values).flatmap(
        lambda value: st.sampled_from([value, np.int64(value), np.int32(value)])
    )


TRAINING = {
    "n_components": integers(1, 2, 3),
    "hidden_layer_sizes": st.sampled_from(
        [(4,), (np.int64(3),), np.array([4, 2]), 3, np.int32(4), ()]
    ),
    "batch_size": integers(1, 4, 16),
    "max_epochs": integers(1, 2),
    "lr": st.sampled_from([1e-3, np.float32(1e-2), np.float64(3e-3)]),
    "standardize": st.sampled_from([True, True, np.bool_(True), False]),
    "early_stopping": st.sampled_from([False, False, True]),
    "random_state": st.sampled_from([0, np.int64(7), None]),
    "device": st.just("cpu"),
}

MODELS = {
    AutoencoderTransformer: {},
    ContractiveAutoencoder: {},
    DenoisingAutoencoder: {"noise": st.sampled_from(["gaussian", "masking"])},
    SparseAutoencoder: {"sparsity": st.sampled_from(["kl", "l1"])},
    VAE: {"k": integers(1, 2), "k_eval": integers(1, 8)},
    IWAE: {"k": integers(1, 3), "k_eval": integers(1, 8)},
}


def parameters(Estimator):
    return st.fixed_dictionaries({**TRAINING, **MODELS[Estimator]})


# ----------------------------------------------------------------------------
# The property


def _expected_fit_errors(X, bad, params):
    """Messages of the clear errors that ``fit(X)`` may raise, as regexes."""
    if bad == "inf":
        return ["Input X contains infinity"]
    # NaN is a missing value; a feature missing in every row is an error.
    expected = ["never observed"] if bad == "nan" else []
    if params["early_stopping"] and len(X) < 2:
        expected.append("early_stopping=True needs at least 2 samples")
    if not params["standardize"]:  # raw values may be too large to train on
        expected += ["diverged: .* Lower the learning rate", "beyond the float32 range"]
    return expected


def _assert_clear(exc, expected):
    message = str(exc)
    assert any(re.search(pattern, message) for pattern in expected), (
        f"unexpected {type(exc).__name__}: {message}"
    )


def _far_rows(X):
    """Copies of the first row moved far along one column, or None.

    Far in every column's units (the largest reach of any column), so also
    where the score mixes raw units (``standardize=False``).
    """
    X = X.astype(np.float64)
    reach = float(np.max(np.abs(X).max(axis=0) + np.ptp(X, axis=0)))
    column = int(np.argmin(np.abs(X).max(axis=0)))
    rows = []
    for factor in FAR:
        shift = factor * max(reach, 1.0)
        if shift < 1e300:
            row = X[0].copy()
            row[column] += shift
            rows.append(row)
    return np.array(rows) if rows else None


def _check_fitted_model(model, X):
    n_rows, n_features = X.shape
    out_dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)

    codes = model.transform(X)
    assert codes.shape == (n_rows, int(model.n_components))
    assert codes.dtype == out_dtype
    assert np.all(np.isfinite(codes))

    try:
        reconstruction = model.inverse_transform(codes)
    except ValueError as exc:
        # Reconstructions near float32's largest value may overflow it.
        assert out_dtype == np.float32, exc
        _assert_clear(exc, ["inverse_transform has no finite result"])
    else:
        assert reconstruction.shape == X.shape
        assert reconstruction.dtype == out_dtype
        assert np.all(np.isfinite(reconstruction))

    scores = model.score_samples(X)
    assert scores.shape == (n_rows,) and scores.dtype == out_dtype
    assert np.all(np.isfinite(scores))
    assert len(model.get_feature_names_out()) == int(model.n_components)

    far = _far_rows(X)
    if far is not None:
        far_scores = model.score_samples(far)
        assert not np.any(np.isnan(far_scores))
        # With as many components as features, the linear start (PCA)
        # reconstructs every row exactly, far ones too; with more components
        # than the training rows span, PCA's extra axes are arbitrary and may
        # hold a far row. Only otherwise are far rows sure to score lower.
        rank = np.linalg.matrix_rank(X - X.mean(axis=0))
        if int(model.n_components) < X.shape[1] and int(model.n_components) <= rank:
            assert np.all(far_scores < scores.min()), (far_scores, scores.min())
        try:
            assert np.all(np.isfinite(model.transform(far)))
        except ValueError as exc:
            _assert_clear(exc, ["transform has no finite result"])


@pytest.mark.parametrize("Estimator", list(MODELS), ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_fit_gives_a_clear_error_or_finite_outputs(Estimator, data):
    X, bad = data.draw(datasets(), label="data")
    params = data.draw(parameters(Estimator), label="params")
    model = Estimator(**params)
    try:
        model.fit(X)
    except (ValueError, TypeError) as exc:
        _assert_clear(exc, _expected_fit_errors(X, bad, params))
        assert not [key for key in vars(model) if key.endswith("_")]
        return
    assert bad != "inf", "fit accepted infinity"
    if bad == "nan":
        assert np.all(np.isfinite(model.transform(X)))
        assert np.all(np.isfinite(model.score_samples(X)))
        return
    _check_fitted_model(model, X)


@given(data=st.data())
def test_outlier_detector_never_labels_far_rows_inliers(data):
    X, bad = data.draw(datasets(), label="data")
    assume(bad is None)
    far = _far_rows(X)
    assume(far is not None)
    Estimator = data.draw(st.sampled_from([VAE, AutoencoderTransformer]))
    if Estimator is VAE:
        X, bad = data.draw(datasets(), label="VAE data")
        assume(bad is None)
        far = _far_rows(X)
        assume(far is not None)
    estimator = Estimator(**{**data.draw(parameters(Estimator)), "standardize": True})
    detector = OutlierDetector(
        estimator,
        contamination=data.draw(st.sampled_from(["auto", 0.1, np.float64(0.5)])),
        method=data.draw(st.sampled_from(["score_samples", "reconstruction"])),
        random_state=data.draw(st.sampled_from([None, 0, np.int64(3)])),
    )
    try:
        detector.fit(X)
    except ValueError as exc:
        _assert_clear(exc, _expected_fit_errors(X, None, estimator.get_params()))
        return
    labels = detector.predict(X)
    assert labels.shape == (len(X),) and set(labels) <= {-1, 1}
    assert not np.any(np.isnan(detector.decision_function(X)))
    try:
        far_labels = detector.predict(far)
    except ValueError as exc:
        # The reconstruction of rows beyond float32 does not exist.
        assert detector.method == "reconstruction", exc
        _assert_clear(exc, ["transform has no finite result"])
    else:
        # A reconstruction with as many components as the training rows span
        # (or features) is exact everywhere: its scores say nothing.
        rank = np.linalg.matrix_rank(X - X.mean(axis=0))
        identity = Estimator is AutoencoderTransformer or detector.method == (
            "reconstruction"
        )
        if not identity or int(estimator.n_components) < min(X.shape[1], rank):
            assert np.all(far_labels == -1), detector.score_samples(far)


@pytest.mark.parametrize("Estimator", [VAE, IWAE])
@pytest.mark.parametrize(
    "X, early_stopping",
    [
        # spreads of 1.2e-22 and 0.17
        ([[1.00000023e-15, 4.30378733e-01], [1.00000048e-15, 8.97663660e-02]], False),
        # one training row (no variance) of spread 1.7e-21
        ([[9.76270079e-22], [4.30378733e-21]], True),
    ],
    ids=["spreads", "tiny-one-training-row"],
)
def test_vae_variance_floor_fits_float32_at_any_spread(Estimator, X, early_stopping):
    """Examples where the old floor (relative to the mean raw variance) overflowed.

    Hypothesis's smallest examples (the second from the slow profile). The
    floor is now relative to each feature's own scale, so it has no limit.
    """
    X = np.array(X)
    model = Estimator(
        1,
        hidden_layer_sizes=(4,),
        max_epochs=1,
        early_stopping=early_stopping,
        random_state=0,
    )
    assert np.all(np.isfinite(model.fit(X).score_samples(X)))


# ----------------------------------------------------------------------------
# skae.load on edited model files


@functools.cache
def _saved_models():
    """Small fitted models, saved once: ``(file bytes, data)`` by name."""
    X = np.random.RandomState(0).normal(size=(30, 4))
    fast = dict(hidden_layer_sizes=(4,), max_epochs=2, random_state=0, device="cpu")
    models = {
        "ae": AutoencoderTransformer(**fast),
        "vae": VAE(**fast),
        "detector": OutlierDetector(AutoencoderTransformer(**fast), contamination=0.1),
    }
    saved = {}
    for name, model in models.items():
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X).save(buffer)
        saved[name] = buffer.getvalue()
    return saved, X


# Names a model file uses, so that edits hit what load() reads.
NAMES = [
    "__tuple__", "__dict__", "__ndarray__", "dtype", "__device__", "__optimizer__",
    "__random_state__", "__module__", "__estimator__", "__fitted__", "class",
    "params", "fitted", "mean_", "scale_", "n_features_in_", "transform",
    "forward", "estimator_", "history", "batch_size", "module_attributes",
    "eval_seed", "object", "<f8", "<U9", "Adam", "cpu", "cuda:3",
]  # fmt: skip
DEEP = "__DEEP__"
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 16)
    | st.sampled_from([0, 2**31, 10**12, 3 * 10**6])
    | st.floats()
    | st.text(max_size=4)
    | st.sampled_from(NAMES),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(NAMES) | st.text(max_size=3), children, max_size=3
        )
    ),
    max_leaves=6,
)


def _paths(tree, path=()):
    """Every path into the JSON tree, the root's excepted."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, value in items:
        yield (*path, key)
        if isinstance(value, (dict, list)):
            yield from _paths(value, (*path, key))


def _mutate(manifest, data):
    path = data.draw(st.sampled_from(sorted(_paths(manifest), key=repr)))
    parent = manifest
    for key in path[:-1]:
        parent = parent[key]
    key, old = path[-1], parent[path[-1]]
    kinds = ["replace", "delete", "insert", "type", "deep", "nudge", "nudge"]
    kind = data.draw(st.sampled_from(kinds))
    if kind == "nudge":  # a value of the same kind: more edits load
        same = {bool: st.booleans(), str: st.sampled_from(NAMES) | st.text(max_size=4)}
        parent[key] = data.draw(
            same.get(type(old), st.integers(-3, 16) | st.floats(-1e3, 1e3))
        )
    elif kind == "delete":
        del parent[key]
    elif kind == "insert" and isinstance(old, dict):
        old[data.draw(st.sampled_from(NAMES))] = data.draw(json_values)
    elif kind == "insert" and isinstance(old, list):
        old.insert(data.draw(st.integers(0, len(old))), data.draw(json_values))
    elif kind == "type":
        parent[key] = data.draw(
            st.sampled_from([[old], str(old), {"__tuple__": old}, {"__dict__": old}])
        )
    elif kind == "deep":
        parent[key] = DEEP
    else:
        parent[key] = data.draw(json_values)
    note(f"{kind} at {path}")


def _edited_file(saved, data):
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(saved)).read("skae.json"))
    weights = zipfile.ZipFile(io.BytesIO(saved)).read("weights.pt")
    for _ in range(data.draw(st.integers(1, 3))):
        _mutate(manifest, data)
    text = json.dumps(manifest)
    depth = data.draw(st.sampled_from([20, 40, 5000]))
    text = text.replace(f'"{DEEP}"', "[" * depth + "]" * depth)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("skae.json", text)
        archive.writestr("weights.pt", weights)
    buffer.seek(0)
    return buffer


def _check_loaded_model(model, X):
    try:
        if isinstance(model, OutlierDetector):
            assert model.predict(X).shape == (len(X),)
            # rows far from an edited model score -inf, as far rows do
            assert not np.any(np.isnan(model.decision_function(X)))
            return
        codes = model.transform(X)
        assert codes.shape == (len(X), int(model.n_components))
        assert np.all(np.isfinite(codes))
        assert not np.any(np.isnan(model.score_samples(X)))
        assert model.inverse_transform(codes).shape == X.shape
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(X)
    except ValueError as exc:
        _assert_clear(exc, ["no finite result", "diverged", "beyond the float32"])


@pytest.mark.parametrize("name", ["ae", "vae", "detector"])
@given(data=st.data())
def test_load_of_an_edited_file_gives_a_valueerror_or_a_working_model(name, data):
    saved, X = _saved_models()
    buffer = _edited_file(saved[name], data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a device this machine lacks
            model = skae.load(buffer)
    except ValueError as exc:
        assert "weights_only" not in str(exc)
        event("refused")
        return
    event("loaded")
    _check_loaded_model(model, X)
