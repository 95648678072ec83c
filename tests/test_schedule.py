"""The training schedule: halve the learning rate on a plateau, then stop."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skae import AutoencoderTransformer
from skae._base.net import StopTraining
from skae._base.schedule import LR_FACTOR, PlateauSchedule, clearly_beats
from skae._base.training import auto_batch_size


class _History(list):
    """The bits of skorch's history the schedule uses."""

    def record(self, key, value):
        self[-1][key] = value


class _Net:
    def __init__(self):
        self.history = _History()
        self.module_ = torch.nn.Linear(2, 2)
        self.optimizer_ = torch.optim.SGD(self.module_.parameters(), lr=1.0)

    def epoch(self, loss, **extra):
        self.history.append({"epoch": len(self.history) + 1, "train_loss": loss})
        self.history[-1].update(extra)


def _run(schedule, losses, **extra):
    """Feed ``losses`` to ``schedule``; ``net.stop_reason`` says why it stopped."""
    net = _Net()
    net.stop_reason = None
    schedule.initialize()
    for loss in losses:
        net.epoch(loss, **extra)
        try:
            schedule.on_epoch_end(net)
        except StopTraining as exc:
            net.stop_reason = exc.reason
            break
    return net


def test_halves_the_learning_rate_then_stops():
    schedule = PlateauSchedule("train_loss", patience=4, tol=1e-4, lr_patience=2)
    net = _run(schedule, [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0])
    # Best at epoch 2; halved after 2 flat epochs (the history records the
    # rate each epoch trained with); stopped after 4.
    lrs = [row["lr"] for row in net.history]
    assert lrs == [1.0, 1.0, 1.0, 1.0, LR_FACTOR, LR_FACTOR]
    assert "n_iter_no_change=4" in net.stop_reason and len(net.history) == 6
    assert schedule.best_epoch_ == 2


def test_tolerance_is_relative_to_large_losses_and_works_for_negative_ones():
    # A gain of 0.05 nats on a loss of -1000 is below tol * |best| = 0.1.
    schedule = PlateauSchedule("train_loss", patience=2, tol=1e-4, lr_patience=5)
    assert _run(schedule, [-1000.0, -1000.05, -1000.08]).stop_reason
    assert schedule.best_loss_ == -1000.0
    schedule = PlateauSchedule("train_loss", patience=2, tol=1e-4, lr_patience=5)
    assert _run(schedule, [-1000.0, -1000.2, -1000.4, -1000.6]).stop_reason is None
    assert schedule.best_loss_ == -1000.6


def test_warm_up_epochs_count_neither_way():
    schedule = PlateauSchedule("train_loss", patience=2, tol=1e-4, lr_patience=1)
    net = _run(schedule, [1.0, 2.0, 3.0, 4.0], warmup=True)
    assert net.stop_reason is None and schedule.best_epoch_ is None
    assert net.history[-1]["lr"] == 1.0


def test_restore_best_puts_back_the_best_weights():
    schedule = PlateauSchedule(
        "train_loss", patience=3, tol=1e-4, lr_patience=5, restore_best=True
    )
    net = _Net()
    schedule.initialize()
    best = None
    for loss in [3.0, 1.0, 2.0, 2.0, 2.0]:
        net.epoch(loss)
        try:
            schedule.on_epoch_end(net)
        except StopTraining:
            break
        if loss == 1.0:
            best = net.module_.weight.detach().clone()
        with torch.no_grad():
            net.module_.weight.add_(1.0)
    schedule.on_train_end(net)
    assert torch.equal(net.module_.weight, best)


def test_clearly_beats_needs_a_gain_of_one_standard_error():
    rng = np.random.RandomState(0)
    reference = rng.uniform(1, 2, size=400)
    gain = rng.normal(size=400)
    # A mean gain of 0.5 standard errors, then of 3, every row noisy.
    standard_error = gain.std(ddof=1) / np.sqrt(400)
    centered = gain - gain.mean()
    assert not clearly_beats(reference - (centered + 0.5 * standard_error), reference)
    assert clearly_beats(reference - (centered + 3 * standard_error), reference)
    # Higher losses never beat.
    assert not clearly_beats(reference + 1.0, reference)


def test_clearly_beats_needs_lower_losses_on_most_rows():
    # A large mean gain (many standard errors) carried by a quarter of the
    # rows, with the other rows slightly worse: the median difference is
    # negative, and the skewed gain is not taken as clear.
    reference = np.ones(400)
    gain = np.r_[np.full(100, 1.0), np.full(300, -0.01)]
    assert gain.mean() > 5 * gain.std(ddof=1) / np.sqrt(400)
    assert not clearly_beats(reference - gain, reference)
    # The same gain on most rows is clear.
    gain = np.r_[np.full(300, 1.0), np.full(100, -0.01)]
    assert clearly_beats(reference - gain, reference)


def test_fit_that_stops_on_a_plateau_does_not_warn(small_X):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = AutoencoderTransformer(
            hidden_layer_sizes=(4,),
            max_epochs=500,
            tol=10.0,
            n_iter_no_change=2,
            early_stopping=False,
        ).fit(small_X)
    assert model.n_iter_ == 3
    assert model.stop_reason_.startswith("the train loss did not improve")


def test_fit_that_reaches_max_epochs_while_improving_warns(small_X):
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        AutoencoderTransformer(hidden_layer_sizes=(4,), max_epochs=2).fit(small_X)


@pytest.mark.parametrize(
    "n_samples, expected", [(5, 5), (20, 16), (1000, 62), (3000, 128), (10**6, 128)]
)
def test_auto_batch_size(n_samples, expected):
    assert auto_batch_size(n_samples) == expected


@pytest.mark.parametrize(
    "n_samples, validation", [(10, False), (19, False), (20, True), (400, True)]
)
def test_early_stopping_auto_needs_two_validation_rows(n_samples, validation):
    X = np.random.RandomState(0).normal(size=(n_samples, 3))
    model = AutoencoderTransformer(hidden_layer_sizes=(4,), max_epochs=2).fit(X)
    assert ("valid_loss" in model.net_.history[-1]) is validation
