"""The parameters every autoencoder shares, and their constraints."""

from numbers import Real

import torch
from sklearn.base import BaseEstimator

from .._compat import Integer, Interval, StrOptions
from .module import ACTIVATIONS
from .net import OPTIMIZERS


class AutoencoderParameters(BaseEstimator):
    """The shared parameters: stored by ``__init__``, validated in ``fit``.

    Their descriptions are in :mod:`skae._docstrings`, shared by every model.
    """

    _parameter_constraints = {
        "n_components": [Integer(1)],
        "hidden_layer_sizes": ["array-like", Integer(1)],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "encoder": [torch.nn.Module, None],
        "decoder": [torch.nn.Module, None],
        "init": [StrOptions({"pca", "random"})],
        "standardize": [StrOptions({"auto"}), "boolean"],
        "optimizer": [StrOptions(set(OPTIMIZERS)), callable],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "trim_fraction": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [StrOptions({"auto"}), Integer(1)],
        "max_epochs": [Integer(1)],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Integer(1)],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "n_jobs": [Integer(None, -1, closed="right"), Integer(1), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256, 128),
        activation="relu",
        encoder=None,
        decoder=None,
        init="pca",
        standardize="auto",
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        trim_fraction=0.0,
        batch_size="auto",
        max_epochs=200,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.encoder = encoder
        self.decoder = decoder
        self.init = init
        self.standardize = standardize
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.trim_fraction = trim_fraction
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # The parameters that shape the network: when one changed since the fit,
    # a warm start trains a new network (and partial_fit refuses).
    _architecture_params = (
        "n_components",
        "hidden_layer_sizes",
        "activation",
        "encoder",
        "decoder",
        "standardize",
    )
