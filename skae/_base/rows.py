"""Training and inference rows behind one interface, in memory or streamed.

``fit`` asks its rows for what it needs (a sample to build the scaling and
the module from, a validation split, a dataset of scaled rows, a block of
rows) and never which kind they are. Two kinds implement the interface:

- :class:`InMemoryRows`, a validated numpy array;
- :class:`~skae._base.stream.RowStream`, out-of-core data (a memory map, a
  dask array, any array-like sliced by rows) read and checked block by
  block.

Both are sliced by rows (``rows[start:stop]`` is a numpy array), and have a
``shape``, a ``dtype`` and a ``take(indices)``.
"""

import torch
from sklearn.model_selection import train_test_split

from .data import ReconstructionDataset
from .stream import RowStream


def as_rows(X):
    """``X`` behind the rows interface: a stream as it is, an array wrapped."""
    return X if isinstance(X, RowStream) else InMemoryRows(X)


def to_device(data, device):
    """Move a CPU tensor of training data to ``device``.

    Training data too large for the GPU stay in pinned host memory; the
    batch iterator then copies one batch at a time.
    """
    if device.type == "cpu":
        return data
    try:
        return data.to(device)
    except torch.cuda.OutOfMemoryError:
        return data.pin_memory()


class InMemoryRows:
    """Validated rows held in memory, as one numpy array.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    """

    in_memory = True

    def __init__(self, X):
        self.X = X
        self.shape = X.shape
        self.dtype = X.dtype

    def __len__(self):
        return len(self.X)

    def __getitem__(self, key):
        return self.X[key]

    def take(self, indices):
        """The rows at ``indices``."""
        return self.X[indices]

    def sample(self, random_state):
        """The rows the scaling and the module are built from: all of them."""
        return self.X

    def split(self, fraction, random_state):
        """Training and validation rows: a random ``fraction`` held out."""
        train, valid = train_test_split(
            self.X, test_size=float(fraction), random_state=random_state
        )
        return InMemoryRows(train), InMemoryRows(valid)

    def dataset(self, scale, device):
        """The training dataset: the rows scaled by ``scale``, on ``device``."""
        return ReconstructionDataset(to_device(scale(self.X), device))

    def head(self, n_rows):
        """The first ``n_rows`` rows."""
        return self.X[:n_rows]

    def scaled_sample(self, dataset, scale):
        """The scaled rows the module is built from: all of ``dataset``'s."""
        return dataset.X.cpu()  # a no-op on the CPU
