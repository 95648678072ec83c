"""The torch module protocol of skae models, and the MLP they are built from.

Every skae model is one :class:`AutoencoderModule`: it encodes, decodes,
computes its own training loss and scores samples. The estimators only scale
the data, train the module through skorch and call these methods in chunks,
so a new model is a subclass that changes the loss (and, if it must, the
score), plus an estimator that declares its parameters.
"""

import copy
from numbers import Integral

import numpy as np
import torch
from torch import nn

from .linear_start import principal_axes
from .missing import (
    FILL_ITERATIONS,
    masked_terms,
    observed_mask,
    observed_mean,
    zero_filled,
)
from .utils import warn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def make_mlp(n_inputs, hidden_layer_sizes, n_outputs, activation="relu"):
    """Build a fully connected network with a linear output layer.

    Parameters
    ----------
    n_inputs : int
        Width of the input.
    hidden_layer_sizes : sequence of int
        Width of each hidden layer, in order; may be empty.
    n_outputs : int
        Width of the (linear) output layer.
    activation : str, default="relu"
        Key of :data:`ACTIVATIONS`, applied after every hidden layer.

    Returns
    -------
    torch.nn.Sequential
    """
    layers = []
    width = int(n_inputs)
    for size in hidden_layer_sizes:
        layers += [nn.Linear(width, int(size)), ACTIVATIONS[activation]()]
        width = int(size)
    layers.append(nn.Linear(width, int(n_outputs)))
    return nn.Sequential(*layers)


class BypassMLP(nn.Module):
    """An MLP with a linear bypass: ``linear(x) + mlp(x)``.

    The default encoder and decoder of every model. The bypass contains the
    linear model (PCA, factor analysis) as the special case of a zero MLP
    output, so a model can start there (``init="pca"``) and train only the
    departures from it that the data support.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Widths of the input and of the output.
    hidden_layer_sizes : sequence of int
        Widths of the MLP's hidden layers.
    activation : str
        Key of :data:`ACTIVATIONS`.
    takes_mask : bool, default=False
        Whether the input is a row followed by its mask of observed entries
        (``2 * n_inputs`` numbers): the encoder of a model trained on data
        with missing entries (see :mod:`~skae._base.missing`).
    """

    def __init__(
        self,
        n_inputs,
        hidden_layer_sizes,
        n_outputs,
        activation="relu",
        *,
        takes_mask=False,
    ):
        super().__init__()
        self.takes_mask = bool(takes_mask)
        width = 2 * int(n_inputs) if takes_mask else int(n_inputs)
        self.linear = nn.Linear(width, int(n_outputs))
        # Without hidden layers the MLP would be a second linear map: none.
        self.mlp = (
            make_mlp(width, hidden_layer_sizes, n_outputs, activation)
            if len(hidden_layer_sizes)
            else None
        )

    def forward(self, x):
        if self.mlp is None:
            return self.linear(x)
        return self.linear(x) + self.mlp(x)

    def set_linear(self, weight, bias):
        """Make the network ``weight @ x + bias``: the bypass, and a zero MLP output.

        Only the MLP's output layer is zeroed: its hidden layers keep their
        random weights, so the gradient reaches them after the first step
        (as for the zero-initialized last layer of a residual branch). A
        ``weight`` narrower than the input (the row without its mask) gives
        the mask's inputs zero weights.
        """
        weight = torch.as_tensor(weight)
        padding = self.linear.in_features - weight.shape[1]
        if padding:
            weight = torch.cat([weight, weight.new_zeros(weight.shape[0], padding)], 1)
        with torch.no_grad():
            self.linear.weight.copy_(weight)
            self.linear.bias.copy_(torch.as_tensor(bias))
            if self.mlp is not None:
                self.mlp[-1].weight.zero_()
                self.mlp[-1].bias.zero_()


def standard_normal_like(x, generator=None, shape=None):
    """Standard normal noise of ``shape`` (that of ``x`` if None), on the
    device and in the dtype of ``x``, drawn from ``generator``."""
    shape = x.shape if shape is None else shape
    return torch.randn(shape, generator=generator, device=x.device, dtype=x.dtype)


def uniform_like(x, generator=None, shape=None):
    """Uniform [0, 1) noise, as :func:`standard_normal_like`."""
    shape = x.shape if shape is None else shape
    return torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)


