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

# Meta-estimators: sklearn's checks only (they are not autoencoders, so the
# shared autoencoder API tests do not apply).
META_ESTIMATORS = [
    OutlierDetector(AutoencoderTransformer(**FAST, random_state=0)),
    OutlierDetector(PCA(), method="reconstruction"),
]
