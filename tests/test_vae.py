"""Tests of the VAE and IWAE estimators."""

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import multivariate_normal
from sklearn.datasets import load_wine
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from torch import nn

from skae import IWAE, VAE
from skae._models.variational import VARIANCE_GAIN

SMALL = dict(hidden_layer_sizes=(16,), max_epochs=5, batch_size=32, device="cpu")


def _low_rank_data(n_samples, n_features=8, rank=2, noise=0.5, seed=0):
    rng = np.random.RandomState(seed)
    W = 2 * rng.normal(size=(n_features, rank))
    Z = rng.normal(size=(n_samples, rank))
    return Z @ W.T + noise * rng.normal(size=(n_samples, n_features)) + 3


@pytest.fixture(scope="module")
def fitted_vae(small_X):
    return VAE(2, random_state=0, **SMALL).fit(small_X)


# ----------------------------------------------------------------------
# The log-likelihood is exact where it can be computed


def _set_linear_gaussian(estimator, W, mu, sigma2, enc_W, enc_b, enc_logvar):
    """Give a fitted linear VAE the weights of a linear-Gaussian model.

    In the scaled space: x = W z + mu + N(0, sigma2 I), and
    q(z|x) = N(enc_W x + enc_b, diag(exp(enc_logvar))).
    """
    module = estimator.net_.module_
    n_components = W.shape[1]
    floor = module.variance_floor.numpy().astype(np.float64)
    with torch.no_grad():
        module.decoder.linear.weight.copy_(torch.as_tensor(W))
        module.decoder.linear.bias.copy_(torch.as_tensor(mu))
        raw = np.log(np.expm1(sigma2 - floor)) / VARIANCE_GAIN
        module.raw_variance.copy_(torch.as_tensor(raw))
        weight = np.vstack([enc_W, np.zeros((n_components, W.shape[0]))])
        bias = np.concatenate([enc_b, enc_logvar])
        module.encoder.linear.weight.copy_(torch.as_tensor(weight))
        module.encoder.linear.bias.copy_(torch.as_tensor(bias))
    return estimator


def _linear_gaussian(Estimator=None, standardize=False):
    """A fitted linear ``Estimator`` (default :class:`VAE`) and a
    linear-Gaussian model for it, in its scaled space: ``x = W z + mu +
    N(0, sigma2 I)`` with orthogonal columns in ``W``, so that the exact
    posterior ``N(post_W (x - mu), diag(post_var))`` is diagonal. Also the
    ``rng`` that drew them, for the test rows."""
    rng = np.random.RandomState(0)
    n_features, n_components, sigma2 = 5, 2, 0.5
    X = _low_rank_data(200, n_features, n_components)
    est = (Estimator or VAE)(
        n_components,
        hidden_layer_sizes=(),
        standardize=standardize,
        max_epochs=1,
        k_eval=4000,
        device="cpu",
        random_state=0,
    ).fit(X)
    W, _ = np.linalg.qr(rng.normal(size=(n_features, n_components)))
    W = W * np.array([2.0, 1.0])
    mu = rng.normal(size=n_features) * 0.1
    M = W.T @ W + sigma2 * np.eye(n_components)
    post_W = np.linalg.solve(M, W.T)
    return SimpleNamespace(
        est=est,
        W=W,
        mu=mu,
        sigma2=sigma2,
        post_W=post_W,
        post_var=sigma2 / np.diag(M),
        rng=rng,
    )


