"""skae.metrics: one reconstruction score for every reducer."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skae import VAE, AutoencoderTransformer
from skae.metrics import reconstruction_error, reconstruction_scorer

FAST = dict(hidden_layer_sizes=(16,), max_epochs=20, random_state=0, n_jobs=1)


def _curve(n_samples=240, seed=0):
    """A 1-D curve in 4 features of different units: nonlinear, so an
    autoencoder with one code reconstructs it better than PCA."""
    rng = np.random.RandomState(seed)
    t = rng.uniform(-2, 2, size=(n_samples, 1))
    X = np.hstack([t, t**2, np.sin(2 * t), -t])
    X += 0.02 * rng.normal(size=X.shape)
    return X * [1.0, 100.0, 0.01, 5.0]


def test_reconstruction_error_counts_every_feature_alike():
    X = _curve()
    noisy = X + 0.1 * X.std(axis=0) * np.random.RandomState(1).normal(size=X.shape)
    error = reconstruction_error(X, noisy)
    assert error == pytest.approx(0.01, rel=0.2)
    # A change of units of one feature changes nothing.
    units = np.array([1.0, 1e-3, 1e4, 1.0])
    assert reconstruction_error(X * units, noisy * units) == pytest.approx(error)
    assert reconstruction_error(X, X) == 0.0


def test_reconstruction_error_of_pixels_is_in_their_shared_unit():
    X = np.random.RandomState(0).uniform(0, 16, size=(100, 8))  # one unit
    shifted = X + 1.0  # one grey level everywhere
    # One scale for all features: every feature's error counts by its size.
    half = X.copy()
    half[:, :4] += 1.0
    assert reconstruction_error(X, half) == pytest.approx(
        reconstruction_error(X, shifted) / 2
    )


def test_reconstruction_error_checks_shapes():
    with pytest.raises(ValueError, match="shape"):
        reconstruction_error(np.ones((3, 2)), np.ones((3, 3)))


def test_one_grid_over_pca_an_autoencoder_and_a_vae_compares_reconstructions():
    X = _curve()
    candidates = [PCA(1), AutoencoderTransformer(1, **FAST), VAE(1, **FAST)]
    grid = GridSearchCV(
        Pipeline([("reduce", PCA(1))]),
        {"reduce": candidates},
        scoring=reconstruction_scorer,
        cv=KFold(3),
    ).fit(X)
    # The grid's scores are the held-out reconstruction errors, fold by fold.
    for index, candidate in enumerate(candidates):
        errors = []
        for train, test in KFold(3).split(X):
            model = Pipeline([("reduce", candidate)]).fit(X[train])
            rebuilt = model.inverse_transform(model.transform(X[test]))
            errors.append(reconstruction_error(X[test], rebuilt))
        assert grid.cv_results_["mean_test_score"][index] == pytest.approx(
            -np.mean(errors), rel=1e-6
        )
    assert grid.best_index_ == int(np.argmax(grid.cv_results_["mean_test_score"]))
    # On a curve, the autoencoder reconstructs better than PCA, and wins.
    assert isinstance(grid.best_params_["reduce"], AutoencoderTransformer)


def test_without_the_scorer_the_scores_are_in_other_units():
    # Why the scorer exists: score is a log-likelihood for PCA and the VAE,
    # minus a reconstruction error for the autoencoder.
    X = _curve()
    pca, ae = PCA(1).fit(X), AutoencoderTransformer(1, **FAST).fit(X)
    assert pca.score(X) != pytest.approx(-reconstruction_error(X, X))
    assert reconstruction_scorer(ae, X) > reconstruction_scorer(pca, X)


def test_the_scorer_needs_an_inverse_transform():
    with pytest.raises(TypeError, match="inverse_transform"):
        reconstruction_scorer(FactorAnalysis(1).fit(_curve()), _curve())


def test_a_reconstruction_that_overflows_scores_minus_infinity():
    class Overflowing(PCA):
        def inverse_transform(self, X):
            return np.full((len(X), 4), np.inf)

    X = _curve()
    assert reconstruction_scorer(Overflowing(1).fit(X), X) == -np.inf


def _linear(n_samples=300, seed=0):
    """Two latent factors in 6 features of one spread: PCA's own case."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 2)) @ rng.normal(size=(2, 6))
    return X + 0.3 * rng.normal(size=X.shape)


def test_the_grid_picks_the_lowest_held_out_error_not_the_best_own_score():
    # On linear data PCA reconstructs best; the autoencoder, started at
    # random and trained briefly, does not. Without the scorer the grid picks
    # the autoencoder anyway (its score is minus an error, the others' a
    # log-likelihood); with it, the candidate of the lowest held-out error.
    X, cv = _linear(), KFold(3, shuffle=True, random_state=0)
    network = dict(FAST, max_epochs=10, init="random")
    candidates = [PCA(), AutoencoderTransformer(**network), VAE(**network)]
    param_grid = {"reduce": candidates, "reduce__n_components": [1, 2]}
    pipe = Pipeline([("reduce", PCA())])
    scored = GridSearchCV(pipe, param_grid, scoring=reconstruction_scorer, cv=cv)
    unscored = GridSearchCV(pipe, param_grid, cv=cv)
    scored.fit(X), unscored.fit(X)
    # The held-out errors, computed here without the scorer or the grid.
    errors = []
    for params in scored.cv_results_["params"]:
        folds = []
        for train, test in cv.split(X):
            model = clone(pipe).set_params(**params).fit(X[train])
            rebuilt = model.inverse_transform(model.transform(X[test]))
            folds.append(np.mean((X[test] - rebuilt) ** 2))
        errors.append(np.mean(folds))
    assert scored.best_index_ == int(np.argmin(errors))
    assert isinstance(scored.best_params_["reduce"], PCA)
    assert scored.best_params_["reduce__n_components"] == 2
    assert isinstance(unscored.best_params_["reduce"], AutoencoderTransformer)


def test_reconstruction_scorer_refuses_mixed_tables():
    from skae import AutoencoderTransformer

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "c": ["x", "y", "x", "y"]})
    model = AutoencoderTransformer(1, max_epochs=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="categorical or flag columns"):
        reconstruction_scorer(model, X)
