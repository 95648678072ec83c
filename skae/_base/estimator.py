"""The base class that every skae autoencoder shares.

It holds what is not specific to a model: its parameters and the hooks a
model fills in, input validation and scaling, and scikit-learn's API. The
work is done by collaborators it hands what they need:

- :class:`~skae._base.training.Trainer` trains (a fresh fit, a continued
  fit, ``partial_fit``);
- :class:`~skae._base.inference.Inference` runs the fitted module over rows
  in chunks;
- :mod:`~skae._base.rows` puts in-memory and out-of-core rows behind one
  interface;
- :mod:`~skae._base.saving` stores and rebuilds the net, for ``save`` and
  pickling.

A model is a subclass that declares its parameters and builds its torch
module (:meth:`_BaseAutoencoder._build_module`); the module computes its own
loss and scores (:class:`~skae._base.module.AutoencoderModule`).
"""

import time
from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import (
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._compat import (
    fit_context,
    input_feature_names,
    wrap_in_output_container,
)
from .architecture import architecture, changed_architecture
from .inference import Inference
from .missing import check_observed_features, has_missing
from .module import encoder_and_decoder
from .parameters import AutoencoderParameters
from .progress import fit_summary
from .rows import as_rows
from .saving import SaveableAutoencoder
from .tables import TableColumns
from .training import Trainer, TrainingSettings
from .utils import resolve_device, warn
from .validation import validate_codes

# A first partial_fit chunk smaller than this fixes the scaling from too few
# rows (one row: no spread at all) and a batch size below the smallest that
# batch_size="auto" picks for larger data: the fit warns.
MIN_FIRST_CHUNK_ROWS = 16


class _BaseAutoencoder(
    TableColumns,
    SaveableAutoencoder,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    AutoencoderParameters,
    metaclass=ABCMeta,
):
    """What every autoencoder shares: parameters, validation and sklearn's API.

    A subclass declares its parameters and implements :meth:`_build_module`.
    It may fill in the other hooks (checks, scaling, score arguments,
    callbacks, fitted attributes); everything else is shared. Its own methods
    run the network through :meth:`_inference`.
    """

    # ------------------------------------------------------------------
    # What a model provides

    @abstractmethod
    def _build_module(self, X):
        """Return the model's fresh :class:`AutoencoderModule` for the scaled
        training rows ``X`` (a float32 CPU tensor; ``mean_`` and ``scale_``
        are set). It runs under torch's global RNG seeded from
        ``random_state``, so weight initialization is reproducible."""

    def _check_params(self):
        """Check what parameter constraints cannot express; called first in fit."""

    def _fit_scaling(self, X):
        """Return the per-feature ``(mean, scale)`` applied before the network."""
        return self._fit_table_scaling(X)

    def _check_data(self, X):
        """Check validated data beyond sklearn's checks, for fit and inference."""

    def _score_kwargs(self):
        """Keyword arguments of the module's ``score_samples``, read at call time."""
        return {}

    def _module_settings(self):
        """``{module attribute (dotted path): value}`` that parameters set, for
        a continued fit to follow changed parameters (e.g. a penalty weight)."""
        return {}

    def _fit_callbacks(self):
        """skorch callbacks of the model's training schedule, as (name, callback)."""
        return []

    def _finish_fit(self, X):
        """Set fitted attributes that need the trained model; ``X`` as in fit."""

    # ------------------------------------------------------------------
    # Building blocks for models

    def _encoder_decoder(self, X, n_encoder_outputs=None):
        """``(encoder, decoder)`` for the scaled rows ``X``: see
        :func:`~skae._base.module.encoder_and_decoder`. The default encoder
        takes the mask of observed entries when ``X`` has missing ones."""
        return encoder_and_decoder(
            X.shape[1],
            int(self.n_components),
            hidden_layer_sizes=self.hidden_layer_sizes,
            activation=self.activation,
            encoder=self.encoder,
            decoder=self.decoder,
            n_encoder_outputs=n_encoder_outputs,
            takes_mask=has_missing(X),
        )

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on ``X``.

        A fit is all or nothing: if it raises (invalid data, a diverged
        loss, ``KeyboardInterrupt``), the estimator is left as it was.
        Ctrl-C is not swallowed, as skorch does, but propagates: inside a
        ``GridSearchCV`` it stops the search rather than scoring a partly
        trained model. With ``warm_start=True`` and a fitted model, training
        continues from the fitted weights (see ``warm_start``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; numeric, without NaN or infinity. A
            :class:`numpy.memmap`, a dask array or another array-like that
            is sliced by rows (h5py, zarr) is streamed in blocks, never
            copied whole (see "Data larger than memory" in :doc:`/scale`).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            For invalid data, and when training diverges (a loss, or outputs
            of the trained model on the training data, that are not finite).
        KeyboardInterrupt
            On Ctrl-C, with the estimator unchanged.
        """
        return self._fit_atomically(X, partial=False)

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train on one chunk of data: one pass over ``X``.

        The first call fixes the features and the input scaling (``mean_``
        and ``scale_``, from this chunk) and builds the network; each call,
        the first included, makes one pass over its chunk, continuing the
        weights and the optimizer state, as ``MLPRegressor.partial_fit``
        does. ``max_epochs``, ``early_stopping``, ``n_iter_no_change`` and
        ``tol`` are not used. ``n_iter_`` counts the passes and
        ``loss_curve_`` gets the training loss of each. Like ``fit``, a
        call that raises leaves the model as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One chunk of training data; out-of-core chunks are streamed as
            in ``fit``.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_atomically(X, partial=True)

    def _fit_atomically(self, X, *, partial):
        state = dict(self.__dict__)
        try:
            return self._fit(X, partial=partial)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit(self, X, *, partial=False):
        warm = self._continues(partial)
        rows = as_rows(self._validate_X(X, reset=not warm, training=True))
        self._check_params()
        rng = check_random_state(self.random_state)
        if partial and not warm and len(rows) < MIN_FIRST_CHUNK_ROWS:
            warn(
                f"The first partial_fit chunk has {len(rows)} rows: the input "
                "scaling (mean_, scale_) and batch_size='auto' are fixed from "
                f"it. Start with a chunk of at least {MIN_FIRST_CHUNK_ROWS} rows."
            )
        if not warm:
            self.device_ = resolve_device(self.device)
            # Out-of-core data: the scaling and the module come from a sample.
            sample = rows.sample(rng)
            check_observed_features(sample, type(self).__name__)
            self.mean_, self.scale_ = self._fit_scaling(sample)
        trainer = Trainer(
            self._training_settings(), self.mean_, self.scale_, self.device_
        )
        start = time.perf_counter()
        result = trainer.fit(
            rows,
            rng,
            net=self.net_ if warm else None,
            n_iter=self.n_iter_ if warm else 0,
            one_pass=partial,
        )
        self.net_ = result.net
        self.loss_curve_ = (self.loss_curve_ if warm else []) + result.losses
        self.n_iter_ = len(self.loss_curve_)
        self.stop_reason_ = result.stop_reason
        # A continued fit keeps it only if it kept its own start.
        linear = self.init == "pca" and (not warm or self.kept_linear_start_)
        self.kept_linear_start_ = bool(linear and result.kept_start)
        if result.warning is not None:
            warn(result.warning, ConvergenceWarning)
        self._finish_fit(rows)
        if self.verbose:
            print(fit_summary(self, time.perf_counter() - start))
        return self

    def _continues(self, partial):
        """Whether this fit continues the fitted net (``partial_fit``, and
        ``fit`` with ``warm_start=True``), which the architecture allows."""
        if not (partial or self.warm_start) or not hasattr(self, "net_"):
            return False
        changed = changed_architecture(self.net_.module_, self._architecture())
        if changed and partial:
            raise ValueError(
                f"partial_fit continues the fitted network, but {changed} changed "
                "since it was built. Set them back, or call fit for a new network."
            )
        if changed:
            warn(
                f"warm_start: {changed} changed since the fit; a new network is "
                "trained from scratch."
            )
        return not changed

    def _build_table_module(self, X):
        """:meth:`_build_module`, with the columns' terms for mixed columns."""
        module = self._build_module(X)
        if module.columns is None:
            module.columns = self._column_terms(X)
        return module

    def _architecture(self):
        return architecture(self.get_params(deep=False), self._architecture_params)

    def _training_settings(self):
        """What training reads of this estimator: see :class:`TrainingSettings`."""
        return TrainingSettings.from_params(
            self.get_params(deep=False),
            name=type(self).__name__,
            build_module=self._build_table_module,
            callbacks=tuple(self._fit_callbacks()),
            score_kwargs=self._score_kwargs(),
            module_settings=self._module_settings(),
            architecture=self._architecture(),
        )

    def _inference(self):
        """The :class:`~skae._base.inference.Inference` of the fitted model.

        For models' own methods that run the network on rows or codes
        (``VAE.sample``, the latent activity of a fit).
        """
        return Inference(
            self.net_.module_,
            self.device_,
            self.mean_,
            self.scale_,
            self.n_jobs,
            type(self).__name__,
        )

    def _impute(self, X, **kwargs):
        """``X`` with its missing entries filled by the module's
        ``fill_missing`` (``kwargs``: its options), for :class:`IWAEImputer`."""
        check_is_fitted(self)
        return self._inference().impute(self._validate_X(X, reset=False), **kwargs)

    # ------------------------------------------------------------------
    # Inference

    def transform(self, X):
        """Encode ``X`` into the latent space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The codes (for probabilistic models, the posterior means). A
            row's code does not depend on the other rows of ``X``: it is the
            same alone or in any batch, up to a unit or two in the last
            float32 place (chunks padded to a multiple of 16 rows make it
            bit for bit the same on one thread with most kernels).

        Raises
        ------
        ValueError
            For rows without finite codes: the network computes in float32,
            so rows whose scaled values exceed its range (about 3.4e38) or
            overflow it have none.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        inference = self._inference()
        return inference.check_finite(inference.encode(X), X, "transform")

    def inverse_transform(self, X):
        """Decode codes back to the input space, in the units of the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, `n_features_in_`)
            Reconstructions (for probabilistic models, the mean of p(x|z)).

        Raises
        ------
        ValueError
            For codes without a finite reconstruction (in the dtype of
            ``X``): codes beyond the float32 range of the network, or too
            far from those of the training data.
        """
        check_is_fitted(self)
        Z = validate_codes(X, self.net_.module_.n_components)
        inference = self._inference()
        decoded = inference.check_finite(inference.decode(Z), Z, "inverse_transform")
        return self._as_table(decoded)

    def score_samples(self, X):
        """Score each sample; higher means more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Per-sample scores (see the class description for their meaning).
            A row's score does not depend on the other rows of ``X`` (up to
            float32 rounding, as for :meth:`transform`). Rows
            that the float32 network cannot score (values far outside the
            training data, whose score overflows) score ``-inf``, the least
            normal score, never NaN.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._inference().scores(X, per_feature=False, **self._score_kwargs())

    def score_samples_per_feature(self, X):
        """Split each sample's score into one term per feature.

        The terms of a row sum to its :meth:`score_samples` (up to float
        rounding): the features with the lowest terms are those that made
        the row score low, which is what to look at first in a row flagged
        as an outlier.

        What a term is depends on the model's score: for the models scored by
        their reconstruction error, feature ``j``'s share of the mean squared
        error; for the probabilistic models, feature ``j``'s share of the
        log-likelihood (see each class).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to explain.

        Returns
        -------
        terms : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            One term per sample and feature, higher for more normal values,
            in the dtype of ``X``. A DataFrame whose columns are the input
            feature names (``feature_names_in_``, or ``x0``, ``x1``, ...)
            when ``set_output(transform="pandas")`` is set. Terms that are
            not finite are ``-inf``, never NaN: a row that
            :meth:`score_samples` scores ``-inf`` has at least one.

        See Also
        --------
        OutlierDetector.score_samples_per_feature : The same for a detector.

        Examples
        --------
        >>> import numpy as np
        >>> from skae import AutoencoderTransformer
        >>> rng = np.random.RandomState(0)
        >>> t = rng.uniform(-1, 1, size=(200, 1))
        >>> X = np.hstack([t, t**2, -t]) + 0.01 * rng.normal(size=(200, 3))
        >>> model = AutoencoderTransformer(
        ...     1, hidden_layer_sizes=(16,), max_epochs=50, random_state=0
        ... ).fit(X)
        >>> row = np.array([[0.5, -1.0, -0.5]])  # off the curve in feature 1
        >>> terms = model.score_samples_per_feature(row)
        >>> terms.shape
        (1, 3)
        >>> bool(np.isclose(terms.sum(), model.score_samples(row)[0]))
        True
        >>> int(np.argmin(terms))  # the feature that made the row an outlier
        1
        """
        check_is_fitted(self)
        X_valid = self._validate_X(X, reset=False)
        terms = self._inference().scores(
            X_valid, per_feature=True, **self._score_kwargs()
        )
        return wrap_in_output_container(terms, X, input_feature_names(self), self)

    def score(self, X, y=None):
        """Return the mean of :meth:`score_samples` over ``X``.

        Higher is better, so ``GridSearchCV`` can select models without a
        scorer, as with ``PCA``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            Mean of ``score_samples(X)``.
        """
        return float(np.mean(self.score_samples(X)))

    # ------------------------------------------------------------------
    # sklearn and pickling plumbing

    @property
    def _score_averages_features(self):
        """Whether the score is a mean over the observed features (an
        error), not a sum (a log-likelihood): how an
        :class:`~skae.OutlierDetector` completes the score of an incomplete
        row (see :mod:`~skae._outlier.missing`)."""
        return not self.net_.module_.score_is_log_density

    @property
    def _n_features_out(self):
        """Output features, for ``get_feature_names_out``; unfitted, a
        ``NotFittedError`` (an ``AttributeError``), as PCA's."""
        check_is_fitted(self)
        return self.net_.module_.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True  # densified block by block
        tags.input_tags.allow_nan = True  # missing entries: see _base/missing.py
        return tags
