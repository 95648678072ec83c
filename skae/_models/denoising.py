"""The denoising autoencoder: trained to undo a corruption of its inputs."""

from numbers import Real

import torch

from .._base import _BaseAutoencoder
from .._base.module import AutoencoderModule
from .._compat import Interval, StrOptions
from .._docstrings import fill_doc
from .._file_checks import number
from .corruption import GaussianNoise, MaskingNoise, SaltAndPepperNoise

NOISES = ("gaussian", "masking", "salt_and_pepper")

# A standard deviation (relative to each feature's) and a probability are not
# on one scale, so each kind of noise has its own default level.
DEFAULT_NOISE_LEVELS = {"gaussian": 0.5, "masking": 0.25, "salt_and_pepper": 0.25}


class DenoisingAutoencoderModule(AutoencoderModule):
    """An autoencoder trained to reconstruct each batch from a corrupted copy.

    The loss is the error of the reconstruction of ``corruption(x)``
    against ``x``: in ``train()`` mode with fresh noise at each call, in
    ``eval()`` mode (validation) with the same noise at each call (see
    :meth:`~skae._base.module.AutoencoderModule.noise_generator`), so that the
    validation loss measures the objective of training, and its changes are
    those of the weights. ``encode``, ``decode`` and ``score_samples`` never
    corrupt.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(batch, n_features)`` to codes ``(batch, n_components)``.
    decoder : torch.nn.Module
        Maps codes back to ``(batch, n_features)``.
    corruption : torch.nn.Module
        Maps a batch and a generator to a corrupted batch of the same shape.
    """

    def __init__(self, encoder, decoder, corruption):
        super().__init__(encoder, decoder)
        self.corruption = corruption

    def forward(self, x):
        noisy = self.corruption(x, self.noise_generator(x))
        return self.squared_error(x, self.encode(noisy))


