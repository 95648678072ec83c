"""The API that every autoencoder shares through ``_BaseAutoencoder``."""

import copy
import io
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import VAE, AutoencoderTransformer
from tests._estimators import ESTIMATORS


def _name(estimator):
    return type(estimator).__name__


@pytest.fixture(params=ESTIMATORS, ids=_name, scope="module")
def fitted(request, small_X):
    """Each estimator fitted once on small data (shared by the read-only tests)."""
    return clone(request.param).set_params(random_state=0).fit(small_X)


# ----------------------------------------------------------------------------
# Fitted state and outputs


def test_fitted_attributes(fitted, small_X):
    assert fitted.n_features_in_ == small_X.shape[1]
    assert fitted.mean_.shape == fitted.scale_.shape == (small_X.shape[1],)
    assert fitted.n_iter_ == len(fitted.loss_curve_) >= 1
    assert fitted.device_ == torch.device("cpu")
    assert not hasattr(fitted, "feature_names_in_")


def test_output_shapes_and_dtypes(fitted, small_X):
    codes = fitted.transform(small_X)
    assert codes.shape == (len(small_X), fitted.n_components)
    assert codes.dtype == np.float64
    assert fitted.transform(small_X.astype(np.float32)).dtype == np.float32
    reconstruction = fitted.inverse_transform(codes)
    assert reconstruction.shape == small_X.shape
    scores = fitted.score_samples(small_X)
    assert scores.shape == (len(small_X),)
    assert np.all(np.isfinite(scores))
    assert fitted.score(small_X) == pytest.approx(scores.mean())


def test_inference_is_repeatable(fitted, small_X):
    assert_array_equal(fitted.transform(small_X), fitted.transform(small_X))
    assert_array_equal(fitted.score_samples(small_X), fitted.score_samples(small_X))


def test_feature_names_out(fitted):
    prefix = _name(fitted).lower()
    names = fitted.get_feature_names_out()
    assert_array_equal(names, [f"{prefix}{i}" for i in range(fitted.n_components)])


# ----------------------------------------------------------------------------
# pandas


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_pandas_in_and_out(estimator, small_X):
    columns = [f"col_{i}" for i in range(small_X.shape[1])]
    frame = pd.DataFrame(small_X, columns=columns)
    model = clone(estimator).set_params(random_state=0).set_output(transform="pandas")
    with warnings.catch_warnings():
        # Fitting on a DataFrame never complains about its feature names.
        warnings.filterwarnings("error", message=".*feature names")
        codes = model.fit_transform(frame)
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == list(model.get_feature_names_out())
    assert_array_equal(model.feature_names_in_, columns)
    assert_array_equal(codes.to_numpy(), model.transform(frame).to_numpy())


# ----------------------------------------------------------------------------
# Per-feature scores


def _assert_rows_sum_to(terms, scores):
    """Row sums equal the scores within the float rounding of the terms."""
    magnitude = np.abs(terms).sum(axis=1)
    assert_allclose(terms.sum(axis=1) / magnitude, scores / magnitude, atol=1e-5)


@pytest.mark.parametrize("standardize", [True, "auto", False])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_per_feature_terms_sum_to_the_scores(estimator, standardize, small_X):
    # Scales far from 1, so that the log-Jacobian of the scaling matters.
    X = small_X * [1.0, 10.0, 100.0, 0.1, 1.0]
    model = clone(estimator).set_params(standardize=standardize, random_state=0)
    model.fit(X)
    for dtype in (np.float64, np.float32):
        terms = model.score_samples_per_feature(X.astype(dtype))
        assert terms.shape == X.shape and terms.dtype == dtype
        assert np.all(np.isfinite(terms))
        _assert_rows_sum_to(terms, model.score_samples(X.astype(dtype)))


RECONSTRUCTION_ESTIMATORS = [e for e in ESTIMATORS if not isinstance(e, VAE)]


@pytest.mark.parametrize("standardize", [True, "auto", False])
@pytest.mark.parametrize("estimator", RECONSTRUCTION_ESTIMATORS, ids=_name)
def test_per_feature_terms_are_the_squared_errors(estimator, standardize, small_X):
    # A decoder that reconstructs every row as the same known vector (in the
    # scaled space): the terms are the known squared errors over the width.
    model = clone(estimator).set_params(standardize=standardize, random_state=0)
    model.fit(small_X * 10)
    reconstruction = np.array([1.0, -2.0, 0.5, 3.0, 0.0])
    decoder = model.net_.module_.decoder
    decoder.set_linear(np.zeros((5, model.n_components)), reconstruction)
    X = small_X[:10] * 10
    scaled = (X - model.mean_) / model.scale_
    expected = -((scaled - reconstruction) ** 2) / X.shape[1]
    assert_allclose(model.score_samples_per_feature(X), expected, rtol=1e-5)
    assert_allclose(model.score_samples(X), expected.sum(axis=1), rtol=1e-5)


