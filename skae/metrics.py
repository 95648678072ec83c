"""Scores that compare any reducers: PCA, every skae model, and pipelines.

``score`` means different things across estimators: ``PCA``,
``FactorAnalysis``, :class:`~skae.VAE` and :class:`~skae.IWAE` score the
log-likelihood of the data in nats, while the other autoencoders score minus
their reconstruction error. A ``GridSearchCV`` over several kinds of
estimator without a scorer therefore compares numbers in different units.
:func:`reconstruction_scorer` gives every estimator with ``transform`` and
``inverse_transform`` the same score: minus its held-out reconstruction
error, in one documented unit.
"""

import numpy as np
from sklearn.utils.validation import check_array

from ._base.columns import is_mixed_table
from ._base.scaling import fit_scaling


def reconstruction_error(X, X_reconstructed):
    """Mean squared reconstruction error, each feature in units of its spread.

    Each feature's squared error is divided by the square of its scale as
    ``standardize="auto"`` measures it on ``X``: for a table of features in
    different units, each feature's own spread (so every column counts
    alike, whatever its unit); for features in one unit (the pixels of an
    image), one scale shared by all of them (so the error is that in the
    data's own unit, divided by one constant). The mean over rows and
    features is returned: 0 for a perfect reconstruction, about 1 for
    reconstructing each value by its feature's mean on standardized tables.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data.
    X_reconstructed : array-like of shape (n_samples, n_features)
        Its reconstruction.

    Returns
    -------
    error : float

    Examples
    --------
    >>> import numpy as np
    >>> from skae.metrics import reconstruction_error
    >>> rng = np.random.RandomState(0)
    >>> spreads = [1.0, 10.0, 100.0, 1000.0]  # four units
    >>> X = rng.normal(size=(100, 4)) * spreads
    >>> X_hat = X + 0.1 * rng.normal(size=X.shape) * spreads
    >>> reconstruction_error(X, X)
    0.0
    >>> units = [100.0, 1e-3, 1.0, 1.0]  # other units: the same error
    >>> bool(np.isclose(reconstruction_error(X * units, X_hat * units),
    ...                 reconstruction_error(X, X_hat)))
    True
    """
    X = check_array(X, dtype=np.float64)
    # A reconstruction that overflowed is an error of infinity, not bad input.
    X_reconstructed = check_array(
        X_reconstructed, dtype=np.float64, ensure_all_finite=False
    )
    if X.shape != X_reconstructed.shape:
        raise ValueError(
            f"X has shape {X.shape} but its reconstruction {X_reconstructed.shape}."
        )
    _, scale = fit_scaling(X, "auto")
    with np.errstate(over="ignore"):
        return float(np.mean(((X - X_reconstructed) / scale) ** 2))


def reconstruction_scorer(estimator, X, y=None):
    """Minus the reconstruction error of a fitted estimator on ``X``.

    A scorer for ``GridSearchCV(scoring=reconstruction_scorer)``,
    ``cross_val_score`` and the like: ``-reconstruction_error(X,
    estimator.inverse_transform(estimator.transform(X)))`` (see
    :func:`reconstruction_error` for its unit). It works for any estimator
    with ``transform`` and ``inverse_transform``: ``PCA``, every skae
    autoencoder, and pipelines whose steps all have both. Higher is better,
    as scikit-learn's scorers. Unlike ``score``, which is a log-likelihood
    for some estimators and minus a reconstruction error for others, it
    compares them all in one unit.

    Parameters
    ----------
    estimator : estimator object
        A fitted estimator with ``transform`` and ``inverse_transform``.
    X : array-like of shape (n_samples, n_features)
        Held-out data.
    y : None
        Ignored; present for the scorer signature.

    Returns
    -------
    score : float
        Minus the reconstruction error; ``-inf`` when a reconstruction is not
        finite.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import Pipeline
    >>> from skae import AutoencoderTransformer
    >>> from skae.metrics import reconstruction_scorer
    >>> X, _ = load_digits(return_X_y=True)
    >>> grid = GridSearchCV(
    ...     Pipeline([("reduce", PCA(8))]),
    ...     {"reduce": [PCA(8), AutoencoderTransformer(8, max_epochs=5)]},
    ...     scoring=reconstruction_scorer,
    ...     cv=3,
    ... ).fit(X)
    >>> sorted(grid.cv_results_)[:2]
    ['mean_fit_time', 'mean_score_time']
    """
    for method in ("transform", "inverse_transform"):
        if not hasattr(estimator, method):
            raise TypeError(
                "reconstruction_scorer needs an estimator with transform and "
                f"inverse_transform; {type(estimator).__name__} has no {method}."
            )
    if is_mixed_table(X):
        raise ValueError(
            "reconstruction_scorer measures squared errors of numbers, but X "
            "has categorical or flag columns. Compare models of mixed-type "
            "tables by their log-likelihood (VAE and IWAE: score), or score "
            "the numeric columns only."
        )
    reconstruction = estimator.inverse_transform(estimator.transform(X))
    error = reconstruction_error(X, np.asarray(reconstruction, dtype=np.float64))
    return -error if np.isfinite(error) else -np.inf
