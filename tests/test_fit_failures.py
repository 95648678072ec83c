"""Fits that fail: divergence, Ctrl-C, bad modules and optimizers; fits are atomic."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from torch import nn

import skae
from skae import (
    IWAE,
    VAE,
    AutoencoderTransformer,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
)
from tests._estimators import ESTIMATORS

FAST = dict(hidden_layer_sizes=(8,), max_epochs=3, batch_size=16, device="cpu")


def _name(estimator):
    return type(estimator).__name__


def _fitted_attributes(model):
    return {key for key in vars(model) if key.endswith("_")}


# ----------------------------------------------------------------------------
# Divergence (issue 11, item 3)


@pytest.mark.parametrize(
    "Estimator",
    [AutoencoderTransformer, ContractiveAutoencoder, DenoisingAutoencoder, VAE, IWAE],
)
def test_a_diverging_learning_rate_is_a_clear_error(Estimator, small_X):
    """The issue's case: inf/NaN in loss_curve_ and NaN codes, without an error."""
    model = Estimator(
        lr=1e6, hidden_layer_sizes=(4,), max_epochs=2, init="random", random_state=0
    )
    with pytest.raises(ValueError, match=r"diverged.*Lower the learning rate"):
        model.fit(small_X)
    assert not _fitted_attributes(model)


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, VAE])
def test_a_diverging_learning_rate_from_the_linear_start_keeps_it(Estimator):
    # From init="pca", every epoch of a wild learning rate is worse than the
    # start on the validation rows (or not finite: the error above): the
    # start is kept, and the warning says why and what to do.
    X = np.random.RandomState(0).normal(size=(300, 5))
    model = Estimator(lr=1e3, hidden_layer_sizes=(4,), max_epochs=2, random_state=0)
    try:
        with pytest.warns(ConvergenceWarning, match="lower the learning rate"):
            model.fit(X)
    except ValueError as exc:
        assert "diverged" in str(exc)
        return
    assert model.stop_reason_ == "max_epochs=2 reached"
    assert np.all(np.isfinite(model.transform(X)))
    assert np.all(np.isfinite(model.score_samples(X)))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
@pytest.mark.parametrize("lr", [1e3, 1e6, 1e9])
def test_huge_learning_rates_diverge_or_give_finite_outputs(estimator, small_X, lr):
    model = clone(estimator).set_params(lr=lr, random_state=0)
    try:
        model.fit(small_X)
    except ValueError as exc:
        assert "diverged" in str(exc)
        return
    assert np.all(np.isfinite(model.loss_curve_))
    codes = model.transform(small_X)
    assert np.all(np.isfinite(codes))
    assert np.all(np.isfinite(model.inverse_transform(codes)))
    assert np.all(np.isfinite(model.score_samples(small_X)))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_unscaled_huge_values_are_a_clear_error(estimator, small_X):
    model = clone(estimator).set_params(standardize=False, random_state=0)
    with pytest.raises(ValueError, match=r"diverged.*scale X"):
        model.fit(small_X * 1e30)
    with pytest.raises(ValueError, match=r"float32 range.*Scale X first"):
        model.fit(small_X * 1e39)


class _BlowsUpAfterTraining(nn.Module):
    """An encoder whose codes are infinite once it has been trained.

    Its training loss is finite at every epoch: only a look at the trained
    model's outputs shows the problem.
    """

    def __init__(self, n_features, n_components):
        super().__init__()
        self.linear = nn.Linear(n_features, n_components)
        self.trained = False

    def forward(self, x):
        if self.training:
            self.trained = True
        codes = self.linear(x)
        return codes * float("inf") if self.trained and not self.training else codes


def test_finite_losses_with_non_finite_outputs_are_divergence(small_X):
    # Without a validation split, whose loss would show it first.
    model = AutoencoderTransformer(
        encoder=_BlowsUpAfterTraining(5, 2), early_stopping=False, **FAST
    )
    with pytest.raises(ValueError, match=r"diverged: after 3 epochs.*codes"):
        model.fit(small_X)


# ----------------------------------------------------------------------------
# Atomic fits (item 5)


def test_a_failed_first_fit_leaves_the_estimator_unfitted(small_X):
    model = AutoencoderTransformer(encoder=nn.Linear(5, 3), **FAST)
    with pytest.raises(ValueError, match="encoder must map"):
        model.fit(small_X)
    assert set(vars(model)) == set(model.get_params(deep=False))
    with pytest.raises(NotFittedError):
        model.transform(small_X)


