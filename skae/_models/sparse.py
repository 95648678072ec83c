"""The sparse autoencoder: a sparsity penalty on the code activations."""

from numbers import Real

import numpy as np
from torch import nn

from .._base import _BaseAutoencoder
from .._base.module import AutoencoderModule
from .._compat import Interval, StrOptions
from .._docstrings import fill_doc
from .._file_checks import number

# Keeps log(rho_hat) and log(1 - rho_hat) finite when a unit saturates, so
# that a zero penalty weight contributes exactly zero (not 0 * inf = nan).
_KL_EPS = 1e-6

# A code value counts as inactive below this fraction of the largest code
# magnitude of its row (code_sparsity_).
INACTIVE_FRACTION = 0.05


def code_sparsity(codes):
    """Share of code values below ``INACTIVE_FRACTION`` of their row's largest.

    Measured per row, so that codes of different spreads (the decaying
    variances of PCA-like codes) do not count as inactive merely for being
    smaller than the largest code of the whole data. A row of zeros counts
    as inactive throughout.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_components)

    Returns
    -------
    share : float
        In [0, 1].
    """
    magnitude = np.abs(codes)
    largest = magnitude.max(axis=1, keepdims=True)
    inactive = (magnitude < INACTIVE_FRACTION * largest) | (largest == 0)
    return float(np.mean(inactive))


class SparseAutoencoderModule(AutoencoderModule):
    """An autoencoder whose codes are penalized towards zero.

    The codes are the encoder output passed through a fixed activation
    (sigmoid for ``"kl"``, ReLU for ``"l1"``), and the training loss is the
    mean squared error plus ``weight`` times the sparsity penalty.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(batch, n_features)`` to pre-activations ``(batch, n_components)``.
    decoder : torch.nn.Module
        Maps codes back to ``(batch, n_features)``.
    penalty : {"kl", "l1"}
        ``"kl"``: mean over code units of ``KL(rho || rho_hat_j)``, the
        Kullback-Leibler divergence between Bernoulli variables of mean
        ``rho`` (the target) and ``rho_hat_j`` (unit j's mean activation over
        the batch). ``"l1"``: mean absolute code activation over the batch
        and the units.
    weight : float
        Multiplier of the penalty.
    target : float
        The target activation rate ``rho`` of ``"kl"``, in (0, 1).

    Notes
    -----
    Both terms are means (the error over samples and features, the penalty
    over units), so a given ``weight`` balances them the same way whatever
    the number of features and of code units.
    """

    def __init__(self, encoder, decoder, *, penalty, weight, target):
        super().__init__(encoder, decoder)
        self.code_activation = nn.Sigmoid() if penalty == "kl" else nn.ReLU()
        self.penalty = penalty
        self.weight = weight
        self.target = target

    def encode(self, x):
        return self.code_activation(super().encode(x))

    def sparsity_penalty(self, codes):
        """The penalty of a batch of codes, before weighting."""
        if self.penalty == "l1":
            return codes.abs().mean()
        rho = self.target
        rho_hat = codes.mean(dim=0).clamp(_KL_EPS, 1 - _KL_EPS)
        kl = rho * (rho / rho_hat).log() + (1 - rho) * ((1 - rho) / (1 - rho_hat)).log()
        return kl.mean()

    def forward(self, x):
        codes = self.encode(x)
        return self.squared_error(x, codes) + self.weight * self.sparsity_penalty(codes)


