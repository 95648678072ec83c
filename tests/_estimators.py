"""Every public estimator with fast settings, for the shared tests.

Add each new estimator here: ``test_common.py`` (sklearn's checks) and
``test_base.py`` (the shared API) run over this list.
"""

from sklearn.decomposition import PCA

from skae import (
    IWAE,
    VAE,
    AutoencoderTransformer,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    IWAEImputer,
    OutlierDetector,
    SparseAutoencoder,
)

# Tiny nets and few epochs: these tests check the API, not the quality.
FAST = dict(hidden_layer_sizes=(8,), max_epochs=3, batch_size=16, device="cpu")

ESTIMATORS = [
    AutoencoderTransformer(**FAST),
    ContractiveAutoencoder(**FAST),
    DenoisingAutoencoder(**FAST),
    DenoisingAutoencoder(noise="salt_and_pepper", **FAST),
    SparseAutoencoder(**FAST),
    SparseAutoencoder(sparsity="l1", **FAST),
    VAE(**FAST),
    IWAE(**FAST),
]

# Every public estimator as users construct it, with its defaults and only
# fewer epochs: sklearn's checks only. OutlierDetector() keeps the default
# VAE, whose epochs its parameters do not reach.
DEFAULT_ESTIMATORS = [
    AutoencoderTransformer(max_epochs=3),
    ContractiveAutoencoder(max_epochs=3),
    DenoisingAutoencoder(max_epochs=3),
    SparseAutoencoder(max_epochs=3),
    VAE(max_epochs=3),
    IWAE(max_epochs=3),
    OutlierDetector(),
    IWAEImputer(max_epochs=3),
]

# Meta-estimators: sklearn's checks only (they are not autoencoders, so the
# shared autoencoder API tests do not apply).
META_ESTIMATORS = [
    OutlierDetector(AutoencoderTransformer(**FAST, random_state=0)),
    # One component: with all of them PCA reconstructs every row exactly,
    # and the scores are float rounding noise around 1e-30.
    OutlierDetector(PCA(n_components=1), method="reconstruction"),
    OutlierDetector(AutoencoderTransformer(**FAST, random_state=0), contamination=0.1),
    # Outlier detection in the training data: scikit-learn's checks of
    # fit_predict and of the flagged share of the training rows apply.
    OutlierDetector(
        AutoencoderTransformer(**FAST, random_state=0),
        contamination=0.1,
        novelty=False,
    ),
    IWAEImputer(hidden_layer_sizes=(8,), max_epochs=3, n_draws=20, device="cpu"),
    IWAEImputer(AutoencoderTransformer(**FAST)),
]
