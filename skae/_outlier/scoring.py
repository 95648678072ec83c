"""How a detector scores rows: its estimator's score, or the reconstruction's.

:class:`DetectorScoring` holds the detector's methods that score new rows
(``score_samples``, ``decision_function``, ``predict``, ``predict_proba``,
``score_samples_per_feature``); :func:`reconstruction_terms` is the
reconstruction score of any transformer with ``inverse_transform``.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._base.columns import is_mixed_table
from .._base.data import iter_row_chunks
from .._base.scaling import standardize
from .._base.validation import (
    dense_rows,
    takes_nan,
    validate_passed_on,
    validate_table_names,
)
from .._compat import input_feature_names, wrap_in_output_container
from .missing import (
    TYPICAL_TERM_ROWS,
    completed_scores,
    full_row_terms,
    incomplete_rows,
    take_rows,
    typical_terms,
)

# The message of skae's ValueError for rows that its network cannot map to
# finite values (see Inference.check_finite): only that error marks rows.
NO_FINITE_RESULT = "has no finite result"


def reconstruction_terms(estimator, X):
    """Yield ``-(x_j - x_hat_j)**2 / n_features`` for chunks of rows.

    The terms of the reconstruction score of each feature, in float64:
    their sum over the features is minus the mean squared error. In
    chunks, so that memory stays bounded for large (or out-of-core) X.
    Rows without a reconstruction (see :func:`reconstruct`) have ``-inf``
    terms where the reconstruction is NaN; missing values have NaN terms.
    """
    if is_mixed_table(X):
        raise ValueError(
            "method='reconstruction' scores squared errors of numbers, but X "
            "has categorical or flag columns; use method='score_samples', "
            "whose per-column terms cover every kind of column."
        )
    for chunk in iter_row_chunks(X):
        chunk = dense_rows(chunk)
        reconstruction = reconstruct(estimator, chunk)
        with np.errstate(over="ignore", invalid="ignore"):
            terms = np.subtract(chunk, reconstruction, dtype=np.float64)
            terms **= 2
            terms /= -chunk.shape[1]
        # NaN marks a missing value only; a value without a reconstruction
        # is as bad as can be.
        missing = np.isnan(chunk)
        terms[np.isnan(terms) & ~missing] = -np.inf
        yield terms


def reconstruct(estimator, rows):
    """``inverse_transform(transform(rows))``, also when some rows have none.

    A skae estimator raises a ``ValueError`` saying that it "has no finite
    result" when a row lies so far outside its training data that its
    network overflows; one such row must not fail the others. Its
    reconstruction here is NaN where the row's scaled value is beyond the
    float32 range of the network (those features are to blame) and the
    row itself elsewhere (a zero error); NaN throughout when no feature is
    out of range (the overflow happened inside the network). Such rows are
    found without a further call when their values are out of range, and
    by splitting the rows in halves otherwise. Any other error is raised.
    """
    try:
        reconstruction = estimator.inverse_transform(estimator.transform(rows))
    except ValueError as error:
        if NO_FINITE_RESULT not in str(error):
            raise
    else:
        return _checked_reconstruction(estimator, reconstruction, rows)
    out_of_range = _out_of_range(estimator, rows)
    failed = out_of_range.any(axis=1)
    if len(rows) == 1:
        failed[:] = True
    reconstruction = np.array(rows, dtype=np.float64)
    reconstruction[failed] = np.where(
        out_of_range[failed] | ~out_of_range[failed].any(axis=1, keepdims=True),
        np.nan,
        reconstruction[failed],
    )
    rest = np.flatnonzero(~failed)
    if len(rest) == len(rows):  # none out of range: split in halves
        halves = [rest[: len(rest) // 2], rest[len(rest) // 2 :]]
    else:
        halves = [rest] if len(rest) else []
    for half in halves:
        reconstruction[half] = reconstruct(estimator, rows[half])
    return reconstruction


def _out_of_range(estimator, rows):
    """Where the values of ``rows`` are infinite in float32 once scaled.

    Scaled by the estimator's ``mean_`` and ``scale_`` when it has both
    for every feature (skae's estimators), as its network receives them.
    """
    mean = getattr(estimator, "mean_", None)
    scale = getattr(estimator, "scale_", None)
    with np.errstate(over="ignore", invalid="ignore"):
        if np.shape(mean) == np.shape(scale) == (rows.shape[1],):
            rows = standardize(rows, np.asarray(mean), np.asarray(scale))
        return ~np.isfinite(np.asarray(rows).astype(np.float32))


def _checked_reconstruction(estimator, reconstruction, rows):
    """``reconstruction`` as an array, after checking that it has the shape
    of ``rows``."""
    reconstruction = np.asarray(reconstruction)
    if reconstruction.shape != rows.shape:
        raise ValueError(
            f"{type(estimator).__name__}.inverse_transform(transform(X)) "
            f"returned shape {reconstruction.shape} for X of shape "
            f"{rows.shape}: method='reconstruction' needs one reconstruction "
            "of each row, with its features."
        )
    return reconstruction


def _checked_scores(estimator, X, per_feature):
    """The estimator's scores of ``X`` as a float array, after checking
    their shape.

    Its ``score_samples`` (one score per row), or with ``per_feature=True``
    its ``score_samples_per_feature`` (one per row and feature).
    """
    method = "score_samples_per_feature" if per_feature else "score_samples"
    scores = np.asarray(getattr(estimator, method)(X))
    expected = (X.shape[0], X.shape[1]) if per_feature else (X.shape[0],)
    if scores.shape != expected or scores.dtype.kind not in "biuf":
        raise ValueError(
            f"{type(estimator).__name__}.{method} returned {scores.dtype} "
            f"values of shape {scores.shape} for {X.shape[0]} rows of "
            f"{X.shape[1]} features; OutlierDetector needs real numbers of "
            f"shape {expected}."
        )
    return scores.astype(np.result_type(scores.dtype, np.float32))


def _observed_sum(terms):
    """Row sums of per-feature terms over the observed (not NaN) features."""
    if np.isnan(terms).any():
        return np.where(np.isnan(terms), 0.0, terms).sum(axis=1)
    return terms.sum(axis=1)


class DetectorScoring:
    """The methods of :class:`~skae.OutlierDetector` that score rows."""

    def _validate(self, X, *, reset):
        """Validated ``X``; out-of-core data stay out of core, sparse stays
        sparse: see :func:`~skae._base.validation.validate_passed_on`.

        Of a memory map or a dask array only the first rows are checked
        here (width, type, names); the estimator checks every block it reads.
        A DataFrame of mixed-type columns stays one: the estimator encodes
        them.
        """
        if is_mixed_table(X):
            return validate_table_names(self, X, reset=reset)
        return validate_passed_on(self, X, reset=reset)

    def _scores(self, X, *, per_feature=False, estimator=None, typical=None):
        """Scores of validated rows ``X``, higher for more normal samples.

        Per sample, or with ``per_feature=True`` split into one term per
        feature that sum to the sample's score. Scores that are not finite
        are ``-inf``: a NaN compared with the threshold would make its row
        an inlier. ``estimator``: the fitted model that scores (default
        ``estimator_``). Rows with missing values count each missing
        feature at its ``typical`` term (default ``typical_feature_scores_``,
        see :mod:`~skae._outlier.missing`); per-feature terms are NaN there.
        """
        estimator = self.estimator_ if estimator is None else estimator
        if typical is None:
            typical = getattr(self, "typical_feature_scores_", np.empty(0))
        if self.method == "score_samples":
            scores = _checked_scores(estimator, X, per_feature)
            if per_feature:
                averaged = getattr(estimator, "_score_averages_features", False)
                scores = full_row_terms(scores, averaged)
        else:
            scores = np.concatenate(
                [
                    terms if per_feature else _observed_sum(terms)
                    for terms in reconstruction_terms(estimator, X)
                ]
            )
        if not per_feature and typical.size:
            scores = self._completed(X, scores, estimator, typical)
        # NaN marks the missing values of per-feature terms only.
        scores[np.isinf(scores) | (np.isnan(scores) & (not per_feature))] = -np.inf
        return scores

    def _calibration_scores(self, X, estimator):
        """Scores of the calibration rows ``X``, and the typical terms they set.

        The scores come first, so that an estimator whose scores have the
        wrong shape is named for them.
        """
        scores = self._scores(X, estimator=estimator, typical=np.empty(0))
        typical = self._typical_terms(X, estimator)
        if typical.size:
            scores = self._completed(X, scores, estimator, typical)
            scores[np.isnan(scores) | np.isinf(scores)] = -np.inf
        return scores, typical

    def _completed(self, X, scores, estimator, typical):
        """``scores`` with those of the incomplete rows of ``X`` completed by
        the ``typical`` terms of their missing features."""
        rows = incomplete_rows(X)
        if not len(rows):
            return scores
        terms = self._scores(take_rows(X, rows), per_feature=True, estimator=estimator)
        scores = scores.astype(np.float64)
        scores[rows] = completed_scores(terms, typical)
        return scores

    def _typical_terms(self, X, estimator):
        """The typical per-feature terms (see :mod:`~skae._outlier.missing`)
        of ``estimator`` over the first calibration rows ``X``; empty when
        the estimator takes no missing values (its tag ``allow_nan``) or
        cannot split its score by feature."""
        # Only an estimator that takes missing values has rows to complete.
        if not takes_nan(estimator) or (
            self.method == "score_samples"
            and not hasattr(estimator, "score_samples_per_feature")
        ):
            return np.empty(0)
        rows = take_rows(X, slice(TYPICAL_TERM_ROWS))
        return typical_terms(self._scores(rows, per_feature=True, estimator=estimator))

    def score_samples(self, X):
        """Score each sample; higher means more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The wrapped estimator's score, see ``method``; ``-inf`` where it
            is not finite.

        Raises
        ------
        ValueError
            When the wrapped estimator does not return one real score per
            row (or a reconstruction of the shape of ``X``).
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self._scores(X)

    def decision_function(self, X):
        """Shifted scores: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``; ``-inf`` where the score is
            ``-inf``, also when ``offset_`` is.
        """
        scores = self.score_samples(X)
        with np.errstate(invalid="ignore"):
            decision = scores - self.offset_
        decision[scores == -np.inf] = -np.inf
        return decision

    def predict(self, X):
        """Label each sample as inlier (+1) or outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``-1`` where ``decision_function(X) < 0``, else ``+1``.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def predict_proba(self, X):
        """Empirical tail probability of each score among held-out normal scores.

        For a sample with score ``s``, with ``n`` calibration scores
        (``calibration_scores_``, those that set ``offset_``)::

            p = (1 + #{calibration scores <= s}) / (n + 1)

        is the probability that a normal sample scores as low as ``s`` or
        lower, estimated from the calibration rows: the conformal p-value
        of the sample. For a new normal sample, exchangeable with the
        calibration rows (held out from training, see
        ``calibration_fraction``), ``p <= a`` happens with probability at
        most ``a``. With ``calibration_fraction=0`` the calibration scores
        are training scores, which are better than those of new rows, and
        new normal samples get too small a ``p``.

        This is not the posterior probability that a sample is an outlier:
        that would need the share of outliers among new samples and how they
        score, which the detector never sees. ``1 - p`` is the share of the
        calibration rows (out of ``n + 1``) that score higher than ``s``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Column 0 is ``p``, the probability of an inlier scoring this low
            (in ``[1 / (n + 1), 1]``); column 1 is ``1 - p``, the outlier
            column, in ``[0, n / (n + 1)]``. This is PyOD's column order.
            As the score falls, column 0 never rises and column 1 never
            falls, so the rows that :meth:`predict` flags have at least as
            high an outlier column as those it does not. With a
            float ``contamination``, a flagged sample with a finite score
            has ``p <= contamination + 1 / (n + 1)``, a sample not flagged
            ``p > contamination``. A score of ``-inf`` counts as lower than every
            finite calibration score (``p = 1 / (n + 1)`` when none of those
            is ``-inf``); never NaN.
        """
        scores = self.score_samples(X)
        calibration = np.sort(self.calibration_scores_)
        n_at_or_below = np.searchsorted(calibration, scores, side="right")
        p_inlier = (1.0 + n_at_or_below) / (len(calibration) + 1.0)
        return np.column_stack([p_inlier, 1.0 - p_inlier])

    def score_samples_per_feature(self, X):
        """Split each sample's score into one term per feature.

        The terms of a row sum to its :meth:`score_samples` (up to float
        rounding); the features with the lowest terms are those that made
        the row score low.

        - ``method="reconstruction"``: ``-(x_j - x_hat_j) ** 2 / n_features``,
          each feature's squared reconstruction error in the units of ``X``,
          as a share of the mean. A row without a reconstruction (see
          ``method``) has ``-inf`` for the features whose scaled values are
          beyond the float32 range of the network and 0 for the others, or
          ``-inf`` for every feature when none is (the network overflowed
          inside).
        - ``method="score_samples"``: the wrapped estimator's own
          ``score_samples_per_feature`` (every skae autoencoder has one; see
          :meth:`AutoencoderTransformer.score_samples_per_feature
          <skae.AutoencoderTransformer.score_samples_per_feature>` and
          :meth:`VAE.score_samples_per_feature
          <skae.VAE.score_samples_per_feature>`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to explain.

        Returns
        -------
        terms : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            One term per sample and feature, higher for more normal values.
            A DataFrame whose columns are the input feature names
            (:meth:`get_feature_names_out`) when
            ``set_output(transform="pandas")`` is set. Terms that are not
            finite are ``-inf``, never NaN.

        Raises
        ------
        ValueError
            With ``method="score_samples"``, when the wrapped estimator has
            no ``score_samples_per_feature`` (``PCA``, for instance): use
            ``method="reconstruction"``. Also when the wrapped estimator
            returns terms (or reconstructions) of another shape than ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.decomposition import PCA
        >>> from skae import OutlierDetector
        >>> rng = np.random.RandomState(0)
        >>> t = rng.normal(size=(200, 1))
        >>> X = np.hstack([t, 2 * t, -t]) + 0.01 * rng.normal(size=(200, 3))
        >>> detector = OutlierDetector(PCA(1), method="reconstruction").fit(X)
        >>> row = np.array([[1.0, 2.0, 3.0]])  # the third feature is off
        >>> terms = detector.score_samples_per_feature(row)
        >>> bool(np.isclose(terms.sum(), detector.score_samples(row)[0]))
        True
        >>> int(np.argmin(terms))
        2
        """
        check_is_fitted(self)
        if self.method == "score_samples" and not hasattr(
            self.estimator_, "score_samples_per_feature"
        ):
            raise ValueError(
                f"{type(self.estimator_).__name__} has no "
                "score_samples_per_feature, so OutlierDetector(method="
                "'score_samples') cannot split its scores by feature. Use "
                "method='reconstruction', whose score is the mean of the "
                "squared reconstruction errors of the features, or a skae "
                "estimator."
            )
        X_valid = self._validate(X, reset=False)
        terms = self._scores(X_valid, per_feature=True)
        return wrap_in_output_container(terms, X, input_feature_names(self), self)