@pytest.mark.parametrize(
    "estimator", [ESTIMATORS[0], VAE(**ESTIMATORS[0].get_params())]
)
def test_per_feature_terms_as_a_dataframe_of_the_input_features(estimator, small_X):
    columns = [f"col_{i}" for i in range(small_X.shape[1])]
    frame = pd.DataFrame(small_X, columns=columns, index=np.arange(100, 160))
    model = clone(estimator).set_params(random_state=0).fit(frame)
    expected = model.score_samples_per_feature(frame)
    assert isinstance(expected, np.ndarray)
    model.set_output(transform="pandas")
    terms = model.score_samples_per_feature(frame)
    assert isinstance(terms, pd.DataFrame)
    assert list(terms.columns) == columns
    assert_array_equal(terms.index, frame.index)
    assert_array_equal(terms.to_numpy(), expected)
    # Without feature names: scikit-learn's default names.
    unnamed = clone(model).fit(small_X)
    assert list(unnamed.score_samples_per_feature(small_X).columns) == [
        f"x{i}" for i in range(small_X.shape[1])
    ]


def test_per_feature_terms_follow_the_global_output_config(fitted, small_X):
    model = copy.deepcopy(fitted)
    with config_context(transform_output="pandas"):
        assert isinstance(model.score_samples_per_feature(small_X), pd.DataFrame)
    model.set_output(transform="default")
    with config_context(transform_output="pandas"):
        assert isinstance(model.score_samples_per_feature(small_X), np.ndarray)


# ----------------------------------------------------------------------------
# Reproducibility and persistence


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_random_state_reproducible(estimator, small_X):
    first = clone(estimator).set_params(random_state=3).fit_transform(small_X)
    second = clone(estimator).set_params(random_state=3).fit_transform(small_X)
    assert_array_equal(first, second)
    # From a random start the seed shows (from init="pca" a model that
    # keeps the linear start is the same for every seed).
    model = clone(estimator).set_params(init="random")
    first = clone(model).set_params(random_state=3).fit_transform(small_X)
    other = clone(model).set_params(random_state=4).fit_transform(small_X)
    assert not np.allclose(first, other)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_fit_leaves_global_rng_alone(estimator, small_X):
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 (the global RNG is the point)
    expected_torch = torch.rand(3)
    expected_numpy = np.random.rand(3)  # noqa: NPY002
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 (the global RNG is the point)
    clone(estimator).set_params(random_state=0).fit(small_X)
    assert_array_equal(torch.rand(3), expected_torch)
    assert_array_equal(np.random.rand(3), expected_numpy)  # noqa: NPY002


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_persistence_round_trip(fitted, small_X, dump):
    if dump == "pickle":
        loaded = pickle.loads(pickle.dumps(fitted))
    else:
        buffer = io.BytesIO()
        joblib.dump(fitted, buffer)
        buffer.seek(0)
        loaded = joblib.load(buffer)
    assert_array_equal(loaded.transform(small_X), fitted.transform(small_X))
    assert_array_equal(loaded.score_samples(small_X), fitted.score_samples(small_X))
    codes = fitted.transform(small_X)
    assert_array_equal(loaded.inverse_transform(codes), fitted.inverse_transform(codes))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_early_stopping_keeps_no_validation_data(estimator):
    """The held-out rows are not part of the model (a 27 KB pickle grew to 428 KB).

    Nor is the copy of the best epoch's weights that early stopping restores.
    """
    X = np.random.RandomState(0).normal(size=(2000, 5))
    model = clone(estimator).set_params(random_state=0, max_epochs=2)
    plain = len(pickle.dumps(clone(model).set_params(early_stopping=False).fit(X)))
    model.set_params(early_stopping=True, validation_fraction=0.5).fit(X)
    assert model.net_.train_split is None
    # 1000 validation rows of 5 float32 values would add 20 KB.
    assert len(pickle.dumps(model)) < plain + 5000


