"""Tests of IWAEImputer (skae/_impute.py)."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from skae import VAE, AutoencoderTransformer, IWAEImputer
from tests.test_vae import _low_rank_data

FAST = dict(hidden_layer_sizes=(16,), max_epochs=30, n_draws=200, device="cpu")


@pytest.fixture(scope="module")
def data():
    X = _low_rank_data(300, n_features=6, rank=2, noise=0.1)
    rng = np.random.RandomState(0)
    X_missing = X.copy()
    X_missing[rng.uniform(size=X.shape) < 0.3] = np.nan
    return X, X_missing


def _rmse(X, X_missing, X_filled):
    holes = np.isnan(X_missing)
    return np.sqrt(np.mean((X_filled[holes] - X[holes]) ** 2))


@pytest.fixture(scope="module")
def fitted(data):
    return IWAEImputer(random_state=0, **FAST).fit(data[1])


def test_fills_every_hole_and_keeps_observed_values(data, fitted):
    X, X_missing = data
    filled = fitted.transform(X_missing)
    holes = np.isnan(X_missing)
    assert not np.isnan(filled).any()
    assert_array_equal(filled[~holes], X_missing[~holes])
    # Correlated features: far better than each feature's mean.
    mean = SimpleImputer().fit_transform(X_missing)
    assert _rmse(X, X_missing, filled) < 0.5 * _rmse(X, X_missing, mean)


@pytest.mark.parametrize(
    "estimator", [AutoencoderTransformer(hidden_layer_sizes=(16,), max_epochs=30)]
)
def test_any_autoencoder_imputes(data, estimator):
    X, X_missing = data
    imputer = IWAEImputer(estimator.set_params(random_state=0)).fit(X_missing)
    filled = imputer.transform(X_missing)
    mean = SimpleImputer().fit_transform(X_missing)
    assert _rmse(X, X_missing, filled) < 0.7 * _rmse(X, X_missing, mean)


def test_sample_posterior_draws_multiple_imputations(data):
    X_missing = data[1]
    draws = [
        IWAEImputer(sample_posterior=True, random_state=seed, **FAST).fit_transform(
            X_missing
        )
        for seed in (0, 0, 1)
    ]
    assert_array_equal(draws[0], draws[1])
    holes = np.isnan(X_missing)
    assert not np.array_equal(draws[0][holes], draws[2][holes])


def test_sample_posterior_needs_a_probabilistic_model(data):
    imputer = IWAEImputer(AutoencoderTransformer(max_epochs=1), sample_posterior=True)
    with pytest.raises(ValueError, match="VAE or an IWAE"):
        imputer.fit(data[1])
    assert IWAEImputer(VAE(max_epochs=1), sample_posterior=True).fit(data[1])


def test_other_estimators_are_refused(data):
    with pytest.raises(TypeError, match="IterativeImputer"):
        IWAEImputer(PCA(2)).fit(data[1])


def test_missing_values_placeholder_indicator_and_empty_features(data):
    X_missing = data[1].copy()
    X_missing[:, 1] = np.nan  # never observed
    coded = np.where(np.isnan(X_missing), -1.0, X_missing)
    imputer = IWAEImputer(missing_values=-1.0, add_indicator=True, **FAST)
    out = imputer.fit_transform(coded)
    n_indicated = len(imputer.indicator_.features_)
    assert out.shape == (len(coded), 5 + n_indicated)
    names = imputer.get_feature_names_out()
    assert "x1" not in names and names[5].startswith("missingindicator_")
    kept = IWAEImputer(keep_empty_features=True, **FAST).fit_transform(X_missing)
    assert kept.shape == X_missing.shape and (kept[:, 1] == 0).all()


def test_pipeline_and_pandas_output(data):
    X, X_missing = data
    frame = pd.DataFrame(X_missing, columns=[f"f{j}" for j in range(6)])
    imputer = IWAEImputer(**FAST).set_output(transform="pandas")
    out = imputer.fit_transform(frame)
    assert list(out.columns) == list(frame.columns)
    model = make_pipeline(IWAEImputer(**FAST), Ridge()).fit(X_missing, X[:, 0])
    assert np.isfinite(model.predict(X_missing)).all()