def hidden_layer_sizes_tuple(sizes):
    """``hidden_layer_sizes`` as a tuple of ints, or a ValueError."""
    given = sizes
    sizes = (sizes,) if isinstance(sizes, Integral) else tuple(np.ravel(sizes))
    if not all(
        isinstance(size, Integral) and not isinstance(size, (bool, np.bool_))
        for size in sizes
    ) or any(size < 1 for size in sizes):
        raise ValueError(
            "hidden_layer_sizes must be a positive int or a sequence of "
            f"positive ints, got {given!r}."
        )
    return tuple(int(size) for size in sizes)


def encoder_and_decoder(
    n_features,
    n_components,
    *,
    hidden_layer_sizes,
    activation,
    encoder=None,
    decoder=None,
    n_encoder_outputs=None,
    takes_mask=False,
):
    """``(encoder, decoder)``: fresh copies of custom modules, or default MLPs.

    A custom module is deep-copied and re-initialized, so the parameter
    itself is never trained in place; the default networks are
    :class:`BypassMLP`, the decoder mirroring the encoder's hidden layers.
    ``n_encoder_outputs``: the default encoder's width, ``n_components`` if
    None. ``takes_mask``: the default encoder also takes the mask of
    observed entries (a custom encoder gets the rows only).
    """
    hidden = hidden_layer_sizes_tuple(hidden_layer_sizes)
    # Copied together: parameters they share (tied weights) stay shared.
    encoder, decoder = copy.deepcopy((encoder, decoder))
    if encoder is None:
        encoder = BypassMLP(
            n_features,
            hidden,
            n_encoder_outputs or n_components,
            activation,
            takes_mask=takes_mask,
        )
    else:
        encoder = reset_parameters(encoder)
    if decoder is None:
        decoder = BypassMLP(n_components, hidden[::-1], n_features, activation)
    else:
        decoder = reset_parameters(decoder)
    return encoder, decoder


def warn_if_code_is_as_wide(estimator):
    """Warn when the code is as wide as the input: an autoencoder whose only
    regularizer is its bottleneck can then learn the identity (as PCA refuses
    more components than features)."""
    if estimator.n_components >= estimator.n_features_in_:
        warn(
            f"{type(estimator).__name__} has n_components={estimator.n_components}"
            f" >= n_features_in_={estimator.n_features_in_}: it can learn the "
            "identity, which reconstructs every row, outliers included. Use "
            "fewer components, or a SparseAutoencoder or DenoisingAutoencoder, "
            "which are regularized otherwise."
        )


def plain_attributes(module):
    """The plain attributes (numbers, strings) of ``module`` and its submodules.

    ``{submodule name: {attribute: value}}``: what the state dict does not
    hold (the VAE's ``k`` and evaluation seed, a penalty's weight).
    """
    return {
        name: {
            key: value
            for key, value in vars(submodule).items()
            if not key.startswith("_")
            and key != "training"
            and isinstance(value, (bool, int, float, str))
        }
        for name, submodule in module.named_modules()
    }


def reset_parameters(module):
    """Re-initialize every submodule that defines ``reset_parameters``."""
    for submodule in module.modules():
        if submodule is not module and callable(
            getattr(submodule, "reset_parameters", None)
        ):
            submodule.reset_parameters()
    if callable(getattr(module, "reset_parameters", None)):
        module.reset_parameters()
    return module


