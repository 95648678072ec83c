"""The fixed-seed fits whose outputs must not change in a refactor.

``tests/golden/make_golden.py`` wrote their outputs, and a model file of each,
with the code before the architecture refactor (issue 21);
``tests/test_golden.py`` refits them and loads those files, and requires the
same numbers, bit for bit.
"""

import numpy as np
from sklearn.datasets import load_digits, load_wine
from sklearn.decomposition import PCA

from skae import (
    IWAE,
    VAE,
    AutoencoderTransformer,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    OutlierDetector,
    SparseAutoencoder,
)

# Small and quick, but every part of a fit runs: the linear start, the
# validation split, the schedule. One thread: thread counts change the last
# digits of a fit.
SMALL = dict(
    hidden_layer_sizes=(32, 16), max_epochs=4, n_jobs=1, device="cpu", random_state=0
)
# Rows scored by each model.
N_EVALUATED = 64


def datasets():
    """``{name: (X_train, X_evaluated)}``: digits (pixels, and in [0, 1]), wine."""
    digits = load_digits().data
    wine = load_wine().data
    return {
        "digits": (digits[200:], digits[:N_EVALUATED]),
        "digits01": (digits[200:] / 16, digits[:N_EVALUATED] / 16),
        "wine": (wine[40:], wine[:40]),
    }


def cases():
    """``{name: (data set name, unfitted estimator)}``."""
    out = {}
    for data in ("digits", "wine"):
        models = {
            "ae": AutoencoderTransformer(4, **SMALL),
            "ae_random": AutoencoderTransformer(4, init="random", **SMALL),
            # The settings written out, so that the cases keep their
            # numerics should a default of SparseAutoencoder change.
            "sparse_kl": SparseAutoencoder(
                16, sparsity="kl", sparsity_weight=0.1, **SMALL
            ),
            "sparse_l1": SparseAutoencoder(
                16, sparsity="l1", sparsity_weight=0.1, **SMALL
            ),
            "dae_gaussian": DenoisingAutoencoder(4, **SMALL),
            "dae_masking": DenoisingAutoencoder(4, noise="masking", **SMALL),
            "dae_salt": DenoisingAutoencoder(4, noise="salt_and_pepper", **SMALL),
            "cae": ContractiveAutoencoder(4, **SMALL),
            "vae": VAE(4, **SMALL),
            "vae_shared": VAE(4, noise_variance="shared", k_eval=20, **SMALL),
            "iwae": IWAE(4, k=3, k_eval=20, **SMALL),
            "ae_trimmed": AutoencoderTransformer(4, trim_fraction=0.1, **SMALL),
            "detector_vae": OutlierDetector(
                VAE(4, noise_variance="shared", **SMALL), contamination=0.1
            ),
            "detector_ae": OutlierDetector(AutoencoderTransformer(4, **SMALL)),
            "detector_pca": OutlierDetector(
                PCA(2), method="reconstruction", contamination=0.1, random_state=0
            ),
        }
        for name, model in models.items():
            out[f"{data}-{name}"] = (data, model)
    out["digits01-vae_bernoulli"] = (
        "digits01",
        VAE(4, likelihood="bernoulli", **SMALL),
    )
    return out


def outputs(model, X):
    """``{method: array}`` of a fitted model on the evaluated rows ``X``."""
    if isinstance(model, OutlierDetector):
        out = {
            "score_samples": model.score_samples(X),
            "predict": model.predict(X),
            "offset": np.array([model.offset_]),
        }
        if hasattr(model.estimator_, "score_samples_per_feature"):
            out["score_samples_per_feature"] = model.score_samples_per_feature(X)
        return out
    codes = model.transform(X)
    return {
        "transform": codes,
        "inverse_transform": model.inverse_transform(codes),
        "score_samples": model.score_samples(X),
        "score_samples_per_feature": model.score_samples_per_feature(X),
        "loss_curve": np.array(model.loss_curve_),
    }


def saveable(model):
    """Whether ``model`` has a skae model file (a detector of PCA has none)."""
    return hasattr(getattr(model, "estimator", None) or model, "save")
