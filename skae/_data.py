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
        Draw a new permutation for every pass, from torch's default (CPU)
        generator, which the estimator seeds inside a forked RNG state: the
        same seed gives the same batches on every device.
    device : str or torch.device, default=None
        Where batches must be. Data already there (the usual case: the
        estimator moves the training data to the device once) are sliced in
        place; data elsewhere (too large for the GPU) are copied one batch
        at a time. None keeps batches where the data are.
    """

    def __init__(self, dataset, batch_size, shuffle=False, device=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.device = device

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        X = self.dataset.X
        n_samples = len(X)
        if self.shuffle:
            # Permuting once and slicing contiguous chunks is cheaper than a
            # gather per batch.
            X = X[torch.randperm(n_samples).to(X.device)]
        device = X.device if self.device is None else torch.device(self.device)
        # "cuda" (the current GPU) and "cuda:0" name the same place.
        copy = device.type != X.device.type or device.index not in (
            None,
            X.device.index,
        )
        for start in range(0, n_samples, self.batch_size):
            batch = X[start : start + self.batch_size]
            if copy:
                batch = batch.to(device, non_blocking=True)
            yield batch, batch


def iter_row_chunks(X, chunk_size):
    """Yield consecutive row slices of a 2-D array of at most ``chunk_size`` rows."""
    for start in range(0, X.shape[0], chunk_size):
        yield X[start : start + chunk_size]
