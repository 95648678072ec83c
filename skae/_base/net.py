"""A lean skorch net for autoencoders: skorch's loop without its per-batch extras.

A small autoencoder takes well under a millisecond per batch, so the Python
work that ``NeuralNet`` does around each batch shows up in the fit time:
setting train mode on every submodule, a closure and a step accumulator for
optimizers that need none, notifying callbacks that do nothing per batch,
and a ``PrintLog`` that formats a table every epoch even when nothing is
printed. :class:`AutoencoderNet` removes that work by overriding skorch
methods; ``fit``, ``partial_fit`` and ``run_single_epoch`` stay skorch's,
so history, callbacks and early stopping behave as in any skorch net.

It relies on these parts of skorch's behaviour, which are not all promised
by skorch's documentation; ``tests/test_net.py`` trains the same model with
this net and with a plain ``NeuralNet`` and checks that every loss agrees,
so a skorch release that changes them fails that test:

- ``run_single_epoch`` calls ``notify("on_batch_begin")``, ``step_fn`` and
  ``notify("on_batch_end")`` per batch, and ``notify("on_epoch_begin")``
  comes before the training pass of each epoch;
- ``validation_step`` sets eval mode itself, and nothing else changes the
  mode between batches of the training pass;
- ``train_step`` returns ``{"loss": ..., "y_pred": ...}``;
- ``partial_fit`` catches ``KeyboardInterrupt`` raised in ``fit_loop``, the
  way its callbacks end training.
"""

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring

from .data import BatchIterator, ReconstructionDataset
from .module import plain_attributes
from .progress import EpochProgressBar, EpochTable, close_progress_bars
from .utils import copy_tensors

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}

# Callback hooks skorch calls once per batch; callbacks that keep the base
# class's no-op for them are not called there.
_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")

# Optimizers whose ``step()`` is known to need no closure: the lean step
# calls them without one. Any other optimizer (LBFGS, or a class of the
# user's whose needs are unknown) gets skorch's own step with a closure.
CLOSURE_FREE_OPTIMIZERS = (
    torch.optim.Adadelta,
    torch.optim.Adagrad,
    torch.optim.Adam,
    torch.optim.AdamW,
    torch.optim.Adamax,
    torch.optim.ASGD,
    torch.optim.NAdam,
    torch.optim.RAdam,
    torch.optim.RMSprop,
    torch.optim.Rprop,
    torch.optim.SGD,
)


class TrainingInterrupted(BaseException):  # noqa: N818 (it is not an error)
    """Carries a ``KeyboardInterrupt`` past skorch, which would swallow it.

    A ``BaseException``, like ``KeyboardInterrupt``, so that no
    ``except Exception`` on the way catches it.
    """


class StopTraining(KeyboardInterrupt):
    """How a callback ends training: skorch's own signal, told apart from Ctrl-C.

    skorch ends training when a callback raises ``KeyboardInterrupt`` (its
    ``EarlyStopping`` does), so a real Ctrl-C looks the same to it. Callbacks
    of skae raise this subclass instead, with the reason, in words, as its
    argument; the net keeps it as ``stop_reason_``.
    """

    @property
    def reason(self):
        return self.args[0] if self.args else "a callback stopped training"


def _overrides(callback, hook):
    """Whether ``callback`` implements ``hook`` (rather than the base no-op)."""
    base = getattr(Callback, hook)
    return getattr(type(callback), hook, base) is not base


class ModuleLoss(torch.nn.Module):
    """The criterion of an autoencoder net: the mean of its module's row losses.

    skae modules compute the training loss of each row in ``forward`` (see
    :class:`~skae._base.module.AutoencoderModule`); skorch still needs a
    criterion, and this one reduces the rows' losses to their mean.

    Parameters
    ----------
    trim_fraction : float, default=0.0
        Share of each batch left out of the mean: the rows with the largest
        losses (a trimmed mean, as least trimmed squares; the number of rows
        is rounded to the nearest, and at least one row is kept). Their
        gradient is zero, so outliers in the training data do not pull the
        model towards them.
    """

    def __init__(self, trim_fraction=0.0):
        super().__init__()
        self.trim_fraction = trim_fraction

    def forward(self, row_losses, target=None):
        if not self.trim_fraction:
            return row_losses.mean()
        # Rounded to the nearest row: a 5% trim of a batch of 16 drops one.
        n_kept = max(1, len(row_losses) - round(self.trim_fraction * len(row_losses)))
        return torch.topk(row_losses, n_kept, largest=False, sorted=False).values.mean()