@fill_doc
class DenoisingAutoencoder(_BaseAutoencoder):
    """Autoencoder trained to reconstruct clean inputs from corrupted ones.

    At every training step each batch is corrupted afresh, and the loss is
    the mean squared error between the reconstruction of the corrupted batch
    and the clean batch. The model cannot simply copy its input, so it learns
    features that capture the structure of the data, and it can remove noise
    of the kind it was trained on. The corruption is applied only during
    training: ``transform``, ``inverse_transform`` and ``score_samples`` are
    deterministic and see the data as given.

    The noise is drawn from a torch generator seeded from ``random_state``
    at each ``fit`` (torch's global RNG is left untouched), so it differs
    between batches and epochs and is reproducible.

    The encoder (default or custom) has ``n_encoder_outputs = n_components``
    outputs: the code itself.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code (latent space).

    noise : {"gaussian", "masking", "salt_and_pepper"}, default="gaussian"
        The corruption applied to each training batch, entry by entry:

        * ``"gaussian"``: additive Gaussian noise of standard deviation
          ``noise_level`` in the standardized space, i.e. ``noise_level``
          times each feature's standard deviation (in the units of ``X`` when
          ``standardize=False``).
        * ``"masking"``: each entry is set to 0, in the units of ``X``, with
          probability ``noise_level`` (for images, a black pixel). To mask
          with each feature's mean instead, put a
          :class:`~sklearn.preprocessing.StandardScaler` before the model.
        * ``"salt_and_pepper"``: each entry is set, with probability
          ``noise_level``, to the minimum or the maximum (equally likely) of
          its feature in the training data.

    noise_level : float, default=None
        Strength of the noise: the relative standard deviation for
        ``"gaussian"`` (>= 0), the probability of corrupting an entry for
        ``"masking"`` and ``"salt_and_pepper"`` (in [0, 1]). With 0 the model
        is a plain autoencoder. None picks a moderate level for the kind of
        noise, as a standard deviation and a probability are not on one
        scale: 0.5 for ``"gaussian"``, 0.25 for ``"masking"`` and
        ``"salt_and_pepper"`` (within the ranges that Vincent et al. [2]_
        found to work); the value used is ``noise_level_``.

    {network_parameters}
    {training_parameters}
    Attributes
    ----------
    {fitted_attributes}
    noise_level_ : float
        The noise level used: ``noise_level``, or its default for ``noise``.

    See Also
    --------
    AutoencoderTransformer : The same model trained on clean inputs.
    SparseAutoencoder : Regularized by a sparsity penalty on the codes.

    Notes
    -----
    To denoise data, reconstruct it: ``dae.inverse_transform(dae.transform(X_noisy))``.

    ``score_samples`` returns minus the mean squared reconstruction error of
    each (uncorrupted) sample on the standardized features, as for
    :class:`AutoencoderTransformer`. The validation loss (with
    ``early_stopping``) is that of training, the error of reconstructing the
    validation rows from corrupted copies, with the same corruption at
    every epoch: the model is selected for denoising, the task it is
    trained for. (On clean rows, the linear start, PCA, would be hard to
    beat: it is the best linear reconstruction of clean data.)

    References
    ----------
    .. [1] P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol,
       "Extracting and composing robust features with denoising
       autoencoders", ICML 2008.
    .. [2] P. Vincent, H. Larochelle, I. Lajoie, Y. Bengio and
       P.-A. Manzagol, "Stacked denoising autoencoders", JMLR 11, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenoisingAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> dae = DenoisingAutoencoder(
    ...     n_components=16, noise="masking", noise_level=0.3, max_epochs=5,
    ...     random_state=0,
    ... ).fit(X)
    >>> rng = np.random.RandomState(0)
    >>> X_noisy = np.where(rng.uniform(size=X.shape) < 0.3, 0.0, X)
    >>> X_denoised = dae.inverse_transform(dae.transform(X_noisy))
    >>> X_denoised.shape
    (1797, 64)
    >>> bool((dae.transform(X) == dae.transform(X)).all())
    True
    """

    _parameter_constraints = {
        **_BaseAutoencoder._parameter_constraints,
        "noise": [StrOptions(set(NOISES))],
        "noise_level": [Interval(Real, 0, None, closed="left"), None],
    }
    _fitted_attributes = {
        **_BaseAutoencoder._fitted_attributes,
        "noise_level_": number(low=0.0),
    }

    def __init__(
        self,
        n_components=2,
        *,
        noise="gaussian",
        noise_level=None,
        hidden_layer_sizes=(256, 128),
        activation="relu",
        encoder=None,
        decoder=None,
        init="pca",
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
        self.noise = noise
        self.noise_level = noise_level

    def _check_params(self):
        self._noise_level()

    def _noise_level(self):
        """``noise_level``, or its default for ``noise``; a ValueError for a
        probability above 1."""
        level = self.noise_level
        if level is None:
            return DEFAULT_NOISE_LEVELS[self.noise]
        if self.noise != "gaussian" and level > 1:
            raise ValueError(
                f"noise_level is a probability for noise={self.noise!r} and "
                f"must be in [0, 1], got {level!r}."
            )
        return float(level)

    def _finish_fit(self, X):
        self.noise_level_ = self._noise_level()

    _architecture_params = (*_BaseAutoencoder._architecture_params, "noise")

    def _module_settings(self):
        level = "corruption.std" if self.noise == "gaussian" else "corruption.rate"
        return {level: self._noise_level()}

    def _build_module(self, X):
        level = self._noise_level()
        if self.noise == "gaussian":
            corruption = GaussianNoise(level)
        elif self.noise == "masking":
            # The value 0 of the raw data, in the scaled space.
            zero = (0.0 - self.mean_) / self.scale_
            corruption = MaskingNoise(level, zero)
        else:
            # Over the observed values (a feature never observed: 0).
            missing = torch.isnan(X)
            low = X.masked_fill(missing, torch.inf).min(dim=0).values
            high = X.masked_fill(missing, -torch.inf).max(dim=0).values
            low, high = low.nan_to_num(0.0, 0.0, 0.0), high.nan_to_num(0.0, 0.0, 0.0)
            corruption = SaltAndPepperNoise(level, low, high)
        return DenoisingAutoencoderModule(*self._encoder_decoder(X), corruption)
