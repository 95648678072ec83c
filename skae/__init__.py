"""skae: scikit-learn compatible autoencoders built on PyTorch through skorch."""

from ._autoencoder import AutoencoderTransformer
from ._outlier import OutlierDetector

__version__ = "0.1.0"

__all__ = ["AutoencoderTransformer", "OutlierDetector", "__version__"]
