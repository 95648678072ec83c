"""Where an outlier detector's threshold comes from: calibration rows and rules.

A flexible model scores its own training rows better than new rows, so a
threshold taken from training scores flags more new normal rows than
intended. The detector calibrates on scores of rows the scoring model did
not train on: a held-out share, or every row cross-fitted on small data
(:func:`calibration_plan`); :func:`threshold` turns those scores into the
detector's ``offset_``.
"""

import math

import numpy as np

from .._base.utils import warn

# Tukey's fence: training scores further than this many interquartile ranges
# below the first quartile are outliers under contamination="auto".
TUKEY_FENCE = 1.5

# calibration_fraction="auto" holds out this share of the rows, when they are
# enough to place the threshold: at least 1 / contamination - 1 of them (19
# for 5%; as many for the fence of contamination="auto"), so that the
# p(n + 1)-th smallest calibration score exists. Fewer rows are cross-fitted.
AUTO_CALIBRATION_FRACTION = 0.2
AUTO_CONTAMINATION_SHARE = 0.05
# Cross-fitting uses up to this many folds, with at least two rows each: the
# more folds, the closer each fold's model (fitted on 1 - 1/folds of the
# rows) to the final one, whose scores of new rows the threshold is for.
# Measured with the default detector on wine (29 to 43 training rows per
# class, 3 seeds, contamination=0.05): 5 folds flagged 1.5% of the held-out
# normal rows, 10 folds 3.6%; on digits (135 rows, AutoencoderTransformer)
# both flagged 6.8%.
MAX_CROSS_FIT_FOLDS = 10
MIN_CROSS_FIT_ROWS = 10  # five folds of two rows


def cross_fit_folds(n_samples):
    """The number of cross-fitting folds for ``n_samples`` rows."""
    return min(MAX_CROSS_FIT_FOLDS, n_samples // 2)


def calibration_plan(fraction, *, novelty, contamination, n_rows, streamed):
    """How the calibration scores are obtained: see ``calibration_fraction``.

    Returns ``"training"``, ``"held_out"`` or ``"cross_fit"``. Warns when
    the threshold cannot be calibrated as asked: when training scores
    stand in for held-out ones, or when too few rows are held out.
    """
    if not novelty:
        if fraction not in ("auto", 0):
            raise ValueError(
                f"calibration_fraction={fraction!r} holds rows out to set the "
                "threshold for new data (novelty=True); with novelty=False the "
                "threshold comes from the training scores. Leave "
                "calibration_fraction='auto', or set novelty=True."
            )
        return "training"
    if fraction == 0:
        return "training"
    # Out-of-core data are read block by block, not split by rows; below
    # two rows per fold, no model could be fitted without some of them.
    if streamed:
        return _training_fallback("the data are out of core (read in blocks)")
    if n_rows < MIN_CROSS_FIT_ROWS:
        return _training_fallback(
            f"{n_rows} rows are too few to hold any out (at least "
            f"{MIN_CROSS_FIT_ROWS} are needed, two per cross-fitting fold)"
        )
    if fraction == "auto":
        enough = AUTO_CALIBRATION_FRACTION * n_rows >= _rows_needed(contamination)
        return "held_out" if enough else "cross_fit"
    if n_rows * fraction < 1:
        return _training_fallback(
            f"calibration_fraction={fraction!r} of {n_rows} rows is less than one row"
        )
    n_held_out = math.ceil(n_rows * fraction)  # as train_test_split rounds
    if n_held_out < _rows_needed(contamination):
        warn(
            f"Only {n_held_out} of the {n_rows} rows are held out to calibrate "
            f"the threshold, too few to place it (at least "
            f"{math.ceil(_rows_needed(contamination))} for contamination="
            f"{contamination!r}){_lowest_score_effect(n_held_out, contamination)}"
            ". Hold out more rows, or leave calibration_fraction='auto' (which "
            "cross-fits small data)."
        )
    return "held_out"


def _rows_needed(contamination):
    """How many calibration scores place the threshold: ``1 / p - 1``, so
    that the p(n + 1)-th smallest exists (p = 5% for ``"auto"``)."""
    share = AUTO_CONTAMINATION_SHARE if contamination == "auto" else contamination
    return 1 / share - 1


def _lowest_score_effect(n_held_out, contamination):
    """What a threshold from too few held-out scores does, for a float
    ``contamination``: the quantile is then their lowest score."""
    if contamination == "auto":
        return ""
    return (
        f": the threshold is their lowest score, which flags about "
        f"1/{n_held_out + 1} of new normal rows instead of {contamination:.3g}"
    )


def _training_fallback(reason):
    """Warn that the training scores set the threshold, and say so."""
    warn(
        f"The threshold is set from training scores, not from scores of rows "
        f"the model did not train on, because {reason}. A model scores its "
        "own training rows better than new ones, so the detector will flag "
        "more new normal rows than contamination says. Pass "
        "calibration_fraction=0 to choose this and silence the warning."
    )
    return "training"


def held_out_fraction(fraction):
    """The share of rows held out to calibrate, for ``calibration_fraction``."""
    return AUTO_CALIBRATION_FRACTION if fraction == "auto" else fraction


def threshold(scores, contamination):
    """The detector's ``offset_`` from its calibration scores."""
    # -inf scores make percentiles -inf or NaN (-inf + inf): either way, the
    # threshold is then -inf, below every finite score.
    with np.errstate(invalid="ignore"):
        if contamination == "auto":
            q1, q3 = np.percentile(scores, [25.0, 75.0])
            offset = q1 - TUKEY_FENCE * (q3 - q1)
        else:
            # The p(n + 1)-th smallest score (interpolated): a new score from
            # the same distribution falls below it with probability p, where
            # numpy's default, the p(n - 1) + 1-th, flags more (8% instead of
            # 5% on 27 calibration rows).
            offset = np.percentile(scores, 100.0 * contamination, method="weibull")
    return -np.inf if np.isnan(offset) else float(offset)
