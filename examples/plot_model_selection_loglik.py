"""
==========================================================
Model selection by held-out log-likelihood: PCA, VAE, IWAE
==========================================================

``PCA.score`` returns the average log-likelihood of samples under
probabilistic PCA. :class:`skae.VAE` and :class:`skae.IWAE` return the same
kind of number, an importance-sampled estimate of log p(x) in the units of
``X``, so the linear and the nonlinear models can be compared on held-out
data in one plot, and chosen by ``GridSearchCV`` without a custom scorer, in
the spirit of scikit-learn's "Model selection with Probabilistic PCA and
Factor Analysis" example.

One grid search over the IWAE's ``n_components`` and ``k`` (the number of
importance samples of its training bound) gives both figures below. With
``k=1`` the IWAE's bound is the ELBO: that column is the VAE. The evaluation
uses the same ``k_eval`` importance samples for every candidate, so the grid
compares models, not estimators of different precision.
"""

# %%
# One grid search for the nonlinear models, one for PCA
# -----------------------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, train_test_split

from skae import IWAE

# Every model here trains for at most a number of epochs written out
# (max_epochs), to keep the example fast; skae would warn (ConvergenceWarning)
# when max_epochs ends a fit whose loss was still improving.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0, stratify=y)

# A small network and a short, fixed budget keep this example fast on a CPU;
# every setting that matters is written out.
params = dict(
    hidden_layer_sizes=(128,),
    max_epochs=30,
    batch_size=128,
    lr=1e-3,
    k_eval=100,
    random_state=0,
)
n_components_range = [2, 5, 10]
k_range = [1, 5, 20]
cv = KFold(n_splits=2, shuffle=True, random_state=0)  # the same folds for both

iwae_grid = GridSearchCV(
    IWAE(**params), {"n_components": n_components_range, "k": k_range}, cv=cv
).fit(X_train)
pca_grid = GridSearchCV(PCA(), {"n_components": n_components_range}, cv=cv).fit(X_train)

# Mean cross-validated log-likelihood, rows: n_components, columns: k.
iwae_scores = np.empty((len(n_components_range), len(k_range)))
for params_, score in zip(
    iwae_grid.cv_results_["params"], iwae_grid.cv_results_["mean_test_score"]
):
    row = n_components_range.index(params_["n_components"])
    iwae_scores[row, k_range.index(params_["k"])] = score
pca_scores = pca_grid.cv_results_["mean_test_score"]

# %%
# Held-out log-likelihood against the number of components
# ---------------------------------------------------------
# Each point is a mean over the two validation folds, in nats per digit
# (higher is better).
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(n_components_range, pca_scores, marker="o", color="k", label="PCA")
for column, k in enumerate(k_range):
    label = "VAE (IWAE, k=1)" if k == 1 else f"IWAE, k={k}"
    ax.plot(n_components_range, iwae_scores[:, column], marker="o", label=label)
ax.set_xticks(n_components_range)
ax.set_xlabel("n_components")
ax.set_ylabel("log-likelihood (nats per digit)")
ax.set_title("Digits, 2-fold cross-validation")
ax.legend()
fig.tight_layout()
plt.show()

print("n_components ", " ".join(f"{n:8d}" for n in n_components_range))
print("PCA          ", " ".join(f"{s:8.1f}" for s in pca_scores))
for column, k in enumerate(k_range):
    print(f"IWAE k={k:<6d}", " ".join(f"{s:8.1f}" for s in iwae_scores[:, column]))

# %%
# At every latent size, each nonlinear model gives the held-out digits a
# higher likelihood than probabilistic PCA. Part of the gain comes from the
# decoder's noise variance per pixel (PCA has one noise variance for all of
# them, and the border pixels of the digits are nearly constant), part from
# the nonlinear decoder.
assert np.all(iwae_scores > pca_scores[:, None])

# %%
# The grid as a heat map
# ----------------------
# ``GridSearchCV`` refits the cell with the highest mean score (framed) on
# all the training digits. Along each row, training with 20 importance
# samples gave a higher score than with one (the VAE). Cells whose scores
# differ by less than their spread over the two folds (printed below) are not
# clearly different.
fig, ax = plt.subplots(figsize=(5.5, 4))
image = ax.imshow(iwae_scores, cmap="viridis", origin="lower")
ax.set_xticks(range(len(k_range)), labels=k_range)
ax.set_yticks(range(len(n_components_range)), labels=n_components_range)
ax.set_xlabel("k (importance samples in training)")
ax.set_ylabel("n_components")
for (row, column), score in np.ndenumerate(iwae_scores):
    bright = image.norm(score) > 0.6  # dark text on the yellow end of viridis
    ax.text(
        column,
        row,
        f"{score:.1f}",
        ha="center",
        va="center",
        color="k" if bright else "w",
    )
best = iwae_grid.best_params_
best_cell = (k_range.index(best["k"]), n_components_range.index(best["n_components"]))
ax.add_patch(
    plt.Rectangle(
        (best_cell[0] - 0.5, best_cell[1] - 0.5), 1, 1, fill=False, ec="r", lw=3
    )
)
fig.colorbar(image, ax=ax, label="mean log-likelihood (nats)")
ax.set_title("IWAE: GridSearchCV over n_components and k")
fig.tight_layout()
plt.show()

spread = iwae_grid.cv_results_["std_test_score"]
print(f"spread over the folds: {spread.min():.1f} to {spread.max():.1f} nats")
print("GridSearchCV picks", best)
assert np.all(iwae_scores[:, -1] > iwae_scores[:, 0])

# %%
# The chosen models on the test digits
# ------------------------------------
# Both refitted models score the held-out test digits, which no candidate
# saw during the search.
iwae_test = iwae_grid.score(X_test)
pca_test = pca_grid.score(X_test)
print(f"IWAE {best}: {iwae_test:.1f} nats per test digit")
print(f"PCA {pca_grid.best_params_}: {pca_test:.1f} nats per test digit")
assert iwae_test > pca_test
