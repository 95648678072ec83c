"""A lean skorch net for autoencoders: skorch's loop without its per-batch extras.

A small autoencoder takes well under a millisecond per batch, so the Python
work that ``NeuralNet`` does around each batch shows up in the fit time:
setting train mode on every submodule, a closure and a step accumulator for
optimizers that need none, notifying callbacks that do nothing per batch,
and a ``PrintLog`` that formats a table every epoch even when nothing is
printed. :class:`AutoencoderNet` removes that work through skorch's
documented customization points only (``get_default_callbacks``, ``notify``,
``on_epoch_begin``, ``train_step``, ``infer``, ``get_loss``); ``fit``,
``fit_loop`` and ``run_single_epoch`` are skorch's own, so history,
callbacks and early stopping behave as in any skorch net.
"""

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring, PrintLog

# Callback hooks skorch calls once per batch; callbacks that keep the base
# class's no-op for them are not called there.
_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


def _overrides(callback, hook):
    """Whether ``callback`` implements ``hook`` (rather than the base no-op)."""
    base = getattr(Callback, hook)
    return getattr(type(callback), hook, base) is not base


class AutoencoderNet(NeuralNet):
    """``NeuralNet`` with the per-batch overhead of skorch's defaults removed.

    - Default callbacks: the epoch losses (``PassthroughScoring``) and, only
      when ``verbose``, ``EpochTimer`` and ``PrintLog``.
    - Callbacks are notified per batch only when they implement that hook.
    - The modules are put in train mode once per epoch, not once per batch
      (validation, which sets eval mode, runs after training in an epoch).
    - One optimizer step without a closure, gradients set to ``None``; an
      optimizer that needs a closure (``LBFGS``) gets skorch's own step.
    - The module is called directly and the criterion receives the target
      tensor as is (batches are already tensors on the device).

    Everything else (history, ``train_loss``/``valid_loss``, callbacks such
    as ``EarlyStopping``) is skorch's.
    """

    def get_default_callbacks(self):
        callbacks = [
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]
        if self.verbose:
            callbacks = [
                ("epoch_timer", EpochTimer()),
                *callbacks,
                ("print_log", PrintLog()),
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

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        # One optimizer without closure: the lean step; else skorch's.
        self._lean_step = len(self._optimizers) == 1 and not isinstance(
            self.optimizer_, torch.optim.LBFGS
        )
        return self

    def notify(self, method_name, **cb_kwargs):
        listeners = self.__dict__.get("_batch_listeners", {}).get(method_name)
        if listeners is None:
            return super().notify(method_name, **cb_kwargs)
        getattr(self, method_name)(self, **cb_kwargs)
        for cb in listeners:
            getattr(cb, method_name)(self, **cb_kwargs)
        return None

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self._set_training(True)

    def train_step(self, batch, **fit_params):
        if not self.__dict__.get("_lean_step"):
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
        if not isinstance(y_true, torch.Tensor):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        return self.criterion_(y_pred, y_true)
