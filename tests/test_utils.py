"""Device resolution and seeded torch RNG state."""

import pytest
import torch

from skae._utils import resolve_device, torch_seed


def test_auto_device_follows_cuda_availability(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("device", ["gpu", "cuda:x"])
def test_invalid_device_names(device):
    with pytest.raises(ValueError, match="not a valid torch device"):
        resolve_device(device)


def test_torch_seed_is_reproducible_and_restores_state():
    torch.manual_seed(7)
    expected_after = torch.rand(2)
    torch.manual_seed(7)
    with torch_seed(11, torch.device("cpu")):
        first = torch.rand(3)
    with torch_seed(11, torch.device("cpu")):
        second = torch.rand(3)
    assert torch.equal(first, second)
    assert torch.equal(torch.rand(2), expected_after)
