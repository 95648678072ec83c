"""Missing values (NaN) in every estimator: skae/_base/missing.py and its users."""

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import multivariate_normal
from sklearn.base import clone

from skae import VAE, AutoencoderTransformer, OutlierDetector, load
from skae._base import missing
from tests._estimators import ESTIMATORS, FAST
from tests.test_vae import _linear_gaussian, _low_rank_data, _set_linear_gaussian


def _name(estimator):
    return type(estimator).__name__


def _with_missing(X, share, seed=0):
    X = np.array(X, dtype=np.float64)
    rng = np.random.RandomState(seed)
    X[rng.uniform(size=X.shape) < share] = np.nan
    return X


@pytest.fixture(scope="module")
def X_missing(small_X):
    return _with_missing(small_X, 0.3)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_every_method_takes_missing_values(estimator, X_missing):
    model = clone(estimator).set_params(random_state=0).fit(X_missing)
    assert model.net_.module_.encoder.takes_mask
    assert np.isfinite(model.transform(X_missing)).all()
    scores = model.score_samples(X_missing)
    assert np.isfinite(scores).all()
    terms = model.score_samples_per_feature(X_missing)
    # NaN exactly where a value is missing, and the rest sum to the score.
    assert_array_equal(np.isnan(terms), np.isnan(X_missing))
    assert_allclose(np.nansum(terms, axis=1), scores, rtol=1e-5, atol=1e-6)
    assert np.isfinite(model.score(X_missing))
    model.partial_fit(X_missing)


def test_a_model_fitted_on_complete_rows_takes_incomplete_ones(small_X, X_missing):
    model = AutoencoderTransformer(random_state=0, **FAST).fit(small_X)
    assert not model.net_.module_.encoder.takes_mask
    assert np.isfinite(model.score_samples(X_missing)).all()
    # A complete row scores the same alone and beside incomplete rows.
    both = np.vstack([small_X[:1], X_missing[1:40]])
    assert_allclose(model.score_samples(both)[0], model.score_samples(small_X[:1])[0])


def test_pandas_missing_values_are_nan(small_X):
    frame = pd.DataFrame(small_X[:, :3], columns=["a", "b", "c"]).astype("Float64")
    frame.iloc[0, 1] = pd.NA
    model = VAE(random_state=0, **FAST).fit(frame)
    terms = model.score_samples_per_feature(frame)
    assert np.isnan(terms[0, 1]) and np.isfinite(terms[1]).all()


def test_pandas_na_in_object_columns_is_missing(small_X):
    frame = pd.DataFrame(small_X[:, :2], columns=["a", "b"]).astype(object)
    frame.iloc[0, 0], frame.iloc[1, 1] = pd.NA, None
    model = AutoencoderTransformer(random_state=0, **FAST).fit(frame)
    assert_array_equal(
        np.isnan(model.score_samples_per_feature(frame))[:2], [[1, 0], [0, 1]]
    )
    # Strings beside them are a category (see test_tables.py), not numbers.
    strings = AutoencoderTransformer(**FAST).fit(frame.assign(c="red"))
    assert list(strings.feature_kinds_) == ["gaussian", "gaussian", "categorical"]


def test_infinity_stays_an_error(small_X):
    X = small_X.copy()
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        AutoencoderTransformer(**FAST).fit(X)


def test_a_feature_never_observed_is_an_error(small_X):
    X = small_X.copy()
    X[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"indices 2 are missing \(NaN\) in every row"):
        VAE(**FAST).fit(X)


def test_rows_without_an_observed_value(small_X, X_missing):
    empty = np.full((1, small_X.shape[1]), np.nan)
    ae = AutoencoderTransformer(random_state=0, **FAST).fit(X_missing)
    # The error of nothing: 0, the highest score.
    assert ae.score_samples(empty)[0] == 0.0
    vae = VAE(random_state=0, k_eval=2000, **FAST).fit(X_missing)
    # log p(nothing) = log 1, which the importance sampling estimates.
    assert abs(vae.score_samples(empty)[0]) < 0.05
    assert np.isfinite(vae.transform(empty)).all()


