"""The module protocol every model follows, and the default MLP."""

import numpy as np
import pytest
import torch
from torch import nn

from skae import AutoencoderTransformer
from skae._base.linear_start import principal_axes
from skae._base.module import (
    AutoencoderModule,
    encoder_and_decoder,
    make_mlp,
    reset_parameters,
)


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


def test_loss_is_the_mean_squared_error_and_score_its_per_row_negative():
    torch.manual_seed(0)
    module = AutoencoderModule(nn.Linear(4, 2), nn.Linear(2, 4))
    x = torch.randn(3, 4)
    reconstruction = module.decode(module.encode(x))
    per_row = (reconstruction - x).pow(2).mean(dim=1)
    assert torch.allclose(module(x), per_row)
    assert torch.allclose(module(x).mean(), nn.functional.mse_loss(reconstruction, x))
    assert torch.allclose(module.score_samples(x), -per_row)
    assert not module.score_is_log_density


def test_noise_comes_from_the_module_generator():
    module = AutoencoderModule(nn.Identity(), nn.Identity())
    like = torch.zeros(2, dtype=torch.float64)
    module.generator = torch.Generator().manual_seed(3)
    first = module.standard_normal((4, 2), like), module.uniform((4, 2), like)
    module.generator = torch.Generator().manual_seed(3)
    second = module.standard_normal((4, 2), like), module.uniform((4, 2), like)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert first[0].dtype == torch.float64
    assert ((first[1] >= 0) & (first[1] < 1)).all()


def test_reset_parameters_reinitializes_nested_modules():
    module = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.Linear(3, 3)))
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(0.0)
    reset_parameters(module)
    assert all(p.abs().sum() > 0 for p in module.parameters() if p.dim() == 2)


def test_per_feature_score_is_each_features_share_of_the_squared_error():
    # A decoder that reconstructs every row as the same known vector: the
    # per-feature terms are the known squared errors over the width.
    module = AutoencoderModule(nn.Linear(4, 2), nn.Linear(2, 4))
    reconstruction = torch.tensor([1.0, -2.0, 0.5, 3.0])
    with torch.no_grad():
        module.decoder.weight.zero_()
        module.decoder.bias.copy_(reconstruction)
    x = torch.tensor([[1.0, 0.0, 0.5, 0.0], [0.0, -2.0, 2.5, 3.0]])
    expected = -torch.tensor([[0.0, 4.0, 0.0, 9.0], [1.0, 0.0, 4.0, 0.0]]) / 4
    with torch.no_grad():
        terms = module.score_samples_per_feature(x)
        assert torch.equal(terms, expected)
        assert torch.equal(module.score_samples(x), expected.sum(dim=1))
        assert torch.allclose(module.score_samples(x), -module.squared_error(x))


def test_principal_axes_leave_out_directions_the_data_never_moved_along():
    t = np.random.RandomState(0).normal(size=(50, 1))
    X = np.hstack([t, 2 * t, np.zeros((50, 3))])
    _, axes, variances = principal_axes(X, 3, random_state=0)
    assert axes.shape == (1, 5) and variances.shape == (1,)


def test_tied_weights_stay_tied():
    encoder = nn.Linear(5, 2)
    tied_decoder = _TiedDecoder(encoder)
    enc, dec = encoder_and_decoder(
        5, 2, hidden_layer_sizes=(), activation="relu", encoder=encoder,
        decoder=tied_decoder,
    )  # fmt: skip
    assert dec.encoder.weight is enc.weight
    model = AutoencoderTransformer(
        2, encoder=encoder, decoder=tied_decoder, max_epochs=2, random_state=0
    ).fit(np.random.RandomState(0).normal(size=(40, 5)))
    fitted = model.net_.module_
    assert fitted.decoder.encoder.weight is fitted.encoder.weight


class _TiedDecoder(nn.Module):
    """A decoder that uses its encoder's weight, transposed (tied weights)."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.bias = nn.Parameter(torch.zeros(encoder.in_features))

    def forward(self, z):
        return z @ self.encoder.weight + self.bias


class _TupleEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(5, 2)

    def forward(self, x):
        return self.linear(x), None


def test_an_encoder_that_returns_a_tuple_gets_a_clear_error(small_X):
    with pytest.raises(ValueError, match="encoder of .* must return one tensor.*tuple"):
        AutoencoderTransformer(2, encoder=_TupleEncoder(), max_epochs=1).fit(small_X)


def test_batch_norm_trains_with_a_last_batch_of_one_row():
    encoder = nn.Sequential(
        nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2)
    )
    X = np.random.RandomState(0).normal(size=(33, 5))  # batches of 16, 16 and 1
    model = AutoencoderTransformer(
        2, encoder=encoder, batch_size=16, early_stopping=False, max_epochs=2
    )
    assert model.fit(X).transform(X).shape == (33, 2)
