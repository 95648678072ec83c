"""The importance weighted autoencoder: a VAE trained on a tighter bound."""

from .._docstrings import fill_doc
from .vae import VAE


@fill_doc
class IWAE(VAE):
    """Importance weighted autoencoder: a VAE trained on a tighter bound.

    The model is that of :class:`VAE` (same encoder, prior, decoders and
    ``score_samples``), but training maximizes the importance-weighted bound
    of Burda, Grosse and Salakhutdinov (2016), the log-mean-exp over ``k``
    samples of the importance weights ``log p(x, z_i) - log q(z_i | x)``.
    It tightens towards log p(x) as ``k`` grows; with ``k=1`` it is the ELBO
    and the IWAE is a VAE. A larger ``k`` usually yields a higher
    log-likelihood and a more active latent space, at the cost of ``k``
    decoder passes per row and step (batched in one pass).

    The encoder (default or custom) has ``n_encoder_outputs = 2 *
    n_components`` outputs: the posterior means followed by the posterior
    log-variances.

    Parameters
    ----------
    n_components : int, default=2
        Size of the latent space.

    {network_parameters}
    likelihood : {"auto", "gaussian", "bernoulli"} or dict, default="auto"
        The distribution of each column given z; see :class:`VAE`.

    k : int, default=5
        Importance samples per row in the training bound.

    k_eval : int, default=100
        Importance samples per row used by ``score_samples``; kept separate
        from ``k`` so that a grid over ``k`` is scored by one estimator.

    beta : float, default=1.0
        Weight of ``log p(z) - log q(z|x)`` inside each importance weight
        (``beta=1`` is the IWAE bound). ``score_samples`` ignores it.

    kl_warmup_epochs : int, default=10
        Epochs over which the weight of ``log p(z) - log q(z|x)`` grows from
        0 to ``beta``; see :class:`VAE`.

    min_variance : float in (0, 1], default=1e-3
        Floor of the Gaussian decoder's variance, per feature, as a fraction
        of the square of that feature's scale; see :class:`VAE`.

    noise_variance : {"per_feature", "shared"}, default="per_feature"
        One decoder variance per feature, or one for all; see :class:`VAE`.

    {training_parameters}
    Attributes
    ----------
    {fitted_attributes}
    latent_activity_ : ndarray of shape (n_components,)
        Variance of each latent dimension's posterior mean over the training
        data; see :class:`VAE`.

    n_active_components_ : int
        Number of latent dimensions with ``latent_activity_`` above 0.01.

    See Also
    --------
    VAE : The same model trained on the ELBO.
    sklearn.decomposition.PCA : Probabilistic PCA, the linear counterpart.

    Notes
    -----
    ``score_samples`` and ``score`` are those of :class:`VAE`: an
    importance-sampled log p(x) with ``k_eval`` samples, in the units of
    ``X``.

    The encoder is trained with the doubly reparameterized gradient (DReG,
    Tucker et al., 2019). The signal-to-noise ratio of the plain IWAE
    gradient of the encoder falls as ``k`` grows (Rainforth et al., 2018),
    so a larger ``k`` can train a worse encoder; DReG removes the
    zero-mean term responsible for that noise.

    References
    ----------
    Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance Weighted
    Autoencoders. ICLR.

    Rainforth, T. et al. (2018). Tighter Variational Bounds are Not
    Necessarily Better. ICML.

    Tucker, G., Lawson, D., Gu, S. and Maddison, C. J. (2019). Doubly
    Reparameterized Gradient Estimators for Monte Carlo Objectives. ICLR.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skae import IWAE
    >>> X, _ = load_digits(return_X_y=True)
    >>> X_train, X_test = train_test_split(X, random_state=0)
    >>> iwae = IWAE(n_components=4, k=5, max_epochs=5, random_state=0)
    >>> codes = iwae.fit(X_train).transform(X_test)
    >>> codes.shape
    (450, 4)
    >>> mean_log_likelihood = iwae.score(X_test)
    """

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256, 128),
        activation="relu",
        encoder=None,
        decoder=None,
        init="pca",
        likelihood="auto",
        k=5,
        k_eval=100,
        beta=1.0,
        kl_warmup_epochs=10,
        min_variance=1e-3,
        noise_variance="per_feature",
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
            likelihood=likelihood,
            k=k,
            k_eval=k_eval,
            beta=beta,
            kl_warmup_epochs=kl_warmup_epochs,
            min_variance=min_variance,
            noise_variance=noise_variance,
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

    _bound = "iwae"
