"""Torch modules shared by the autoencoders."""

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
    width = n_inputs
    for size in hidden_layer_sizes:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        width = size
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """An encoder and a decoder; ``forward`` reconstructs its input.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(batch, n_features)`` to codes ``(batch, n_components)``.
    decoder : torch.nn.Module
        Maps codes back to ``(batch, n_features)``.
    """

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))


class MeanSquaredError(nn.Module):
    """Squared error averaged over features and samples, as in ``MLPRegressor``.

    A per-element mean keeps the loss, and so ``tol``, on the same scale
    whatever the number of features.
    """

    def forward(self, reconstruction, target):
        return nn.functional.mse_loss(reconstruction, target)


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
