"""SparseAutoencoder: its penalty, its code activations and its sparsity."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA
from torch import nn

from skae import AutoencoderTransformer, SparseAutoencoder
from skae._base.module import BypassMLP
from skae._models.sparse import SparseAutoencoderModule, code_sparsity

FAST = dict(hidden_layer_sizes=(16,), max_epochs=3, device="cpu", random_state=0)


def _scaled(model, X):
    """Rows of ``X`` in the model's scaled space, as the network sees them."""
    return torch.as_tensor((X - model.mean_) / model.scale_, dtype=torch.float32)


def hoyer_sparsity(codes):
    """Mean over samples of Hoyer's sparsity: 0 for a flat code, 1 for one-hot.

    It depends only on the magnitudes relative to each other, so it compares
    codes of different scales and signs (plain linear codes, sigmoid, ReLU).
    """
    codes = np.abs(codes)
    n = codes.shape[1]
    ratio = codes.sum(axis=1) / np.sqrt((codes**2).sum(axis=1))
    return float(np.mean((np.sqrt(n) - ratio) / (np.sqrt(n) - 1)))


# ----------------------------------------------------------------------
# The loss


def _module(penalty, weight, target, n_features=3, n_components=2):
    return SparseAutoencoderModule(
        nn.Linear(n_features, n_components),
        nn.Linear(n_components, n_features),
        penalty=penalty,
        weight=weight,
        target=target,
    )


def test_kl_penalty_vanishes_at_the_target_rate():
    loss = _module("kl", 1.0, 0.05)
    codes = torch.full((10, 4), 0.05)
    assert loss.sparsity_penalty(codes).item() == pytest.approx(0.0, abs=1e-7)


def test_kl_penalty_matches_its_formula():
    rho = 0.1
    codes = torch.tensor([[0.2, 0.9], [0.4, 0.5]])
    rho_hat = np.array([0.3, 0.7])
    kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    loss = _module("kl", 1.0, rho)
    assert loss.sparsity_penalty(codes).item() == pytest.approx(kl.mean(), rel=1e-5)


def test_kl_penalty_stays_finite_for_saturated_units():
    module = _module("kl", 0.0, 0.05)
    with torch.no_grad():  # saturated sigmoid codes: exactly 0 and 1
        module.encoder.weight.zero_()
        module.encoder.bias.copy_(torch.tensor([-200.0, 200.0]))
        module.decoder.weight.zero_()
        module.decoder.bias.zero_()
    value = module(torch.ones(2, 3)).mean()
    value.backward()
    # A zero weight adds exactly nothing, not 0 * inf = nan.
    assert value.item() == 1.0
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())


def test_l1_penalty_is_the_mean_absolute_activation():
    module = _module("l1", 0.5, 0.05, n_features=2)
    codes = torch.tensor([[0.0, 2.0], [1.0, 0.0]])
    assert module.sparsity_penalty(codes).item() == pytest.approx(0.75)


@pytest.mark.parametrize("penalty", ["kl", "l1"])
def test_loss_is_the_error_plus_the_weighted_penalty(penalty):
    module = _module(penalty, 0.5, 0.05)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        codes = module.encode(x)
        error = (module.decode(codes) - x).pow(2).mean(dim=1)
        expected = error + 0.5 * module.sparsity_penalty(codes)
        assert torch.allclose(module(x), expected)


# ----------------------------------------------------------------------
# The estimator's API


@pytest.mark.parametrize("sparsity", ["kl", "l1"])
def test_overcomplete_codes(sparsity, small_X):
    """n_components may exceed n_features: sparsity regularizes, not width."""
    sae = SparseAutoencoder(n_components=12, sparsity=sparsity, **FAST)
    codes = sae.fit_transform(small_X)
    assert codes.shape == (small_X.shape[0], 12)
    assert sae.inverse_transform(codes).shape == small_X.shape
    assert sae.get_feature_names_out().shape == (12,)
    assert sae.score_samples(small_X).shape == (small_X.shape[0],)


def test_kl_codes_are_sigmoid_activations(small_X):
    sae = SparseAutoencoder(n_components=12, sparsity="kl", **FAST).fit(small_X)
    codes = sae.transform(small_X)
    assert ((codes > 0) & (codes < 1)).all()
    module = sae.net_.module_
    with torch.no_grad():
        pre = module.encoder(_scaled(sae, small_X)).numpy()
    assert_allclose(codes, 1 / (1 + np.exp(-pre)), rtol=1e-5, atol=1e-6)