def has_batch_norm(module):
    """Whether ``module`` holds batch normalization layers."""
    kinds = (
        torch.nn.BatchNorm1d,
        torch.nn.BatchNorm2d,
        torch.nn.BatchNorm3d,
        torch.nn.SyncBatchNorm,
        torch.nn.LazyBatchNorm1d,
    )
    return any(isinstance(part, kinds) for part in module.modules())


def make_net(
    module,
    *,
    optimizer,
    lr,
    weight_decay,
    trim_fraction,
    max_epochs,
    batch_size,
    device,
    callbacks,
    train_split=None,
    shuffle_generator=None,
    verbose=0,
):
    """The skorch net that trains ``module``: the one place skae builds one.

    A fresh fit, and a model loaded from a file or unpickled, all get their
    net here, so they are built alike. ``optimizer`` is a key of
    :data:`OPTIMIZERS` or an optimizer class or factory.
    """
    # Passed only when set, so that optimizers without the argument (e.g.
    # torch.optim.LBFGS) can be used.
    extra = {"optimizer__weight_decay": float(weight_decay)} if weight_decay else {}
    return AutoencoderNet(
        module=module,
        criterion=ModuleLoss,
        criterion__trim_fraction=float(trim_fraction),
        optimizer=OPTIMIZERS.get(optimizer, optimizer),
        # Python numbers: a numpy float32 lr would keep the optimizer's step
        # arithmetic in float32 (NEP 50) and change the result.
        lr=float(lr),
        max_epochs=int(max_epochs),
        batch_size=int(batch_size),
        iterator_train=BatchIterator,
        iterator_train__shuffle=True,
        iterator_train__generator=shuffle_generator,
        iterator_train__device=device,
        # Batch normalization cannot train on a last batch of one row.
        iterator_train__min_batch_rows=2 if has_batch_norm(module) else 1,
        iterator_valid=BatchIterator,
        iterator_valid__device=device,
        dataset=ReconstructionDataset,
        train_split=train_split,
        callbacks=callbacks,
        device=device,
        verbose=verbose,
        **extra,
    )


