"""ContractiveAutoencoder: its Jacobian penalty, and codes that resist noise."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from torch import nn

from skae import AutoencoderTransformer, ContractiveAutoencoder
from skae._models.contractive import ContractiveAutoencoderModule

FAST = dict(hidden_layer_sizes=(16,), max_epochs=3, device="cpu", random_state=0)


def test_jacobian_norm_of_a_linear_encoder_is_its_frobenius_norm():
    torch.manual_seed(0)
    encoder = nn.Linear(5, 3)
    module = ContractiveAutoencoderModule(encoder, nn.Linear(3, 5), weight=1.0)
    x = torch.randn(4, 5)
    norm, codes = module.jacobian_norm(x)
    expected = encoder.weight.pow(2).sum().expand(4)
    assert torch.allclose(norm, expected)
    assert torch.allclose(codes, encoder(x))


def test_jacobian_norm_matches_autograd_jacobian_of_an_mlp():
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    module = ContractiveAutoencoderModule(encoder, nn.Linear(2, 4), weight=1.0)
    x = torch.randn(3, 4)
    norm, _ = module.jacobian_norm(x)
    for row in range(3):
        jacobian = torch.autograd.functional.jacobian(encoder, x[row])
        assert torch.allclose(norm[row], jacobian.pow(2).sum(), rtol=1e-5)


def test_loss_is_the_error_plus_the_weighted_penalty_and_differentiable():
    torch.manual_seed(0)
    module = ContractiveAutoencoderModule(
        nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)),
        nn.Linear(2, 4),
        weight=0.5,
    )
    x = torch.randn(6, 4)
    module.generator = torch.Generator().manual_seed(0)
    loss = module(x)  # training: the penalty is the random-projection estimate
    module.generator = torch.Generator().manual_seed(0)
    estimate, codes = module.jacobian_norm_estimate(x)
    error = (module.decode(codes) - x).pow(2).mean(dim=1)
    assert torch.allclose(loss, error + 0.5 * estimate / 4)
    loss.mean().backward()
    first_layer = module.encoder[0].weight.grad
    # The penalty reaches the first layer through the Jacobian.
    assert first_layer is not None and first_layer.abs().sum() > 0
    with torch.no_grad():  # skorch's validation: the exact penalty, no graph
        norm, _ = module.jacobian_norm(x)
        assert torch.allclose(module(x), error.detach() + 0.5 * norm / 4)


def test_jacobian_norm_estimate_is_unbiased():
    torch.manual_seed(0)
    module = ContractiveAutoencoderModule(
        nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)),
        nn.Linear(3, 5),
        weight=1.0,
    )
    module.generator = torch.Generator().manual_seed(1)
    x = torch.randn(4, 5)
    exact, _ = module.jacobian_norm(x)
    draws = torch.stack([module.jacobian_norm_estimate(x)[0] for _ in range(4000)])
    # The mean of 4000 draws is within a few standard errors of the exact norm.
    standard_error = draws.std(dim=0) / 4000**0.5
    assert ((draws.mean(dim=0) - exact).abs() < 4 * standard_error).all()


def test_zero_weight_is_the_plain_autoencoder(small_X):
    plain = AutoencoderTransformer(2, **FAST).fit(small_X)
    cae = ContractiveAutoencoder(2, contraction_weight=0.0, **FAST).fit(small_X)
    assert cae.loss_curve_ == plain.loss_curve_
    assert_array_equal(cae.transform(small_X), plain.transform(small_X))


def test_early_stopping_validates_with_the_penalty(small_X):
    cae = ContractiveAutoencoder(2, early_stopping=True, **FAST).fit(small_X)
    assert np.all(np.isfinite(cae.net_.history[:, "valid_loss"]))


def _relative_sensitivity(model, X, level, seed=0):
    """Mean squared change of the codes under noise, over their variance.

    The noise has ``level`` times each feature's ``scale_``, so it is of one
    size in the space the model sees, where the penalty acts. Dividing by the
    spread of the codes makes the figure independent of the codes' scale,
    which a model could otherwise shrink.
    """
    noise = level * model.scale_ * np.random.RandomState(seed).normal(size=X.shape)
    codes = model.transform(X)
    shift = model.transform(X + noise) - codes
    return np.mean(shift**2) / np.mean((codes - codes.mean(axis=0)) ** 2)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_codes_are_less_sensitive_to_input_noise(digits_split, seed):
    X_train, X_test, _, _ = digits_split
    params = dict(n_components=8, max_epochs=40, random_state=seed, device="cpu")
    ae = AutoencoderTransformer(**params).fit(X_train)
    cae = ContractiveAutoencoder(**params).fit(X_train)
    ratio = _relative_sensitivity(cae, X_test, 0.3) / _relative_sensitivity(
        ae, X_test, 0.3
    )
    # Measured: 0.69 (seed 0) and 0.71 (seed 1) at the default weight 0.1,
    # with held-out reconstruction errors within 2% of the plain autoencoder's.
    assert ratio < 0.8
    error = np.mean((cae.inverse_transform(cae.transform(X_test)) - X_test) ** 2)
    plain = np.mean((ae.inverse_transform(ae.transform(X_test)) - X_test) ** 2)
    assert_allclose(error, plain, rtol=0.15)