@pytest.mark.parametrize("Estimator", [VAE, IWAE])
def test_init_pca_starts_as_factor_analysis(Estimator):
    # The rotated factors give a diagonal posterior covariance, so the bound
    # is tight and the start's log-likelihood is that of factor analysis
    # (its noise variances above the floor, here below every one of them).
    X = StandardScaler().fit_transform(load_wine().data)
    start = Estimator(
        4,
        lr=1e-12,
        max_epochs=1,
        standardize=False,
        min_variance=1e-6,
        early_stopping=False,
        random_state=0,
    ).fit(X)
    fa = FactorAnalysis(4, random_state=0).fit(X)
    assert_allclose(start.score_samples(X), fa.score_samples(X), rtol=1e-4)
    assert start.n_active_components_ == 4


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("Estimator", [VAE, IWAE])
def test_score_samples_of_a_fixed_linear_gaussian_model_is_exact(
    Estimator, standardize
):
    g = _linear_gaussian(Estimator, standardize)
    est, W, mu, sigma2, post_W = g.est, g.W, g.mu, g.sigma2, g.post_W
    n_features, n_components = W.shape
    post_logvar = np.log(g.post_var)
    _set_linear_gaussian(est, W, mu, sigma2, post_W, -post_W @ mu, post_logvar)

    # Closed form in the units of X: x = mean_ + scale_ * x_scaled.
    S = np.diag(est.scale_)
    cov = S @ (W @ W.T + sigma2 * np.eye(n_features)) @ S
    X_test = _low_rank_data(50, n_features, n_components, seed=1)
    expected = multivariate_normal(est.mean_ + est.scale_ * mu, cov).logpdf(X_test)

    # With the exact posterior every importance weight equals p(x).
    assert_allclose(est.score_samples(X_test), expected, atol=2e-4)

    # With a wrong posterior the estimate is no longer exact for one sample,
    # but converges to log p(x) as k_eval grows.
    wrong_W = post_W * 0.9
    _set_linear_gaussian(
        est, W, mu, sigma2, wrong_W, -wrong_W @ mu + 0.1, post_logvar + 0.3
    )
    est.set_params(k_eval=1)
    error_one = np.abs(est.score_samples(X_test) - expected).mean()
    est.set_params(k_eval=4000)
    error_many = np.abs(est.score_samples(X_test) - expected).mean()
    assert error_many < 0.05
    assert error_many < error_one / 10


