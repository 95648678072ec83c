"""Per-column terms of a mixed-type model matrix, in torch.

The decoder of a model of mixed columns (see :mod:`~skae._base.columns`)
outputs one number per model-matrix column: the mean of a Gaussian column,
the logit of a flag, the rate's logarithm of a count, and for a category one
logit per category. :class:`ColumnTerms` turns those outputs into each
input column's mean, log-probability (for VAE and IWAE) or reconstruction
loss (for the autoencoders), summed over the model columns of each input
column so that a category counts once, whatever its number of categories.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .missing import masked_terms, zero_filled

_LOG_2PI = math.log(2 * math.pi)
# The smallest entropy (nats) a flag or category's loss is divided by, for
# the autoencoders: a column that (nearly) always takes one value would
# otherwise get an unbounded weight.
MIN_ENTROPY = 0.01


def marginal_entropies(X, kinds, widths):
    """The entropy (nats) of each flag and category's training frequencies;
    NaN for the other columns. ``X`` is the model matrix (NaN missing)."""
    entropies = np.full(len(kinds), np.nan)
    start = 0
    for j, (kind, width) in enumerate(zip(kinds, widths)):
        block = X[:, start : start + width]
        start += width
        if kind not in ("bernoulli", "categorical"):
            continue
        rows = block[~np.isnan(block).any(axis=1)]
        p = rows.mean(axis=0) if len(rows) else np.full(width, 1.0 / width)
        if kind == "bernoulli":
            p = np.array([p[0], 1.0 - p[0]])
        p = p[p > 0]
        entropies[j] = float(-(p * np.log(p)).sum())
    return entropies


class ColumnTerms(nn.Module):
    """Means, log-probabilities and losses of mixed columns from decoder outputs.

    Parameters
    ----------
    kinds : sequence of str
        The kind of each input column (see :mod:`~skae._base.columns`).
    widths : sequence of int
        The number of model-matrix columns of each input column.
    weights : array-like of shape (n_inputs,), default=None
        The weight of each input column's loss for the autoencoders (1 for
        all if None); a buffer, saved with the module.
    """

    def __init__(self, kinds, widths, weights=None):
        super().__init__()
        self.kinds = tuple(kinds)
        self.widths = tuple(int(w) for w in widths)
        column_of = np.repeat(np.arange(len(self.kinds)), self.widths)
        self.register_buffer("column_of", torch.as_tensor(column_of))
        starts = np.concatenate([[0], np.cumsum(self.widths)[:-1]])
        self.register_buffer("starts", torch.as_tensor(starts, dtype=torch.long))
        for kind in ("gaussian", "bernoulli", "poisson", "categorical"):
            mask = torch.as_tensor(np.asarray(self.kinds)[column_of] == kind)
            self.register_buffer(f"is_{kind}", mask)
        categorical = torch.as_tensor([kind == "categorical" for kind in self.kinds])
        self.register_buffer("is_categorical_input", categorical)
        weights = np.ones(len(self.kinds)) if weights is None else weights
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))
        self.blocks = [
            (int(s), int(s + w))
            for s, w, kind in zip(starts, self.widths, self.kinds)
            if kind == "categorical"
        ]

    @property
    def n_inputs(self):
        return len(self.kinds)

    def observed(self, x):
        """The mask of observed input columns, ``(..., n_inputs)``, or None
        if all are (a missing value is NaN in each of its model columns)."""
        missing = torch.isnan(x.index_select(-1, self.starts))
        return None if not bool(missing.any()) else ~missing

    def fold(self, terms):
        """Model-column ``terms`` summed per input column."""
        shape = (*terms.shape[:-1], self.n_inputs)
        return terms.new_zeros(shape).index_add(-1, self.column_of, terms)

    def _log_softmax(self, out):
        """``out`` with each category block's log-normalizer subtracted."""
        if not self.blocks:
            return out
        parts, last = [], 0
        for start, stop in self.blocks:
            parts += [out[..., last:start], out[..., start:stop].log_softmax(-1)]
            last = stop
        parts.append(out[..., last:])
        return torch.cat(parts, -1)

    def mean(self, out):
        """The mean of each model column: values, probabilities, rates."""
        mean = self._log_softmax(out)
        mean = torch.where(self.is_categorical, mean.exp(), mean)
        mean = torch.where(self.is_bernoulli, torch.sigmoid(out), mean)
        return torch.where(self.is_poisson, out.exp(), mean)

    def _model_terms(self, out, x, variance):
        """log p of each model column (Gaussian ones with ``variance``);
        for a category, its indicator times its log-probability."""
        x = x.expand_as(out)
        terms = x * self._log_softmax(out)
        bernoulli = -F.binary_cross_entropy_with_logits(out, x, reduction="none")
        terms = torch.where(self.is_bernoulli, bernoulli, terms)
        poisson = x * out - out.exp() - torch.lgamma(x + 1.0)
        terms = torch.where(self.is_poisson, poisson, terms)
        if variance is None:  # the autoencoders' squared error, negated
            gaussian = -(x - out).pow(2)
        else:
            gaussian = -0.5 * ((x - out).pow(2) / variance + variance.log() + _LOG_2PI)
        return torch.where(self.is_gaussian, gaussian, terms)

    def _unknown(self, x):
        """log of each input column's indicator sum: 0, or ``-inf`` for a
        category not seen in fit (an all-zero block)."""
        if not self.blocks:
            return None
        counts = self.fold(torch.where(self.is_categorical, x, torch.ones_like(x)))
        counts = torch.where(self.is_categorical_input, counts, 1.0)
        return counts.log()

    def log_prob(self, out, x, variance=None):
        """log p(x_j | z) of each input column, ``(..., n_inputs)``; 0 for
        missing ones. ``out``: the decoder's output for ``x``."""
        missing = torch.isnan(x)
        observed = None
        if bool(missing.any()):  # one NaN test for both masks
            observed = ~missing.index_select(-1, self.starts)
            x = zero_filled(x, ~missing)
        terms = self.fold(self._model_terms(out, x, variance))
        unknown = self._unknown(x)
        if unknown is not None:
            terms = terms + unknown
        return masked_terms(terms, observed)

    def draw(self, mean, variance, generator):
        """A draw from each column's distribution, given its :meth:`mean`."""
        uniform = torch.rand(mean.shape, generator=generator, device=mean.device)
        uniform = uniform.to(mean.dtype)
        normal = torch.randn(mean.shape, generator=generator, device=mean.device)
        draw = mean + variance.sqrt() * normal.to(mean.dtype)
        draw = torch.where(self.is_bernoulli, (uniform < mean).to(mean.dtype), draw)
        if bool(self.is_poisson.any()):
            counts = torch.poisson(mean.clamp(min=0.0), generator=generator)
            draw = torch.where(self.is_poisson, counts, draw)
        for start, stop in self.blocks:
            probability = mean[..., start:stop].reshape(-1, stop - start)
            pick = torch.multinomial(probability.float(), 1, generator=generator)
            block = F.one_hot(pick[:, 0], stop - start).to(mean.dtype)
            draw[..., start:stop] = block.reshape(mean[..., start:stop].shape)
        return draw

    def linearized(self, weight, bias):
        """A linear model's decoder ``bias + weight @ z`` of the values,
        turned into one of each column's natural parameter (the logit of a
        flag, the log-rate of a count, a category's log-probability) to
        first order around the mean ``bias``: a mixed model starts as close
        to the linear start as its link functions allow."""
        weight = np.array(weight, dtype=np.float64)
        bias = np.array(bias, dtype=np.float64)
        kinds = np.asarray(self.kinds)[self.column_of.cpu().numpy()]
        slope = np.ones_like(bias)
        flag = kinds == "bernoulli"
        p = np.clip(bias[flag], 1e-3, 1 - 1e-3)
        slope[flag], bias[flag] = p * (1 - p), np.log(p / (1 - p))
        positive = (kinds == "categorical") | (kinds == "poisson")
        p = np.clip(bias[positive], 1e-3, None)
        slope[positive], bias[positive] = p, np.log(p)
        return weight / slope[:, None], bias

    def loss(self, out, x):
        """Each input column's weighted reconstruction loss, ``(batch,
        n_inputs)``: squared error, or cross-entropy for flags and
        categories; 0 for missing ones."""
        return -self.weights * self.log_prob(out, x)
