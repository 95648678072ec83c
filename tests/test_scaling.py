"""Per-feature statistics and standardization over the whole float64 range."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA

from skae import AutoencoderTransformer
from skae._base.data import HOST_CHUNK_ROWS
from skae._base.scaling import (
    activity_adjusted_scale,
    constant_features,
    feature_mean_and_std,
    standardize,
    unit_of_constant_features,
)

MAX = np.finfo(np.float64).max


def _scaled(model, X):
    """Rows of ``X`` in the model's scaled space, as the network sees them."""
    return torch.as_tensor((X - model.mean_) / model.scale_, dtype=torch.float32)


@pytest.fixture
def X():
    return np.random.RandomState(0).normal(size=(50, 4)) + [0, 3, -2, 100]


def test_mean_and_std_match_numpy_on_ordinary_data(X):
    mean, std = feature_mean_and_std(X)
    assert_allclose(mean, X.mean(axis=0), rtol=1e-14)
    assert_allclose(std, X.std(axis=0), rtol=1e-14)


def test_mean_and_std_over_several_row_chunks():
    X = np.random.RandomState(1).uniform(-5, 5, size=(2 * HOST_CHUNK_ROWS + 7, 3))
    mean, std = feature_mean_and_std(X)
    assert_allclose(mean, X.mean(axis=0), rtol=1e-12)
    assert_allclose(std, X.std(axis=0), rtol=1e-12)


def test_float32_input(X):
    mean, std = feature_mean_and_std(X.astype(np.float32))
    assert mean.dtype == std.dtype == np.float64
    assert_allclose(std, X.astype(np.float32).astype(np.float64).std(axis=0))


@pytest.mark.parametrize("factor", [1e-300, 1e-200, 1e-16, 1e16, 1e200, 1e300])
def test_mean_and_std_are_scale_equivariant(X, factor):
    """Where np.std overflows (1e200, 1e300) or underflows (1e-200, 1e-300)."""
    mean, std = feature_mean_and_std(X)
    scaled_mean, scaled_std = feature_mean_and_std(X * factor)
    assert_allclose(scaled_mean, mean * factor, rtol=1e-13)
    assert_allclose(scaled_std, std * factor, rtol=1e-13)


def test_values_at_the_ends_of_the_float64_range():
    # The largest float, and a subnormal one.
    X = np.array([[MAX, 1e-310], [-MAX, 0.0], [MAX, 1e-310], [-MAX, 0.0]])
    mean, std = feature_mean_and_std(X)
    assert_allclose(mean, [0.0, 5e-311], rtol=1e-10)
    assert_allclose(std, [MAX, 5e-311], rtol=1e-10)


def test_std_is_zero_only_for_equal_values():
    X = np.array([[3.0, 1e300, 0.0, 1e-300], [3.0, 1e300, 0.0, 2e-300]])
    mean, std = feature_mean_and_std(X)
    assert_array_equal(std[:3], 0.0)
    assert std[3] == pytest.approx(5e-301)


@pytest.mark.parametrize("magnitude", [1e-300, 1e-16, 1.0, 1e16, 1e300])
def test_constant_is_relative_to_the_magnitude(magnitude):
    rng = np.random.RandomState(0)
    base = magnitude * (1 + rng.uniform(size=40))
    constant = np.full(40, magnitude)
    jitter = magnitude * (1 + np.finfo(float).eps * rng.randint(0, 3, size=40))
    X = np.column_stack([base, constant, jitter, np.zeros(40)])
    mean, std = feature_mean_and_std(X)
    assert_array_equal(constant_features(mean, std, len(X)), [False, True, True, True])


def test_tiny_spread_around_zero_is_not_constant():
    X = np.array([[0.0], [1e-300]])
    mean, std = feature_mean_and_std(X)
    assert not constant_features(mean, std, 2)[0]


def test_unit_of_constant_features():
    mean = np.array([0.0, -3.0, 2.0**52, 1e20, -1e300])
    assert_array_equal(
        unit_of_constant_features(mean), [1.0, 1.0, 1.0, 16384.0, np.spacing(1e300)]
    )


