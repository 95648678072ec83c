"""The linear-Gaussian models a VAE starts from: factor analysis and
probabilistic PCA."""

import warnings

import numpy as np
from sklearn.decomposition import FactorAnalysis
from sklearn.exceptions import ConvergenceWarning

from .._base.linear_start import principal_axes


def factor_analysis(X, n_factors, random_state):
    """``(mean, loadings, noise variances)`` of factor analysis of ``X``.

    ``loadings`` has shape ``(n_factors, n_features)``; ``x = loadings.T z
    + mean + noise``.
    """
    with warnings.catch_warnings():
        # A starting point: training goes on from wherever it stopped.
        warnings.simplefilter("ignore", ConvergenceWarning)
        fa = FactorAnalysis(n_factors, random_state=random_state).fit(X)
    return fa.mean_, fa.components_, fa.noise_variance_


def probabilistic_pca(X, n_factors, random_state):
    """``(mean, loadings, noise variances)`` of probabilistic PCA of ``X``.

    The closed form of Tipping and Bishop (1999): the noise variance is
    the mean variance along the discarded principal axes, and the loadings
    are the leading axes scaled by the square root of their variance in
    excess of it.
    """
    mean, axes, variances = principal_axes(X, n_factors, random_state)
    total = X.var(axis=0, ddof=1).sum()
    n_discarded = X.shape[1] - len(axes)
    noise = max(total - variances.sum(), 0.0) / n_discarded if n_discarded else 0.0
    loadings = np.sqrt(np.maximum(variances - noise, 0.0))[:, None] * axes
    return mean, loadings, np.full(X.shape[1], noise)


def flip_signs(loadings):
    """``loadings`` with each row's largest entry (in magnitude) positive.

    An eigenvector's sign is arbitrary, and LAPACK builds for different CPUs
    pick it differently: unfixed, a seed started the VAE's latent axes with
    other signs on another machine, and training, whose noise draws are not
    symmetric, then went elsewhere. As scikit-learn's ``svd_flip``.
    """
    largest = loadings[np.arange(len(loadings)), np.abs(loadings).argmax(axis=1)]
    return loadings * np.where(largest < 0, -1.0, 1.0)[:, None]
