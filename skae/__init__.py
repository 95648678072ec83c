"""skae: scikit-learn compatible autoencoders built on PyTorch through skorch."""

from ._autoencoder import AutoencoderTransformer
from ._contractive import ContractiveAutoencoder
from ._denoising import DenoisingAutoencoder
from ._outlier import OutlierDetector
from ._persistence import load
from ._sparse import SparseAutoencoder
from ._vae import IWAE, VAE
from ._version import __version__

__all__ = [
    "IWAE",
    "VAE",
    "AutoencoderTransformer",
    "ContractiveAutoencoder",
    "DenoisingAutoencoder",
    "OutlierDetector",
    "SparseAutoencoder",
    "__version__",
    "load",
]