def test_gpu_pickle_loads_on_cpu(fitted, small_X, monkeypatch):
    """A net pickled with device="cuda" loads and predicts on a CPU-only machine."""
    pickled_on_gpu = pickle.loads(pickle.dumps(fitted))  # a copy to mark as GPU
    pickled_on_gpu.net_.device = "cuda"
    pickled_on_gpu.device_ = torch.device("cuda")
    data = pickle.dumps(pickled_on_gpu)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="saved on cuda.*loaded on the CPU"):
        loaded = pickle.loads(data)
    assert loaded.device_ == torch.device("cpu")
    assert_allclose(loaded.transform(small_X), fitted.transform(small_X))


def test_clone_is_unfitted(fitted):
    fresh = clone(fitted)
    assert fresh.get_params() == fitted.get_params()
    with pytest.raises(NotFittedError):
        fresh.transform(np.zeros((1, fitted.n_features_in_)))


# ----------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
@pytest.mark.parametrize(
    "X, message",
    [
        (np.array([[0.0, np.nan], [1.0, np.nan]]), "never observed"),
        (np.array([[0.0, np.inf], [1.0, 2.0]]), "infinity"),
        (np.array([1.0, 2.0, 3.0]), "Expected 2D array"),
        (np.empty((0, 3)), "0 sample"),
        (np.empty((3, 0)), "0 feature"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), "numeric"),
        (
            pd.DataFrame({"x": [1.0, 2.0], "colour": pd.Categorical([None, None])}),
            "no observed value",
        ),
    ],
    ids=[
        "empty-column",
        "inf",
        "1d",
        "no-rows",
        "no-columns",
        "strings",
        "empty-category",
    ],
)
def test_fit_rejects_bad_input(estimator, X, message):
    with pytest.raises(ValueError, match=message):
        clone(estimator).fit(X)


def test_transform_rejects_bad_input(fitted, small_X):
    with pytest.raises(ValueError, match="features"):
        fitted.transform(small_X[:, :-1])
    with pytest.raises(ValueError, match="infinity"):
        fitted.transform(np.full_like(small_X, np.inf))
    with pytest.raises(ValueError, match="Expected 2D array"):
        fitted.score_samples(small_X[0])
    with pytest.raises(ValueError, match="features"):
        fitted.score_samples_per_feature(small_X[:, :-1])
    with pytest.raises(ValueError, match="n_components"):
        fitted.inverse_transform(np.zeros((2, fitted.n_components + 1)))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
@pytest.mark.parametrize(
    "method",
    [
        "transform",
        "inverse_transform",
        "score_samples",
        "score_samples_per_feature",
        "score",
    ],
)
def test_unfitted_use_raises(estimator, method):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(clone(estimator), method)(np.zeros((2, 2)))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": 0}, "n_components"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes"),
        ({"activation": "swish"}, "activation"),
        ({"lr": -1.0}, "lr"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_invalid_parameters(small_X, params, message):
    model = clone(ESTIMATORS[0]).set_params(**params)
    with pytest.raises(ValueError, match=message):
        model.fit(small_X)


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": True},
        {"n_components": np.bool_(True)},
        {"hidden_layer_sizes": (True,)},
        {"hidden_layer_sizes": True},
        {"batch_size": True},
        {"max_epochs": True},
    ],
    ids=str,
)
def test_booleans_are_not_integers(small_X, params):
    """True is an int to Python; as a size it is a mistake, not 1."""
    model = clone(ESTIMATORS[0]).set_params(**params)
    with pytest.raises(ValueError, match=next(iter(params))):
        model.fit(small_X)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_numpy_scalar_parameters(estimator, small_X):
    """Parameters from np.arange or np.linspace grids work like Python numbers."""
    params = {
        "n_components": np.int64(2),
        "hidden_layer_sizes": np.array([4, 3], dtype=np.int32),
        "batch_size": np.int32(16),
        "max_epochs": np.int64(2),
        "n_iter_no_change": np.int16(3),
        "lr": np.float32(1e-3),
        "random_state": np.int64(0),
    }
    model = clone(estimator).set_params(**params).fit(small_X)
    reference = clone(estimator).set_params(
        **{
            name: value.tolist() if hasattr(value, "tolist") else value
            for name, value in params.items()
        }
    )
    reference.set_params(lr=float(np.float32(1e-3)))
    assert_array_equal(
        model.transform(small_X), reference.fit(small_X).transform(small_X)
    )


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
@pytest.mark.parametrize("device", ["mps", "xpu", "meta", torch.device("meta")])
def test_unsupported_devices_are_a_clear_error(estimator, small_X, device):
    """They gave torch's RuntimeError or AssertionError deep inside fit."""
    model = clone(estimator).set_params(device=device)
    with pytest.raises(ValueError, match=r"not supported.*offers \['cpu'"):
        model.fit(small_X)
    assert not hasattr(model, "net_")