@fill_doc
class SparseAutoencoder(_BaseAutoencoder):
    """Autoencoder with a sparsity penalty on its code activations.

    The encoder output goes through a code activation, and the training loss
    is the mean squared reconstruction error plus ``sparsity_weight`` times a
    penalty that pushes most activations towards zero, so that each sample is
    described by a few active units. Sparsity, not a narrow bottleneck,
    regularizes the model: the code may be wider than the input
    (``n_components > n_features``, an overcomplete code).

    Two penalties are available:

    * ``sparsity="kl"`` (the classic sparse autoencoder):
      sigmoid codes in (0, 1), and the Kullback-Leibler divergence between
      the target rate ``sparsity_target`` (rho) and each unit's mean
      activation over the batch, averaged over the units. Each unit learns
      to fire for about a fraction rho of the samples: it sets the units'
      mean, not how many fire for each sample.
    * ``sparsity="l1"`` (the default): ReLU codes and their mean absolute
      value. The ReLU makes exact zeros possible: the penalty pushes a
      unit's pre-activation below zero where it is not needed, where it
      then stays at exactly 0 (an L1 penalty on unbounded linear codes only
      makes them small).

    The encoder (default or custom) has ``n_encoder_outputs = n_components``
    outputs, the pre-activations; the code activation is applied on top, so
    ``transform`` returns activations in (0, 1) for ``"kl"`` and in
    [0, inf) for ``"l1"``.

    Parameters
    ----------
    n_components : int, default=64
        Number of code units. May exceed the number of features.

    sparsity : {"kl", "l1"}, default="l1"
        The sparsity penalty and its code activation (sigmoid for ``"kl"``,
        ReLU for ``"l1"``), see above and the Notes.

    sparsity_weight : float, default=0.2
        Weight of the penalty relative to the mean squared error (both are
        means, so the balance does not depend on the number of features or
        units). With 0 the model is a plain autoencoder whose codes pass
        through the code activation. Higher is sparser, at a higher
        reconstruction error.

    sparsity_target : float, default=0.05
        The target mean activation rho of each unit under ``"kl"``, in
        (0, 1). Ignored for ``"l1"``.

    {network_parameters}
    {training_parameters}
    Attributes
    ----------
    code_sparsity_ : float
        Share of the training rows' code values that are inactive: below 5%
        of the largest code magnitude of their row, in [0, 1]. Higher is
        sparser; ``docs/user_guide.rst`` has the figures measured at several
        settings against the plain autoencoder.

    {fitted_attributes}
    See Also
    --------
    AutoencoderTransformer : The plain autoencoder, regularized by its bottleneck.
    DenoisingAutoencoder : Regularized by corrupting its training inputs.
    sklearn.decomposition.DictionaryLearning : Linear sparse coding.

    Notes
    -----
    ``score_samples`` returns minus the mean squared reconstruction error of
    each sample on the standardized features, as for
    :class:`AutoencoderTransformer`; the penalty is not part of it.

    The KL penalty is computed from each training batch's mean activations,
    so very small batches estimate them poorly; keep ``batch_size`` well
    above ``1 / sparsity_target``.

    The defaults, ``sparsity="l1"`` at weight 0.2 with 64 units, were
    chosen by ``python -m benchmarks sparse-study`` (``docs/quality.rst``,
    "Sparse codes"): on held-out MNIST, breast cancer, Poisson counts and a
    curved manifold they leave at least 0.36 more of the code values below
    5% of their row's largest than the plain :class:`AutoencoderTransformer`
    with as many units, and reconstruct better than PCA with the quality
    benchmark's 2 to 16 components (0.00108 to 0.6 of its error, over six
    data sets). The KL penalty at 0.1, the default before, left fewer
    such values than the plain model on five of the six data sets.
    Sparsity costs reconstruction: on MNIST the 64 sparse codes
    reconstruct at 2.05 times the plain model's error, and where the codes
    outnumber the features the plain model is exact. With narrow codes the
    penalty can switch most units off: with 4 units on the counts the
    error was 8.26 times PCA's; lower ``sparsity_weight`` there
    (``0.2 * n_components / n_features`` gave 0.746 times PCA's).

    Unlike the other autoencoders, training starts at random by default
    (``init="random"``): the codes pass through a ReLU (``"l1"``) or a
    sigmoid (``"kl"``), so PCA's codes are no start the model can represent.
    Measured on the Swiss roll (``benchmarks/quality.py``, 3 seeds), the
    PCA start stayed at PCA's error in 2 seeds of 3 (0.73 of it on average)
    where the random start reached 0.22.

    References
    ----------
    .. [1] A. Ng, "Sparse autoencoder", CS294A lecture notes, Stanford
       University, 2011.
    .. [2] I. Goodfellow, Y. Bengio and A. Courville, "Deep Learning",
       section 14.2.1, MIT Press, 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import SparseAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> sae = SparseAutoencoder(n_components=100, max_epochs=5, random_state=0)
    >>> codes = sae.fit_transform(X)
    >>> codes.shape
    (1797, 100)
    >>> bool((codes >= 0).all())  # ReLU codes
    True
    >>> bool((codes == 0).mean() > 0.4)  # half of them exactly 0
    True
    >>> 0 <= sae.code_sparsity_ <= 1
    True
    >>> sae.inverse_transform(codes).shape
    (1797, 64)
    """

    _parameter_constraints = {
        **_BaseAutoencoder._parameter_constraints,
        "sparsity": [StrOptions({"kl", "l1"})],
        "sparsity_weight": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
    }
    _fitted_attributes = {
        **_BaseAutoencoder._fitted_attributes,
        "code_sparsity_": number(low=0.0),
    }

    def __init__(
        self,
        n_components=64,
        *,
        sparsity="l1",
        sparsity_weight=0.2,
        sparsity_target=0.05,
        hidden_layer_sizes=(256, 128),
        activation="relu",
        encoder=None,
        decoder=None,
        init="random",
        standardize="auto",
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        trim_fraction=0.0,
        batch_size="auto",
        max_epochs=200,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            encoder=encoder,
            decoder=decoder,
            init=init,
            standardize=standardize,
            optimizer=optimizer,
            lr=lr,
            weight_decay=weight_decay,
            trim_fraction=trim_fraction,
            batch_size=batch_size,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            device=device,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
        )
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target

    _architecture_params = (*_BaseAutoencoder._architecture_params, "sparsity")

    def _finish_fit(self, X):
        # X is validated already: transform() would validate it again.
        self.code_sparsity_ = code_sparsity(self._inference().encode(X))

    def _module_settings(self):
        return {
            "weight": float(self.sparsity_weight),
            "target": float(self.sparsity_target),
        }

    def _build_module(self, X):
        return SparseAutoencoderModule(
            *self._encoder_decoder(X),
            penalty=self.sparsity,
            **self._module_settings(),
        )
