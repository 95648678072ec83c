"""Missing entries (NaN): masks for the networks, and fills for linear starts.

skae takes NaN (and ``pd.NA``) as a missing entry everywhere. The rows keep
their NaN through the scaling into the float32 batches the module sees;
each module then

- builds its encoder input from the row with the missing entries set to 0
  (the feature's mean, in the scaled space) and, for a model trained on
  data with missing entries, the mask of observed entries beside it
  (:meth:`~skae._base.module.AutoencoderModule.encoder_input`);
- computes its loss and scores over the observed entries only.

Every function here leaves data without a missing entry exactly as it is,
so that complete data give bit for bit the results they gave before NaN was
accepted.
"""

import numpy as np
import torch
from sklearn.decomposition import PCA

# Passes of the fixed-point fill of a model whose encoder never saw missing
# entries (see AutoencoderModule.fill_missing).
FILL_ITERATIONS = 10
# Iterations of the low-rank fill of missing entries before a linear start
# (see :func:`fill_for_linear_start`).
LINEAR_START_FILL_ITERATIONS = 10


def observed_mask(x):
    """The boolean mask of the observed entries of ``x``, or None if all are."""
    missing = torch.isnan(x)
    if not bool(missing.any()):
        return None
    return ~missing


def zero_filled(x, observed):
    """``x`` with its missing entries set to 0 (``x`` itself if none is)."""
    if observed is None:
        return x
    return torch.where(observed, x, torch.zeros((), dtype=x.dtype, device=x.device))


def masked_terms(terms, observed, fill=0.0):
    """``terms`` with the entries of missing values set to ``fill``."""
    if observed is None:
        return terms
    return torch.where(
        observed, terms, torch.full((), fill, dtype=terms.dtype, device=terms.device)
    )


def observed_mean(terms, observed):
    """Per-row mean of ``terms`` over the observed entries.

    A row without an observed entry has the mean 0 (an empty sum over at
    least one).
    """
    if observed is None:
        return terms.mean(dim=1)
    count = observed.sum(dim=1).clamp(min=1)
    return masked_terms(terms, observed).sum(dim=1) / count


def has_missing(X):
    """Whether the array or tensor ``X`` has a missing (NaN) entry."""
    if isinstance(X, torch.Tensor):
        return bool(torch.isnan(X).any())
    return bool(np.isnan(np.asarray(X, dtype=np.float64)).any())


def fill_for_linear_start(X, n_components, random_state):
    """``X`` with missing entries filled from a rank-``n_components`` PCA.

    A linear start (PCA, factor analysis) needs complete data. The missing
    entries start at their column's mean and are replaced, a few times
    (:data:`LINEAR_START_FILL_ITERATIONS`), by their reconstruction from the
    leading principal axes of the filled data: the hard-rank iteration of
    iterative PCA imputation (Josse and Husson, 2012), an EM for
    probabilistic PCA without its noise term. It keeps the correlations
    that a mean fill would weaken, so the start's axes and loadings are not
    shrunk towards zero. Complete ``X`` is returned as it is.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Scaled rows, NaN where missing.
    n_components : int
        Rank of the reconstruction.
    random_state : int
        Seeds PCA's randomized solver.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
    """
    missing = np.isnan(X)
    if not missing.any():
        return X
    means = np.nanmean(np.where(missing.all(axis=0), 0.0, X), axis=0)
    filled = np.where(missing, means, X)
    n_axes = min(n_components, *X.shape)
    for _ in range(LINEAR_START_FILL_ITERATIONS if n_axes else 0):
        pca = PCA(n_axes, random_state=random_state).fit(filled)
        reconstruction = pca.inverse_transform(pca.transform(filled))
        filled[missing] = reconstruction[missing]
    return filled


def check_observed_features(X, name):
    """Raise a ``ValueError`` naming the features without an observed value."""
    empty = np.flatnonzero(np.all(np.isnan(X), axis=0)) if X.shape[0] else []
    if len(empty):
        shown = ", ".join(str(j) for j in empty[:10])
        more = f" and {len(empty) - 10} more" if len(empty) > 10 else ""
        raise ValueError(
            f"{name} cannot learn features that are never observed, but the "
            f"features at indices {shown}{more} are missing (NaN) in every row "
            "of X. Drop them, or use skae.IWAEImputer(keep_empty_features=True)."
        )
