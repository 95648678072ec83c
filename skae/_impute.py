"""The importance-weighted imputer: a scikit-learn imputer built on the IWAE."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import clone
from sklearn.impute import MissingIndicator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import _BaseAutoencoder
from ._base.columns import is_mixed_table
from ._base.validation import (
    FLOAT_DTYPES,
    NON_NUMERIC_ERRORS,
    check_no_datetimes,
    check_no_infinity,
)
from ._compat import (
    BaseImputer,
    HasMethods,
    Integer,
    Interval,
    feature_names_in,
    fit_context,
    missing_mask,
)
from ._impute_table import fit_table, transform_table
from ._models.iwae import IWAE
from ._models.vae import VAE


class IWAEImputer(BaseImputer):
    """Impute missing values with an importance-weighted autoencoder (MIWAE).

    An :class:`IWAE` is trained on the incomplete rows themselves: its bound
    covers the observed entries only, the missing ones marginalized out
    (MIWAE, Mattei and Frellsen, 2019). Each missing entry is then filled
    with its conditional mean E[x_mis | x_obs], estimated by self-normalized
    importance sampling over ``n_draws`` draws from the encoder; observed
    entries are returned unchanged. With ``sample_posterior=True`` it draws
    one imputation from the model instead (sampling importance
    resampling), for multiple imputation.

    Any skae autoencoder can impute instead (``estimator``): a
    :class:`VAE` or :class:`IWAE` as above, a plain, sparse, denoising or
    contractive autoencoder by its reconstruction (see Notes).

    Parameters
    ----------
    estimator : skae autoencoder, default=None
        The model to impute with, cloned and fitted on the incomplete rows.
        None: an :class:`IWAE` with the parameters below, which are ignored
        when an estimator is given.

    n_components : int, default=8
        Size of the IWAE's latent space.

    hidden_layer_sizes : tuple of int, default=(128, 128)
        Hidden layers of the IWAE's encoder (and, mirrored, its decoder).

    k : int, default=5
        Importance samples per row in the IWAE's training bound. Measured
        against the MIWAE paper's 20 (``docs/imputation.rst``): 5 trains
        4.7 times faster, with an RMSE within 6% on every benchmark table
        and an equal or better mean rank.

    max_epochs : int, default=200
        Most epochs of training; early stopping on held-out rows usually
        ends it sooner.

    lr : float, default=1e-3
        Learning rate of the IWAE.

    n_draws : int, default=1000
        Importance draws per row for the conditional mean (or the one
        resampled draw). More draws give a more precise mean; the cost is
        one decoder pass per draw.

    sample_posterior : bool, default=False
        Fill each missing entry with a draw from p(x_mis | x_obs) instead of
        its mean, as ``IterativeImputer(sample_posterior=True)``; imputations
        with different ``random_state`` are then multiple imputations.
        Needs a probabilistic model (the default, a :class:`VAE` or an
        :class:`IWAE`).

    missing_values : int, float, str, np.nan or None, default=np.nan
        The placeholder for missing values; every occurrence is imputed.
        ``pd.NA`` is taken as ``np.nan``.

    add_indicator : bool, default=False
        Append a :class:`~sklearn.impute.MissingIndicator` of the features
        that had missing values in ``fit``.

    keep_empty_features : bool, default=False
        Keep the features that are missing in every row of ``fit`` (filled
        with 0), rather than dropping them from the output.

    device : str or torch.device, default="auto"
        Where the IWAE trains and runs: see :class:`IWAE`.

    random_state : int, RandomState instance or None, default=None
        Seeds the IWAE's training and, with ``sample_posterior``, the draws.

    verbose : int, default=0
        Verbosity of the IWAE's training.

    Attributes
    ----------
    estimator_ : skae autoencoder
        The fitted model.

    indicator_ : MissingIndicator or None
        The indicator of missing values, if ``add_indicator``.

    n_features_in_ : int
        Number of features seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit``, when they are all strings.

    See Also
    --------
    sklearn.impute.IterativeImputer : Round-robin regression of each feature.
    sklearn.impute.KNNImputer : The mean of the nearest complete neighbours.
    IWAE : The model, which also scores incomplete rows (``score_samples``).

    Notes
    -----
    An autoencoder that is not probabilistic fills a row by its
    reconstruction: an encoder trained on rows with missing entries (one
    whose training data had some) sees the row with its mask, and one
    pass fills it; an encoder that never saw missing entries gets the row
    filled by its own reconstruction, repeatedly, each row keeping the fill
    whose reconstruction is closest to its observed entries, so that more
    passes cannot drift away.

    References
    ----------
    Mattei, P.-A. and Frellsen, J. (2019). MIWAE: Deep Generative Modelling
    and Imputation of Incomplete Data Sets. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import IWAEImputer
    >>> rng = np.random.RandomState(0)
    >>> t = rng.normal(size=(300, 1))
    >>> X = np.hstack([t, 2 * t, t**2]) + 0.05 * rng.normal(size=(300, 3))
    >>> X_missing = X.copy()
    >>> X_missing[rng.uniform(size=X.shape) < 0.2] = np.nan
    >>> imputer = IWAEImputer(max_epochs=20, random_state=0)
    >>> X_filled = imputer.fit_transform(X_missing)
    >>> bool(np.isnan(X_filled).any())
    False
    >>> observed = ~np.isnan(X_missing)
    >>> bool(np.array_equal(X_filled[observed], X[observed]))
    True
    """

    _parameter_constraints = {
        **BaseImputer._parameter_constraints,
        "estimator": [HasMethods(["fit", "transform"]), None],
        "n_components": [Integer(1)],
        "hidden_layer_sizes": [tuple, list, Integral],
        "k": [Integer(1)],
        "max_epochs": [Integer(0)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "n_draws": [Integer(1)],
        "sample_posterior": ["boolean"],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_components=8,
        hidden_layer_sizes=(128, 128),
        k=5,
        max_epochs=200,
        lr=1e-3,
        n_draws=1000,
        sample_posterior=False,
        missing_values=np.nan,
        add_indicator=False,
        keep_empty_features=False,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            missing_values=missing_values,
            add_indicator=add_indicator,
            keep_empty_features=keep_empty_features,
        )
        self.estimator = estimator
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.k = k
        self.max_epochs = max_epochs
        self.lr = lr
        self.n_draws = n_draws
        self.sample_posterior = sample_posterior
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _validate_missing(self, X, *, reset):
        """``X`` validated, as float, with NaN where values are missing, and
        the mask of missing values."""
        check_no_datetimes(self, X)
        try:
            X = validate_data(
                self,
                X,
                reset=reset,
                dtype=FLOAT_DTYPES,
                ensure_all_finite="allow-nan",
                copy=True,
            )
        except (TypeError, ValueError) as exc:
            if not any(phrase in str(exc) for phrase in NON_NUMERIC_ERRORS):
                raise
            raise type(exc)(
                f"IWAEImputer needs numbers, or a DataFrame whose categories "
                f"are category, string or object columns; X has values that "
                f"are neither ({exc})."
            ) from exc
        check_no_infinity(X)
        mask = missing_mask(X, self.missing_values)
        X[mask] = np.nan
        return X, mask

    def _make_estimator(self):
        if self.estimator is None:
            return IWAE(
                self.n_components,
                hidden_layer_sizes=self.hidden_layer_sizes,
                k=self.k,
                max_epochs=self.max_epochs,
                lr=self.lr,
                device=self.device,
                random_state=self.random_state,
                verbose=self.verbose,
            )
        if not isinstance(self.estimator, _BaseAutoencoder):
            raise TypeError(
                "IWAEImputer imputes through a skae autoencoder (VAE, IWAE, "
                "AutoencoderTransformer, ...), got "
                f"{type(self.estimator).__name__}. For other models, use "
                "sklearn.impute.IterativeImputer(estimator=...)."
            )
        return clone(self.estimator)

    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the model on the incomplete rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing values (``missing_values``).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        estimator = self._make_estimator()
        if self.sample_posterior and not isinstance(estimator, VAE):
            raise ValueError(
                "sample_posterior=True draws from p(x_mis | x_obs), which "
                f"{type(estimator).__name__} does not model: use a VAE or an "
                "IWAE (the default estimator)."
            )
        if is_mixed_table(X):
            return fit_table(self, X, estimator)
        X, mask = self._validate_missing(X, reset=True)
        self._valid_mask = ~mask.all(axis=0)
        self.indicator_ = (
            MissingIndicator(error_on_new=False).fit(X) if self.add_indicator else None
        )
        self.estimator_ = estimator.fit(X[:, self._valid_mask])
        return self

    def transform(self, X):
        """Fill the missing values of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing values.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features_out)
            ``X`` with every missing value filled, its observed values
            unchanged; without the features missing in every row of
            ``fit`` unless ``keep_empty_features``, and with the indicator
            columns appended if ``add_indicator``.
        """
        check_is_fitted(self)
        if self.estimator_._mixed_layout() is not None:
            return transform_table(self, X, self._fill_kwargs())
        X, mask = self._validate_missing(X, reset=False)
        indicator = None if self.indicator_ is None else self.indicator_.transform(X)
        valid = self._valid_mask
        kept = X[:, valid]
        rows = np.flatnonzero(np.isnan(kept).any(axis=1))
        if len(rows):
            kept[rows] = self.estimator_._impute(kept[rows], **self._fill_kwargs())
        if self.keep_empty_features:
            X[:, valid] = kept
            X[:, ~valid] = 0.0
        else:
            X = kept
        return X if indicator is None else np.hstack([X, indicator])

    def _fill_kwargs(self):
        """What the model's ``fill_missing`` takes: draws, and a seeded
        generator for ``sample_posterior``."""
        if not isinstance(self.estimator_, VAE):
            return {}
        kwargs = {"k": int(self.n_draws)}
        if self.sample_posterior:
            seed = check_random_state(self.random_state).randint(2**31 - 1)
            generator = torch.Generator(device=self.estimator_.device_)
            kwargs["generator"] = generator.manual_seed(int(seed))
        return kwargs

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; ``feature_names_in_`` (or ``x0``, ``x1``,
            ...) if None.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The kept input features, then the indicator's.
        """
        check_is_fitted(self, "n_features_in_")
        input_features = feature_names_in(self, input_features)
        names = (
            input_features
            if self.keep_empty_features
            else input_features[self._valid_mask]
        )
        if self.indicator_ is None:
            return names
        indicator = self.indicator_.get_feature_names_out(input_features)
        return np.concatenate([names, indicator])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