@pytest.mark.parametrize("standardize", [False, True])
def test_per_feature_terms_of_a_fixed_linear_gaussian_model_are_exact(standardize):
    """With the exact posterior every importance weight is the same, and
    feature j's term is E_q[log p(x_j|z)] - KL(q || p(z)) / n_features -
    log(scale_[j]), in closed form."""
    g = _linear_gaussian(VAE, standardize)
    est, W, mu, sigma2, post_W, post_var = (
        g.est,
        g.W,
        g.mu,
        g.sigma2,
        g.post_W,
        g.post_var,
    )
    n_features, n_components = W.shape
    _set_linear_gaussian(est, W, mu, sigma2, post_W, -post_W @ mu, np.log(post_var))

    X_test = _low_rank_data(20, n_features, n_components, seed=1)
    x = (X_test - est.mean_) / est.scale_
    m = (x - mu) @ post_W.T  # posterior means
    residual = x - m @ W.T - mu
    expected_log_px_z = -0.5 * (
        (residual**2 + (W**2) @ post_var) / sigma2 + np.log(2 * np.pi * sigma2)
    )
    kl = 0.5 * np.sum(m**2 + post_var - 1 - np.log(post_var), axis=1)
    expected = expected_log_px_z - kl[:, None] / n_features - np.log(est.scale_)

    terms = est.score_samples_per_feature(X_test)
    assert_allclose(terms, expected, atol=0.03)
    assert_allclose(terms.sum(axis=1), est.score_samples(X_test), rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("Estimator", [VAE, IWAE])
def test_trained_on_low_rank_gaussian_data_matches_pca(Estimator):
    X = _low_rank_data(1200)
    X_train, X_test = X[:800], X[800:]
    pca_score = PCA(2).fit(X_train).score(X_test)
    est = Estimator(
        2, hidden_layer_sizes=(32,), max_epochs=100, random_state=0, device="cpu"
    ).fit(X_train)
    score = est.score(X_test)
    # Measured: PCA -10.72, VAE -10.92, IWAE -10.86 (the exact model is
    # probabilistic PCA, so the VAE cannot beat it by much).
    assert pca_score - 0.6 < score < pca_score + 0.3


def test_score_samples_converges_as_k_eval_grows(small_X):
    # From a random start: the linear start's posterior is exact, and every
    # importance weight would equal p(x) whatever k_eval.
    est = VAE(2, init="random", random_state=0, **SMALL).fit(small_X)
    module = est.net_.module_
    spreads, means = [], []
    for k_eval in (1, 10, 100, 1000):
        est.set_params(k_eval=k_eval)
        runs = []
        for seed in range(8):
            module.eval_seed = seed
            runs.append(est.score_samples(small_X))
        runs = np.array(runs)
        spreads.append(runs.std(axis=0).mean())
        means.append(runs.mean())
    # The spread over noise draws shrinks and the (downward-biased) mean
    # estimate rises towards log p(x).
    assert all(a > b for a, b in zip(spreads, spreads[1:]))
    assert spreads[-1] < spreads[0] / 10
    assert means[0] < means[1] < means[3]


# ----------------------------------------------------------------------
# Per-feature terms of trained models


@pytest.mark.parametrize("standardize", [True, "auto", False])
@pytest.mark.parametrize("Estimator", [VAE, IWAE])
def test_per_feature_terms_sum_to_the_score(Estimator, standardize):
    X = _low_rank_data(60, n_features=5)
    X[:, 0] *= 100  # a scale far from 1: its log-Jacobian matters
    est = Estimator(2, standardize=standardize, random_state=0, **SMALL).fit(X)
    X_test = _low_rank_data(10, n_features=5, seed=1)
    for dtype in (np.float64, np.float32):
        terms = est.score_samples_per_feature(X_test.astype(dtype))
        scores = est.score_samples(X_test.astype(dtype))
        assert terms.shape == X_test.shape and terms.dtype == dtype
        # Within float rounding of the terms (positive and negative here).
        magnitude = np.abs(terms).sum(axis=1)
        assert_allclose(terms.sum(axis=1) / magnitude, scores / magnitude, atol=1e-5)


def test_per_feature_terms_of_binary_data():
    rng = np.random.RandomState(0)
    # The last feature is almost always 0.
    X = (rng.uniform(size=(200, 6)) < [0.5] * 5 + [0.03]).astype(float)
    est = VAE(2, likelihood="bernoulli", lr=1e-2, random_state=0, **SMALL).fit(X)
    X_test = (rng.uniform(size=(30, 6)) < 0.5).astype(float)
    X_test[:, 5] = 1
    terms = est.score_samples_per_feature(X_test)
    assert_allclose(terms.sum(axis=1), est.score_samples(X_test), rtol=1e-6)
    assert np.all(terms <= 0)  # log-probabilities, and a share of KL <= 0
    assert_array_equal(np.argmin(terms, axis=1), 5)


@pytest.mark.parametrize("Estimator", [VAE, IWAE])
def test_a_planted_anomaly_has_the_lowest_term_in_its_feature(Estimator):
    X = _low_rank_data(200)
    est = Estimator(
        2, hidden_layer_sizes=(16,), max_epochs=20, lr=1e-2, random_state=0
    ).fit(X)
    X_test = _low_rank_data(30, seed=1)
    X_test[:, 3] += 8 * X[:, 3].std()
    terms = est.score_samples_per_feature(X_test)
    assert_array_equal(np.argmin(terms, axis=1), 3)


# ----------------------------------------------------------------------
# Quality on digits


@pytest.mark.slow
def test_vae_and_iwae_beat_pca_on_held_out_digits(digits_split):
    X_train, X_test, _, _ = digits_split
    n_components = 5
    pca_score = PCA(n_components).fit(X_train).score(X_test)
    for Estimator in (VAE, IWAE):
        est = Estimator(
            n_components,
            hidden_layer_sizes=(128,),
            max_epochs=40,
            random_state=0,
            device="cpu",
        ).fit(X_train)
        # Measured at this budget: PCA -169.2, VAE ~-120, IWAE ~-120.
        assert est.score(X_test) > pca_score + 25


@pytest.mark.slow
def test_iwae_beats_vae_on_binarized_digits(digits_split):
    X_train, X_test, _, _ = digits_split
    X_train, X_test = (X_train > 7).astype(float), (X_test > 7).astype(float)
    params = dict(
        likelihood="bernoulli",
        hidden_layer_sizes=(64,),
        max_epochs=40,
        k_eval=500,
        random_state=0,
        device="cpu",
    )
    vae = VAE(5, k=1, **params).fit(X_train)
    iwae = IWAE(5, k=5, **params).fit(X_train)
    # Measured over seeds 0-2: IWAE(k=5) - VAE(k=1) = 0.61 to 0.73 nats.
    assert iwae.score(X_test) > vae.score(X_test) + 0.2


@pytest.mark.slow
def test_grid_search_picks_by_held_out_log_likelihood():
    X = _low_rank_data(600)  # rank 2
    grid = GridSearchCV(
        IWAE(
            hidden_layer_sizes=(16,),
            batch_size=32,
            max_epochs=30,
            lr=3e-3,
            device="cpu",
            random_state=0,
        ),
        {"n_components": [1, 2], "k": [1, 5]},
        cv=2,
    ).fit(X)
    scores = grid.cv_results_["mean_test_score"]
    # Measured: about -15.1 for n_components=1 and -11.1 to -11.4 for 2
    # (PCA: -18.2 and -10.7).
    assert np.all(np.isfinite(scores))
    assert grid.best_params_["n_components"] == 2
    # The score of a split is the held-out mean log-likelihood.
    best = grid.best_estimator_
    assert_allclose(grid.score(X), best.score(X))


# ----------------------------------------------------------------------
# API


def test_transform_is_the_posterior_mean_and_deterministic(fitted_vae, small_X):
    codes = fitted_vae.transform(small_X)
    assert codes.shape == (len(small_X), 2)
    assert_array_equal(codes, fitted_vae.transform(small_X))
    back = fitted_vae.inverse_transform(codes)
    assert back.shape == small_X.shape


def test_score_samples_is_reproducible_and_float32_preserved(fitted_vae, small_X):
    scores = fitted_vae.score_samples(small_X)
    assert_array_equal(scores, fitted_vae.score_samples(small_X))
    assert np.all(np.isfinite(scores))
    assert fitted_vae.score_samples(small_X.astype(np.float32)).dtype == np.float32
    assert fitted_vae.score(small_X) == pytest.approx(scores.mean())


def test_score_samples_memory_is_chunked(fitted_vae, small_X):
    est = pickle.loads(pickle.dumps(fitted_vae))
    est.set_params(k_eval=2**16)  # one row per chunk
    assert np.all(np.isfinite(est.score_samples(small_X[:3])))


def test_same_random_state_gives_same_scores(small_X, fitted_vae):
    again = VAE(2, random_state=0, **SMALL).fit(small_X)
    assert_allclose(again.score_samples(small_X), fitted_vae.score_samples(small_X))


def test_sample(fitted_vae, small_X):
    samples = fitted_vae.sample(7, random_state=0)
    assert samples.shape == (7, small_X.shape[1])
    assert_array_equal(samples, fitted_vae.sample(7, random_state=0))
    noisy = fitted_vae.sample(2000, random_state=0, noise=True)
    # Draws from p(x) have roughly the spread of the training data.
    assert_allclose(noisy.std(axis=0), small_X.std(axis=0), rtol=0.5)
    with pytest.raises(ValueError, match="n_samples"):
        fitted_vae.sample(0)


@pytest.mark.parametrize("n_samples", [True, 2.0, "3"])
def test_sample_rejects_non_integer_counts(fitted_vae, n_samples):
    # True is an int to Python; a count of True is a mistake, not 1.
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        fitted_vae.sample(n_samples)


def test_sample_accepts_numpy_integers(fitted_vae):
    assert fitted_vae.sample(np.int64(3), random_state=0).shape == (3, 5)


@pytest.mark.parametrize("Estimator", [VAE, IWAE])
def test_grid_search_over_numpy_integers(Estimator, small_X):
    """A grid written with np.arange holds numpy integers, not Python ints."""
    search = GridSearchCV(
        Estimator(**SMALL, random_state=0),
        {"n_components": np.arange(1, 3), "k": np.arange(1, 3)},
        cv=2,
        error_score="raise",
    ).fit(small_X)
    assert isinstance(search.best_params_["n_components"], np.integer)
    assert np.isfinite(search.best_score_)


def test_bernoulli_samples_and_range_check():
    rng = np.random.RandomState(0)
    X = (rng.uniform(size=(50, 6)) > 0.5).astype(float)
    est = VAE(2, likelihood="bernoulli", random_state=0, **SMALL).fit(X)
    assert_array_equal(est.mean_, 0)
    assert_array_equal(est.scale_, 1)
    means = est.sample(5, random_state=0)
    assert np.all((means > 0) & (means < 1))
    draws = est.sample(5, random_state=0, noise=True)
    assert set(np.unique(draws)) <= {0.0, 1.0}
    # A log-probability of binary data is at most 0.
    assert np.all(est.score_samples(X) <= 0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        est.score_samples(X * 2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        VAE(likelihood="bernoulli", **SMALL).fit(X - 0.5)


@pytest.mark.parametrize("Estimator", [VAE, IWAE])
def test_constant_and_extreme_features_stay_finite(Estimator):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 5))
    X[:, 0] = 3.0  # constant
    X[:, 1] *= 1e6  # huge scale
    X[:, 2] *= 1e-6  # tiny scale
    est = Estimator(2, random_state=0, **SMALL).fit(X)
    assert np.all(np.isfinite(est.loss_curve_))
    assert np.all(np.isfinite(est.score_samples(X)))
    X_extreme = X.copy()
    X_extreme[:5] *= 1e4
    X_extreme[5:10, 0] = -1e3
    scores = est.score_samples(X_extreme)
    assert not np.any(np.isnan(scores))
    assert np.all(scores[:10] < scores[10:].min())
    assert np.all(np.isfinite(est.transform(X_extreme)))


def test_custom_encoder_contract(small_X):
    encoder = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2 * 2))
    decoder = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 5))
    est = IWAE(2, encoder=encoder, decoder=decoder, **SMALL).fit(small_X)
    assert est.transform(small_X).shape == (60, 2)
    wrong = nn.Linear(5, 2)
    with pytest.raises(ValueError, match="2 \\* n_components"):
        IWAE(2, encoder=wrong, **SMALL).fit(small_X)


