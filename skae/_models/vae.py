"""Variational autoencoders: VAE and IWAE, whose score is a log-likelihood."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._base import _BaseAutoencoder
from .._base.scaling import fit_scaling
from .._base.utils import warn
from .._compat import Integer, Interval, StrOptions
from .._docstrings import fill_doc
from .._file_checks import count, float_array
from .variational import (
    ACTIVE_UNIT_THRESHOLD,
    LIKELIHOODS,
    NOISE_VARIANCES,
    KLWarmup,
    VAEModule,
)


@fill_doc
class VAE(_BaseAutoencoder):
    """Variational autoencoder: a nonlinear, probabilistic PCA.

    A generative model ``z ~ N(0, I)``, ``x | z ~ p(x | z)`` whose decoder is
    a neural network, fitted by maximizing the evidence lower bound (ELBO)
    with a Gaussian encoder ``q(z | x)`` (Kingma and Welling, 2014). Like
    ``PCA``, it offers ``transform`` (the posterior mean), ``inverse_transform``
    (the mean of p(x|z)) and a ``score_samples`` that is the log-likelihood of
    each sample, so ``PCA``, ``FactorAnalysis``, ``VAE`` and ``IWAE`` can be
    compared on held-out data and chosen by ``GridSearchCV``.

    The encoder (default or custom) has ``n_encoder_outputs = 2 *
    n_components`` outputs: the posterior means followed by the posterior
    log-variances. The decoder outputs the mean of p(x|z) (``"gaussian"``) or
    its logits (``"bernoulli"``).

    Parameters
    ----------
    n_components : int, default=2
        Size of the latent space, named as in ``PCA`` so that a grid written
        for PCA works unchanged.

    {network_parameters}
    likelihood : {"auto", "gaussian", "bernoulli"} or dict, default="auto"
        The distribution p(x|z) of each column (see "Mixed-type tables" in
        the user guide).

        - ``"auto"``: from the columns' dtypes. In a DataFrame, ``category``
          and ``string`` columns, and ``object`` columns of values that are
          not all numbers, are categorical, ``bool`` (and ``boolean``)
          columns bernoulli, and numbers, integers included, gaussian. An
          array of numbers is all gaussian.
        - ``"gaussian"``: every column, with a mean given by the decoder and
          a learned variance per feature (shared by all samples, as the
          noise of ``FactorAnalysis``), so the density is proper and in the
          units of ``X``.
        - ``"bernoulli"``: every column, for binary data (or data in [0, 1]);
          the decoder outputs logits, ``X`` is used as given
          (``standardize`` is ignored) and must lie in [0, 1].
        - a dict ``{column name or position: kind}`` overrides ``"auto"``
          for the columns it names, with kind ``"gaussian"``,
          ``"bernoulli"``, ``"categorical"`` or ``"poisson"`` (counts:
          non-negative integers), e.g. ``{"year": "categorical",
          "n_rooms": "poisson"}``.

        Each column's term of :meth:`score_samples` is an exact
        log-probability: a category's, a flag's and a count's in nats of
        their values, a number's a log-density in its own units.
        ``inverse_transform`` and :meth:`sample` return, for mixed columns, a
        DataFrame of the training columns and dtypes.

    k : int, default=1
        Latent samples drawn per row and training step; the ELBO is averaged
        over them (one batched pass, no loop).

    k_eval : int, default=100
        Importance samples per row used by ``score_samples`` to estimate
        log p(x). It is separate from ``k`` so that models trained with
        different ``k`` are scored by the same estimator (a grid over ``k``
        would otherwise favour large ``k`` through a tighter evaluation bound
        alone). The estimate is a lower bound in expectation that tightens as
        ``k_eval`` grows; it may be changed after fitting.

    beta : float, default=1.0
        Weight of the KL term in the training objective (beta-VAE, Higgins et
        al., 2017). ``beta=1`` is the ELBO. ``score_samples`` always uses the
        true model, whatever ``beta``.

    kl_warmup_epochs : int, default=10
        Epochs over which the weight of the KL term grows linearly from 0 to
        ``beta`` at the start of training (KL annealing, Bowman et al., 2016).
        Without it the KL term can switch latent dimensions off before the
        decoder has learned to use them (posterior collapse). ``0`` trains
        on the full bound from the first epoch. The recorded loss
        (``loss_curve_``) is always the full bound, and warm-up epochs never
        count towards early stopping.

    min_variance : float in (0, 1], default=1e-3
        Floor of the Gaussian decoder's variance, per feature, as a fraction
        of the square of the feature's scale as ``standardize="auto"``
        measures it: its own spread (of the values that depart from its
        median), or, for features in one unit (pixels, counts), the spread
        they share. No feature is predicted more precisely than
        ``sqrt(min_variance)`` (about 3 %) of that scale, whatever the units
        of columns in other units. Without a floor the likelihood of a
        constant feature is unbounded, and nearly constant features (such as
        the border pixels of digits) get tiny variances that make any unseen
        value on them cost thousands of nats. Ignored for ``"bernoulli"``.

    noise_variance : {"per_feature", "shared"}, default="per_feature"
        The variance of the Gaussian decoder, in the scaled space:
        ``"per_feature"`` learns one per feature, as the noise of
        ``FactorAnalysis``; ``"shared"`` one for all features, as
        probabilistic PCA (``PCA.score_samples``), each above its feature's
        floor. Per-feature variances fit tables whose features are predicted
        with very different precision; a shared one keeps the features the
        model predicts best (the background pixels of images) from deciding
        a row's log-likelihood, which ranks outliers among images better
        (see :class:`OutlierDetector`). Ignored for ``"bernoulli"``.

    {training_parameters}
    Attributes
    ----------
    {fitted_attributes}
    latent_activity_ : ndarray of shape (n_components,)
        Variance over the training data of each latent dimension's posterior
        mean. A dimension whose activity is near 0 is unused (its posterior
        is the prior for every row).

    n_active_components_ : int
        Number of latent dimensions with ``latent_activity_`` above 0.01
        (Burda et al., 2016). A warning is issued when fewer than half are
        active.

    See Also
    --------
    IWAE : The same model trained on a tighter, importance-weighted bound.
    sklearn.decomposition.PCA : Probabilistic PCA, the linear counterpart.
    sklearn.decomposition.FactorAnalysis : Linear, with per-feature noise.

    Notes
    -----
    ``score_samples`` estimates log p(x) by importance sampling with
    ``k_eval`` draws from q(z|x):
    ``log (1/K) sum_i p(x, z_i) / q(z_i | x)``. The same standard normal
    noise (drawn once per fit from ``random_state``) serves every row, so the
    scores are deterministic, and a row's score does not depend on the other
    rows (up to float32 rounding, see :meth:`score_samples`). For
    ``"gaussian"`` it is a log-density of ``X`` in its original units: the
    log-Jacobian of the internal standardization, ``-sum(log(scale_))``, is
    included, so the number is directly comparable with
    ``PCA.score_samples``. For ``"bernoulli"`` it is a log-probability of
    binary ``X``. ``score`` is the mean.

    ``score_samples_per_feature`` splits that estimate exactly into one term
    per feature: the feature's log-likelihood under the normalized
    importance weights of the ``k_eval`` draws, its own log-Jacobian
    ``-log(scale_[j])``, and an equal share of the row's latent part
    (``log p(z) - log q(z|x)`` under the same weights, their entropy and
    ``-log k_eval``), which changes no feature's standing within its row. It
    costs about twice ``score_samples`` (a first pass sets the weights).

    Training uses the KL divergence between the Gaussian posterior and the
    prior in closed form (lower-variance gradients than a sampled estimate).
    The training loss (``loss_curve_``) is minus the bound in nats per
    sample, measured in the scaled space, so it differs from ``-score`` by
    the log-Jacobian unless ``standardize=False``.

    References
    ----------
    Kingma, D. P. and Welling, M. (2014). Auto-Encoding Variational Bayes. ICLR.

    Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance Weighted
    Autoencoders. ICLR.

    Bowman, S. R. et al. (2016). Generating Sentences from a Continuous
    Space. CoNLL.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VAE
    >>> X, _ = load_digits(return_X_y=True)
    >>> vae = VAE(n_components=4, max_epochs=5, random_state=0)
    >>> vae.fit(X).transform(X).shape
    (1797, 4)
    >>> log_likelihood = vae.score_samples(X[:3])  # log p(x), nats
    >>> vae.sample(5, random_state=0).shape
    (5, 64)
    """

    _parameter_constraints = {
        **_BaseAutoencoder._parameter_constraints,
        "likelihood": [StrOptions({"auto", *LIKELIHOODS}), dict],
        "k": [Integer(1)],
        "k_eval": [Integer(1)],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup_epochs": [Integer(0)],
        # A fraction of each feature's own squared scale: a floor above it
        # would exceed the data's own variance (and 1e39 overflows float32).
        "min_variance": [Interval(Real, 0, 1, closed="right")],
        "noise_variance": [StrOptions(set(NOISE_VARIANCES))],
    }
    _fitted_attributes = {
        **_BaseAutoencoder._fitted_attributes,
        "latent_activity_": float_array("n_components", low=0.0),
        "n_active_components_": count(0, "n_components"),
    }

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
        k=1,
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
        self.likelihood = likelihood
        self.k = k
        self.k_eval = k_eval
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.min_variance = min_variance
        self.noise_variance = noise_variance

    # The bound the module is trained on; IWAE changes it.
    _bound = "elbo"

    def _column_likelihood(self):
        return self.likelihood

    def _build_module(self, X):
        columns = self._column_terms(X)
        return VAEModule(
            *self._encoder_decoder(X, n_encoder_outputs=2 * self.n_components),
            n_components=int(self.n_components),
            likelihood=self._uniform_kind() if columns is None else "mixed",
            columns=columns,
            bound=self._bound,
            **self._module_settings(),
            variance_floor=self._variance_floor(X),
            noise_variance=self.noise_variance,
            # Drawn from the seeded RNG of fit: reproducible under random_state.
            eval_seed=int(torch.randint(2**31 - 1, ()).item()),
        )

    def _variance_floor(self, X):
        """Per-feature floor of the decoder variance, in the scaled units.

        ``min_variance`` times the square of each feature's scale as
        ``standardize="auto"`` measures it on the scaled data: its own
        spread, or, for features in one unit, the unit they share. So no
        column in other units enters it, and no pixel that is rarely lit
        gets a variance far below that of the others.
        """
        if self._uniform_kind() == "bernoulli":
            return None
        layout = self._mixed_layout()
        X = X.double().numpy()
        scale = (
            fit_scaling(X, "auto")[1]
            if layout is None
            else layout.scaling(X, "auto")[1]
        )
        return self.min_variance * scale**2

    def _fit_scaling(self, X):
        if self._uniform_kind() == "bernoulli":  # p(x|z) is over X as it is
            return np.zeros(X.shape[1]), np.ones(X.shape[1])
        return super()._fit_scaling(X)

    def _check_data(self, X):
        if (
            self._uniform_kind() == "bernoulli"
            and X.size
            and (X.min() < 0 or X.max() > 1)
        ):
            raise ValueError(
                f"{type(self).__name__}(likelihood='bernoulli') needs X in "
                f"[0, 1], got values in [{X.min():g}, {X.max():g}]. "
                "Binarize or rescale X (e.g. sklearn.preprocessing."
                "MinMaxScaler), or use likelihood='gaussian'."
            )

    _architecture_params = (
        *_BaseAutoencoder._architecture_params,
        "likelihood",
        "noise_variance",
        "min_variance",
    )

    def _module_settings(self):
        return {"k": int(self.k), "beta": float(self.beta)}

    def _score_kwargs(self):
        # Read at call time, so validated here too: k_eval may be set after fit.
        if not Integer(1).is_satisfied_by(self.k_eval):
            raise ValueError(
                f"The 'k_eval' parameter of {type(self).__name__} must be an int "
                f"in the range [1, inf), got {self.k_eval!r}."
            )
        return {"k": int(self.k_eval)}

    def _fit_callbacks(self):
        return [("kl_warmup", KLWarmup(int(self.kl_warmup_epochs)))]

    def _finish_fit(self, X):
        # X is validated already: transform() would validate it again, and
        # warn that a DataFrame's feature names are missing.
        codes = self._inference().encode(X)
        self.latent_activity_ = codes.var(axis=0).astype(np.float64)
        self.n_active_components_ = int(
            np.sum(self.latent_activity_ > ACTIVE_UNIT_THRESHOLD)
        )
        if self.n_active_components_ < self.n_components / 2:
            warn(
                f"Only {self.n_active_components_} of the {self.n_components} "
                f"latent dimensions of {type(self).__name__} are active (the "
                "variance of their posterior mean over the training data is "
                f"above {ACTIVE_UNIT_THRESHOLD}); the others are unused "
                "(posterior collapse). Use fewer n_components, a longer "
                "kl_warmup_epochs or a smaller beta.",
            )

    # ------------------------------------------------------------------
    # Public API beyond the base

    def sample(self, n_samples=1, *, random_state=None, noise=False):
        """Draw new data from the generative model.

        Each sample decodes a latent ``z ~ N(0, I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws (numpy's global RNG if None, as in
            ``KernelDensity.sample``).
        noise : bool, default=False
            If False, return the mean of p(x|z) for each ``z`` (smooth
            samples; probabilities for ``"bernoulli"``). If True, return a
            draw from p(x|z): Gaussian noise of the learned per-feature
            variance added, or binary values for ``"bernoulli"``.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            Samples in the units of the training data; for mixed-type
            columns a DataFrame of the training columns and dtypes, each
            category the most probable one (a draw, with ``noise=True``).
        """
        check_is_fitted(self)
        if not Integer(1).is_satisfied_by(n_samples):
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}.")
        rng = check_random_state(random_state)
        Z = rng.standard_normal((n_samples, self.net_.module_.n_components))
        X = self._inference().map(Z, lambda module, z: module.decode(z), scaled=False)
        layout = self._mixed_layout()
        if noise:
            if self._uniform_kind() == "bernoulli" and layout is None:
                X = (rng.uniform(size=X.shape) < X).astype(X.dtype)
            else:
                with torch.no_grad():
                    std = self.net_.module_.variance().sqrt().cpu().double().numpy()
                if layout is not None:  # the other columns are drawn below
                    std = np.where(layout.kind_mask("gaussian"), std, 0.0)
                X = X + std * rng.standard_normal(X.shape)
        return self._as_table(X * self.scale_ + self.mean_, rng if noise else None)
