"""Training-time corruptions for the denoising autoencoder.

Each corruption is a small torch module acting on a batch in the scaled space
the network sees. Its random draws come from the generator it is given (the
estimator passes one seeded from ``random_state`` for the time of a fit): the
noise is fresh for every batch and epoch, yet reproducible, and torch's
global RNG is untouched. Fill values are registered buffers, so they follow
the module to its device and into pickles.
"""

import torch
from torch import nn

from .._base.module import standard_normal_like, uniform_like


class GaussianNoise(nn.Module):
    """Add isotropic Gaussian noise: ``x + std * eps`` with ``eps ~ N(0, I)``.

    Parameters
    ----------
    std : float
        Standard deviation of the noise, in the units of the batch (for
        standardized data: in units of each feature's standard deviation).
    """

    def __init__(self, std):
        super().__init__()
        self.std = float(std)

    def forward(self, x, generator=None):
        return x + self.std * standard_normal_like(x, generator)

    def extra_repr(self):
        return f"std={self.std}"


class MaskingNoise(nn.Module):
    """Replace each entry, with probability ``rate``, by a fixed fill value.

    Parameters
    ----------
    rate : float
        Probability, in [0, 1], that an entry is masked, drawn independently
        for every entry of every batch.
    fill : torch.Tensor of shape (n_features,)
        Value given to a masked entry of each feature (for the estimator: the
        value 0 of the raw data, expressed in the scaled space).
    """

    def __init__(self, rate, fill):
        super().__init__()
        self.rate = float(rate)
        self.register_buffer("fill", torch.as_tensor(fill, dtype=torch.float32))

    def forward(self, x, generator=None):
        mask = uniform_like(x, generator) < self.rate
        return torch.where(mask, self.fill.to(x.dtype), x)

    def extra_repr(self):
        return f"rate={self.rate}"


class SaltAndPepperNoise(nn.Module):
    """Set each entry, with probability ``rate``, to its low or high value.

    A corrupted entry becomes ``low`` ("pepper") or ``high`` ("salt") with
    equal probability.

    Parameters
    ----------
    rate : float
        Probability, in [0, 1], that an entry is corrupted.
    low, high : torch.Tensor of shape (n_features,)
        Per-feature pepper and salt values (for the estimator: the minimum and
        maximum of each feature in the training data, in the scaled space).
    """

    def __init__(self, rate, low, high):
        super().__init__()
        self.rate = float(rate)
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32))

    def forward(self, x, generator=None):
        u = uniform_like(x, generator)
        x = torch.where(u < self.rate / 2, self.low.to(x.dtype), x)
        return torch.where(
            (u >= self.rate / 2) & (u < self.rate), self.high.to(x.dtype), x
        )

    def extra_repr(self):
        return f"rate={self.rate}"
