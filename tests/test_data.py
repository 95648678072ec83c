"""Batches sliced from one tensor, on the right device."""

import torch
from numpy.testing import assert_array_equal

from skae._data import BatchIterator, TensorDataset


def test_batches_cover_the_data_once():
    X = torch.arange(23.0).reshape(-1, 1)
    iterator = BatchIterator(TensorDataset(X), batch_size=5, shuffle=True)
    batches = [x for x, y in iterator]
    assert len(batches) == len(iterator) == 5
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert_array_equal(torch.sort(torch.cat(batches).ravel()).values, X.ravel())


def test_same_device_batches_are_views():
    X = torch.arange(12.0).reshape(6, 2)
    x, y = next(iter(BatchIterator(TensorDataset(X), batch_size=4, device="cpu")))
    assert x is y
    assert x.data_ptr() == X.data_ptr()  # a slice, no copy


def test_batches_are_copied_to_another_device():
    # Data kept on the host (too large for the GPU) reach the device batch
    # by batch; the "meta" device stands in for a GPU here.
    X = torch.arange(12.0).reshape(6, 2)
    iterator = BatchIterator(TensorDataset(X), batch_size=4, device="meta")
    assert [(x.device.type, len(x)) for x, _ in iterator] == [("meta", 4), ("meta", 2)]
