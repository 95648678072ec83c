"""The outlier detector: any estimator that scores samples, with a threshold."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    OneToOneFeatureMixin,
    OutlierMixin,
    clone,
)
from sklearn.model_selection import KFold, train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from .._base.validation import is_out_of_core, takes_nan, takes_sparse
from .._compat import (
    HasMethods,
    Interval,
    StrOptions,
    fit_context,
    set_output_container,
)
from .._file_checks import (
    COMMON_FITTED,
    InvalidModelFile,
    float_array,
    number,
    text,
)
from .._models.vae import VAE
from .._persistence import Saveable
from .calibration import (
    calibration_plan,
    cross_fit_folds,
    held_out_fraction,
    threshold,
)
from .scoring import DetectorScoring, take_rows


def python_number(value):
    """``value`` as a Python float if it is a number (a numpy scalar too);
    strings such as ``"auto"`` unchanged."""
    return value if isinstance(value, str) else float(value)


def fitted_estimator(value, context, name):
    """A model file's ``estimator_``: a fitted skae estimator of the class of
    ``estimator`` (VAE when None) and of the detector's width."""
    template = context["estimator"]
    expected = VAE if template is None else type(template)
    if (
        type(value) is not expected
        or getattr(value, "n_features_in_", None) != (context["n_features_in_"])
    ):
        raise InvalidModelFile(
            f"{name} is not a fitted {expected.__name__} of "
            f"{context['n_features_in_']} features"
        )
    return value