def test_defaults():
    assert VAE().k == 1
    assert IWAE().k == 5
    assert VAE().k_eval == IWAE().k_eval == 100
    assert isinstance(IWAE(), VAE)


def test_variance_floor_is_relative_to_the_data_scale(small_X):
    params = dict(SMALL, early_stopping=False)  # scaling and floor of all rows
    a = VAE(2, random_state=0, **params).fit(small_X)
    b = VAE(2, random_state=0, **params).fit(small_X * 1000)
    # Equivariant in the units of X: scores shift by the log-Jacobian.
    shift = small_X.shape[1] * np.log(1000)
    assert_allclose(b.score_samples(small_X * 1000), a.score_samples(small_X) - shift)
    # Features in one unit: each floor is min_variance times the square of
    # the unit they share (the scale of the model's scaling).
    floor = b.net_.module_.variance_floor.numpy()
    assert_allclose(floor * b.scale_**2, 1e-3 * b.scale_**2, rtol=1e-5)
    assert_allclose(b.scale_, np.median(np.std(small_X * 1000, axis=0)))


def test_variance_floor_of_a_column_in_other_units_leaves_the_others_alone():
    X = np.random.RandomState(0).normal(size=(200, 4)) @ np.diag([1, 2, 3, 4])
    X_dollars = X * [1e4, 1, 1, 1]
    params = dict(SMALL, early_stopping=False)  # the floor of all the rows
    models = [VAE(2, random_state=0, **params).fit(data) for data in (X, X_dollars)]
    floors = [m.net_.module_.variance_floor.numpy() * m.scale_**2 for m in models]
    # Several units: each feature's floor is min_variance times its own
    # variance (continuous features: the activity-adjusted scale is the
    # standard deviation), whatever the units of the others.
    assert_allclose(floors[1], 1e-3 * np.var(X_dollars, axis=0), rtol=1e-5)
    assert_allclose(floors[1][1:], 1e-3 * np.var(X[:, 1:], axis=0), rtol=1e-5)


