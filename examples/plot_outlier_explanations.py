"""
==========================================
Which features made a row an outlier
==========================================

A detector that flags a row should also say why. For every skae model,
``score_samples_per_feature`` splits each row's score into one term per
feature, and the terms of a row add up to its ``score_samples``: the most
negative terms are the features that made the row score low.
:class:`skae.OutlierDetector` offers the same method, with the input
feature names as columns under ``set_output(transform="pandas")``, and
``predict_proba``, the empirical probability that a normal row scores as
low as a given one.

We look at

1. a table, the breast cancer data: a detector trained on benign tumours
   explains which measurements make malignant tumours, and benign rows with
   one corrupted measurement, stand out;
2. images, the handwritten zeros of ``load_digits``: the per-pixel terms
   of other digits, and of zeros with a planted blot, drawn as heat maps.

For a :class:`~skae.VAE` a term is the feature's log-likelihood, weighted
over the importance samples of its score, plus an equal share of the row's
latent part (the same for every feature of the row, so it does not change
which features stand out). For the plain autoencoder it is the feature's
squared reconstruction error divided by the number of features, with a
minus sign.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skae import VAE, AutoencoderTransformer, OutlierDetector

# sphinx_gallery_thumbnail_number = 2

# %%
# A table: benign and malignant tumours
# -------------------------------------
# The 30 features describe cell nuclei in an image of a breast mass. The
# detector is trained on three quarters of the benign tumours; malignant
# tumours are the anomalies.
#
# The VAE's terms are log-densities, each in the units of its feature: a
# feature measured in large units has a low density, and so a low term, in
# every row. The features are therefore put on one scale first, by a
# ``StandardScaler`` that keeps the DataFrame and its feature names. Without
# it, each term would include minus the log of its feature's standard
# deviation, the same in every row:
data = load_breast_cancer(as_frame=True)
benign = data.data[data.target == 1]
malignant = data.data[data.target == 0]
X_train, X_benign = train_test_split(benign, test_size=0.25, random_state=0)
scaler = StandardScaler().set_output(transform="pandas").fit(X_train)
log_std = pd.Series(np.log(scaler.scale_), index=X_train.columns)
print(
    f"log standard deviations: from {log_std.min():.1f} ({log_std.idxmin()}) "
    f"to {log_std.max():.1f} ({log_std.idxmax()})"
)
assert log_std.max() - log_std.min() > 10

# %%
# That is a spread of more than 10 nats that says nothing about any row.
# ``set_output(transform="pandas")`` makes ``score_samples_per_feature``
# return a DataFrame with the feature names.
detector = OutlierDetector(
    VAE(n_components=4, hidden_layer_sizes=(64,), random_state=0), random_state=0
).fit(scaler.transform(X_train))
detector.set_output(transform="pandas")
benign_scaled = scaler.transform(X_benign)
malignant_scaled = scaler.transform(malignant)

flagged = detector.predict(malignant_scaled) == -1
flagged_benign = np.mean(detector.predict(benign_scaled) == -1)
print(f"flagged: {flagged_benign:.0%} of held-out benign tumours")
print(f"flagged: {flagged.mean():.0%} of malignant tumours")
assert flagged.mean() > 0.8 and flagged_benign < 0.2

terms = detector.score_samples_per_feature(malignant_scaled)
print(terms.iloc[:3, :4].round(2))
# The terms of each row add up to its score.
np.testing.assert_allclose(
    terms.sum(axis=1), detector.score_samples(malignant_scaled), rtol=1e-5
)

# %%
# Most malignant tumours are flagged. In each flagged one, the feature with
# the lowest term departs most from what the model expects of a benign
# tumour. Counted over all of them:
most_anomalous = terms[flagged].idxmin(axis=1).value_counts()
print(most_anomalous.head(5))
area_share = most_anomalous[most_anomalous.index.str.contains("area")].sum()
area_share /= flagged.sum()
print(f"an 'area' feature has the lowest term in {area_share:.0%} of them")
assert most_anomalous.index[0] == "worst area" and area_share > 0.4
assert "mean of the three\n    worst/largest values" in data.DESCR

# %%
# The size of the nuclei (``worst area``, the mean of the three largest
# areas in the image) is what most often sets a malignant tumour apart. To
# check that the explanation points at the right place, we corrupt one known
# measurement of ten held-out benign tumours: their ``mean texture`` becomes
# six standard deviations above its training mean, every other value staying
# as it was.
corrupted = benign_scaled.iloc[:10].copy()
corrupted["mean texture"] = 6.0
corrupted_terms = detector.score_samples_per_feature(corrupted)
corrupted_flagged = detector.predict(corrupted) == -1
score_drop = detector.score_samples(benign_scaled.iloc[:10]) - detector.score_samples(
    corrupted
)
print(f"score lowered by {score_drop.min():.0f} to {score_drop.max():.0f} nats")
print(f"flagged: {corrupted_flagged.sum()} of {len(corrupted)} corrupted benign rows")
print(corrupted_terms.idxmin(axis=1).value_counts())
assert (score_drop > 5).all() and corrupted_flagged.any()
assert (corrupted_terms.idxmin(axis=1) == "mean texture").all()

# %%
# The corruption lowers every row's score, and in every corrupted row
# ``mean texture`` has the lowest term, flagged or not. Not every corrupted
# row is flagged: the log-densities of held-out benign tumours themselves
# spread over tens of nats, and one value out of place among 30 lowered a
# row's score by 15 to 19 nats (printed above), past the threshold only for
# rows that already scored lowish. The bars below show the eight lowest
# terms of three flagged malignant tumours and of one flagged corrupted
# benign row. Above each, ``p`` is
# column 0 of ``predict_proba``: ``(1 + k) / (n_calibration + 1)`` where
# ``k`` of the ``n_calibration`` held-out benign rows that set the threshold
# score as low or lower, an empirical tail probability, not a posterior
# probability of being an outlier.
shown = pd.concat([malignant_scaled[flagged][:3], corrupted[corrupted_flagged][:1]])
shown_terms = pd.concat([terms[flagged][:3], corrupted_terms[corrupted_flagged][:1]])
p_inlier = detector.predict_proba(shown)[:, 0]
kinds = ["malignant"] * 3 + ["corrupted benign"]

fig, axes = plt.subplots(1, len(shown), figsize=(12, 3.6))
for ax, (label, row), p, kind in zip(axes, shown_terms.iterrows(), p_inlier, kinds):
    lowest = row.nsmallest(8)[::-1]
    ax.barh(lowest.index, lowest.to_numpy(), color="tab:red")
    ax.set_title(f"{kind} row {label}\nscore {row.sum():.0f}, p = {p:.3f}", fontsize=9)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("term (nats)")
fig.tight_layout()
plt.show()
n_calibration = len(detector.calibration_scores_)
print(f"p: {p_inlier.round(3)}; the smallest possible: 1 / {n_calibration + 1}")
assert np.all(p_inlier[:3] == 1 / (n_calibration + 1))
assert p_inlier[3] > 1 / (n_calibration + 1)

# %%
# The three malignant tumours score below every held-out benign row: their
# ``p`` is the smallest it can be, ``1 / (n_calibration + 1)``. The
# corrupted row is flagged too, but a few held-out benign rows score as low
# as it does, and its ``p`` is larger: ``predict`` draws a line, ``p`` says
# how unusual a score is among normal ones.

# %%
# Images: a blot on a zero
# ------------------------
# A plain autoencoder trained on the zeros of ``load_digits`` (grey levels 0
# to 16 on an 8x8 grid, one scale for all pixels, hence
# ``standardize=False``). A pixel's term is minus its squared reconstruction
# error over 64: the heat maps show where the model could not reproduce the
# image.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)
zeros = OutlierDetector(
    AutoencoderTransformer(
        n_components=4,
        hidden_layer_sizes=(64,),
        standardize=False,  # per-pixel terms in grey levels squared
        random_state=0,
    ),
    random_state=0,
).fit(X_train[y_train == 0])
others = X_test[y_test != 0]
flagged_others = np.mean(zeros.predict(others) == -1)
print(f"flagged: {flagged_others:.0%} of the other digits")
assert flagged_others > 0.95

# %%
# The planted anomaly: a 2x2 blot of full ink in the middle of each held-out
# zero, where a zero has its hole.
clean = X_test[y_test == 0]
blotted = clean.reshape(-1, 8, 8).copy()
blotted[:, 3:5, 3:5] = 16
blotted = blotted.reshape(-1, 64)
in_blot = np.zeros((8, 8), dtype=bool)
in_blot[3:5, 3:5] = True
in_blot = in_blot.ravel()

clean_terms = zeros.score_samples_per_feature(clean)
blot_terms = zeros.score_samples_per_feature(blotted)
np.testing.assert_allclose(
    blot_terms.sum(axis=1), zeros.score_samples(blotted), rtol=1e-5
)
flagged_blotted = np.mean(zeros.predict(blotted) == -1)
lowest_in_blot = np.mean(in_blot[np.argmin(blot_terms, axis=1)])
blot_share = np.mean(blot_terms[:, in_blot].sum(axis=1) / blot_terms.sum(axis=1))
clean_share = np.mean(clean_terms[:, in_blot].sum(axis=1) / clean_terms.sum(axis=1))
outside_ratio = np.mean(blot_terms[:, ~in_blot].sum(axis=1)) / np.mean(
    clean_terms[:, ~in_blot].sum(axis=1)
)
print(
    # (one short line each: the page's output box is some 80 characters wide)
    f"{len(blotted)} blotted zeros, {flagged_blotted:.0%} flagged;\n"
    f"the lowest term lies in the blot in {lowest_in_blot:.0%} of them.\n"
    f"The 4 blot pixels hold {blot_share:.0%} of the squared error on average\n"
    f"({clean_share:.0%} before the blot); the other 60 pixels have\n"
    f"{outside_ratio:.1f} times their error before the blot."
)
assert flagged_blotted == 1.0 and lowest_in_blot == 1.0
assert blot_share > 5 * clean_share and outside_ratio > 1

# %%
# Every blotted zero is flagged, and in every one the lowest term lies in
# the blot, whose four pixels, a sixteenth of the image, carry a large share
# of the error. Not all of it: the blot moves the code, and with it the
# reconstruction of the other pixels, whose error grows too. Below, a
# held-out zero before and after the blot, two more blotted zeros, and one
# image of each of three other digits (all flagged), above the heat maps of
# their terms.
examples = np.array([others[y_test[y_test != 0] == digit][0] for digit in (1, 5, 7)])
images = [clean[0], *blotted[:3], *examples]
maps = [clean_terms[0], *blot_terms[:3], *zeros.score_samples_per_feature(examples)]
titles = ["a 0", "the same 0, blotted", "blotted 0", "blotted 0", "a 1", "a 5", "a 7"]
lowest = min(term_map.min() for term_map in maps)

fig, axes = plt.subplots(2, len(images), figsize=(12, 4))
for column, (image, term_map, title) in enumerate(zip(images, maps, titles)):
    axes[0, column].imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
    axes[0, column].set_title(title, fontsize=9)
    heat_map = axes[1, column].imshow(
        term_map.reshape(8, 8), cmap="Reds_r", vmin=lowest, vmax=0
    )
    axes[1, column].set_xlabel(f"score {term_map.sum():.1f}", fontsize=8)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("image", fontsize=9)
axes[1, 0].set_ylabel("per-pixel term", fontsize=9)
fig.colorbar(heat_map, ax=axes.ravel().tolist(), shrink=0.45, label="term")
plt.show()
assert np.all(zeros.predict(examples) == -1)

# %%
# The heat maps of the other digits mark where each departs from the zeros
# the model knows. :doc:`/outliers` describes both kinds of terms,
# ``predict_proba``, and how the terms of the VAE are derived.
