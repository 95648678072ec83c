"""
=====================================
Denoising digits with an autoencoder
=====================================

A :class:`~skae.DenoisingAutoencoder` is trained to reconstruct clean
samples from corrupted copies of them, with fresh noise at every training
step. Here it learns the 8x8 digits under two kinds of noise, Gaussian noise
and salt-and-pepper noise, and then cleans test digits corrupted the same
way. PCA with as many components, and a plain
:class:`~skae.AutoencoderTransformer` of the same size trained on clean
digits, reconstruct the same noisy inputs for comparison.

The corruption exists only during training: to denoise, simply reconstruct,
``dae.inverse_transform(dae.transform(X_noisy))``.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer, DenoisingAutoencoder

# Every model here trains for at most a number of epochs written out
# (max_epochs), to keep the example fast; skae would warn (ConvergenceWarning)
# when max_epochs ends a fit whose loss was still improving.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0, stratify=y)
rng = np.random.RandomState(0)

# %%
# The same noise, at test time
# ----------------------------
# ``noise="gaussian"`` adds noise whose standard deviation is ``noise_level``
# times each pixel's standard deviation; ``noise="salt_and_pepper"`` sets a
# fraction ``noise_level`` of the pixels to their minimum or maximum over
# the training digits. We corrupt the test digits in the same way.


def gaussian(X, level):
    return X + level * X_train.std(axis=0) * rng.normal(size=X.shape)


def salt_and_pepper(X, level):
    u = rng.uniform(size=X.shape)
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    return np.where(u < level / 2, low, np.where(u < level, high, X))


noises = {"gaussian": (gaussian, 1.0), "salt_and_pepper": (salt_and_pepper, 0.2)}

# %%
# Training and reconstructing
# ---------------------------
# Every setting that matters is written out.
params = dict(
    n_components=16,
    hidden_layer_sizes=(256, 128),
    max_epochs=60,
    batch_size=128,
    lr=1e-3,
    # Per-pixel standardization, so that ``noise_level`` is in units of each
    # pixel's standard deviation, as the test-time noise above.
    standardize=True,
    random_state=0,
)
plain = AutoencoderTransformer(**params).fit(X_train)
pca = PCA(n_components=16).fit(X_train)


def reconstruct(model, X):
    return model.inverse_transform(model.transform(X))


results, mse = {}, {}
for noise, (corrupt, level) in noises.items():
    dae = DenoisingAutoencoder(noise=noise, noise_level=level, **params)
    dae.fit(X_train)
    X_noisy = corrupt(X_test, level)
    results[noise] = {
        "noisy": X_noisy,
        "denoising AE": reconstruct(dae, X_noisy),
        "PCA": reconstruct(pca, X_noisy),
        "plain AE": reconstruct(plain, X_noisy),
    }
    mse[noise] = {
        name: np.mean((X_rec - X_test) ** 2) for name, X_rec in results[noise].items()
    }
    print(f"{noise} noise ({level}), mean squared error to the clean digits:")
    for name, value in mse[noise].items():
        print(f"    {name:>12}: {value:5.1f}")

# %%
# For both kinds of noise, the denoising autoencoder's reconstructions are the
# closest to the clean digits (printed above, in squared grey levels): closer
# than the noisy input, than PCA and than the plain autoencoder, which never
# saw corrupted digits in training.
for noise, errors in mse.items():
    others = [value for name, value in errors.items() if name != "denoising AE"]
    assert errors["denoising AE"] < min(others), noise

# %%
# Side by side
# ------------
# From top to bottom: the clean digits, the noisy inputs, and the
# reconstructions of the noisy inputs by the denoising autoencoder, PCA and
# the plain autoencoder.

n_digits = 10
fig, axes = plt.subplots(
    2 * 5, n_digits, figsize=(n_digits * 0.9, 2 * 5 * 0.95), squeeze=False
)
for block, (noise, images) in enumerate(results.items()):
    rows = {"clean": X_test, **images}
    for r, (name, X_rows) in enumerate(rows.items()):
        row = axes[5 * block + r]
        for ax, image in zip(row, X_rows[:n_digits]):
            ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    axes[5 * block, 0].set_title(noise, loc="left", fontsize=10)
fig.tight_layout()
plt.show()
