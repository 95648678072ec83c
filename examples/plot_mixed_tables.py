"""
=========================================
Mixed-type tables: penguins as they are
=========================================

The Palmer penguins table mixes numbers (bill, flipper and body
measurements, the year) with categories (species, island, sex) and has
missing values. skae's models take it as it is, a pandas DataFrame: each
column gets a distribution of its kind (see "Mixed-type tables" in the user
guide), so a category is scored by the probability of its value, not as
one-hot columns of numbers. This example draws a 2-D map of the penguins,
finds penguins that cannot exist, and fills in missing species.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from palmerpenguins import load_penguins
from sklearn.compose import make_column_transformer
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skae import VAE, IWAEImputer, OutlierDetector

warnings.filterwarnings("ignore", category=ConvergenceWarning)
penguins = load_penguins()
print(penguins.dtypes)
print(f"{penguins.isna().any(axis=1).sum()} of {len(penguins)} rows miss a value")

# %%
# A 2-D map
# ---------
# The species is held back as the label; the model sees the other seven
# columns: island and sex are categories, the rest numbers. The kinds are
# read from the dtypes (``feature_kinds_``).

X, species = penguins.drop(columns="species"), penguins["species"]
vae = VAE(n_components=2, random_state=0).fit(X)
for name, kind in zip(vae.feature_names_in_, vae.feature_kinds_):
    print(f"{name:>18}: {kind}")

# %%
# The workaround without skae's column kinds: one-hot encode the categories,
# standardize the numbers, and fit a Gaussian VAE (or PCA) on the result.

categories = ["island", "sex"]
numbers = [column for column in X.columns if column not in categories]
one_hot = make_column_transformer(
    (
        make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(sparse_output=False),
        ),
        categories,
    ),
    (make_pipeline(StandardScaler(), SimpleImputer()), numbers),
)
X_one_hot = one_hot.fit_transform(X)
one_hot_vae = VAE(n_components=2, likelihood="gaussian", random_state=0)
maps = {
    "per-column VAE": vae.transform(X),
    "VAE on one-hot columns": one_hot_vae.fit(X_one_hot).transform(X_one_hot),
    "PCA on one-hot columns": PCA(2).fit_transform(X_one_hot),
}

# %%
# How well each map separates the species: the accuracy of a classifier of
# the 5 nearest neighbours on the 2-D codes (5-fold cross-validated).

accuracy = {
    name: cross_val_score(KNeighborsClassifier(5), codes, species, cv=5).mean()
    for name, codes in maps.items()
}
for name, value in accuracy.items():
    print(f"{name:>24}: 5-NN species accuracy {value:.3f}")
assert accuracy["per-column VAE"] > accuracy["PCA on one-hot columns"]

fig, axes = plt.subplots(1, 3, figsize=(12, 4))
for ax, (name, codes) in zip(axes, maps.items()):
    for label in species.unique():
        where = species == label
        ax.scatter(*codes[where].T, s=8, label=label)
    ax.set_title(f"{name}\n5-NN accuracy {accuracy[name]:.2f}")
    ax.set_xticks([])
    ax.set_yticks([])
axes[0].legend(title="species (not seen)")
fig.tight_layout()

# %%
# What each column is worth
# -------------------------
# ``score_samples_per_feature`` splits each row's log-likelihood by column.
# For the per-column VAE, island and sex are log-probabilities, at most 0
# nats; the numbers are log-densities in their own units. The Gaussian VAE
# on one-hot columns puts a density on values that are only ever 0 or 1:
# it shrinks its variance there, and one-hot columns can then add a positive
# "log-likelihood" (a density above 1, which no probability of a category
# can give) that says nothing about how likely the penguin is: here both
# sex columns, which repeat one another, add the same positive amount.

per_column = np.nanmean(vae.score_samples_per_feature(X), axis=0)
per_one_hot = one_hot_vae.score_samples_per_feature(X_one_hot).mean(axis=0)
one_hot_names = one_hot.get_feature_names_out()
for name, value in zip(vae.feature_names_in_, per_column):
    print(f"per-column VAE  {name:>28}: {value:6.2f} nats")
for name, value in zip(one_hot_names, per_one_hot):
    print(f"one-hot VAE     {name:>28}: {value:6.2f}")
is_one_hot = np.char.startswith(one_hot_names.astype(str), "pipeline-1")
assert per_column[[1, 6]].max() <= 0 < per_one_hot[is_one_hot].max()
is_sex = np.char.find(one_hot_names.astype(str), "__sex_") >= 0
assert (per_one_hot[is_sex] > 0).all() and np.ptp(per_one_hot[is_sex]) < 0.01

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].barh(vae.feature_names_in_, per_column)
axes[0].set_title("per-column VAE: mean term per column")
axes[1].barh([n.split("__")[1] for n in one_hot_names], per_one_hot)
axes[1].set_title("VAE on one-hot columns")
for ax in axes:
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("nats per row")
fig.tight_layout()

# %%
# Penguins that cannot exist
# --------------------------
# Gentoo penguins live on Biscoe island only. An :class:`~skae.OutlierDetector`
# trained on the whole table (species included) scores a Gentoo penguin
# moved to Dream or Torgersen island, with its measurements unchanged.

detector = OutlierDetector(random_state=0).fit(penguins)
gentoo = penguins[penguins["species"] == "Gentoo"].dropna().iloc[:20]
moved = gentoo.assign(island=np.where(np.arange(20) % 2, "Dream", "Torgersen"))
normal_scores = detector.score_samples(penguins)
moved_scores = detector.score_samples(moved)
flagged = detector.predict(moved) == -1
print(f"moved Gentoos flagged: {flagged.sum()} of {len(moved)}")
print(f"training rows flagged: {(detector.predict(penguins) == -1).mean():.1%}")
assert flagged.all()

# %%
# The per-column terms say why. A number's term is a log-density in its own
# units (per gram of body mass), so terms are compared with those of the same
# penguin on Biscoe: the island (or the species that contradicts it) loses
# the most in each moved penguin's row.

terms = detector.score_samples_per_feature(moved)
at_home = detector.score_samples_per_feature(gentoo)
loss = terms - at_home
blamed = np.array(detector.feature_names_in_)[np.argmin(loss, axis=1)]
names, counts = np.unique(blamed, return_counts=True)
print("column that lost the most:", {str(n): int(c) for n, c in zip(names, counts)})
assert set(blamed) <= {"species", "island"}

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.barh(detector.feature_names_in_, loss.mean(axis=0), color="tab:red")
ax.axvline(0, color="black", linewidth=0.8)
ax.set_xlabel("term moved minus term on Biscoe (nats, mean of 20)")
fig.tight_layout()

# %%
# Filling in missing species
# --------------------------
# Hide the species of a third of the penguins and let
# :class:`~skae.IWAEImputer` fill it from the other columns: each gap gets
# the most probable species given the penguin's measurements, island and
# sex. The observed values and the columns' dtypes are kept.

rng = np.random.RandomState(0)
hidden = rng.uniform(size=len(penguins)) < 1 / 3
incomplete = penguins.assign(species=penguins["species"].where(~hidden))
filled = IWAEImputer(random_state=0).fit_transform(incomplete)
imputed = (filled["species"][hidden] == species[hidden]).mean()
most_frequent = (species[hidden] == incomplete["species"].mode()[0]).mean()
print(f"species filled correctly: {imputed:.1%} (most frequent: {most_frequent:.1%})")
assert imputed > most_frequent
print(filled[hidden].head())
