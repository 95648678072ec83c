"""Device resolution and seeded torch RNG state."""

import threading

import pytest
import torch

from skae._base.utils import resolve_device, seeded_global_rng


def test_auto_device_follows_cuda_availability(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("device", ["gpu", "cuda:x"])
def test_invalid_device_names(device):
    with pytest.raises(ValueError, match="not a valid torch device"):
        resolve_device(device)


@pytest.mark.parametrize("device", ["mps", "xpu", "meta", torch.device("meta")])
def test_unsupported_devices_name_the_supported_ones(device):
    with pytest.raises(ValueError, match=r"not supported.*\['cpu'"):
        resolve_device(device)


def test_missing_cuda_index(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="does not exist"):
        resolve_device("cuda:3")


def test_seeded_global_rng_is_reproducible_and_restores_state():
    torch.manual_seed(7)
    expected_after = torch.rand(2)
    torch.manual_seed(7)
    with seeded_global_rng(11, torch.device("cpu")):
        first = torch.rand(3)
    with seeded_global_rng(11, torch.device("cpu")):
        second = torch.rand(3)
    assert torch.equal(first, second)
    assert torch.equal(torch.rand(2), expected_after)


def test_seeded_global_rng_is_thread_safe():
    expected = {}
    for seed in range(4):
        with seeded_global_rng(seed, torch.device("cpu")):
            expected[seed] = torch.rand(1000)
    results = {}

    def draw(seed):
        with seeded_global_rng(seed, torch.device("cpu")):
            # Many small draws, so that threads would interleave if unguarded.
            results[seed] = torch.cat([torch.rand(10) for _ in range(100)])

    threads = [threading.Thread(target=draw, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(torch.equal(results[seed], expected[seed]) for seed in range(4))
