"""Out-of-core data: rows read, checked and scaled one block at a time.

A :class:`numpy.memmap`, a dask array, or any 2-D array-like that can be
sliced by rows (h5py, zarr) is never copied whole; nor is a sparse matrix
densified whole. :class:`RowStream` reads
it in blocks, checks each block as it arrives, and, for a memory map, drops
the pages it has read from the process's resident memory: a page of a
memory-mapped file that has been read counts as resident until the kernel
needs the memory back, so without this a pass over a 2 GB file leaves the
process 2 GB larger.

Training data are shuffled in two stages: the blocks are visited in a random
order, and the rows of a buffer of several blocks are permuted
(:meth:`StreamedDataset.buffers`). Data that fit in one buffer are read in
order and permuted as a whole, so they get exactly the batches of data held
in memory.
"""

import mmap
from numbers import Integral

import numpy as np
import scipy.sparse
import torch
from sklearn.model_selection import train_test_split
from sklearn.utils.random import sample_without_replacement
from torch.utils.data import Dataset

from .._compat import memory_map_of
from .data import chunk_rows

# Values per block read from the source (1 MiB of float32): contiguous reads
# large enough for a disk, small enough that blocks from many places in the
# file share each shuffle buffer.
STREAM_BLOCK_VALUES = 2**18
# Values per shuffle buffer (32 MiB of float32): the rows of this many values
# are permuted together. Peak memory of a streamed fit is a few buffers.
STREAM_BUFFER_VALUES = 2**23
# Rows of the sample that the scaling and the module are built from, and at
# most this many values (32 MiB in float64) for wide data.
SAMPLE_ROWS = 10_000
SAMPLE_VALUES = 2**22


def is_streamed(X):
    """Whether ``X`` is read block by block rather than copied into memory.

    True for a 2-D :class:`numpy.memmap` and for 2-D array-likes that are not
    numpy arrays but have a known ``shape``, a ``dtype`` and row slicing
    (dask arrays, h5py datasets, zarr arrays). numpy arrays, pandas objects,
    torch tensors and lists are validated and copied as usual; sparse
    matrices are validated whole, and then read as a :class:`RowStream`
    too (see :func:`~skae._base.validation.validate_rows`).
    """
    if isinstance(X, np.memmap):
        return X.ndim == 2
    if (
        isinstance(X, (np.ndarray, torch.Tensor, list, tuple))
        or scipy.sparse.issparse(X)
        or hasattr(X, "iloc")  # pandas
    ):
        return False
    shape = getattr(X, "shape", None)
    return (
        hasattr(X, "dtype")
        and hasattr(X, "__getitem__")
        and isinstance(shape, tuple)
        and len(shape) == 2
    )


def release_pages(source):
    """Drop the pages of a memory map from this process's resident memory.

    The data stay in the page cache (reading them again costs no disk access)
    and in the file; only the process's mapping of them goes. Done only for
    shared mappings (modes ``"r"``, ``"r+"``, ``"w+"``): in a copy-on-write
    map (``"c"``) it would discard changes made in memory.
    """
    mapping = memory_map_of(source)
    if (
        mapping is None
        or getattr(source, "mode", None) == "c"
        or not hasattr(mmap, "MADV_DONTNEED")
    ):
        return
    mapping.madvise(mmap.MADV_DONTNEED)


def _block_starts(source, n_samples, n_features):
    """Row offsets of the blocks of ``source``, ending with ``n_samples``.

    A dask array is read along its own row chunks (slicing across them would
    compute each chunk several times); anything else in blocks of about
    :data:`STREAM_BLOCK_VALUES` values.
    """
    chunks = getattr(source, "chunks", None)
    if isinstance(chunks, tuple) and chunks and isinstance(chunks[0], tuple):
        sizes = np.asarray(chunks[0], dtype=float)
        if not np.all(np.isfinite(sizes)):
            raise ValueError(
                "X is a dask array with unknown chunk sizes; call "
                "X.compute_chunk_sizes() (or pass lengths=True to "
                "to_dask_array) first."
            )
        # Empty chunks (left by filtering, then compute_chunk_sizes) are no
        # blocks: each block must hold rows.
        return np.unique(np.concatenate([[0], np.cumsum(sizes.astype(np.int64))]))
    rows = chunk_rows(n_features, n_samples, STREAM_BLOCK_VALUES)
    return np.append(np.arange(0, n_samples, rows, dtype=np.int64), n_samples)


