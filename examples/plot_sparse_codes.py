"""
=============================
What sparse codes look like
=============================

A :class:`~skae.SparseAutoencoder` adds a penalty on its code activations to
the reconstruction error, so that each sample is described by a few active
units. Here it learns 128 code units for the 64 pixels of the digits: an
*overcomplete* code, which only the sparsity penalty keeps from spreading
every digit over all units.

We compare the KL penalty (sigmoid units pulled towards a target rate
``rho``) with the same network trained without the penalty
(``sparsity_weight=0``): the activation histograms, each unit's mean
activation against ``rho``, and the image that each unit adds to the
reconstruction when it fires.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import SparseAutoencoder

# Every model here trains for at most a number of epochs written out
# (max_epochs), to keep the example fast; skae would warn (ConvergenceWarning)
# when max_epochs ends a fit whose loss was still improving.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0, stratify=y)

# Every setting that matters is written out.
params = dict(
    n_components=128,
    # The KL penalty (not the default, "l1"): its sigmoid units have a target
    # rate rho to compare with, and activations in (0, 1) to histogram.
    sparsity="kl",
    sparsity_target=0.05,
    hidden_layer_sizes=(256, 128),
    max_epochs=60,
    batch_size=128,
    lr=1e-3,
    # Per-pixel standardization, not the default "auto": with every pixel on
    # its own unit scale the KL penalty costs little reconstruction (the last
    # check below); with "auto" it costs more on these digits (2.5 times).
    standardize=True,
    random_state=0,
)
models = {
    "no penalty": SparseAutoencoder(sparsity_weight=0.0, **params),
    "KL penalty": SparseAutoencoder(sparsity_weight=0.3, **params),
}
codes, test_error = {}, {}
for name, model in models.items():
    model.fit(X_train)
    codes[name] = model.transform(X_test)
    test_error[name] = -model.score(X_test)
    print(
        f"{name:>10}: mean activation {codes[name].mean():.3f}, "
        f"activations below 0.05: {np.mean(codes[name] < 0.05):.0%},\n"
        f"{'':>12}test reconstruction MSE (standardized) {test_error[name]:.3f}"
    )

# %%
# Activations and mean activation per unit
# ----------------------------------------
# Without the penalty the sigmoid units sit anywhere in (0, 1); with it the
# activations pile up near 0 (the share below 0.05 is printed above: 43%
# against 2%), and each unit's mean activation is pulled towards ``rho``. The held-out
# reconstruction error (printed above) stays within 25% of the unpenalized
# model's: the sparse code costs little accuracy here.
#
# These figures hold for this one setting (``sparsity="kl"`` at weight 0.3,
# per-pixel standardization). ``code_sparsity_``, set by ``fit``, is the
# share of the training codes below 5% of their row's largest: 0.34 with the
# penalty here, 0.01 without. The KL penalty is shown because its target
# rate makes each unit's mean easy to see; the default is ``sparsity="l1"``
# at weight 0.2, whose ReLU codes are exactly 0 where a unit is off, and
# which is sparser by ``code_sparsity_`` on most kinds of data (the
# quality page's "Sparse codes" section has the figures, on six data sets).
rho = params["sparsity_target"]
unit_means = {name: Z.mean(axis=0) for name, Z in codes.items()}
distance_to_rho = {name: np.mean(np.abs(m - rho)) for name, m in unit_means.items()}
near_zero = {name: np.mean(Z < 0.05) for name, Z in codes.items()}
for name in codes:
    print(f"{name:>10}: mean |unit mean activation - rho| {distance_to_rho[name]:.3f}")
assert 0.40 < near_zero["KL penalty"] < 0.46 and near_zero["no penalty"] < 0.05
sparsity = {name: model.code_sparsity_ for name, model in models.items()}
print("code_sparsity_:", {name: round(share, 2) for name, share in sparsity.items()})
assert 0.3 < sparsity["KL penalty"] < 0.4 and sparsity["no penalty"] < 0.05
assert distance_to_rho["KL penalty"] < 0.5 * distance_to_rho["no penalty"]
assert 0.8 < test_error["KL penalty"] / test_error["no penalty"] < 1.25

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
bins = np.linspace(0, 1, 41)
for name, Z in codes.items():
    axes[0].hist(Z.ravel(), bins=bins, alpha=0.6, label=name)
    axes[1].plot(np.sort(Z.mean(axis=0))[::-1], label=name)
axes[0].set(xlabel="activation", ylabel="count", yscale="log", title="Activations")
axes[1].axhline(params["sparsity_target"], color="k", ls="--", label="rho")
axes[1].set(xlabel="unit (sorted)", ylabel="mean activation", title="Units")
for ax in axes:
    ax.legend()
fig.tight_layout()

# %%
# What each unit draws
# --------------------
# The decoder is nonlinear, so a unit's "feature" is measured: decode the
# typical code of the test digits with that unit switched fully on, minus the
# same code with it switched off (in pixel units; red adds ink, blue removes
# it). Shown for the 10 most used units of each model, one row per model.

n_units = 10
fig, axes = plt.subplots(2, n_units, figsize=(10, 2.8))
for row, (name, model) in zip(axes, models.items()):
    base = np.median(codes[name], axis=0)
    on, off = np.tile(base, (128, 1)), np.tile(base, (128, 1))
    np.fill_diagonal(on, 1.0)
    np.fill_diagonal(off, 0.0)
    features = model.inverse_transform(on) - model.inverse_transform(off)
    order = np.argsort(codes[name].mean(axis=0))[::-1][:n_units]
    for ax, unit in zip(row, order):
        feature = features[unit]
        limit = np.abs(feature).max()
        ax.imshow(feature.reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
fig.tight_layout()
plt.show()
