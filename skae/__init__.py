"""skae: scikit-learn compatible autoencoders built on PyTorch through skorch."""

from ._autoencoder import AutoencoderTransformer

__version__ = "0.1.0"

__all__ = ["AutoencoderTransformer", "__version__"]