def default_n_components(n_features):
    """The latent size of the default estimator: ``n_features // 4`` in [2, 16]."""
    return int(np.clip(n_features // 4, 2, 16))


class OutlierDetector(
    DetectorScoring,
    Saveable,
    OneToOneFeatureMixin,
    OutlierMixin,
    MetaEstimatorMixin,
    BaseEstimator,
):
    """Outlier detector built on any estimator with ``score_samples``.

    Wraps a skae autoencoder (or ``PCA``, or any estimator that scores
    samples) in sklearn's outlier-detector interface, the one of
    ``IsolationForest`` and ``LocalOutlierFactor(novelty=True)``: ``fit`` on
    (mostly) normal data, then ``score_samples`` (higher is more normal),
    ``decision_function`` (negative for outliers) and ``predict`` (``+1`` for
    inliers, ``-1`` for outliers). Beyond that interface,
    ``score_samples_per_feature`` says which features made a row score low,
    and ``predict_proba`` turns a score into an empirical tail probability
    among the scores of held-out normal rows.

    Parameters
    ----------
    estimator : estimator object, default=None
        The scoring model, cloned at ``fit``. It needs ``score_samples``
        (``method="score_samples"``) or ``transform`` and
        ``inverse_transform`` (``method="reconstruction"``). None means
        ``VAE(n_components, noise_variance="shared")``, scored by its
        log-likelihood, with ``n_components = n_features // 4`` clipped to
        [2, 16] (2 for 13 features, 16 for images of 64 pixels and more).
        The shared decoder variance matters on images: with one variance per
        pixel, the pixels the model predicts best (the background) decide a
        row's likelihood, which then ranks unusual images worse (Nalisnick
        et al., 2019). In the outlier benchmark (clean training data, ROC
        AUC; ``docs/outliers.rst``) this default matches or beats PCA's
        reconstruction error on MNIST and the plain autoencoder on small
        tables.

    contamination : "auto" or float, default="auto"
        How the threshold ``offset_`` between inliers and outliers is set
        from the calibration scores (``calibration_scores_``: with
        ``novelty=True``, scores of rows that the model scoring them did not
        train on; with ``novelty=False``, the training scores).

        - float in (0, 0.5]: the expected fraction of outliers in data like
          the training data; ``offset_`` is that quantile of the calibration
          scores. With ``novelty=True`` (the default) about this fraction of
          *new* rows like the training data is flagged; with
          ``novelty=False``, this fraction of the *training* rows
          (scikit-learn's meaning for ``IsolationForest``).
        - ``"auto"``: Tukey's boxplot fence. With ``Q1`` and ``Q3`` the
          quartiles of the calibration scores,
          ``offset_ = Q1 - 1.5 * (Q3 - Q1)``: a sample is an outlier when it
          scores far below the bulk of the data, on the scale of the data's
          own spread. The rule needs no guess of the outlier fraction and is
          robust to the outliers themselves (up to a quarter of the data).
          It flags about 0.35% of Gaussian scores and more of the
          long-tailed scores that reconstruction errors give; pass a float
          when the fraction of outliers is known.

    calibration_fraction : "auto" or float in [0, 1), default="auto"
        How the calibration scores are obtained with ``novelty=True``. A
        flexible model scores its own training rows better than new rows,
        so a threshold taken from training scores flags far more new normal
        rows than intended; scores of rows a model did not train on behave
        like those of new rows (``calibration_`` records the choice).

        - ``"auto"``: a seeded random 20% of the rows is held out to
          calibrate, and ``estimator_`` is fitted on the others: the model
          that scores new rows is the one that set the threshold, so the
          flagged share of new rows is exact in expectation. When 20% of the
          rows are too few to place the threshold (fewer than ``1 /
          contamination - 1`` of them, 19 for 5% and for ``"auto"``: below
          100 rows), every row is cross-fitted instead: 10 models (fewer
          below 20 rows, two rows per fold), each fitted without one tenth
          of the rows, score the tenth they left out, and ``estimator_`` is
          fitted on all the rows (11 fits in all).
        - float in (0, 1): that share of the rows is held out.
        - ``0``: no calibration rows: ``estimator_`` is fitted on every row
          and the threshold comes from the training scores, as for
          ``IsolationForest``.

        A ``UserWarning`` says when the threshold cannot be calibrated as
        asked: when the training scores stand in (for out-of-core data,
        for fewer than 10 rows, two per fold, and for a share of less than
        one row), and when a float share holds out too few rows to place
        the threshold (fewer than ``1 / contamination - 1``; the threshold
        is then their lowest score, which flags about ``1 / (n + 1)`` of
        new normal rows). Measured on small tables (default detector,
        ``contamination=0.05``, ``docs/outliers.rst``): of the new normal
        rows, all were flagged after 8 training rows (training scores);
        on average 2.7% to 3.8% after 60 (cross-fitted) and 3.6% after 220
        (held out), with single fits from 0% to 18%.

        With ``novelty=False`` it must be ``"auto"`` or 0.

    method : {"score_samples", "reconstruction"}, default="score_samples"
        Which score the detector uses:

        - ``"score_samples"``: the estimator's own ``score_samples``; for a
          skae model its score (minus the reconstruction error on
          standardized features, or a log-likelihood for probabilistic
          models), for ``PCA`` the log-likelihood under probabilistic PCA.
        - ``"reconstruction"``: minus the mean squared error of
          ``inverse_transform(transform(X))`` against ``X``, in the units of
          ``X``; ``-inf`` for rows of which a skae estimator has no finite
          reconstruction (it raises a ``ValueError`` that says so), without
          failing the other rows. This makes ``PCA(n_components=k)`` the
          linear baseline of an autoencoder with ``k`` components (scale
          ``X`` first, e.g. in a ``Pipeline``, so that every feature counts
          equally).

    novelty : bool, default=True
        As for ``LocalOutlierFactor``. ``True``: novelty detection, the
        detector is for new data: the threshold is calibrated on scores of
        rows the model did not train on (see ``calibration_fraction``), and
        ``fit_predict`` is not available. ``False``: outlier detection in
        the training data itself: the threshold comes from the training
        scores, and ``fit_predict(X)`` labels the rows of ``X``.

    random_state : int, RandomState instance or None, default=None
        Seeds the wrapped estimator and the calibration split, so that fits
        are reproducible: when not None, it becomes the ``random_state`` of
        the clone (of the default ``VAE``, or of ``estimator`` when it has
        that parameter). None leaves the estimator's own ``random_state`` as
        it is (the default ``VAE`` is then unseeded), and seeds the split
        with it when it is an int, so that
        ``OutlierDetector(VAE(random_state=0))`` is reproducible too.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.

    offset_ : float
        Threshold on :meth:`score_samples`: ``decision_function(X) =
        score_samples(X) - offset_``.

    calibration_scores_ : ndarray of shape (n_calibration_samples,)
        The scores ``offset_`` was taken from: every row's cross-fitted
        score, the scores of the held-out rows, or the training scores (see
        ``calibration_``).

    calibration_ : {"cross_fit", "held_out", "training"}
        Where ``calibration_scores_`` come from.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``; defined only when ``X`` has
        feature names that are all strings.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Tree-based outlier detection.
    sklearn.neighbors.LocalOutlierFactor : Density-based outlier detection.
    sklearn.svm.OneClassSVM : Kernel-based novelty detection.

    Notes
    -----
    Scores that are not finite (NaN, or infinite: rows so far outside the
    training data that their score overflows) are replaced by ``-inf``, the
    least normal score: such rows are always outliers.

    Train on clean data when you can (novelty detection). When the training
    data itself holds outliers, an autoencoder learns to reconstruct them too,
    which lowers their reconstruction error and the ROC AUC; the outlier
    fraction given as ``contamination`` then only moves the threshold, not
    the scores. See the user guide on outlier detection for measurements,
    including why retraining without the worst-scored training samples is
    not offered.

    With ``novelty=True`` (the default) the threshold comes from scores of
    rows the scoring model did not train on. Taken from the training scores
    instead, as ``IsolationForest`` does, it flags far more new normal rows
    than intended: on digits (each digit in turn normal, 135 training and 45
    new images, ``AutoencoderTransformer()``), the 5% quantile of the
    training scores flagged 16% of the new normal images; of the
    cross-fitted scores, 6.8%; of 20% held-out rows
    (``calibration_fraction="auto"`` there), 5.7%; Tukey's fence
    (``contamination="auto"``) on the held-out scores, 4.8%
    (``tests/test_outlier.py``).

    References
    ----------
    J. W. Tukey, *Exploratory Data Analysis*, Addison-Wesley, 1977 (the
    boxplot fence).

    E. Nalisnick, A. Matsukawa, Y. W. Teh, D. Gorur and B. Lakshminarayanan,
    "Do deep generative models know what they don't know?", ICLR 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from skae import AutoencoderTransformer, OutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> t = rng.uniform(-1, 1, size=(600, 1))
    >>> X = np.hstack([t, t**2, -t]) + 0.01 * rng.normal(size=(600, 3))
    >>> X_train, X_new = X[:300], X[300:]  # new rows of the same curve
    >>> detector = OutlierDetector(
    ...     AutoencoderTransformer(1, hidden_layer_sizes=(16,), random_state=0),
    ...     contamination=0.05,
    ... ).fit(X_train)
    >>> detector.calibration_  # 20% of the rows held out to set the threshold
    'held_out'
    >>> 0 < float((detector.predict(X_new) == -1).mean()) < 0.1  # about 5%
    True
    >>> detector.predict([[0.5, 0.25, -0.5], [0.5, -2.0, 0.5]])
    array([ 1, -1])
    >>> detector.predict_proba([[0.5, -2.0, 0.5]]).round(3)  # [inlier, outlier]
    array([[0.016, 0.984]])
    >>> pca = OutlierDetector(PCA(n_components=1), method="reconstruction")
    >>> pca.fit(X_train).predict([[0.5, -2.0, 0.5]])
    array([-1])
    """

    _parameter_constraints = {
        "estimator": [
            HasMethods(["fit", "score_samples"]),
            HasMethods(["fit", "transform", "inverse_transform"]),
            None,
        ],
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "calibration_fraction": [
            StrOptions({"auto"}),
            Interval(Real, 0, 1, closed="left"),
        ],
        "method": [StrOptions({"score_samples", "reconstruction"})],
        "novelty": ["boolean"],
        "random_state": ["random_state"],
    }
    _fitted_attributes = {
        **COMMON_FITTED,
        "calibration_": text({"training", "held_out", "cross_fit"}),
        "estimator_": fitted_estimator,
        "calibration_scores_": float_array(),
        "typical_feature_scores_": float_array(),
        "offset_": number(),
    }

    def __init__(
        self,
        estimator=None,
        *,
        contamination="auto",
        calibration_fraction="auto",
        method="score_samples",
        novelty=True,
        random_state=None,
    ):
        self.estimator = estimator
        self.contamination = contamination
        self.calibration_fraction = calibration_fraction
        self.method = method
        self.novelty = novelty
        self.random_state = random_state

    def _make_estimator(self):
        if self.estimator is None:
            return VAE(
                default_n_components(self.n_features_in_),
                noise_variance="shared",
                random_state=self.random_state,
            )
        estimator = clone(self.estimator)
        if self.random_state is not None and "random_state" in estimator.get_params(
            deep=False
        ):
            estimator.set_params(random_state=self.random_state)
        needed = (
            ["score_samples"]
            if self.method == "score_samples"
            else ["transform", "inverse_transform"]
        )
        missing = [name for name in needed if not hasattr(estimator, name)]
        if missing:
            raise ValueError(
                f"method={self.method!r} needs an estimator with "
                f"{' and '.join(needed)}, but {type(estimator).__name__} has no "
                f"{' or '.join(missing)}."
            )
        return estimator

    @fit_context(
        # the wrapped estimator is validated when it is fitted
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y=None):
        """Fit the wrapped estimator and set the threshold ``offset_``.

        The estimator is fitted on ``1 - calibration_fraction`` of the rows,
        and ``offset_`` is set from the scores of the others.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, mostly normal samples.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted detector.
        """
        X = self._validate(X, reset=True)
        # numpy scalars as Python numbers, which every function they reach
        # accepts (train_test_split rejects np.float32 as test_size).
        contamination = python_number(self.contamination)
        fraction = python_number(self.calibration_fraction)
        plan = calibration_plan(
            fraction,
            novelty=self.novelty,
            contamination=contamination,
            n_rows=X.shape[0],  # len() of a sparse matrix is an error
            streamed=is_out_of_core(X),
        )
        if plan == "cross_fit":
            scores, typical = self._cross_fitted_scores(X)
            estimator = self._make_estimator().fit(X)
        else:
            if plan == "held_out":
                X_train, X_calibration = train_test_split(
                    X,
                    test_size=held_out_fraction(fraction),
                    random_state=self._split_rng(),
                )
            else:
                X_train = X_calibration = X
            estimator = self._make_estimator().fit(X_train)
            scores, typical = self._calibration_scores(X_calibration, estimator)
        # Set together at the end: a fit that fails leaves no mix of states.
        self.estimator_, self.calibration_ = estimator, plan
        self.typical_feature_scores_ = typical
        self.calibration_scores_ = scores
        self.offset_ = threshold(scores, contamination)
        return self

    def _split_rng(self):
        """The RNG of the calibration split or folds.

        Its own stream, so that the wrapped estimator's seed is unchanged.
        """
        seed = self.random_state
        if seed is None and self.estimator is not None:
            own = self.estimator.get_params(deep=False).get("random_state")
            seed = own if isinstance(own, Integral) else None
        return check_random_state(seed)

    def _cross_fitted_scores(self, X):
        """Each row's score by the model of the folds that leave it out, and
        the typical per-feature terms (the median of the folds')."""
        folds = KFold(
            cross_fit_folds(X.shape[0]), shuffle=True, random_state=self._split_rng()
        )
        scores = np.empty(X.shape[0])
        typical = []
        for train, held_out in folds.split(X):
            estimator = self._make_estimator().fit(take_rows(X, train))
            scores[held_out], fold_typical = self._calibration_scores(
                take_rows(X, held_out), estimator
            )
            typical.append(fold_typical)
        return scores, np.median(typical, axis=0)

    def _fit_predict_available(self):
        if self.novelty:
            raise AttributeError(
                "fit_predict is not available when novelty=True: the threshold "
                "is set for new data, not for the training rows. Use "
                "novelty=False to flag the outliers of the training data "
                "themselves, or call fit(X) and then predict(X_new)."
            )
        return True

    @available_if(_fit_predict_available)
    def fit_predict(self, X, y=None):
        """Fit on ``X`` and label its rows: inliers +1, outliers -1.

        Only with ``novelty=False`` (outlier detection in ``X`` itself, the
        threshold set on the training scores), as for
        ``LocalOutlierFactor``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to fit and label.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``-1`` for outliers, ``+1`` for inliers.
        """
        return self.fit(X).predict(X)

    def set_output(self, *, transform=None):
        """Set the output container of :meth:`score_samples_per_feature`.

        As scikit-learn's ``set_output`` sets that of ``transform`` for a
        transformer (the detector has none). Where it is not set, the global
        ``sklearn.set_config(transform_output=...)`` applies.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, default=None
            - ``"default"``: a numpy array.
            - ``"pandas"``: a DataFrame with the input feature names as
              columns.
            - ``"polars"``: a polars DataFrame.
            - None: unchanged.

        Returns
        -------
        self : object
            The detector.
        """
        return set_output_container(self, transform)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Sparse rows are passed on: taken if the wrapped estimator takes them.
        tags.input_tags.sparse = takes_sparse(self.estimator)
        # Missing values too: every skae autoencoder takes them.
        tags.input_tags.allow_nan = takes_nan(self.estimator)
        return tags