def test_scaling_ignores_missing_values(small_X):
    from skae._base.scaling import fit_scaling

    X = _with_missing(small_X, 0.2, seed=1)
    for standardize in ("auto", True):
        mean, scale = fit_scaling(X, standardize)
        assert np.isfinite(mean).all() and np.isfinite(scale).all()
    mean, scale = fit_scaling(X, True)
    assert_allclose(mean, np.nanmean(X, axis=0))
    assert_allclose(scale, np.nanstd(X, axis=0))


def test_linear_start_fill_recovers_low_rank_data():
    X = _low_rank_data(300, noise=0.05)
    X_missing = _with_missing(X, 0.2)
    filled = missing.fill_for_linear_start(X_missing, 2, 0)
    holes = np.isnan(X_missing)
    mean_fill = np.where(holes, np.nanmean(X_missing, axis=0), X_missing)
    assert_array_equal(filled[~holes], X[~holes])
    error = np.abs(filled - X)[holes].mean()
    assert error < np.abs(mean_fill - X)[holes].mean() / 5
    complete = X.copy()
    assert missing.fill_for_linear_start(complete, 2, 0) is complete


def test_fixed_point_fill_cannot_drift(small_X, monkeypatch):
    model = AutoencoderTransformer(random_state=0, **FAST).fit(small_X)
    module = model.net_.module_.eval()
    x = torch.as_tensor(
        model._inference().scale_rows(_with_missing(small_X, 0.3)), dtype=torch.float32
    )
    observed = missing.observed_mask(x)

    def error(filled):
        reconstruction = module.decode(module.encode(filled))
        return missing.observed_mean((reconstruction - filled).pow(2), observed)

    errors = []
    with torch.no_grad():
        for passes in (1, 5, 30):
            monkeypatch.setattr("skae._base.module.FILL_ITERATIONS", passes)
            filled = module.reconstruction_fill(x, observed)
            assert torch.equal(filled[observed], x[observed])
            errors.append(error(filled))
    # Each row keeps its best fill: more passes never make one worse.
    assert bool((errors[1] <= errors[0]).all() and (errors[2] <= errors[1]).all())


