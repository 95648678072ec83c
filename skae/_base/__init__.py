"""The machinery every skae autoencoder shares."""

from .estimator import _BaseAutoencoder

__all__ = ["_BaseAutoencoder"]