def test_cuda_requested_without_gpu(small_X, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = clone(ESTIMATORS[0]).set_params(device="cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        model.fit(small_X)


# ----------------------------------------------------------------------------
# Training options


def test_verbose_prints_epochs(small_X, capsys):
    clone(ESTIMATORS[0]).set_params(verbose=2, max_epochs=2).fit(small_X)
    out = capsys.readouterr().out
    assert "train_loss" in out and "epoch" in out
    clone(ESTIMATORS[0]).set_params(verbose=0, max_epochs=2).fit(small_X)
    assert capsys.readouterr() == ("", "")


def test_early_stopping_uses_validation_loss(small_X):
    model = clone(ESTIMATORS[0]).set_params(
        early_stopping=True, max_epochs=500, n_iter_no_change=2, tol=10.0
    )
    model.fit(small_X)
    assert "valid_loss" in model.net_.history[-1]
    # A huge tol means no epoch ever improves enough on the start (epoch 0):
    # stop after patience.
    assert model.n_iter_ == 2
    assert "the starting weights are kept" in model.stop_reason_


def test_training_loss_plateau_stops_training(small_X):
    model = clone(ESTIMATORS[0]).set_params(
        max_epochs=500, n_iter_no_change=2, tol=10.0, early_stopping=False
    )
    model.fit(small_X)
    assert model.n_iter_ == 3
    assert "valid_loss" not in model.net_.history[-1]


def test_early_stopping_needs_two_samples():
    model = clone(ESTIMATORS[0]).set_params(early_stopping=True)
    with pytest.raises(ValueError, match="at least 2 samples"):
        model.fit(np.zeros((1, 3)))


@pytest.mark.parametrize("optimizer", ["sgd", torch.optim.RMSprop])
def test_optimizer_by_name_or_class(small_X, optimizer):
    model = clone(ESTIMATORS[0]).set_params(optimizer=optimizer).fit(small_X)
    expected = torch.optim.SGD if optimizer == "sgd" else optimizer
    assert isinstance(model.net_.optimizer_, expected)


def test_standardize_false_keeps_units(small_X):
    model = clone(ESTIMATORS[0]).set_params(standardize=False).fit(small_X * 10)
    assert_array_equal(model.mean_, 0.0)
    assert_array_equal(model.scale_, 1.0)


def test_constant_features_are_handled():
    X = np.random.RandomState(0).normal(size=(40, 4))
    X[:, 1] = 7.0
    model = clone(ESTIMATORS[0]).set_params(random_state=0).fit(X)
    assert model.scale_[1] == 1.0
    assert np.all(np.isfinite(model.transform(X)))


# ----------------------------------------------------------------------------
# sklearn composition


def test_grid_search_over_n_components_in_parallel(small_X):
    pipe = make_pipeline(
        StandardScaler(), AutoencoderTransformer(max_epochs=3, random_state=0)
    )
    search = GridSearchCV(
        pipe, {"autoencodertransformer__n_components": [1, 3]}, cv=2, n_jobs=2
    )
    search.fit(small_X)
    assert search.best_params_["autoencodertransformer__n_components"] in (1, 3)
    assert np.isfinite(search.best_score_)


@pytest.mark.cuda
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_fit_and_pickle_on_cuda(estimator, small_X):
    model = clone(estimator).set_params(device="cuda", random_state=0).fit(small_X)
    assert model.device_.type == "cuda"
    codes = model.transform(small_X)
    cpu_model = pickle.loads(pickle.dumps(model))
    assert_allclose(cpu_model.transform(small_X), codes, atol=1e-5)
    terms = model.score_samples_per_feature(small_X)
    _assert_rows_sum_to(terms, model.score_samples(small_X))
    assert_allclose(cpu_model.score_samples_per_feature(small_X), terms, atol=1e-4)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_same_seed_same_model_in_threads(estimator, small_X):
    model = clone(estimator).set_params(random_state=0)
    expected = clone(model).fit(small_X).transform(small_X)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    with joblib.parallel_config(backend="threading", n_jobs=4):
        codes = joblib.Parallel()(
            joblib.delayed(lambda m: m.fit(small_X).transform(small_X))(clone(model))
            for _ in range(4)
        )
    for result in codes:
        assert_array_equal(result, expected)
    assert torch.equal(torch.get_rng_state(), state)