# ----------------------------------------------------------------------
# KL warm-up and active units


def test_kl_warm_up_raises_the_kl_weight_and_is_not_judged(small_X):
    weights = []

    class Spy(nn.Module):
        def forward(self, x):
            weights.append(float(module_of[0].kl_weight))
            return x

    module_of = []
    decoder = nn.Sequential(nn.Linear(2, 5), Spy())
    est = VAE(
        2,
        decoder=decoder,
        kl_warmup_epochs=4,
        max_epochs=6,
        batch_size=60,
        early_stopping=False,
        random_state=0,
    )
    original = est._build_module

    def build(X):
        module = original(X)
        module_of.append(module)
        return module

    est._build_module = build
    est.fit(small_X)
    history = est.net_.history
    # One training batch per epoch, plus the shape check and _finish_fit.
    assert sorted(set(weights)) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [row.get("warmup", False) for row in history] == [True] * 4 + [False] * 2
    assert est.net_.module_.kl_weight == 1.0


def test_active_units_are_the_variance_of_the_posterior_means(small_X):
    est = VAE(2, random_state=0, **SMALL).fit(small_X)
    assert_allclose(est.latent_activity_, est.transform(small_X).var(axis=0))
    assert est.n_active_components_ == int((est.latent_activity_ > 1e-2).sum())


