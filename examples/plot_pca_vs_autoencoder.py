"""
==========================================
Replacing PCA with an autoencoder
==========================================

:class:`skae.AutoencoderTransformer` has the same interface as
:class:`sklearn.decomposition.PCA`: ``n_components``, ``fit``, ``transform``,
``inverse_transform``, ``score``. This example swaps one for the other on the
handwritten digits and compares

1. the 2-D embeddings,
2. the held-out reconstruction error as the latent size grows,
3. a classification pipeline whose latent size is chosen by ``GridSearchCV``.

The digits go in raw (pixel intensities 0..16): the autoencoder standardizes
its input internally and ``inverse_transform`` returns pixels again.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from skae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)

# %%
# Two-dimensional embeddings
# --------------------------
# The nonlinear encoder separates the classes better than the best linear
# projection.
reducers = {
    "PCA": PCA(n_components=2),
    "AutoencoderTransformer": AutoencoderTransformer(n_components=2, random_state=0),
}
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, (name, reducer) in zip(axes, reducers.items()):
    codes = reducer.fit(X_train).transform(X_test)
    scatter = ax.scatter(codes[:, 0], codes[:, 1], c=y_test, cmap="tab10", s=8)
    ax.set_title(f"{name}, held-out digits")
fig.colorbar(scatter, ax=axes, label="digit")

# %%
# Reconstruction error against the latent size
# --------------------------------------------
# Errors are in squared pixel units on the held-out images.
sizes = [2, 4, 8, 16]
errors = {name: [] for name in reducers}
for n_components in sizes:
    for name, reducer in reducers.items():
        reducer.set_params(n_components=n_components).fit(X_train)
        reconstruction = reducer.inverse_transform(reducer.transform(X_test))
        errors[name].append(np.mean((reconstruction - X_test) ** 2))

fig, ax = plt.subplots(figsize=(5, 4))
for name, values in errors.items():
    ax.plot(sizes, values, marker="o", label=name)
ax.set(xlabel="n_components", ylabel="held-out MSE (pixels$^2$)", xscale="log")
ax.set_xticks(sizes, labels=sizes)
ax.legend()
for name, values in errors.items():
    print(name, " ".join(f"{v:.2f}" for v in values))

# %%
# The same grid for both reducers in a pipeline
# ---------------------------------------------
# The parameter grid written for PCA works unchanged for the autoencoder.
for name, reducer in reducers.items():
    pipe = Pipeline(
        [("reduce", reducer), ("classify", LogisticRegression(max_iter=3000))]
    )
    search = GridSearchCV(pipe, {"reduce__n_components": [8, 16]}, cv=3)
    search.fit(X_train, y_train)
    print(
        f"{name}: best n_components={search.best_params_['reduce__n_components']}, "
        f"held-out accuracy={search.score(X_test, y_test):.3f}"
    )

plt.show()
