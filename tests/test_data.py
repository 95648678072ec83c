"""Batches sliced from one tensor, on the right device."""

import torch
from numpy.testing import assert_array_equal

from skae._base.data import BatchIterator, ReconstructionDataset


def test_dataset_rows_are_input_and_target():
    X = torch.arange(6.0).reshape(3, 2)
    x, y = ReconstructionDataset(X)[1]
    assert torch.equal(x, X[1]) and torch.equal(y, X[1])


def test_batches_cover_the_data_once():
    X = torch.arange(23.0).reshape(-1, 1)
    iterator = BatchIterator(ReconstructionDataset(X), batch_size=5, shuffle=True)
    batches = [x for x, y in iterator]
    assert len(batches) == len(iterator) == 5
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert_array_equal(torch.sort(torch.cat(batches).ravel()).values, X.ravel())


def test_shuffling_follows_the_generator():
    X = torch.arange(50.0).reshape(-1, 1)

    def order(seed):
        generator = torch.Generator().manual_seed(seed)
        iterator = BatchIterator(
            ReconstructionDataset(X), batch_size=50, shuffle=True, generator=generator
        )
        return next(iter(iterator))[0].ravel()

    assert torch.equal(order(0), order(0))
    assert not torch.equal(order(0), order(1))


def test_same_device_batches_are_views():
    X = torch.arange(12.0).reshape(6, 2)
    dataset = ReconstructionDataset(X)
    x, y = next(iter(BatchIterator(dataset, batch_size=4, device="cpu")))
    assert x is y
    assert x.data_ptr() == X.data_ptr()  # a slice, no copy


def test_batches_are_copied_to_another_device():
    # Data kept on the host (too large for the GPU) reach the device batch
    # by batch; the "meta" device stands in for a GPU here.
    X = torch.arange(12.0).reshape(6, 2)
    iterator = BatchIterator(ReconstructionDataset(X), batch_size=4, device="meta")
    assert [(x.device.type, len(x)) for x, _ in iterator] == [("meta", 4), ("meta", 2)]


def test_a_short_last_batch_joins_the_one_before():
    dataset = ReconstructionDataset(torch.arange(33.0).reshape(33, 1))
    sizes = [len(b[0]) for b in BatchIterator(dataset, 16, min_batch_rows=2)]
    assert sizes == [16, 17]
    assert [len(b[0]) for b in BatchIterator(dataset, 16)] == [16, 16, 1]
    rows = torch.cat([b[0] for b in BatchIterator(dataset, 16, min_batch_rows=2)])
    assert torch.equal(rows, dataset.X)
