"""The torch module protocol of skae models, and the MLP they are built from.

Every skae model is one :class:`AutoencoderModule`: it encodes, decodes,
computes its own training loss and scores samples. The estimators only scale
the data, train the module through skorch and call these methods in chunks,
so a new model is a subclass that changes the loss (and, if it must, the
score), plus an estimator that declares its parameters.
"""

import torch
from torch import nn

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

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def squared_error(self, x, codes=None):
        """Per-row mean squared error of the reconstruction of ``x``."""
        return self.squared_error_per_feature(x, codes).mean(dim=1)

    def squared_error_per_feature(self, x, codes=None):
        """Squared error of the reconstruction of each value of ``x``."""
        codes = self.encode(x) if codes is None else codes
        return (self.decode(codes) - x).pow(2)

    def forward(self, x):
        # A mean over features, as in MLPRegressor: the loss, and so ``tol``,
        # keep one scale whatever the number of features.
        return self.squared_error(x)

    def score_samples(self, x):
        # The sum of the per-feature terms, so that the two cannot disagree.
        # The division per value costs nothing measurable beside the decoder
        # (256 rows of 784 features, (256, 128) hidden units: 2.6 ms either way).
        return self.score_samples_per_feature(x).sum(dim=1)

    def score_samples_per_feature(self, x):
        """``-(x_hat_j - x_j)**2 / n_features``: each feature's share of the score.

        The score is minus the mean squared error over the features, so a
        feature's share is its squared error divided by their number.
        """
        return self.squared_error_per_feature(x) / -x.shape[1]

    def standard_normal(self, shape, like):
        """Standard normal noise of ``shape``, on the device and dtype of ``like``."""
        return torch.randn(
            shape, generator=self.generator, device=like.device, dtype=like.dtype
        )

    def uniform(self, shape, like):
        """Uniform [0, 1) noise of ``shape``, on the device and dtype of ``like``."""
        return torch.rand(
            shape, generator=self.generator, device=like.device, dtype=like.dtype
        )