def test_a_maskless_encoder_fills_a_batch_once_for_all_draws(
    small_X, X_missing, monkeypatch
):
    model = VAE(random_state=0, **FAST).fit(small_X)
    module = model.net_.module_
    expected = model.score_samples_per_feature(X_missing)
    # Many chunks of draws per batch; still one fill per batch and method.
    monkeypatch.setattr("skae._models.variational.SCORE_CHUNK_VALUES", 64)
    calls = []
    fill = module.reconstruction_fill
    monkeypatch.setattr(
        module, "reconstruction_fill", lambda *a: calls.append(1) or fill(*a)
    )
    assert_allclose(model.score_samples_per_feature(X_missing), expected)
    assert 0 < len(calls) <= 2 * -(-len(X_missing) // model.batch_size)


def test_log_likelihood_of_incomplete_rows_is_the_exact_marginal():
    g = _linear_gaussian()
    est, W, mu, sigma2, post_W, rng = g.est, g.W, g.mu, g.sigma2, g.post_W, g.rng
    n_features, n_components = W.shape
    # The exact posterior of a complete row, twice as wide: the posterior
    # of an incomplete row is wider, and importance sampling needs a
    # proposal at least as wide as its target.
    _set_linear_gaussian(
        est, W, mu, sigma2, post_W, -post_W @ mu, np.log(4 * g.post_var)
    )
    cov = W @ W.T + sigma2 * np.eye(n_features)
    # Rows of the model itself, a few of their values missing.
    X_test = rng.normal(size=(30, n_components)) @ W.T + mu
    X_test += np.sqrt(sigma2) * rng.normal(size=X_test.shape)
    X_test = _with_missing(X_test, 0.4)
    X_test[0] = np.nan  # no observed value: log p = 0
    scores = est.score_samples(X_test)
    filled = est._impute(X_test, k=4000)
    for row, score, fill in zip(X_test, scores, filled):
        seen = ~np.isnan(row)
        expected = (
            multivariate_normal(mu[seen], cov[np.ix_(seen, seen)]).logpdf(row[seen])
            if seen.any()
            else 0.0
        )
        assert abs(score - expected) < 0.05
        # E[x_mis | x_obs] of the Gaussian, in closed form.
        gain = cov[np.ix_(~seen, seen)] @ np.linalg.pinv(cov[np.ix_(seen, seen)])
        mean = mu[~seen] + gain @ (row[seen] - mu[seen])
        assert_allclose(fill[~seen], mean, atol=0.05)
        assert_array_equal(fill[seen], row[seen])


def test_a_model_with_a_mask_saves_and_loads(tmp_path, X_missing):
    model = VAE(random_state=0, **FAST).fit(X_missing)
    model.save(tmp_path / "model.skae")
    loaded = load(tmp_path / "model.skae")
    assert_array_equal(loaded.score_samples(X_missing), model.score_samples(X_missing))


def test_out_of_core_fit_with_missing_values(tmp_path, X_missing):
    path = tmp_path / "X.dat"
    stored = np.memmap(path, dtype=np.float64, mode="w+", shape=X_missing.shape)
    stored[:] = X_missing
    stored.flush()
    model = AutoencoderTransformer(random_state=0, **FAST).fit(
        np.memmap(path, dtype=np.float64, mode="r", shape=X_missing.shape)
    )
    assert np.isfinite(model.score_samples(X_missing)).all()


# ----------------------------------------------------------------------------
# The outlier detector


def _curve(n, rng):
    t = rng.uniform(-1, 1, size=(n, 2))
    return np.hstack([t, t[:, :1] * t[:, 1:], np.sin(3 * t), t**2]) + 0.05 * rng.normal(
        size=(n, 7)
    )


@pytest.fixture(scope="module")
def detector_data():
    rng = np.random.RandomState(0)
    return _curve(600, rng), _curve(200, rng)


@pytest.mark.parametrize("estimator", [VAE, AutoencoderTransformer])
def test_detector_scores_of_complete_rows_are_unchanged(estimator, detector_data):
    X, X_new = detector_data
    detector = OutlierDetector(
        estimator(random_state=0, max_epochs=20), random_state=0
    ).fit(_with_missing(X, 0.1))
    assert detector.typical_feature_scores_.shape == (X.shape[1],)
    assert_array_equal(
        detector.score_samples(X_new), detector.estimator_.score_samples(X_new)
    )
    X_holes = _with_missing(X_new, 0.3, seed=2)
    scores = detector.score_samples(X_holes)
    terms = detector.score_samples_per_feature(X_holes)
    assert_array_equal(np.isnan(terms), np.isnan(X_holes))
    completed = np.where(np.isnan(terms), detector.typical_feature_scores_, terms)
    assert_allclose(completed.sum(axis=1), scores, rtol=1e-5, atol=1e-6)
    assert set(detector.predict(X_holes)) <= {-1, 1}


def test_detector_score_of_incomplete_rows_is_nearer_complete_ones(detector_data):
    X, X_new = detector_data
    detector = OutlierDetector(VAE(random_state=0, max_epochs=20), random_state=0)
    detector.fit(X)
    complete = detector.score_samples(X_new).mean()
    X_holes = _with_missing(X_new, 0.4, seed=3)
    # log p(x_obs) covers fewer features, and moves by nats whose sign
    # depends on the densities of the missing features...
    raw = detector.estimator_.score_samples(X_holes).mean()
    assert abs(raw - complete) > 2.0
    # ...which the completed score moves by less.
    assert abs(detector.score_samples(X_holes).mean() - complete) < abs(raw - complete)
