"""Inference: a fitted module mapped over rows in chunks, and its checks.

Every method that runs the network on data (``transform``,
``inverse_transform``, ``score_samples``, the models' own, such as
``VAE.sample``) goes through :meth:`Inference.map`: one loop over chunks of
one size rule (:func:`inference_chunk_rows`), with bounded memory, and one
check of its outputs (:meth:`Inference.check_finite`).
"""

import math

import numpy as np
import torch

from .data import chunk_rows
from .rows import as_rows
from .scaling import standardize
from .threads import forward_work, recheck, torch_threads

# Rows per forward pass in transform, inverse_transform and score_samples, at
# most; fewer for wide data (INFERENCE_CHUNK_VALUES). Larger chunks cost the
# encoder a little less CPU time on many rows (on 20000 rows of 784 features
# and the default (256, 128) network, 13% less over 4096-row chunks), but
# the buffers of a chunk are what bounds memory.
INFERENCE_CHUNK_ROWS = 256
# ... and at most this many input values (16 MiB of float32) for wide data.
INFERENCE_CHUNK_VALUES = 2**22
# Every chunk is padded with zeros to a multiple of this many rows. A row's
# result involves no other row, but matrix kernels pick their summation
# order by shape: rows past the last multiple of the kernel's block of rows
# take another path, and a chunk of one to eight rows another again.
# Unpadded, a row alone and in a batch differed by up to 8e-7; in chunks of
# multiples of 16 rows (the 16 float32 lanes of AVX-512), a row's result is
# the same bit for bit whatever the chunk, for the default networks and
# 4 to 784 features on one thread (MKL; tests/test_inference.py). Padding
# every chunk to the full chunk instead (256 rows), as skae did before,
# made a call of 100 rows cost the compute of 256, and a call of 100 rows
# of the VAE's score_samples, 2.6 times that of 100 rows.
ROW_MULTIPLE = 16
# The largest float32: the network computes in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def inference_chunk_rows(n_features):
    """Rows per inference chunk for data ``n_features`` wide: a multiple of
    :data:`ROW_MULTIPLE` when at least that many fit."""
    rows = chunk_rows(n_features, INFERENCE_CHUNK_ROWS, INFERENCE_CHUNK_VALUES)
    return rows - rows % ROW_MULTIPLE if rows >= ROW_MULTIPLE else rows


