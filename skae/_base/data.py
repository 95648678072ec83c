"""The training data of an autoencoder, and batches sliced from it.

skorch's default ``DataLoader`` fetches rows one by one and collates them,
which costs more than the forward pass of a small autoencoder. The data of
an autoencoder is one float32 matrix, so batches are slices of that matrix.
"""

import torch
from torch.utils.data import Dataset


class ReconstructionDataset(Dataset):
    """A float32 matrix whose rows are both the input and the target.

    Unlike :class:`torch.utils.data.TensorDataset`, it holds one tensor and
    returns each row twice, ``(X[i], X[i])``: skorch passes the first to the
    module and the second to the criterion.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
        The (scaled) data, usually already on the training device.
    """

    def __init__(self, X):
        self.X = X

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], self.X[index]

    def buffers(self, shuffle=False, generator=None):
        """Yield the data as one buffer (see :class:`BatchIterator`)."""
        yield self.X


class BatchIterator:
    """Yield ``(X_batch, X_batch)`` pairs sliced from the buffers of a dataset.

    The dataset yields its rows as one or more tensors (``buffers``): a
    :class:`ReconstructionDataset` as one, a streamed dataset
    (:class:`~skae._base.stream.StreamedDataset`) one group of blocks at a
    time. The rows of each buffer are permuted and sliced into batches; the
    rows left over at the end of a buffer join the next one, so every batch
    but the last is full, as with a single buffer.

    Parameters
    ----------
    dataset : ReconstructionDataset or StreamedDataset
        The data to iterate over.
    batch_size : int
        Rows per batch; the last batch may be smaller (never dropped, so even
        a single sample trains).
    shuffle : bool, default=False
        Draw a new permutation of the rows for every pass.
    generator : torch.Generator, default=None
        The CPU generator the permutations are drawn from (torch's global
        RNG if None). The estimator passes a seeded one, so the same seed
        gives the same batches on every device.
    device : str or torch.device, default=None
        Where batches must be. Data already there (the usual case: the
        estimator moves the training data to the device once) are sliced in
        place; data elsewhere (too large for the GPU) are copied one batch
        at a time. None keeps batches where the data are.
    min_batch_rows : int, default=1
        A last batch with fewer rows joins the one before it (2 for modules
        with batch normalization, which cannot train on a single row).
    """

    def __init__(
        self,
        dataset,
        batch_size,
        shuffle=False,
        generator=None,
        device=None,
        min_batch_rows=1,
    ):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.generator = generator
        self.device = device
        self.min_batch_rows = int(min_batch_rows)

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        batches = self._all_batches()
        if self.min_batch_rows <= 1:
            yield from batches
            return
        # One batch held back: only the last one can be short.
        previous = None
        for batch in batches:
            if previous is not None and len(batch[0]) < self.min_batch_rows:
                merged = torch.cat([previous[0], batch[0]])
                batch, previous = (merged, merged), None
            if previous is not None:
                yield previous
            previous = batch
        if previous is not None:
            yield previous

    def _all_batches(self):
        leftover = None
        for X in self.dataset.buffers(self.shuffle, self.generator):
            if leftover is not None and len(leftover):
                X = torch.cat([leftover, X])
            if self.shuffle:
                # Permuting once and slicing contiguous chunks is cheaper than
                # a gather per batch.
                order = torch.randperm(len(X), generator=self.generator)
                X = X[order.to(X.device)]
            n_full = len(X) // self.batch_size * self.batch_size
            yield from self._batches(X[:n_full])
            leftover = X[n_full:]
        if leftover is not None and len(leftover):
            yield from self._batches(leftover)

    def _batches(self, X):
        device = X.device if self.device is None else torch.device(self.device)
        # "cuda" (the current GPU) and "cuda:0" name the same place.
        copy = device.type != X.device.type or device.index not in (
            None,
            X.device.index,
        )
        for start in range(0, len(X), self.batch_size):
            batch = X[start : start + self.batch_size]
            if copy:
                batch = batch.to(device, non_blocking=True)
            yield batch, batch


# Rows, and values, per chunk of a pass over data in host memory (the scaling
# statistics, reconstruction scores): float64 temporaries of at most 32 MiB
# whatever the number of rows.
HOST_CHUNK_ROWS = 4096
HOST_CHUNK_VALUES = 2**22


def chunk_rows(n_features, rows=HOST_CHUNK_ROWS, values=HOST_CHUNK_VALUES):
    """The one chunk-size rule: at most ``rows`` rows of ``n_features`` values
    and at most ``values`` values, and at least one row."""
    return max(1, min(rows, values // max(1, n_features)))


def iter_row_chunks(X, chunk_size=None):
    """Yield consecutive row slices of a 2-D array: ``chunk_size`` rows, or
    :func:`chunk_rows`' if None."""
    chunk_size = chunk_rows(X.shape[1]) if chunk_size is None else chunk_size
    for start in range(0, X.shape[0], chunk_size):
        yield X[start : start + chunk_size]
