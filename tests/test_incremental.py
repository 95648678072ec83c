"""partial_fit and warm_start: training that continues from a fitted model."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skae import (
    IWAE,
    VAE,
    AutoencoderTransformer,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    SparseAutoencoder,
)
from skae._base.utils import continued_seed
from tests._estimators import ESTIMATORS

MODELS = [
    AutoencoderTransformer,
    ContractiveAutoencoder,
    SparseAutoencoder,
    DenoisingAutoencoder,
    VAE,
    IWAE,
]

# The held-out reconstruction error of a model trained by partial_fit on a
# stream of chunks is at most this factor times that of the same model
# fitted on all the data at once, for the same number of passes.
STREAM_TOLERANCE = 1.15


def _name(estimator):
    return type(estimator).__name__


def _weights(model):
    return [p.detach().clone() for p in model.net_.module_.parameters()]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_partial_fit_counts_passes_and_freezes_the_scaling(estimator, small_X):
    chunks = np.array_split(small_X, 3)
    model = clone(estimator).set_params(random_state=0)
    for chunk in chunks:
        assert model.partial_fit(chunk) is model
    assert model.n_iter_ == len(model.loss_curve_) == 3
    expected_mean, expected_scale = model._fit_scaling(chunks[0])
    assert_array_equal(model.mean_, expected_mean)
    assert_array_equal(model.scale_, expected_scale)
    assert model.transform(small_X).shape == (len(small_X), model.n_components)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_partial_fit_sequence_is_reproducible(estimator, small_X):
    def run():
        model = clone(estimator).set_params(random_state=0)
        for chunk in np.array_split(small_X, 3):
            model.partial_fit(chunk)
        return model.transform(small_X)

    assert_array_equal(run(), run())


def test_each_call_gets_its_own_seed():
    assert len({continued_seed(7, n_iter) for n_iter in range(100)}) == 100
    assert continued_seed(7, 3) == continued_seed(7, 3)


def test_partial_fit_continues_the_weights(small_X):
    model = clone(ESTIMATORS[0]).set_params(random_state=0).partial_fit(small_X)
    before = _weights(model)
    optimizer = model.net_.optimizer_
    model.partial_fit(small_X)
    assert model.net_.optimizer_ is optimizer  # its state carries over
    assert all(not torch.equal(a, b) for a, b in zip(before, _weights(model)))
    # One pass per call: 60 rows in batches of 16 are 4 steps.
    assert optimizer.state[next(iter(optimizer.state))]["step"] == 2 * 4


def test_partial_fit_ignores_max_epochs_and_early_stopping(small_X):
    model = clone(ESTIMATORS[0]).set_params(
        max_epochs=50, early_stopping=True, random_state=0
    )
    model.partial_fit(small_X)
    assert model.n_iter_ == 1
    assert "valid_loss" not in model.net_.history[-1]


def test_partial_fit_runs_without_the_schedule(small_X):
    model = clone(ESTIMATORS[0]).set_params(random_state=0, n_iter_no_change=1)
    with warnings.catch_warnings():
        # Not the max_epochs warning of fit: one pass is what was asked for.
        warnings.simplefilter("error", ConvergenceWarning)
        for _ in range(4):
            model.partial_fit(small_X)
    assert model.n_iter_ == 4
    # Nothing stops a pass or lowers the learning rate.
    assert "schedule" not in dict(model.net_.callbacks_)
    assert model.net_.optimizer_.param_groups[0]["lr"] == model.lr
    assert model.stop_reason_ == "partial_fit makes one pass over X"


def test_continued_fits_keep_the_batch_size_of_the_first():
    X = np.random.RandomState(0).normal(size=(1000, 5))
    model = AutoencoderTransformer(hidden_layer_sizes=(8,), random_state=0)
    model.partial_fit(X[:320])  # batch_size="auto": 320 // 16 rows
    assert model.net_.batch_size == 20
    model.partial_fit(X[320:])  # alone, 680 rows would get batches of 42
    assert model.net_.batch_size == 20
    steps = model.net_.optimizer_.state[next(iter(model.net_.optimizer_.state))]
    assert steps["step"] == 320 // 20 + 680 // 20
    model.set_params(warm_start=True, max_epochs=1).fit(X)
    assert model.net_.batch_size == 20
    model.set_params(batch_size=50).partial_fit(X[:100])  # an int is obeyed
    assert model.net_.batch_size == 50


def test_partial_fit_checks_the_features(small_X):
    model = clone(ESTIMATORS[0]).partial_fit(small_X)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(small_X[:, :-1])


def test_failed_partial_fit_leaves_the_model_as_it_was(small_X, monkeypatch):
    model = clone(ESTIMATORS[0]).set_params(random_state=0).partial_fit(small_X)
    before, n_epochs = _weights(model), len(model.net_.history)
    codes = model.transform(small_X)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    # Interrupted after the first optimizer step of the second call.
    step = model.net_.optimizer_.step
    monkeypatch.setattr(
        model.net_.optimizer_,
        "step",
        lambda *a, **k: (step(*a, **k), interrupt()),
    )
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(small_X)
    monkeypatch.undo()
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(model)))
    assert model.n_iter_ == 1 and len(model.net_.history) == n_epochs
    assert_array_equal(model.transform(small_X), codes)
    model.partial_fit(small_X)  # and it still trains
    assert model.n_iter_ == 2


@pytest.mark.slow
@pytest.mark.parametrize("model_class", MODELS, ids=lambda c: c.__name__)
def test_stream_of_chunks_matches_a_full_fit(model_class, digits_split):
    """Held-out reconstruction error within STREAM_TOLERANCE of a full fit."""
    X_train, X_test, _, _ = digits_split
    params = dict(
        n_components=8,
        hidden_layer_sizes=(64,),
        max_epochs=20,
        n_iter_no_change=20,
        random_state=0,
        device="cpu",
    )
    full = model_class(**params).fit(X_train)
    streamed = model_class(**params)
    for _ in range(params["max_epochs"]):
        for chunk in np.array_split(X_train, 6):
            streamed.partial_fit(chunk)
    assert streamed.n_iter_ == 6 * full.n_iter_

    def error(model):
        reconstruction = model.inverse_transform(model.transform(X_test))
        return np.mean((X_test - reconstruction) ** 2)

    assert error(streamed) <= STREAM_TOLERANCE * error(full)


# ----------------------------------------------------------------------------
# warm_start


def test_warm_start_continues_training(small_X):
    model = clone(ESTIMATORS[0]).set_params(max_epochs=2, random_state=0)
    model.fit(small_X)
    first_curve = list(model.loss_curve_)
    model.set_params(warm_start=True, max_epochs=3).fit(small_X)
    assert model.n_iter_ == len(model.loss_curve_) == 5
    assert model.loss_curve_[:2] == first_curve
    # It starts from the fitted weights: its first epoch is better than
    # the first epoch of a fresh fit.
    assert model.loss_curve_[2] < first_curve[0]
    fresh = clone(model).set_params(warm_start=False).fit(small_X)
    assert fresh.n_iter_ == 3


def test_warm_start_keeps_the_scaling(small_X):
    model = clone(ESTIMATORS[0]).set_params(warm_start=True).fit(small_X)
    mean, scale = model.mean_.copy(), model.scale_.copy()
    model.fit(small_X * 10 + 3)
    assert_array_equal(model.mean_, mean)
    assert_array_equal(model.scale_, scale)


def test_warm_start_on_an_unfitted_model_is_a_fresh_fit(small_X):
    model = clone(ESTIMATORS[0]).set_params(random_state=0)
    cold = clone(model).fit(small_X).transform(small_X)
    warm = clone(model).set_params(warm_start=True).fit(small_X).transform(small_X)
    assert_array_equal(cold, warm)


def test_warm_start_checks_the_features(small_X):
    model = clone(ESTIMATORS[0]).set_params(warm_start=True).fit(small_X)
    with pytest.raises(ValueError, match="features"):
        model.fit(small_X[:, :-1])


def test_warm_start_with_early_stopping(small_X):
    model = clone(ESTIMATORS[0]).set_params(
        warm_start=True, early_stopping=True, max_epochs=3, random_state=0
    )
    model.fit(small_X).fit(small_X)
    assert model.n_iter_ == 6
    assert "valid_loss" in model.net_.history[-1]
    assert model.net_.train_split is None  # no validation data kept


def test_warm_start_recreates_the_schedule():
    X = np.random.RandomState(0).normal(size=(200, 5))
    model = AutoencoderTransformer(
        hidden_layer_sizes=(8,), max_epochs=3, random_state=0, warm_start=True
    )
    model.fit(X)  # early_stopping="auto" holds out 20 rows
    assert "valid_loss" in model.net_.history[-1]
    model.fit(X[:15])  # too few rows to hold any out
    assert model.n_iter_ == 6
    assert "valid_loss" not in model.net_.history[-1]
    schedule = dict(model.net_.callbacks_)["schedule"]
    assert schedule.monitor == "train_loss"
    assert schedule.best_epoch_ > 3  # judged on the epochs of this fit only
    assert model.stop_reason_ == "max_epochs=3 reached"


def test_warm_start_after_the_schedule_stopped(small_X):
    model = clone(ESTIMATORS[0]).set_params(
        max_epochs=500, n_iter_no_change=2, tol=0.5, random_state=0
    )
    model.set_params(early_stopping=False)  # the training loss is watched
    model.fit(small_X)
    n_first = model.n_iter_
    assert n_first < 500 and "n_iter_no_change=2" in model.stop_reason_
    model.set_params(warm_start=True).fit(small_X)
    # A fresh schedule: a best epoch, then 2 epochs without improvement.
    assert model.n_iter_ - n_first == 3
    assert "n_iter_no_change=2" in model.stop_reason_


def test_fit_after_partial_fit(small_X):
    model = clone(ESTIMATORS[0]).set_params(random_state=0, max_epochs=2)
    model.partial_fit(small_X).partial_fit(small_X)
    model.set_params(warm_start=True).fit(small_X)
    assert model.n_iter_ == 4
    model.set_params(warm_start=False).fit(small_X)
    assert model.n_iter_ == 2


def test_pickled_model_continues_like_the_original(small_X):
    model = clone(ESTIMATORS[0]).set_params(random_state=0)
    model.partial_fit(small_X)
    loaded = pickle.loads(pickle.dumps(model))
    model.partial_fit(small_X)
    loaded.partial_fit(small_X)
    assert_allclose(loaded.transform(small_X), model.transform(small_X))


# ----------------------------------------------------------------------------
# Continued fits follow the current parameters (hardening, round 3)


def _continued(model, X, **changes):
    model.set_params(warm_start=True, max_epochs=1).fit(X)
    n_before = model.n_iter_
    model.set_params(**changes).fit(X)
    return model.net_.history[n_before]  # the first epoch of the continued fit


@pytest.mark.parametrize("partial", [False, True])
def test_continued_fit_uses_the_current_training_parameters(small_X, partial):
    model = AutoencoderTransformer(hidden_layer_sizes=(8,), random_state=0)
    model.set_params(max_epochs=1, warm_start=not partial)
    model.partial_fit(small_X) if partial else model.fit(small_X)
    model.set_params(lr=0.5, weight_decay=0.1, trim_fraction=0.2)
    model.partial_fit(small_X) if partial else model.fit(small_X)
    group = model.net_.optimizer_.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (0.5, 0.1)
    assert model.net_.criterion_.trim_fraction == 0.2


def test_continued_fit_uses_the_current_model_parameters(small_X):
    cases = [
        (VAE(hidden_layer_sizes=(8,)), {"k": 3, "beta": 0.5}, {"k": 3, "beta": 0.5}),
        (IWAE(hidden_layer_sizes=(8,)), {"k": 2}, {"k": 2}),
        (SparseAutoencoder(8, hidden_layer_sizes=(8,)), {"sparsity_weight": 0.7},
         {"weight": 0.7}),
        (ContractiveAutoencoder(hidden_layer_sizes=(8,)), {"contraction_weight": 2.0},
         {"weight": 2.0}),
        (DenoisingAutoencoder(hidden_layer_sizes=(8,)), {"noise_level": 0.9},
         {"corruption.std": 0.9}),
    ]  # fmt: skip
    for model, changes, expected in cases:
        _continued(model.set_params(random_state=0), small_X, **changes)
        module = model.net_.module_
        for path, value in expected.items():
            owner, _, name = path.rpartition(".")
            assert getattr(module.get_submodule(owner), name) == value, path


def test_failed_continued_fit_restores_the_parameters_it_applied(small_X, monkeypatch):
    model = VAE(hidden_layer_sizes=(8,), max_epochs=1, warm_start=True)
    model.set_params(random_state=0).fit(small_X)
    model.set_params(k=4, lr=0.3, trim_fraction=0.5)

    def fail(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(model.net_, "partial_fit", fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(small_X)
    assert model.net_.module_.k == 1
    assert model.net_.optimizer_.param_groups[0]["lr"] == 1e-3
    assert model.net_.criterion_.trim_fraction == 0.0


@pytest.mark.parametrize(
    "model, change, width",
    [
        (AutoencoderTransformer(2), {"n_components": 4}, 4),
        (AutoencoderTransformer(2), {"hidden_layer_sizes": (4, 4)}, 2),
        (VAE(2), {"likelihood": "bernoulli"}, 2),
        (SparseAutoencoder(3), {"sparsity": "kl"}, 3),
    ],
    ids=["n_components", "hidden_layer_sizes", "likelihood", "sparsity"],
)
def test_warm_start_with_a_new_architecture_trains_a_new_network(model, change, width):
    X = np.random.RandomState(0).uniform(size=(60, 5))  # in [0, 1] for bernoulli
    model.set_params(hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    model.set_params(warm_start=True).fit(X)
    with pytest.warns(UserWarning, match=f"{next(iter(change))}.*new network"):
        model.set_params(**change).fit(X)
    assert model.n_iter_ == 2  # trained afresh, not continued
    assert model.transform(X).shape == (60, width)
    assert len(model.get_feature_names_out()) == width
    fresh = clone(model).set_params(warm_start=False).fit(X)
    assert_array_equal(model.transform(X), fresh.transform(X))
    if "likelihood" in change:
        assert model.net_.module_.likelihood == "bernoulli"
    frame = model.set_output(transform="pandas").transform(X)
    assert frame.shape == (60, width)


def test_partial_fit_refuses_a_new_architecture(small_X):
    model = AutoencoderTransformer(2, hidden_layer_sizes=(8,)).partial_fit(small_X)
    with pytest.raises(ValueError, match=r"partial_fit.*\['n_components'\] changed"):
        model.set_params(n_components=3).partial_fit(small_X)
    assert model.transform(small_X).shape[1] == 2


def test_outputs_follow_the_fitted_network_not_changed_parameters(small_X):
    model = VAE(2, hidden_layer_sizes=(8,), max_epochs=1).fit(small_X)
    model.set_params(n_components=3)  # not refitted
    assert model.transform(small_X).shape[1] == 2
    assert len(model.get_feature_names_out()) == 2
    assert model.inverse_transform(np.zeros((1, 2))).shape == (1, 5)
    assert model.sample(2, random_state=0).shape == (2, 5)
    with pytest.raises(ValueError, match="n_components=2"):
        model.inverse_transform(np.zeros((1, 3)))


def test_a_tiny_first_partial_fit_chunk_warns(small_X):
    with pytest.warns(UserWarning, match="first partial_fit chunk has 1 rows"):
        AutoencoderTransformer(hidden_layer_sizes=(4,)).partial_fit(small_X[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # partial_fit never warns
        AutoencoderTransformer(hidden_layer_sizes=(4,)).partial_fit(small_X[:16])