class AutoencoderNet(NeuralNet):
    """``NeuralNet`` with the per-batch overhead of skorch's defaults removed.

    - Default callbacks: the epoch losses (``PassthroughScoring``), and a
      progress bar over the epochs when ``verbose=1`` or the table of epochs
      (``EpochTimer``, ``PrintLog`` without colours off a terminal) when
      ``verbose>=2``; see :mod:`skae._progress`.
    - Callbacks are notified per batch only when they implement that hook.
    - The module is put in train mode once per epoch, not once per batch.
    - For the optimizers in :data:`CLOSURE_FREE_OPTIMIZERS`, one step without
      a closure, gradients set to ``None``; any other optimizer gets
      skorch's own step.
    - The module is called directly and its output (the loss) is the loss.
    - Ctrl-C (``KeyboardInterrupt``) is not swallowed: it leaves ``fit`` as
      :class:`TrainingInterrupted`, and the estimator re-raises it. Callbacks
      that end training raise :class:`StopTraining`, which skorch handles
      as usual; its reason is kept as ``stop_reason_`` (None when training
      ran all its epochs).
    """

    def get_default_callbacks(self):
        callbacks = [
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]
        if self.verbose == 1:
            callbacks.append(("progress_bar", EpochProgressBar()))
        elif self.verbose:
            callbacks = [
                ("epoch_timer", EpochTimer()),
                *callbacks,
                ("print_log", EpochTable()),
            ]
        return callbacks

    def initialize_callbacks(self):
        super().initialize_callbacks()
        # Private, not skorch attributes (no trailing underscore, no params).
        self._batch_listeners = {
            hook: [cb for _, cb in self.callbacks_ if _overrides(cb, hook)]
            for hook in _BATCH_HOOKS
        }
        return self

    # The skorch parameters a continued fit sets; restore() puts them back.
    _CONTINUED_FIT_PARAMS = (
        "train_split",
        "callbacks",
        "max_epochs",
        "batch_size",
        "verbose",
        "iterator_train__generator",
    )

    def snapshot(self):
        """The state a failed continued fit must return to.

        The weights, the optimizer state, the number of epochs of the
        history, the settings a continued fit changes and the initialized
        callbacks; the history itself is not copied, so the cost does not
        grow with the number of epochs.
        """
        return {
            "module": copy_tensors(self.module_.state_dict()),
            "optimizer": copy_tensors(self.optimizer_.state_dict()),
            "n_epochs": len(self.history),
            "params": {
                name: getattr(self, name) for name in self._CONTINUED_FIT_PARAMS
            },
            "callbacks_": self.callbacks_,
            "batch_listeners": self._batch_listeners,
            # What a continued fit sets from the current parameters.
            "trim_fraction": self.criterion_.trim_fraction,
            "module_attributes": plain_attributes(self.module_),
        }

    def restore(self, snapshot):
        """Return to a :meth:`snapshot`."""
        self.module_.load_state_dict(snapshot["module"])
        self.optimizer_.load_state_dict(snapshot["optimizer"])
        del self.history[snapshot["n_epochs"] :]
        params = dict(snapshot["params"])
        # Set directly: skorch's set_params would re-initialize the net.
        self.iterator_train__generator = params.pop("iterator_train__generator")
        self.set_params(**params)
        self.callbacks_ = snapshot["callbacks_"]
        self._batch_listeners = snapshot["batch_listeners"]
        self.criterion_.trim_fraction = snapshot["trim_fraction"]
        for name, attributes in snapshot["module_attributes"].items():
            vars(self.module_.get_submodule(name)).update(attributes)

    def initialize_optimizer(self, *args, **kwargs):
        try:
            super().initialize_optimizer(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(
                f"The optimizer {self.optimizer!r} could not be called as "
                f"optimizer(params, lr=...): {exc}"
            ) from exc
        # A callable that returns something else would fail deep inside
        # skorch ("'NoneType' object is not subscriptable").
        if not isinstance(self.optimizer_, torch.optim.Optimizer):
            raise TypeError(
                "The optimizer must be a torch.optim.Optimizer class, or a "
                "callable that returns an Optimizer when called as "
                f"optimizer(params, lr=...); {self.optimizer!r} returned "
                f"{type(self.optimizer_).__name__}."
            )
        self._lean_step = type(self.optimizer_) in CLOSURE_FREE_OPTIMIZERS
        return self

    def notify(self, method_name, **cb_kwargs):
        listeners = getattr(self, "_batch_listeners", {}).get(method_name)
        if listeners is None:
            return super().notify(method_name, **cb_kwargs)
        getattr(self, method_name)(self, **cb_kwargs)
        for cb in listeners:
            getattr(cb, method_name)(self, **cb_kwargs)
        return None

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.module_.train()

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        self.stop_reason_ = None
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except StopTraining as exc:
            # A callback's stop: skorch catches it and ends training.
            self.stop_reason_ = exc.reason
            raise
        except KeyboardInterrupt as exc:
            close_progress_bars(self)
            raise TrainingInterrupted from exc
        except BaseException:
            close_progress_bars(self)
            raise

    def train_step(self, batch, **fit_params):
        if not getattr(self, "_lean_step", False):
            return super().train_step(batch, **fit_params)
        Xi, yi = batch
        optimizer = self.optimizer_
        optimizer.zero_grad(set_to_none=True)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        if self._batch_listeners["on_grad_computed"]:
            self.notify(
                "on_grad_computed",
                named_parameters=list(self.get_all_learnable_params()),
                batch=batch,
                training=True,
            )
        optimizer.step()
        return {"loss": loss, "y_pred": y_pred}

    def infer(self, x, **fit_params):
        if fit_params or not isinstance(x, torch.Tensor):
            return super().infer(x, **fit_params)
        return self.module_(x)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, y_true)