@pytest.mark.parametrize("failure", ["wrong encoder", "diverged"])
def test_a_failed_refit_keeps_the_previous_model(small_X, failure):
    model = AutoencoderTransformer(random_state=0, **FAST).fit(small_X)
    state = dict(vars(model))
    codes = model.transform(small_X)
    X7 = np.random.RandomState(1).normal(size=(60, 7))
    if failure == "wrong encoder":
        model.set_params(encoder=nn.Linear(7, 3))
    else:
        model.set_params(lr=1e6, max_epochs=2, init="random")
    with pytest.raises(ValueError, match="encoder must map|diverged"):
        model.fit(X7)
    model.set_params(
        encoder=None, lr=state["lr"], max_epochs=state["max_epochs"], init="pca"
    )
    assert vars(model).keys() == state.keys()
    for key in _fitted_attributes(model):
        assert vars(model)[key] is state[key], key
    assert_array_equal(model.transform(small_X), codes)
    with pytest.raises(ValueError, match="expecting 5 features"):
        model.transform(X7)


# ----------------------------------------------------------------------------
# Ctrl-C (item 4): a real SIGINT propagates, and the fit is atomic

_INTERRUPTED_FIT = textwrap.dedent(
    """
    import json, os, signal
    import numpy as np, torch
    from torch import nn
    from sklearn.exceptions import ConvergenceWarning, NotFittedError
    from skae import AutoencoderTransformer

    # Python's own Ctrl-C handler, as in a terminal: a process started in the
    # background by a non-interactive shell inherits SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    torch.set_num_threads(1)
    X = np.random.RandomState(0).normal(size=(64, 5))  # 4 batches per epoch
    FAST = dict(hidden_layer_sizes=(8,), batch_size=16, random_state=0)

    class SigintAt(nn.Module):
        # An encoder that sends its process a real SIGINT (Ctrl-C) at the
        # given training batch; Python raises KeyboardInterrupt there.
        def __init__(self, batch):
            super().__init__()
            self.linear = nn.Linear(5, 2)
            self.batch, self.calls = batch, 0

        def forward(self, x):
            if self.training:
                self.calls += 1
                if self.calls == self.batch:
                    os.kill(os.getpid(), signal.SIGINT)
            return self.linear(x)

    def interrupted(model):
        try:
            model.fit(X)
        except KeyboardInterrupt:
            return True
        return False

    report = {}
    # During the first epoch of a first fit.
    model = AutoencoderTransformer(encoder=SigintAt(2), max_epochs=5, **FAST)
    report["first_interrupted"] = interrupted(model)
    report["first_attributes"] = sorted(k for k in vars(model) if k.endswith("_"))
    try:
        model.transform(X)
    except NotFittedError:
        report["first_not_fitted"] = True

    # During the third epoch of a refit.
    model = AutoencoderTransformer(max_epochs=2, **FAST).fit(X)
    before = dict(vars(model))
    codes = model.transform(X).tolist()
    model.set_params(encoder=SigintAt(10), max_epochs=5)
    report["refit_interrupted"] = interrupted(model)
    report["refit_kept"] = sorted(
        k for k in before if k.endswith("_") and vars(model).get(k) is before[k]
    )
    report["refit_attributes"] = sorted(k for k in vars(model) if k.endswith("_"))
    report["refit_same_codes"] = model.transform(X).tolist() == codes
    report["refit_n_iter"] = [model.n_iter_, len(model.loss_curve_)]
    print(json.dumps(report))
    """
)


def test_ctrl_c_propagates_and_leaves_the_estimator_unchanged():
    root = Path(skae.__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_FIT],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root,
        env={"PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["first_interrupted"]
    assert report["first_attributes"] == []
    assert report["first_not_fitted"]
    assert report["refit_interrupted"]
    fitted = ["device_", "feature_kinds_", "kept_linear_start_", "loss_curve_"]
    fitted += ["mean_"]
    fitted += ["n_features_in_", "n_iter_", "net_", "scale_", "stop_reason_"]
    assert report["refit_attributes"] == report["refit_kept"] == fitted
    assert report["refit_same_codes"]
    assert report["refit_n_iter"] == [2, 2]


# ----------------------------------------------------------------------------
# Optimizers (item 12)


def test_a_callable_optimizer_must_return_an_optimizer(small_X):
    model = AutoencoderTransformer(optimizer=lambda params, lr: None, **FAST)
    with pytest.raises(TypeError, match="returned NoneType"):
        model.fit(small_X)
    assert not _fitted_attributes(model)


def test_an_optimizer_with_another_signature_is_a_clear_error(small_X):
    model = AutoencoderTransformer(optimizer=lambda params: None, **FAST)
    with pytest.raises(TypeError, match=r"could not be called as optimizer\("):
        model.fit(small_X)


def test_a_callable_returning_an_optimizer_works(small_X):
    def sgd_with_momentum(params, lr):
        return torch.optim.SGD(params, lr=lr, momentum=0.9)

    model = AutoencoderTransformer(optimizer=sgd_with_momentum, **FAST).fit(small_X)
    assert model.net_.optimizer_.defaults["momentum"] == 0.9
