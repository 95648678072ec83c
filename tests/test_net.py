"""The lean skorch net: same training as skorch's own loop, less work per batch."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring, PrintLog

import skae._base.net
from skae import AutoencoderTransformer
from skae._base.data import BatchIterator, ReconstructionDataset
from skae._base.module import AutoencoderModule, make_mlp
from skae._base.net import AutoencoderNet, ModuleLoss
from skae._base.progress import EpochProgressBar, EpochTable


@pytest.mark.parametrize("early_stopping", [False, True])
def test_same_losses_as_plain_skorch(monkeypatch, small_X, early_stopping):
    # The lean net only removes bookkeeping: with the same seed it must train
    # exactly as skorch's NeuralNet does (same batches, steps and modes).
    params = dict(
        hidden_layer_sizes=(8,),
        max_epochs=4,
        batch_size=16,
        early_stopping=early_stopping,
        device="cpu",
        random_state=0,
    )
    lean = AutoencoderTransformer(**params).fit(small_X)
    monkeypatch.setattr(skae._base.net, "AutoencoderNet", NeuralNet)
    plain = AutoencoderTransformer(**params).fit(small_X)
    assert type(plain.net_) is NeuralNet and type(lean.net_) is AutoencoderNet
    assert_allclose(lean.loss_curve_, plain.loss_curve_, rtol=1e-6)
    if early_stopping:
        assert_allclose(
            lean.net_.history[:, "valid_loss"],
            plain.net_.history[:, "valid_loss"],
            rtol=1e-6,
        )
    assert_allclose(lean.transform(small_X), plain.transform(small_X), rtol=1e-5)


def test_default_callbacks_depend_on_verbose(small_X, capsys):
    quiet = AutoencoderTransformer(hidden_layer_sizes=(4,), max_epochs=2, verbose=0)
    quiet.fit(small_X)
    kinds = {type(cb) for _, cb in quiet.net_.callbacks_}
    assert not kinds & {PrintLog, EpochTable, EpochTimer, EpochProgressBar}
    assert PassthroughScoring in kinds
    assert capsys.readouterr() == ("", "")

    bar = AutoencoderTransformer(hidden_layer_sizes=(4,), max_epochs=2, verbose=1)
    kinds = {type(cb) for _, cb in bar.fit(small_X).net_.callbacks_}
    assert EpochProgressBar in kinds and not kinds & {EpochTable, EpochTimer}

    table = AutoencoderTransformer(hidden_layer_sizes=(4,), max_epochs=2, verbose=2)
    kinds = {type(cb) for _, cb in table.fit(small_X).net_.callbacks_}
    assert {EpochTable, EpochTimer} <= kinds and EpochProgressBar not in kinds
    out = capsys.readouterr().out
    assert "train_loss" in out and "dur" in out


class _Counter(Callback):
    def initialize(self):
        self.calls = {"begin": 0, "end": 0, "grad": 0}
        return self

    def on_batch_begin(self, net, **kwargs):
        self.calls["begin"] += 1

    def on_batch_end(self, net, **kwargs):
        self.calls["end"] += 1

    def on_grad_computed(self, net, named_parameters, **kwargs):
        assert all(p.grad is not None for _, p in named_parameters)
        self.calls["grad"] += 1


def _net(**kwargs):
    torch.manual_seed(0)
    module = AutoencoderModule(make_mlp(5, (8,), 2), make_mlp(2, (8,), 5))
    return AutoencoderNet(
        module=module,
        criterion=ModuleLoss(),
        optimizer=torch.optim.Adam,
        batch_size=16,
        iterator_train=BatchIterator,
        iterator_valid=BatchIterator,
        dataset=ReconstructionDataset,
        train_split=None,
        verbose=0,
        **kwargs,
    )


def test_callbacks_implementing_batch_hooks_are_notified(small_X):
    counter = _Counter()
    net = _net(max_epochs=3, callbacks=[("counter", counter)])
    X = torch.as_tensor(small_X, dtype=torch.float32)
    net.fit(ReconstructionDataset(X), y=None)
    n_batches = 3 * -(-len(X) // 16)
    assert counter.calls == {"begin": n_batches, "end": n_batches, "grad": n_batches}
    assert len(net.history) == 3
    assert len(net.history[-1, "batches"]) == -(-len(X) // 16)


def test_closure_optimizer_uses_skorch_step(small_X):
    # LBFGS evaluates the loss several times per step through a closure.
    # Mini-batch LBFGS without a line search is fragile: at lr=0.1 it
    # diverges on this set (a clear ValueError), and from the PCA start, a
    # stationary point of the bypass, its first curvature pairs are noise; so
    # this test of the closure path starts at random, without a validation
    # split, at a small learning rate.
    model = AutoencoderTransformer(
        hidden_layer_sizes=(4,),
        max_epochs=2,
        optimizer=torch.optim.LBFGS,
        lr=0.01,
        init="random",
        early_stopping=False,
        random_state=0,
    ).fit(small_X)
    assert np.all(np.isfinite(model.loss_curve_))
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_dropout_is_active_during_training(small_X):
    # Train mode is set once per epoch, also after a validation pass that
    # switched the module to eval mode.
    modes = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            modes.append(self.training)
            return x

    encoder = torch.nn.Sequential(torch.nn.Linear(5, 2), Recorder())
    model = AutoencoderTransformer(
        n_components=2,
        encoder=encoder,
        max_epochs=3,
        batch_size=32,
        early_stopping=True,
        random_state=0,
    ).fit(small_X)
    # Per epoch: 2 training batches (54 rows), then 1 validation batch (6).
    assert len(model.net_.history) == 3
    # modes[0]: the shape check; modes[1]: the validation loss of the
    # starting weights (epoch 0); after training, the validation pass of the
    # one-standard-error rule and the post-fit check run in eval mode.
    assert modes[:2] == [False, False]
    assert modes[2:11] == [True, True, False] * 3
    assert not any(modes[11:])


class _NeedsClosure(torch.optim.SGD):
    """An optimizer of the user's that needs its closure (as LBFGS does)."""

    def step(self, closure=None):
        assert closure is not None, "the lean step called me without a closure"
        closure()
        return super().step()


@pytest.mark.parametrize(
    "optimizer, lean",
    [(torch.optim.Adam, True), (torch.optim.RMSprop, True), (_NeedsClosure, False)],
)
def test_lean_step_only_for_optimizers_known_to_need_no_closure(
    small_X, optimizer, lean
):
    model = AutoencoderTransformer(
        hidden_layer_sizes=(4,), max_epochs=2, optimizer=optimizer, random_state=0
    ).fit(small_X)
    assert model.net_._lean_step is lean
    assert np.all(np.isfinite(model.loss_curve_))