class AutoencoderModule(nn.Module):
    """An encoder and a decoder trained on their mean squared error.

    The protocol of every skae model, which the estimators rely on:

    - ``encode(x)``: the code of each row, deterministic.
    - ``decode(z)``: the mean reconstruction of each code.
    - ``forward(x)``: the training loss of each row of a batch, a tensor of
      shape ``(batch,)`` (in ``eval()`` mode, the validation loss). The
      net's criterion reduces it to the number skorch minimizes, the mean;
      a batch-level penalty (the sparse code's) is added to every row.
    - ``score_samples(x)``: a score per row, higher for more normal rows.
      When :attr:`score_is_log_density` is True it is a log-density of the
      (scaled) rows, and the estimator adds the log-Jacobian of its scaling.
    - ``score_samples_per_feature(x)``: each feature's share of that score,
      a tensor of shape ``(batch, n_features)`` whose rows sum to
      ``score_samples(x)`` (up to float rounding), so that users can see
      which features made a row score low.
    - :attr:`generator`: where training noise comes from. The estimator sets
      it to a seeded :class:`torch.Generator` for the time of a fit, so that
      fits are reproducible and independent of torch's global RNG (and of
      other threads); None draws from the global RNG.
    - :meth:`noise_generator`: the generator a forward pass draws from: the
      training one in ``train()`` mode, and in ``eval()`` mode one seeded
      afresh from :attr:`eval_seed` at each call, so that a validation loss
      that needs noise (a sampled bound, a corrupted input) uses the same
      noise at every epoch and for the weights training started from: its
      changes are those of the weights, and the losses of two sets of
      weights can be compared row by row.

    All inputs are float32 batches of shape ``(batch, n_features)`` in the
    scaled space of the estimator.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(batch, n_features)`` to codes ``(batch, n_components)``.
    decoder : torch.nn.Module
        Maps codes back to ``(batch, n_features)``.
    """

    score_is_log_density = False

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.generator = None
        self.eval_seed = 0
        # The per-column terms of a model of mixed columns (see
        # skae._base.column_terms); None for a matrix of numbers.
        self.columns = None

    def observed_inputs(self, x):
        """The mask of observed input columns of ``x``, or None if all are:
        that of :func:`~skae._base.missing.observed_mask`, one entry per
        input column for a model of mixed columns."""
        return observed_mask(x) if self.columns is None else self.columns.observed(x)

    def n_inputs(self, x):
        """The number of input columns of the model matrix ``x``."""
        return x.shape[-1] if self.columns is None else self.columns.n_inputs

    def set_decoder_start(self, weight, bias):
        """Start the decoder as the linear map ``weight @ z + bias`` of the
        values; for mixed columns, of each column's natural parameter (see
        :meth:`~skae._base.column_terms.ColumnTerms.linearized`)."""
        if self.columns is not None:
            weight, bias = self.columns.linearized(weight, bias)
        self.decoder.set_linear(weight, bias)

    def start_from_linear_model(self, X, random_state):
        """Start as the best linear model of the scaled training data ``X``.

        With the default networks (:class:`BypassMLP`), the code becomes the
        projection on the leading principal axes and the reconstruction the
        PCA reconstruction: the model starts where ``PCA`` ends, and
        training departs from it only where the data support it. Codes
        beyond the data's rank keep their random bypass. A no-op for
        custom networks.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The scaled training data, float64.
        random_state : int
            Seeds any randomized solver.
        """
        if not self.has_bypass() or len(X) < 2:
            return
        mean, axes, _ = principal_axes(X, self.decoder.linear.in_features, random_state)
        n_features = X.shape[1]
        # The codes beyond the data's rank keep their random weights on the
        # row; the mask's inputs, if any, start at zero weight.
        weight = self.encoder.linear.weight.detach().cpu().double().numpy()
        weight = weight[:, :n_features].copy()
        weight[: len(axes)] = axes
        bias = -weight @ mean
        decoder_weight = np.zeros((X.shape[1], self.decoder.linear.in_features))
        decoder_weight[:, : len(axes)] = axes.T
        self.encoder.set_linear(weight, bias)
        self.set_decoder_start(decoder_weight, mean)

    def has_bypass(self):
        """Whether both networks are the default :class:`BypassMLP`."""
        return isinstance(self.encoder, BypassMLP) and isinstance(
            self.decoder, BypassMLP
        )

    def encoder_input(self, x):
        """What the encoder sees of the rows ``x``: missing entries set to 0.

        An encoder that takes the mask (:class:`BypassMLP` with
        ``takes_mask``, the default encoder of a model trained on data with
        missing entries) gets the mask of observed entries beside the row.
        Complete rows of a model without the mask are passed as they are.
        """
        observed = observed_mask(x)
        if not getattr(self.encoder, "takes_mask", False):
            if observed is not None and not self.training:
                # Never trained on missing entries: zeros are out of its data.
                return self.reconstruction_fill(x, observed)
            return zero_filled(x, observed)
        mask = torch.ones_like(x) if observed is None else observed.to(x.dtype)
        return torch.cat([zero_filled(x, observed), mask], dim=-1)

    def fill_missing(self, x, observed=None, **kwargs):
        """``x`` with its missing entries filled: by the model's reconstruction
        (:meth:`reconstruction_fill`); a probabilistic model may do better."""
        return self.reconstruction_fill(x, observed)

    def reconstruction_fill(self, x, observed=None):
        """``x`` with its missing entries filled by the model's reconstruction.

        An encoder that takes the mask learned to encode rows with missing
        entries: one pass fills them. One that does not sees the row with
        its missing entries at 0 first, then filled by its own
        reconstruction, repeatedly (:data:`~skae._base.missing.FILL_ITERATIONS`
        times): the fixed-point iteration of a "fill, reconstruct, refill"
        loop. Each row keeps the fill whose reconstruction is closest to its
        observed entries, so more passes can never make a row's fill worse
        by that measure: the loop cannot drift.
        """
        observed = observed_mask(x) if observed is None else observed
        filled = zero_filled(x, observed)
        if observed is None:
            return x
        if getattr(self.encoder, "takes_mask", False):
            return torch.where(observed, filled, self.decode(self.encode(x)))
        best, best_error = filled, None
        for _ in range(FILL_ITERATIONS):
            reconstruction = self.decode(self.encode(filled))
            error = observed_mean((reconstruction - filled).pow(2), observed)
            if best_error is not None:
                better = (error < best_error)[:, None]
                best = torch.where(better, filled, best)
                error = torch.minimum(error, best_error)
            best_error = error
            filled = torch.where(observed, filled, reconstruction)
        return best

    def encode(self, x):
        return self.encoder(self.encoder_input(x))

    def decode(self, z):
        """The reconstruction of codes ``z``: for mixed columns, each
        column's mean (probabilities for flags and categories)."""
        out = self.decoder(z)
        return out if self.columns is None else self.columns.mean(out)

    def squared_error(self, x, codes=None):
        """Per-row mean squared error of the reconstruction of ``x``, over
        its observed entries (for mixed columns, the mean of each input
        column's weighted loss)."""
        observed = self.observed_inputs(x)
        return observed_mean(self.squared_error_per_feature(x, codes), observed)

    def squared_error_per_feature(self, x, codes=None):
        """Squared error of the reconstruction of each value of ``x``; 0 for
        missing values. For mixed columns, each input column's weighted
        loss (:meth:`~skae._base.column_terms.ColumnTerms.loss`)."""
        codes = self.encode(x) if codes is None else codes
        if self.columns is not None:
            return self.columns.loss(self.decoder(codes), x)
        observed = observed_mask(x)
        error = (self.decode(codes) - zero_filled(x, observed)).pow(2)
        return masked_terms(error, observed)

    def forward(self, x):
        # A mean over features, as in MLPRegressor: the loss, and so ``tol``,
        # keep one scale whatever the number of features.
        return self.squared_error(x)

    def score_samples(self, x):
        # The sum of the per-feature terms, so that the two cannot disagree.
        # The division per value costs nothing measurable beside the decoder
        # (256 rows of 784 features, (256, 128) hidden units: 2.6 ms either way).
        # Missing features, NaN there, add nothing.
        terms = self.score_samples_per_feature(x)
        return masked_terms(terms, self.observed_inputs(x)).sum(dim=1)

    def score_samples_per_feature(self, x):
        """``-(x_hat_j - x_j)**2 / n_observed``: each feature's share of the score.

        The score is minus the mean squared error over the observed
        features, so a feature's share is its squared error divided by
        their number; missing features have NaN.
        """
        observed = self.observed_inputs(x)
        if observed is None:
            return self.squared_error_per_feature(x) / -self.n_inputs(x)
        count = observed.sum(dim=1, keepdim=True).clamp(min=1)
        terms = self.squared_error_per_feature(x) / -count
        return masked_terms(terms, observed, float("nan"))

    def noise_generator(self, like):
        """The generator of this pass's noise, on the device of ``like``.

        :attr:`generator` in training; in evaluation a generator seeded with
        :attr:`eval_seed`, the same noise at every call.
        """
        if self.training:
            return self.generator
        return torch.Generator(device=like.device).manual_seed(self.eval_seed)

    def standard_normal(self, shape, like):
        """Standard normal noise of ``shape``, on the device and dtype of ``like``."""
        return standard_normal_like(like, self.noise_generator(like), shape)

    def uniform(self, shape, like):
        """Uniform [0, 1) noise of ``shape``, on the device and dtype of ``like``."""
        return uniform_like(like, self.noise_generator(like), shape)