def test_l1_codes_are_relu_activations(small_X):
    sae = SparseAutoencoder(n_components=12, sparsity="l1", **FAST).fit(small_X)
    module = sae.net_.module_
    with torch.no_grad():
        pre = module.encoder(_scaled(sae, small_X)).numpy()
    assert_array_equal(sae.transform(small_X), np.maximum(pre, 0).astype(np.float32))


@pytest.mark.parametrize("sparsity", ["kl", "l1"])
def test_score_samples_is_minus_the_reconstruction_error(sparsity, small_X):
    sae = SparseAutoencoder(n_components=12, sparsity=sparsity, **FAST).fit(small_X)
    reconstruction = sae.inverse_transform(sae.transform(small_X))
    expected = -(((reconstruction - small_X) / sae.scale_) ** 2).mean(axis=1)
    assert_allclose(sae.score_samples(small_X), expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "sparsity, code_activation", [("kl", nn.Sigmoid), ("l1", nn.ReLU)]
)
def test_zero_weight_is_the_plain_autoencoder(sparsity, code_activation, small_X):
    """With sparsity_weight=0 the model trains exactly as the plain autoencoder
    whose encoder ends with the same code activation (from the same random
    start: a custom encoder gets no linear start)."""
    n_features, hidden, n_components = small_X.shape[1], (16,), 12
    params = dict(
        FAST, hidden_layer_sizes=hidden, n_components=n_components, init="random"
    )
    sae = SparseAutoencoder(sparsity=sparsity, sparsity_weight=0.0, **params)
    encoder = nn.Sequential(
        BypassMLP(n_features, hidden, n_components), code_activation()
    )
    plain = AutoencoderTransformer(encoder=encoder, **params)
    sae.fit(small_X)
    plain.fit(small_X)
    assert sae.loss_curve_ == plain.loss_curve_
    assert_array_equal(sae.transform(small_X), plain.transform(small_X))
    assert_array_equal(sae.score_samples(small_X), plain.score_samples(small_X))


def test_custom_encoder_gets_the_code_activation(small_X):
    encoder = nn.Linear(small_X.shape[1], 7)
    decoder = nn.Linear(7, small_X.shape[1])
    sae = SparseAutoencoder(7, sparsity="l1", encoder=encoder, decoder=decoder, **FAST)
    codes = sae.fit_transform(small_X)
    with torch.no_grad():
        pre = sae.net_.module_.encoder(_scaled(sae, small_X)).numpy()
    assert_allclose(codes, np.maximum(pre, 0), rtol=1e-5, atol=1e-6)  # ReLU
    sae.set_params(sparsity="kl", encoder=nn.Linear(small_X.shape[1], 7))
    codes = sae.fit_transform(small_X)
    assert ((codes > 0) & (codes < 1)).all()  # sigmoid


@pytest.mark.parametrize(
    "params",
    [
        {"sparsity": "l2"},
        {"sparsity_weight": -0.1},
        {"sparsity_target": 0.0},
        {"sparsity_target": 1.0},
    ],
)
def test_invalid_parameters(params, small_X):
    with pytest.raises(ValueError):
        SparseAutoencoder(**FAST, **params).fit(small_X)


# ----------------------------------------------------------------------
# It does what it claims, on digits (measured: see the comments)