def test_standardize_matches_the_direct_formula(X):
    mean, std = feature_mean_and_std(X)
    assert_array_equal(standardize(X, mean, std), (X - mean) / std)


def test_standardize_does_not_overflow_in_the_subtraction():
    X = np.array([[MAX, 1.0], [-MAX, 2.0]])
    mean = np.array([-0.5 * MAX, 1.5])
    scale = np.array([MAX, 0.5])
    with np.errstate(all="raise"):
        scaled = standardize(X, mean, scale)
    assert_allclose(scaled, [[1.5, -1.0], [-0.5, 1.0]])


def test_standardize_keeps_infinity_where_the_quotient_overflows():
    scaled = standardize(np.array([[1e300]]), np.array([0.0]), np.array([1e-300]))
    assert scaled[0, 0] == np.inf


# ----------------------------------------------------------------------------
# In the estimators

FAST = dict(hidden_layer_sizes=(8,), max_epochs=3, device="cpu", random_state=0)


@pytest.mark.parametrize("factor", [1e-300, 1e-16, 1e200, 1e300])
def test_autoencoder_is_equivariant_to_the_units_of_X(X, factor):
    """The issue's cases: scale_ was inf at 1e200, and 1e-16 made every row one code."""
    reference = AutoencoderTransformer(**FAST).fit(X)
    model = AutoencoderTransformer(**FAST).fit(X * factor)
    assert np.all(np.isfinite(model.scale_))
    assert_allclose(model.scale_, reference.scale_ * factor, rtol=1e-12)
    codes = model.transform(X * factor)
    assert_allclose(codes, reference.transform(X), rtol=1e-5, atol=1e-6)
    reconstruction = model.inverse_transform(codes)
    assert np.all(np.isfinite(reconstruction))
    assert_allclose(
        reconstruction / factor, reference.inverse_transform(codes), rtol=1e-5
    )


def test_tiny_features_are_separated_as_pca_separates_them(X):
    X_tiny = X * 1e-16
    assert len(np.unique(PCA(2).fit_transform(X_tiny)[:, 0])) == len(X)
    model = AutoencoderTransformer(**FAST).fit(X_tiny)
    assert len(np.unique(model.transform(X_tiny)[:, 0])) == len(X)
    assert len(np.unique(model.score_samples(X_tiny))) == len(X)


def test_constant_feature_with_rounding_noise_at_a_huge_magnitude():
    X = np.random.RandomState(0).normal(size=(30, 3))
    X[:, 1] = 1e300 * (1 + np.finfo(float).eps * (np.arange(30) % 2))
    model = AutoencoderTransformer(**FAST).fit(X)
    assert model.scale_[1] == np.spacing(model.mean_[1])
    assert np.all(np.isfinite(model.transform(X)))


# ----------------------------------------------------------------------
# The scaling policy: standardize="auto"


def test_activity_adjusted_scale_is_the_std_of_dense_features():
    X = np.random.RandomState(0).normal(size=(1000, 3)) * [1.0, 10.0, 1e-3]
    std = feature_mean_and_std(X)[1]
    # Distinct values: all but the median row depart from the median.
    assert_allclose(activity_adjusted_scale(X, std), std, rtol=1e-3)


def test_activity_adjusted_scale_is_the_size_of_rare_values():
    X = np.zeros((1000, 2))
    X[:10, 0] = 200.0  # a pixel lit in 1% of the images
    X[:300, 1] = 200.0  # a pixel lit in 30% of them
    std = feature_mean_and_std(X)[1]
    scale = activity_adjusted_scale(X, std)
    # The root mean square deviation of the lit values from the mean.
    assert_allclose(scale, [200 * np.sqrt(0.99), 200 * np.sqrt(0.7)], rtol=1e-6)
    assert std[0] < 20  # standardization would divide by about 20


def _rare_pixel_images(n_samples, seed=0):
    """Images on a curved 2-D manifold whose border pixels are lit in 1% of rows."""
    rng = np.random.RandomState(seed)
    latent = rng.normal(size=(n_samples, 2))
    dense = np.tanh(latent @ rng.normal(size=(2, 20))) * 100 + 100
    rare = (rng.uniform(size=(n_samples, 20)) < 0.01) * rng.uniform(
        50, 255, size=(n_samples, 20)
    )
    return np.hstack([dense, rare])


