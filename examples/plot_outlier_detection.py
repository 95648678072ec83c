"""
==========================================
Outlier detection with an autoencoder
==========================================

:class:`skae.OutlierDetector` turns any model with ``score_samples`` into an
outlier detector with the interface of
:class:`sklearn.ensemble.IsolationForest`: ``fit`` on normal data, then
``score_samples`` (higher is more normal), ``decision_function`` (negative
for outliers) and ``predict`` (``+1`` inlier, ``-1`` outlier).

Here the normal data are the handwritten nines of ``load_digits`` (one of the
harder digits to tell apart from the others) and every other digit is an
anomaly. We compare

1. the distributions of the autoencoder's scores for normal and anomalous
   test images, with the threshold chosen by ``contamination="auto"``,
2. the ROC curves of the autoencoder, of PCA's reconstruction error with the
   same latent size, and of an isolation forest.

PCA is given the same standardized pixels the autoencoder trains on, so the
two differ only in their decoder: a nonlinear network against a linear map.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer, OutlierDetector

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)
normal_digit = 9
X_normal = X_train[y_train == normal_digit]  # train on nines only
is_anomaly = y_test != normal_digit

n_components = 2
detectors = {
    "skae autoencoder": OutlierDetector(
        AutoencoderTransformer(n_components=n_components, random_state=0)
    ),
    "PCA reconstruction": make_pipeline(
        StandardScaler(),
        OutlierDetector(PCA(n_components=n_components), method="reconstruction"),
    ),
    "IsolationForest": IsolationForest(random_state=0),
}
for detector in detectors.values():
    detector.fit(X_normal)

# %%
# Scores of normal and anomalous images
# -------------------------------------
# ``score_samples`` of an autoencoder is minus its reconstruction error (on
# standardized pixels): nines that the model has learned to reproduce score
# high, other digits low. The dashed line is ``offset_``, the threshold that
# ``contamination="auto"`` puts at Tukey's fence below the training scores;
# ``predict`` flags everything left of it.
ae = detectors["skae autoencoder"]
scores = ae.score_samples(X_test)
# Reconstruction errors span orders of magnitude: plot them on a log scale.
log_error = np.log10(-scores)
bins = np.linspace(log_error.min(), log_error.max(), 40)

fig, (ax_hist, ax_roc) = plt.subplots(1, 2, figsize=(11, 4.5))
ax_hist.hist(log_error[~is_anomaly], bins=bins, alpha=0.6, label="nines (normal)")
ax_hist.hist(log_error[is_anomaly], bins=bins, alpha=0.6, label="other digits")
ax_hist.axvline(np.log10(-ae.offset_), color="k", ls="--", label="threshold")
ax_hist.set_xlabel("log10 reconstruction error = log10(-score_samples)")
ax_hist.set_ylabel("test images")
ax_hist.set_title("Autoencoder scores")
ax_hist.legend()

flagged = ae.predict(X_test) == -1
print(
    f"flagged: {flagged[is_anomaly].mean():.0%} of the other digits, "
    f"{flagged[~is_anomaly].mean():.0%} of the test nines"
)

# %%
# ROC curves
# ----------
# Anomalies are the positive class, ranked by minus ``score_samples``.
for name, detector in detectors.items():
    anomaly_score = -detector.score_samples(X_test)
    fpr, tpr, _ = roc_curve(is_anomaly, anomaly_score)
    auc = roc_auc_score(is_anomaly, anomaly_score)
    ax_roc.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
    print(f"{name:20s} ROC AUC {auc:.3f}")
ax_roc.plot([0, 1], [0, 1], color="grey", ls=":", label="chance")
ax_roc.set_xlabel("false positive rate (nines flagged)")
ax_roc.set_ylabel("true positive rate (other digits flagged)")
ax_roc.set_title(f"Digit {normal_digit} as normal, {n_components} components")
ax_roc.legend(loc="lower right")
fig.tight_layout()
plt.show()

# %%
# The benchmark in the user guide repeats this comparison over every digit,
# over several seeds and on other data sets, with PyOD's detectors as well.