SIZE = dict(n_components=128, max_epochs=60, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def digit_codes(digits_split):
    """Test-set codes and errors of sparse autoencoders, penalized or not.

    All have 128 code units, twice the 64 pixels, and the default network
    and penalty weight; the unpenalized ones (``sparsity_weight=0``) have the
    same code activation (sigmoid for "kl", ReLU for "l1"), so that the
    comparison isolates the penalty.
    """
    X_train, X_test, _, _ = digits_split
    results = {}
    models = {
        name: SparseAutoencoder(sparsity=sparsity, sparsity_weight=weight, **SIZE)
        for sparsity in ["kl", "l1"]
        for name, weight in [(sparsity, 0.1), (f"{sparsity} unpenalized", 0.0)]
    }
    # Errors in pixel units (grey levels squared), the same for every model.
    for name, model in models.items():
        codes = model.fit(X_train).transform(X_test)
        error = np.mean((model.inverse_transform(codes) - X_test) ** 2)
        results[name] = (codes, error)
    pca = PCA(16).fit(X_train)
    results["pca16"] = np.mean(
        (pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2
    )
    return results


# Measured for random_state 0, 1, 2 (test rows; penalized vs unpenalized):
#   kl: mean activation 0.147-0.150 vs 0.490-0.493 (the sigmoid's midpoint);
#       activations below 0.05: 29-30% vs 0.4-0.5%; Hoyer 0.31-0.32 vs 0.10.
#   l1: exact zeros 46-47% vs 3-4%; Hoyer 0.46-0.47 vs 0.12-0.13.
#   test MSE (grey levels squared): kl 0.66-0.68, l1 0.52-0.59, unpenalized
#       0.29-0.31 (kl) and 0.03-0.04 (l1); PCA with 16 components 2.95.


@pytest.mark.slow
def test_kl_codes_are_sparse(digit_codes):
    codes, _ = digit_codes["kl"]
    unpenalized, _ = digit_codes["kl unpenalized"]
    assert codes.mean() < 0.25 < 0.45 < unpenalized.mean()
    assert np.mean(codes < 0.05) > 0.2
    assert np.mean(unpenalized < 0.05) < 0.05
    assert hoyer_sparsity(codes) > 2 * hoyer_sparsity(unpenalized)


@pytest.mark.slow
def test_l1_codes_have_exact_zeros(digit_codes):
    codes, _ = digit_codes["l1"]
    unpenalized, _ = digit_codes["l1 unpenalized"]
    assert np.mean(codes == 0) > 0.35
    assert np.mean(unpenalized == 0) < 0.1
    assert hoyer_sparsity(codes) > 2 * hoyer_sparsity(unpenalized)


@pytest.mark.slow
def test_sparse_reconstruction_stays_reasonable(digit_codes):
    # The penalties cost reconstruction (128 unpenalized units come close
    # to the identity), but not down to PCA's with 16 components.
    for sparsity in ["kl", "l1"]:
        _, error = digit_codes[sparsity]
        _, unpenalized_error = digit_codes[f"{sparsity} unpenalized"]
        assert unpenalized_error < error < digit_codes["pca16"] / 3


# ----------------------------------------------------------------------
# code_sparsity_


def test_code_sparsity_counts_values_below_5_percent_of_their_row():
    codes = np.array(
        [
            [1.0, 0.04, 0.06, 0.0],  # 2 of 4 below 0.05 of 1.0
            [-10.0, 0.4, 0.6, 1.0],  # magnitudes: 1 of 4 below 0.5
            [0.0, 0.0, 0.0, 0.0],  # no activity: all inactive
        ]
    )
    assert code_sparsity(codes) == pytest.approx((2 + 1 + 4) / 12)
    # Scale-free per row: a row's unit does not matter.
    assert code_sparsity(codes * [[1e3], [1e-3], [1.0]]) == code_sparsity(codes)


@pytest.mark.parametrize("sparsity", ["kl", "l1"])
def test_code_sparsity_is_that_of_the_training_codes(sparsity, small_X):
    model = SparseAutoencoder(6, sparsity=sparsity, **FAST).fit(small_X)
    assert model.code_sparsity_ == pytest.approx(
        code_sparsity(model.transform(small_X))
    )
    assert 0.0 <= model.code_sparsity_ <= 1.0


def test_a_stronger_l1_penalty_gives_sparser_codes(small_X):
    # Measured: 0.30 unpenalized, 0.84 at weight 3.
    params = dict(FAST, sparsity="l1", max_epochs=100, early_stopping=False)
    weak = SparseAutoencoder(16, sparsity_weight=0.0, **params).fit(small_X)
    strong = SparseAutoencoder(16, sparsity_weight=3.0, **params).fit(small_X)
    assert strong.code_sparsity_ > weak.code_sparsity_ + 0.2


@pytest.mark.slow
def test_default_codes_are_sparser_than_the_plain_autoencoders(digits_split):
    # On held-out digits with 128 units, the default ("l1" at weight 0.2)
    # leaves at least 0.2 more of the code values below 5% of their row's
    # largest than the plain autoencoder, and the earlier default ("kl" at
    # 0.1) fewer. Measured: 0.65 and 0.15 against 0.37.
    X_train, X_test, _, _ = digits_split
    params = dict(n_components=128, random_state=0, device="cpu")
    plain = AutoencoderTransformer(**params).fit(X_train)
    share = code_sparsity(plain.transform(X_test))
    default = SparseAutoencoder(**params)
    assert code_sparsity(default.fit(X_train).transform(X_test)) > share + 0.2
    kl = SparseAutoencoder(sparsity="kl", sparsity_weight=0.1, **params)
    assert code_sparsity(kl.fit(X_train).transform(X_test)) < share
