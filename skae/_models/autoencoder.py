"""The plain undercomplete autoencoder."""

from .._base import _BaseAutoencoder
from .._base.module import AutoencoderModule, warn_if_code_is_as_wide
from .._docstrings import fill_doc


@fill_doc
class AutoencoderTransformer(_BaseAutoencoder):
    """Undercomplete autoencoder: a nonlinear drop-in for ``PCA``.

    An encoder network maps each sample to a code of ``n_components`` numbers
    and a decoder maps the code back; both are trained to minimize the mean
    squared reconstruction error. With a linear encoder and decoder this
    spans the same subspace as PCA; the default MLPs learn curved manifolds
    that PCA cannot.

    The encoder (default or custom) has ``n_encoder_outputs = n_components``
    outputs: the code itself.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code (latent space), named as in ``PCA`` so that a grid
        written for PCA works unchanged.

    {network_parameters}
    {training_parameters}
    Attributes
    ----------
    {fitted_attributes}
    See Also
    --------
    sklearn.decomposition.PCA : The linear counterpart.
    sklearn.neural_network.MLPRegressor : An MLP without ``transform``.

    Notes
    -----
    ``score_samples`` returns minus the mean squared reconstruction error of
    each sample, measured on the standardized features the model was trained
    on (on ``X`` itself when ``standardize=False``), so every feature counts
    equally whatever its units. Higher means more normal, the sklearn
    convention for outlier detection; ``score`` is its mean.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(n_components=8, max_epochs=5, random_state=0)
    >>> codes = ae.fit_transform(X)
    >>> codes.shape
    (1797, 8)
    >>> ae.inverse_transform(codes).shape
    (1797, 64)
    >>> ae.get_feature_names_out()[:3]
    array(['autoencodertransformer0', 'autoencodertransformer1',
           'autoencodertransformer2'], dtype=object)
    """

    def _finish_fit(self, X):
        warn_if_code_is_as_wide(self)

    def _build_module(self, X):
        return AutoencoderModule(*self._encoder_decoder(X))