def test_auto_scaling_keeps_rare_pixels_from_blowing_up():
    X = _rare_pixel_images(1500)
    X_train, X_test = X[:1000], X[1000:]
    ae = AutoencoderTransformer(2, random_state=0, max_epochs=50).fit(X_train)
    scaled = _scaled(ae, X_test).numpy()
    # Per-feature standardization would put rare strokes at about 10 units.
    assert np.abs(scaled[:, 20:]).max() < 3
    error = np.mean((ae.inverse_transform(ae.transform(X_test)) - X_test) ** 2)
    pca = PCA(2).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    # Measured: 0.67 of PCA's error (standardize=True: 0.72, False: 0.77).
    assert error < 0.8 * pca_error


@pytest.mark.parametrize("standardize", ["auto", True])
def test_a_column_in_large_units_mutes_no_other(standardize):
    X = np.random.RandomState(0).normal(size=(200, 4)) @ np.diag([1, 2, 3, 4])
    X_dollars = X * [1e4, 1, 1, 1]
    params = dict(n_components=2, standardize=standardize, max_epochs=20)
    ae_dollars = AutoencoderTransformer(random_state=0, **params).fit(X_dollars)
    # Every column has unit spread in the scaled space, whatever its units,
    scaled = _scaled(ae_dollars, X_dollars).numpy()
    assert_allclose(scaled.std(axis=0), 1.0, rtol=1e-5)
    # so the model is that of the standardized data.
    reference = AutoencoderTransformer(
        random_state=0, **{**params, "standardize": True}
    ).fit(X)
    assert_allclose(ae_dollars.transform(X_dollars), reference.transform(X), atol=1e-4)


def test_features_in_one_unit_share_one_scale():
    # Spreads within a factor of 10 (one unit): scaled together, as PCA sees
    # them, so that a feature's share of the error follows its variance.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 4)) @ np.diag([1, 2, 3, 9])
    ae = AutoencoderTransformer(max_epochs=1).fit(X)
    assert_allclose(ae.scale_, np.median(X.std(axis=0)))
    # Spreads over orders of magnitude (several units): each feature by its
    # own spread.
    X = rng.normal(size=(500, 4)) @ np.diag([1, 100, 1e4, 3])
    ae = AutoencoderTransformer(max_epochs=1).fit(X)
    assert_allclose(ae.scale_, X.std(axis=0))
    # standardize=True always scales each feature by its own spread.
    X = rng.normal(size=(500, 4)) @ np.diag([1, 2, 3, 9])
    ae = AutoencoderTransformer(max_epochs=1, standardize=True).fit(X)
    assert_allclose(ae.scale_, X.std(axis=0))


def test_an_odd_feature_among_features_in_one_unit_weighs_at_most_100_times():
    # 19 features in one unit and one in units 10,000 times smaller: the 19
    # share one scale, and the odd one's scaled spread is capped at 10 times
    # theirs (a weight of 100 in the squared error), not 10,000.
    rng = np.random.RandomState(0)
    spreads = [*np.linspace(1, 5, 19), 1e4]
    X = rng.normal(size=(500, 20)) * spreads
    ae = AutoencoderTransformer(max_epochs=1).fit(X)
    assert_allclose(ae.scale_[:19], np.median(ae.scale_))
    spread = _scaled(ae, X).numpy().std(axis=0)
    assert_allclose(spread[19] / np.median(spread), 10, rtol=1e-3)


def test_standardize_rows_whose_sum_overflows_but_no_entry():
    # The shortcut past the overflow mask is taken only on a finite sum.
    X = np.array([[1e308, 1e308, 1.0], [np.nan, 2.0, -1e308]])
    mean, scale = np.zeros(3), np.array([2.0, 4.0, 0.5])
    with np.errstate(over="ignore"):  # -1e308 / 0.5 is -inf, as it should be
        expected = X / scale
    assert_array_equal(standardize(X, mean, scale), expected)
