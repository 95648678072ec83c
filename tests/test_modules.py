"""Shared torch modules."""

import torch
from torch import nn

from skae._modules import Autoencoder, MeanSquaredError, make_mlp, reset_parameters


def test_make_mlp_layout():
    mlp = make_mlp(5, (7, 3), 2, activation="tanh")
    linears = [m for m in mlp if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (5, 7),
        (7, 3),
        (3, 2),
    ]
    assert isinstance(mlp[1], nn.Tanh)
    assert isinstance(mlp[-1], nn.Linear)  # linear output


def test_autoencoder_forward_is_decode_of_encode():
    module = Autoencoder(nn.Linear(4, 2), nn.Linear(2, 4))
    x = torch.randn(3, 4)
    assert torch.equal(module(x), module.decode(module.encode(x)))


def test_mean_squared_error():
    loss = MeanSquaredError()(torch.ones(2, 3), torch.zeros(2, 3))
    assert loss.item() == 1.0


def test_reset_parameters_reinitializes_nested_modules():
    module = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.Linear(3, 3)))
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(0.0)
    reset_parameters(module)
    assert all(p.abs().sum() > 0 for p in module.parameters() if p.dim() == 2)
