"""
=========================================
Inpainting images with missing values
=========================================

An image whose centre is missing is a row with missing entries, so any
scikit-learn imputer can fill it in. Here three of them fill the hidden
centre of small images: :class:`~sklearn.impute.KNNImputer` (the mean of the
nearest neighbours), :class:`~sklearn.impute.IterativeImputer` (each pixel
regressed on the others in turn) and :class:`~skae.IWAEImputer`, which trains
an importance-weighted autoencoder on the observed pixels only (MIWAE) and
fills each missing pixel with an importance-sampled estimate of its
conditional mean given the observed ones.

Two sets of images: the 8x8 handwritten digits, and 8x8 grayscale patches of
one of scikit-learn's sample photographs. In each, the centre 4x4 block is
hidden in every test image and in half of the training images: the imputers
learn from incomplete data, as they would from a real collection with holes.
The measure is the root mean squared error (RMSE) over the hidden pixels, in
grey levels.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits, load_sample_image
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.feature_extraction.image import extract_patches_2d
from sklearn.impute import IterativeImputer, KNNImputer
from sklearn.model_selection import train_test_split

from skae import IWAEImputer

# To keep the example fast, the IWAE trains on 1,000 images per set for at
# most 20 epochs (max_epochs; the default is 200). Stopped there, and with
# IterativeImputer at its max_iter, both would warn (ConvergenceWarning).
warnings.filterwarnings("ignore", category=ConvergenceWarning)
rng = np.random.RandomState(0)

# %%
# Two sets of images
# ------------------
# 1,000 training and 300 test images each. The patches are cut from the
# left three quarters of the photograph for training and from its right
# quarter for testing, so that no test patch overlaps a training patch.

digits_train, digits_test = train_test_split(
    load_digits().data, train_size=1000, test_size=300, random_state=0
)
photo = load_sample_image("china.jpg") @ np.array([0.299, 0.587, 0.114])
cut = int(0.75 * photo.shape[1])
patches_train, patches_test = (
    extract_patches_2d(part, (8, 8), max_patches=n, random_state=0).reshape(n, 64)
    for part, n in ((photo[:, :cut], 1000), (photo[:, cut:], 300))
)
images = {
    "digits": (digits_train, digits_test, 16),
    "photo patches": (patches_train, patches_test, 255),
}

centre = np.zeros((8, 8), dtype=bool)
centre[2:6, 2:6] = True
centre = centre.ravel()


def hide_centre(X, fraction):
    """``X`` with the centre block set to NaN in a random ``fraction`` of rows."""
    rows = rng.uniform(size=(len(X), 1)) < fraction
    return np.where(rows & centre, np.nan, X)


# %%
# Filling the centre
# ------------------
# Each imputer is fitted on the incomplete training images and fills the
# test images. skae's imputer runs at its defaults but for ``max_epochs``.


def imputers():
    return {
        "KNNImputer": KNNImputer(),
        "IterativeImputer": IterativeImputer(random_state=0),
        "IWAEImputer": IWAEImputer(max_epochs=20, random_state=0),
    }


filled, rmse = {}, {}
for name, (X_train, X_test, _) in images.items():
    X_train_missing, X_test_missing = hide_centre(X_train, 0.5), hide_centre(X_test, 1)
    hidden = np.isnan(X_test_missing)
    # The simplest fill, for reference: each pixel's mean over the training
    # images where it is observed.
    mean_fill = np.where(hidden, np.nanmean(X_train_missing, axis=0), X_test)
    filled[name] = {"masked": X_test_missing}
    rmse[name] = {"training mean": np.sqrt(np.mean((mean_fill - X_test)[hidden] ** 2))}
    for imputer_name, imputer in imputers().items():
        X_filled = imputer.fit(X_train_missing).transform(X_test_missing)
        # Every imputer returns the observed pixels unchanged.
        assert np.array_equal(X_filled[~hidden], X_test[~hidden]), imputer_name
        filled[name][imputer_name] = X_filled
        error = (X_filled - X_test)[hidden]
        rmse[name][imputer_name] = np.sqrt(np.mean(error**2))
    print(f"{name}: RMSE over the hidden pixels (grey levels)")
    for imputer_name, value in rmse[name].items():
        print(f"    {imputer_name:>18}: {value:6.2f}")

# %%
# On both sets of images, each of the three imputers fills the hidden
# centre closer to the true pixels than the training mean of each pixel does
# (the RMSEs printed above). Which of the three comes closest is printed
# there too; the :doc:`imputation benchmark </imputation>` compares them on
# more data sets, missingness patterns and seeds.
for name, errors in rmse.items():
    for imputer_name in imputers():
        assert errors[imputer_name] < errors["training mean"], (name, imputer_name)

# %%
# Side by side
# ------------
# For each set, from top to bottom: the test images, the same with their
# centre hidden (in red), and the fill of each imputer.

n_images = 8
for name, (_, X_test, top) in images.items():
    rows = {"original": X_test, **filled[name]}
    fig, axes = plt.subplots(
        len(rows), n_images, figsize=(n_images * 0.9, len(rows) * 0.95)
    )
    cmap = plt.get_cmap("gray_r" if name == "digits" else "gray").copy()
    cmap.set_bad("red")
    for row, (label, X_rows) in zip(axes, rows.items()):
        for ax, image in zip(row, X_rows[:n_images]):
            ax.imshow(image.reshape(8, 8), cmap=cmap, vmin=0, vmax=top)
            ax.set_xticks([])
            ax.set_yticks([])
        score = f"\nRMSE {rmse[name][label]:.2f}" if label in rmse[name] else ""
        row[0].set_ylabel(label + score, rotation=0, ha="right", va="center")
    axes[0, 0].set_title(name, loc="left", fontsize=10)
    fig.tight_layout()
plt.show()