def read_rows(source, start, stop, dtype):
    """Rows ``start:stop`` of ``source`` as a new dense array in ``dtype``.

    A sparse block is densified. Raises a ``ValueError`` when the source
    returns another number of rows (or columns) than its ``shape`` implies:
    the output would otherwise be misaligned or left unfilled.
    """
    rows = source[start:stop]
    if scipy.sparse.issparse(rows):
        rows = np.asarray(rows.toarray(), dtype=dtype)
    else:
        # A copy: a memory map's pages are released after the read.
        rows = np.array(rows, dtype=dtype)
    expected = (int(stop - start), int(source.shape[1]))
    if rows.shape != expected:
        raise ValueError(
            f"X[{start}:{stop}] returned an array of shape {rows.shape}, but X "
            f"has shape {tuple(source.shape)}, so {expected} was expected. X's "
            "shape and its row slicing disagree; check the source (for an "
            "array-like wrapper, its shape and __getitem__)."
        )
    return rows


class RowStream:
    """A 2-D array-like read by rows, in blocks, each checked as it is read.

    Slicing (``stream[start:stop]``) returns a checked numpy array in
    :attr:`dtype`, so inference code written for arrays runs on it
    unchanged. The last block read is cached, so consecutive slices inside
    one dask chunk compute it once.

    Parameters
    ----------
    source : array-like of shape (n_samples, n_features)
        The data; see :func:`is_streamed`.
    check : callable
        Called on every block read (a numpy array in :attr:`dtype`); raises
        on invalid values (NaN, infinity, out of range).
    blocks : ndarray of int, default=None
        Indices of the blocks of ``source`` that form this stream (a
        training or validation split); all blocks if None.
    """

    in_memory = False

    def __init__(self, source, check, blocks=None, sample=None):
        n_samples, n_features = source.shape
        if not isinstance(n_samples, Integral) or not isinstance(n_features, Integral):
            raise ValueError(
                f"X has an unknown shape {source.shape}; compute it first (for a "
                "dask array, X.compute_chunk_sizes())."
            )
        self.source = source
        self.check = check
        self.dtype = np.dtype(
            np.float32 if np.dtype(source.dtype) == np.float32 else np.float64
        )
        self._starts = _block_starts(source, int(n_samples), int(n_features))
        all_blocks = np.arange(len(self._starts) - 1)
        self.blocks = all_blocks if blocks is None else np.asarray(blocks)
        # Row offset of the end of each block of this stream.
        self._ends = np.cumsum(self._block_sizes())
        self.shape = (int(self._ends[-1]) if len(self._ends) else 0, int(n_features))
        self._cached = (-1, None)
        # The rows drawn by sample(), kept by the splits of this stream.
        self._sample = sample

    def _block_sizes(self, blocks=None):
        blocks = self.blocks if blocks is None else blocks
        return self._starts[blocks + 1] - self._starts[blocks]

    def __len__(self):
        return self.shape[0]

    @property
    def n_blocks(self):
        return len(self.blocks)

    def subset(self, positions):
        """The stream of the blocks at ``positions`` of this one."""
        return RowStream(
            self.source, self.check, self.blocks[np.sort(positions)], self._sample
        )

    def split(self, fraction, random_state):
        """Training and validation streams: whole blocks, ``fraction`` of them
        (at least one, and one left to train on) held out.

        A sparse matrix is indexed by rows in memory, so its rows are held
        out as those of in-memory data are: the same rows, drawn one by one.
        """
        if scipy.sparse.issparse(self.source):
            return tuple(
                RowStream(part, self.check, sample=self._sample)
                for part in train_test_split(
                    self.source, test_size=fraction, random_state=random_state
                )
            )
        n_valid = max(1, round(fraction * self.n_blocks))
        n_valid = min(n_valid, self.n_blocks - 1)
        valid = random_state.permutation(self.n_blocks)[:n_valid]
        train = np.setdiff1d(np.arange(self.n_blocks), valid)
        return self.subset(train), self.subset(valid)

    def dataset(self, scale, device):
        """The training dataset: blocks scaled by ``scale`` as they are read."""
        return StreamedDataset(self, scale, device)

    def head(self, n_rows):
        """The first ``n_rows`` rows."""
        return self.read(0, min(n_rows, len(self)))

    def take(self, indices):
        """The rows at ``indices``, read one at a time."""
        return np.concatenate([self.read(row, row + 1) for row in indices])

    def scaled_sample(self, dataset, scale):
        """The scaled rows the module is built from: :meth:`sample`'s, of the
        stream this one was split from."""
        return scale(self._sample)

    def read_block(self, position):
        """Block number ``position`` of this stream, checked, as a numpy array."""
        block = int(self.blocks[position])
        if self._cached[0] != block:
            start, stop = self._starts[block], self._starts[block + 1]
            rows = read_rows(self.source, start, stop, self.dtype)
            release_pages(self.source)
            self.check(rows)
            self._cached = (block, rows)
        return self._cached[1]

    def read(self, start, stop):
        """Rows ``start:stop`` of this stream, checked, as one numpy array."""
        ends = self._ends
        first = int(np.searchsorted(ends, start, side="right"))
        parts, offset = [], int(ends[first - 1]) if first else 0
        for position in range(first, self.n_blocks):
            if offset >= stop:
                break
            block = self.read_block(position)
            parts.append(block[max(0, start - offset) : stop - offset])
            offset += len(block)
        if not parts:
            return np.empty((0, self.shape[1]), dtype=self.dtype)
        return parts[0].copy() if len(parts) == 1 else np.concatenate(parts)

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("a RowStream is sliced by contiguous rows only")
        start, stop, _ = key.indices(len(self))
        return self.read(start, max(start, stop))

    def sample(self, random_state):
        """Up to :data:`SAMPLE_ROWS` rows drawn uniformly without replacement.

        All rows, in order, when there are no more than that (no random draw
        then). The blocks that hold sampled rows are read one at a time, so
        memory stays bounded by the sample and one block.
        """
        n_rows = min(SAMPLE_ROWS, max(1, SAMPLE_VALUES // self.shape[1]))
        if len(self) <= n_rows:
            self._sample = self.read(0, len(self))
            return self._sample
        rows = np.sort(
            sample_without_replacement(len(self), n_rows, random_state=random_state)
        )
        ends = self._ends
        positions = np.searchsorted(ends, rows, side="right")
        offsets = np.concatenate([[0], ends[:-1]])
        parts = [
            self.read_block(position)[rows[positions == position] - offsets[position]]
            for position in np.unique(positions)
        ]
        self._sample = np.concatenate(parts)
        return self._sample


class StreamedDataset(Dataset):
    """Training rows of a :class:`RowStream`, scaled one buffer at a time.

    Parameters
    ----------
    stream : RowStream
        The rows.
    scale : callable
        Maps a numpy block to the float32 CPU tensor the network sees.
    device : torch.device
        Where the buffers go (once per buffer, not per batch).
    """

    def __init__(self, stream, scale, device):
        self.stream = stream
        self.scale = scale
        self.device = device

    def __len__(self):
        return len(self.stream)

    def __getitem__(self, index):
        row = self.scale(self.stream.read(index, index + 1))[0]
        return row, row

    def buffers(self, shuffle=False, generator=None):
        """Yield scaled tensors of consecutive or (if ``shuffle``) random blocks.

        Each buffer holds about :data:`STREAM_BUFFER_VALUES` values. When
        ``shuffle`` is set and the data span more than one buffer, the blocks
        are visited in an order drawn from ``generator``; the caller permutes
        the rows within each buffer.
        """
        stream = self.stream
        order = np.arange(stream.n_blocks)
        if shuffle and stream.shape[0] * stream.shape[1] > STREAM_BUFFER_VALUES:
            order = torch.randperm(stream.n_blocks, generator=generator).numpy()
        parts, n_values = [], 0
        for position in order:
            block = stream.read_block(position)
            parts.append(self.scale(block))
            n_values += block.size
            if n_values >= STREAM_BUFFER_VALUES:
                buffer = torch.cat(parts).to(self.device)
                parts, n_values = [], 0  # freed before the caller's copies
                yield buffer
        if parts:
            yield torch.cat(parts).to(self.device)
