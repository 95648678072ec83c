"""Tensor-slicing datasets and batch iterators.

skorch's default ``DataLoader`` fetches rows one by one and collates them,
which costs more than the forward pass of a small autoencoder.  The data of
an autoencoder is one float32 matrix that fits in memory, so batches are
taken by slicing (or fancy-indexing) that matrix directly.
"""

import torch
from torch.utils.data import Dataset


class TensorDataset(Dataset):
    """A float32 matrix, already on the training device.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
        The (scaled) data.
    """

    def __init__(self, X):
        self.X = X

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], self.X[index]


class BatchIterator:
    """Yield ``(X_batch, X_batch)`` pairs by slicing a :class:`TensorDataset`.

    The target of an autoencoder is its input, so both elements of the pair
    are the same tensor: skorch passes the first to the module and the second
    to the criterion as ``y_true``.

    Parameters
    ----------
    dataset : TensorDataset
        The data to iterate over.
    batch_size : int
        Rows per batch; the last batch may be smaller (never dropped, so even
        a single sample trains).
    shuffle : bool, default=False
        Draw a new permutation for every pass, from torch's default generator
        (which the estimator seeds inside a forked RNG state).
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        X = self.dataset.X
        n_samples = len(X)
        if self.shuffle:
            # Permuting once and slicing contiguous chunks is cheaper than a
            # gather per batch.
            X = X[torch.randperm(n_samples).to(X.device)]
        for start in range(0, n_samples, self.batch_size):
            batch = X[start : start + self.batch_size]
            yield batch, batch


def iter_row_chunks(X, chunk_size):
    """Yield consecutive row slices of a 2-D array of at most ``chunk_size`` rows."""
    for start in range(0, X.shape[0], chunk_size):
        yield X[start : start + chunk_size]
