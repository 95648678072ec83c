"""Continuing a fitted net: ``partial_fit`` and ``warm_start``.

Two things a continued fit needs beyond a fresh one: a seed for each call
that differs from call to call yet is reproducible, and a way back to the
net as it was if the call fails, so that a continued fit is as atomic as a
fresh one (the estimator restores its attributes, but the net is changed in
place).
"""

from contextlib import contextmanager

import numpy as np
import torch

# The skorch parameters a continued fit sets on the net.
_RESET_PARAMS = ("train_split", "callbacks", "max_epochs", "batch_size", "verbose")


def continued_seed(seed, n_iter):
    """The seed of a fit that continues after ``n_iter`` epochs.

    Mixes both through :class:`numpy.random.SeedSequence`, so the calls of a
    ``partial_fit`` sequence under one integer ``random_state`` get
    different, reproducible shuffles and noise.
    """
    state = np.random.SeedSequence([int(seed), int(n_iter)]).generate_state(1)
    return int(state[0] % np.iinfo(np.int32).max)


@contextmanager
def rollback_on_error(net):
    """Restore ``net`` (weights, optimizer state, history, settings) on error.

    Copies the weights and the optimizer state, not the history, so its cost
    does not grow with the number of calls.
    """
    module_state = _copy_tensors(net.module_.state_dict())
    optimizer_state = _copy_tensors(net.optimizer_.state_dict())
    n_epochs = len(net.history)
    params = {name: getattr(net, name) for name in _RESET_PARAMS}
    generator = net.iterator_train__generator
    # The initialized callbacks: a continued fit initializes new ones.
    callbacks = net.callbacks_
    listeners = getattr(net, "_batch_listeners", None)
    try:
        yield
    except BaseException:
        net.module_.load_state_dict(module_state)
        net.optimizer_.load_state_dict(optimizer_state)
        del net.history[n_epochs:]
        net.set_params(**params)
        net.iterator_train__generator = generator
        net.callbacks_ = callbacks
        if listeners is not None:
            net._batch_listeners = listeners
        raise


def _copy_tensors(state):
    """A copy of nested dicts and lists whose tensors are cloned.

    Much faster than ``copy.deepcopy`` for a state dict: one ``clone`` per
    tensor, no Python-level copy of the storage.
    """
    if isinstance(state, torch.Tensor):
        return state.detach().clone()
    if isinstance(state, dict):
        return {key: _copy_tensors(value) for key, value in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_copy_tensors(value) for value in state)
    return state
