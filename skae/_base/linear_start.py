"""The principal axes a linear start (PCA, factor analysis) is built from."""

from sklearn.decomposition import PCA

# Principal axes whose variance is below this share of the largest are
# rounding noise of data of lower rank (float32 networks resolve about 1e-7
# of a value, so 1e-14 of a variance), not directions of the data.
DEAD_AXIS_RATIO = 1e-12


def principal_axes(X, n_components, random_state):
    """Mean and leading principal axes of ``X``, for a linear start.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
        Number of axes wanted. Only axes along which the data vary are
        returned: at most ``min(n_samples, n_features)``, and none whose
        variance is rounding noise (below :data:`DEAD_AXIS_RATIO` times the
        largest). A linear start must not put a code on a direction the
        training data never moved along: it would reconstruct any new
        deviation there exactly, a blind spot for outlier scores.
    random_state : int
        Seeds sklearn's randomized solver, when it picks one.

    Returns
    -------
    mean : ndarray of shape (n_features,)
    axes : ndarray of shape (n_axes, n_features)
        Orthonormal rows, by decreasing variance.
    variances : ndarray of shape (n_axes,)
        Variance of the data along each axis.
    """
    n_axes = min(n_components, *X.shape)
    pca = PCA(n_axes, random_state=random_state).fit(X)
    variances = pca.explained_variance_
    live = variances > DEAD_AXIS_RATIO * variances.max(initial=0.0)
    return pca.mean_, pca.components_[live], variances[live]
