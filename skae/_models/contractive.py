"""The contractive autoencoder: a penalty on the Jacobian of the encoder."""

from numbers import Real

import torch

from .._base import _BaseAutoencoder
from .._base.module import AutoencoderModule, warn_if_code_is_as_wide
from .._compat import Interval
from .._docstrings import fill_doc


class ContractiveAutoencoderModule(AutoencoderModule):
    """An autoencoder whose loss penalizes how fast the code moves with the input.

    The loss of a row is its mean squared error plus ``weight`` times the
    squared Frobenius norm of the encoder's Jacobian there, divided by the
    number of features (the error is a mean over features too).

    Parameters
    ----------
    encoder, decoder : torch.nn.Module
        As in :class:`~skae._base.module.AutoencoderModule`.
    weight : float
        Multiplier of the Jacobian penalty.
    """

    def __init__(self, encoder, decoder, *, weight):
        super().__init__(encoder, decoder)
        self.weight = weight

    def jacobian_norm(self, x):
        """Per-row squared Frobenius norm of d encode(x) / dx, and the codes.

        Exact: one backward pass per code unit, batched into one call. Used
        for the validation loss (under ``torch.no_grad``, as a number only).
        """
        differentiable = torch.is_grad_enabled()
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            codes = self.encode(x)
            n_rows, n_components = codes.shape
            basis = torch.eye(n_components, device=x.device, dtype=x.dtype)
            basis = basis[:, None, :].expand(n_components, n_rows, n_components)
            (jacobian,) = torch.autograd.grad(
                codes,
                x,
                basis,
                create_graph=differentiable,
                is_grads_batched=True,
            )
        return jacobian.pow(2).sum(dim=(0, 2)), codes

    def jacobian_norm_estimate(self, x):
        """An unbiased, differentiable estimate of :meth:`jacobian_norm`.

        For ``u ~ N(0, I)``, ``E ||u^T J||^2 = ||J||_F^2``: one backward pass
        with a random projection of the codes per row (Hoffman, Roberts and
        Yaida, 2019) instead of one per code unit, so the training step
        costs about as much whatever ``n_components``. The noise comes from
        the module's generator, and averages out over the steps of training.
        """
        x = x.detach().requires_grad_(True)
        codes = self.encode(x)
        projection = self.standard_normal(codes.shape, like=codes)
        (projected,) = torch.autograd.grad(codes, x, projection, create_graph=True)
        return projected.pow(2).sum(dim=1), codes

    def forward(self, x):
        if not self.weight:
            return super().forward(x)
        if torch.is_grad_enabled():
            penalty, codes = self.jacobian_norm_estimate(x)
        else:
            penalty, codes = self.jacobian_norm(x)
        return self.squared_error(x, codes) + self.weight * penalty / x.shape[1]


@fill_doc
class ContractiveAutoencoder(_BaseAutoencoder):
    """Autoencoder whose codes are made insensitive to small input changes.

    The training loss is the mean squared reconstruction error plus
    ``contraction_weight`` times the squared Frobenius norm of the Jacobian
    of the encoder, ``||d h(x) / dx||^2`` (Rifai et al., 2011). The penalty
    flattens the code in the directions in which the data do not vary, so
    that nearby inputs, and noisy copies of an input, get nearby codes,
    while the reconstruction term keeps the directions along the data.

    The encoder (default or custom) has ``n_encoder_outputs = n_components``
    outputs: the code itself. Training estimates the penalty with one
    random projection of the codes per row and step, an unbiased estimate
    that costs one extra backward pass whatever ``n_components`` (Hoffman
    et al., 2019); the validation loss uses the exact penalty.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code (latent space).

    contraction_weight : float, default=0.1
        Weight of the Jacobian penalty relative to the mean squared error.
        The penalty of a row is divided by the number of features, as the
        error is a mean over them. With 0 the model is the plain
        autoencoder.

    {network_parameters}
    {training_parameters}
    Attributes
    ----------
    {fitted_attributes}
    See Also
    --------
    AutoencoderTransformer : The plain autoencoder.
    DenoisingAutoencoder : Robust to input noise by training on noisy copies.

    Notes
    -----
    ``score_samples`` returns minus the mean squared reconstruction error of
    each sample in the scaled space, as for :class:`AutoencoderTransformer`;
    the penalty is not part of it.

    References
    ----------
    .. [1] S. Rifai, P. Vincent, X. Muller, X. Glorot and Y. Bengio,
       "Contractive auto-encoders: explicit invariance during feature
       extraction", ICML 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ContractiveAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> cae = ContractiveAutoencoder(n_components=8, max_epochs=3, random_state=0)
    >>> cae.fit_transform(X).shape
    (1797, 8)
    """

    _parameter_constraints = {
        **_BaseAutoencoder._parameter_constraints,
        "contraction_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        contraction_weight=0.1,
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
            n_components,
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
        self.contraction_weight = contraction_weight

    def _finish_fit(self, X):
        warn_if_code_is_as_wide(self)

    def _module_settings(self):
        return {"weight": float(self.contraction_weight)}

    def _build_module(self, X):
        return ContractiveAutoencoderModule(
            *self._encoder_decoder(X), **self._module_settings()
        )