def padded_rows(n_rows, size):
    """Rows of the chunk that holds ``n_rows`` rows, when chunks hold at
    most ``size``: the next multiple of :data:`ROW_MULTIPLE`, at most ``size``."""
    return min(size, -(-n_rows // ROW_MULTIPLE) * ROW_MULTIPLE)


class Inference:
    """Runs a fitted module over rows, chunk by chunk.

    Parameters
    ----------
    module : AutoencoderModule
        The fitted module.
    device : torch.device
        Where it lives.
    mean, scale : ndarray of shape (n_features,)
        The input scaling (``mean_``, ``scale_`` of the estimator).
    n_jobs : int or None
        The estimator's thread setting.
    name : str
        The estimator's class name, for error messages.
    """

    def __init__(self, module, device, mean, scale, n_jobs, name):
        self.module = module
        self.device = device
        self.mean = mean
        self.scale = scale
        self.n_jobs = n_jobs
        self.name = name

    def scale_rows(self, X):
        """Rows of ``X`` in the model's scaled space, in float64."""
        return standardize(X, self.mean, self.scale)

    def map(self, X, function, *, scaled=True):
        """Apply ``function(module, batch)`` to row chunks of ``X``.

        Each chunk is scaled (unless ``scaled=False``, for codes), padded
        with zeros to a multiple of :data:`ROW_MULTIPLE` rows (at most
        :func:`inference_chunk_rows`), moved to the device and passed on
        under ``torch.inference_mode``; the rows of its result are copied
        into a preallocated output. Memory stays bounded whatever the
        number of rows: one chunk of activations, plus the output. A row's
        result does not depend on the rows around it (see
        :data:`ROW_MULTIPLE`). Values beyond the float32 range enter as
        infinities. Returns a numpy array in the dtype of ``X``.
        """
        module = self.module
        # Fitted modules are in eval mode already (skae switches whole
        # modules only); eval() walks every submodule, a sixth of the
        # forward pass of 100 rows through the default network.
        if module.training:
            module.eval()
        n_rows, n_columns = X.shape
        size = inference_chunk_rows(n_columns)
        largest = padded_rows(min(n_rows, size), size)
        # A writable buffer that the input tensor shares: no copy per chunk,
        # and no warning from torch for read-only input.
        buffer = np.zeros((largest, n_columns), dtype=np.float32)
        tensor = torch.from_numpy(buffer)
        out = None
        with (
            torch_threads(self.n_jobs, forward_work(module, largest)),
            torch.inference_mode(),
            np.errstate(over="ignore"),
        ):
            for start in range(0, n_rows, size):
                recheck()
                chunk = X[start : start + size]
                n_chunk, padded = len(chunk), padded_rows(len(chunk), size)
                buffer[:n_chunk] = self.scale_rows(chunk) if scaled else chunk
                buffer[n_chunk:padded] = 0.0
                batch = tensor[:padded].to(self.device)
                result = function(module, batch)[:n_chunk].cpu().numpy()
                if out is None:
                    out = np.empty((n_rows, *result.shape[1:]), dtype=X.dtype)
                out[start : start + n_chunk] = result
        return out

    def encode(self, X):
        """The codes of the rows of ``X`` (unchecked)."""
        return self.map(X, lambda module, batch: module.encode(batch))

    def decode(self, Z):
        """The reconstructions of the codes ``Z``, in the units of the data
        (unchecked)."""
        reconstruction = self.map(
            Z, lambda module, codes: module.decode(codes), scaled=False
        )
        # In place: no full-size temporaries beside the output.
        with np.errstate(over="ignore", invalid="ignore"):
            reconstruction *= self.scale
            reconstruction += self.mean
        return reconstruction

    def impute(self, X, **kwargs):
        """Rows of ``X`` with their missing (NaN) entries filled by the
        module's :meth:`fill_missing`, in the units of ``X``; the observed
        entries are returned exactly as they are."""
        filled = self.map(X, lambda module, batch: module.fill_missing(batch, **kwargs))
        with np.errstate(over="ignore", invalid="ignore"):
            filled *= self.scale
            filled += self.mean
        return np.where(np.isnan(X), filled, X)

    def scores(self, X, *, per_feature, **kwargs):
        """The module's scores of the rows of ``X``, per row or per feature.

        The log-Jacobian of the scaling is added to log-densities (per
        feature, each feature's own), and scores that are not finite
        become ``-inf``.
        """
        if per_feature:
            return self._per_feature_scores(X, kwargs)
        if self.module.score_is_log_density:
            scores = self._log_densities(X, kwargs)
        else:
            scores = self.map(X, lambda module, b: module.score_samples(b, **kwargs))
        # In place, without full-size temporaries.
        return np.nan_to_num(
            scores, copy=False, nan=-np.inf, posinf=-np.inf, neginf=-np.inf
        )

    def _log_densities(self, X, kwargs):
        """The module's log-densities of the rows of ``X``, in the units of
        ``X``: with the log-Jacobian of the scaling."""
        log_scale = np.log(self.scale)
        missing_log_scale = torch.as_tensor(log_scale)

        def score(module, batch):
            scores = module.score_samples(batch, **kwargs)
            # The Jacobian covers the observed features: the scores below
            # subtract all of them, and this adds back the missing ones'.
            missing = torch.isnan(batch).to(missing_log_scale.dtype)
            correction = missing @ missing_log_scale.to(batch.device)
            return torch.stack([scores.double(), correction], 1)

        scores = self.map(X, score)
        # log p(x) = log p_scaled((x - mean_) / scale_) - sum(log scale_)
        scores, missing = scores[:, 0].copy(), scores[:, 1]
        scores -= np.sum(log_scale)
        scores += missing
        return scores

    def _per_feature_scores(self, X, kwargs):
        """Per-feature scores: NaN for missing values, else finite or ``-inf``."""

        def terms(module, batch):
            values = module.score_samples_per_feature(batch, **kwargs)
            values = values.nan_to_num(
                nan=-math.inf, posinf=-math.inf, neginf=-math.inf
            )
            observed = module.observed_inputs(batch)
            return (
                values if observed is None else values.masked_fill(~observed, math.nan)
            )

        scores = self.map(X, terms)
        if self.module.score_is_log_density:
            # Each feature's own term of the log-Jacobian of the scaling (for
            # mixed columns, the sum over each input column's model columns).
            log_scale = np.log(self.scale)
            if self.module.columns is not None:
                starts = self.module.columns.starts.cpu().numpy()
                log_scale = np.add.reduceat(log_scale, starts)
            scores -= log_scale
        return np.nan_to_num(
            scores, copy=False, nan=np.nan, posinf=-np.inf, neginf=-np.inf
        )

    def check_finite(self, output, X, method):
        """Raise a ``ValueError`` naming the rows whose ``output`` is not finite.

        The network computes in float32: rows far outside the training data
        (after scaling, beyond about 3.4e38, or overflowing inside the
        network) have no finite result.
        """
        bad = ~np.isfinite(output).reshape(len(output), -1).all(axis=1)
        if not bad.any():
            return output
        rows = np.flatnonzero(bad)
        bad_rows = as_rows(X).take(rows)
        if method == "transform":
            with np.errstate(over="ignore", invalid="ignore"):
                values = self.scale_rows(bad_rows)
            what = "their values, scaled by the training statistics (mean_, scale_),"
            beyond = "and the network overflows on them"
            advice = "Such rows lie far outside the training data (score_samples "
            advice += "scores them -inf)."
        else:
            values = bad_rows
            what = "their codes"
            beyond = f"and their reconstructions overflow the network or {output.dtype}"
            advice = "Such codes lie far outside those of the training data."
        peak = float(np.max(np.abs(values)))
        if peak > FLOAT32_MAX:
            beyond = f"beyond the float32 range ({FLOAT32_MAX:.3g}) of the network"
        raise ValueError(
            f"{self.name}.{method} has no finite result for {len(rows)} "
            f"of {len(output)} rows (the first: row {rows[0]}): {what} reach "
            f"{peak:.3g}, {beyond}. {advice}"
        )
