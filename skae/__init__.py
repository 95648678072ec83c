"""skae: scikit-learn compatible autoencoders built on PyTorch through skorch."""

from ._impute import IWAEImputer
from ._models.autoencoder import AutoencoderTransformer
from ._models.contractive import ContractiveAutoencoder
from ._models.denoising import DenoisingAutoencoder
from ._models.iwae import IWAE
from ._models.sparse import SparseAutoencoder
from ._models.vae import VAE
from ._outlier import OutlierDetector
from ._persistence import load
from ._version import __version__

__all__ = [
    "IWAE",
    "IWAEImputer",
    "VAE",
    "AutoencoderTransformer",
    "ContractiveAutoencoder",
    "DenoisingAutoencoder",
    "OutlierDetector",
    "SparseAutoencoder",
    "__version__",
    "load",
]