def test_unused_latent_dimensions_warn(fitted_vae, small_X):
    # Identical rows have identical posterior means: no dimension is active.
    est = pickle.loads(pickle.dumps(fitted_vae))
    with pytest.warns(UserWarning, match="Only 0 of the 2 latent dimensions"):
        est._finish_fit(np.repeat(small_X[:1], 10, axis=0))
    assert est.n_active_components_ == 0


@pytest.mark.slow
@pytest.mark.parametrize("Estimator", [VAE, IWAE])
def test_swiss_roll_keeps_both_latent_dimensions(Estimator):
    from sklearn.datasets import make_swiss_roll

    X, _ = make_swiss_roll(2000, noise=0.5, random_state=0)
    est = Estimator(2, random_state=0, device="cpu").fit(X)
    # Without the KL warm-up both dimensions collapsed (activity 0.05-0.1)
    # and the loss sat at that of a standard normal (4.26 nats).
    assert est.n_active_components_ == 2
    assert est.latent_activity_.min() > 0.3


@pytest.mark.parametrize("min_variance", [0.0, 1.5, 1e39])
def test_min_variance_is_a_fraction(small_X, min_variance):
    # Above 1 the floor would exceed each feature's own variance; 1e39 once
    # overflowed float32 and was reported as a diverged fit.
    with pytest.raises(ValueError, match="min_variance"):
        VAE(min_variance=min_variance, **SMALL).fit(small_X)


@pytest.mark.slow
def test_vae_beats_factor_analysis_on_digits_without_constant_pixels(digits_split):
    """docs/quality.rst: FactorAnalysis's lead on digits comes from pixels that
    are constant in the training rows (a noise variance of 1e-12 there)."""
    X_train, X_test, _, _ = digits_split
    varying = X_train.std(axis=0) > 0
    X_train, X_test = X_train[:, varying], X_test[:, varying]
    vae = VAE(8, random_state=0, device="cpu").fit(X_train)
    fa = FactorAnalysis(8).fit(X_train)
    # Measured: -119.0 against -138.8 nats.
    assert vae.score(X_test) > fa.score(X_test) + 10


def test_shared_noise_variance_starts_as_probabilistic_pca():
    # One decoder variance for all features: the start is PCA's own density
    # model (PCA.score_samples), the bound tight as for factor analysis.
    X = StandardScaler().fit_transform(load_wine().data)
    start = VAE(
        4,
        noise_variance="shared",
        lr=1e-12,
        max_epochs=1,
        standardize=False,
        min_variance=1e-6,
        early_stopping=False,
        random_state=0,
    ).fit(X)
    assert start.net_.module_.raw_variance.shape == (1,)
    pca = PCA(4).fit(X)
    assert_allclose(start.score_samples(X), pca.score_samples(X), rtol=1e-4)
    trained = VAE(4, noise_variance="shared", random_state=0).fit(X)
    variance = trained.net_.module_.variance().detach().numpy()
    assert_allclose(variance, variance[0])  # one value (equal floors here)


@pytest.mark.parametrize("k_eval", [0, -3, 1.5, "5", None])
def test_k_eval_set_after_fit_is_validated_when_read(small_X, k_eval):
    model = VAE(hidden_layer_sizes=(4,), max_epochs=1).fit(small_X)
    model.k_eval = k_eval
    with pytest.raises(ValueError, match="'k_eval' parameter of VAE"):
        model.score_samples(small_X)
    model.k_eval = np.int64(5)  # a numpy integer works
    assert np.all(np.isfinite(model.score_samples(small_X)))
