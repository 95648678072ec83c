"""The training-time corruptions of the denoising autoencoder."""

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from skae._models.corruption import GaussianNoise, MaskingNoise, SaltAndPepperNoise

N_SAMPLES, N_FEATURES = 4000, 5


@pytest.fixture
def x():
    rng = np.random.RandomState(0)
    return torch.as_tensor(
        rng.normal(size=(N_SAMPLES, N_FEATURES)), dtype=torch.float32
    )


FILL = torch.tensor([-1.0, -2.0, -3.0, -4.0, -5.0])
LOW = torch.tensor([-10.0, -20.0, -30.0, -40.0, -50.0])
HIGH = torch.tensor([10.0, 20.0, 30.0, 40.0, 50.0])


def make(kind, level):
    if kind == "gaussian":
        return GaussianNoise(level)
    if kind == "masking":
        return MaskingNoise(level, FILL)
    return SaltAndPepperNoise(level, LOW, HIGH)


KINDS = ["gaussian", "masking", "salt_and_pepper"]


def test_gaussian_noise_has_the_requested_scale(x):
    torch.manual_seed(0)
    noise = GaussianNoise(0.5)(x) - x
    assert abs(noise.mean().item()) < 0.02
    assert_allclose(noise.std(dim=0).numpy(), 0.5, rtol=0.05)


def test_masking_sets_a_fraction_of_entries_to_the_fill_value(x):
    torch.manual_seed(0)
    out = MaskingNoise(0.3, FILL)(x)
    masked = out != x
    assert_allclose(masked.float().mean().item(), 0.3, atol=0.02)
    # Each masked entry holds its own feature's fill value.
    assert torch.equal(out[masked], FILL.expand_as(x)[masked])


def test_salt_and_pepper_uses_low_and_high_equally(x):
    torch.manual_seed(0)
    out = SaltAndPepperNoise(0.4, LOW, HIGH)(x)
    pepper = out == LOW
    salt = out == HIGH
    assert_allclose(pepper.float().mean().item(), 0.2, atol=0.02)
    assert_allclose(salt.float().mean().item(), 0.2, atol=0.02)
    untouched = ~(pepper | salt)
    assert torch.equal(out[untouched], x[untouched])


@pytest.mark.parametrize("kind", KINDS)
def test_level_zero_is_the_identity(kind, x):
    assert torch.equal(make(kind, 0.0)(x), x)


@pytest.mark.parametrize("kind", ["masking", "salt_and_pepper"])
def test_rate_one_corrupts_every_entry(kind, x):
    out = make(kind, 1.0)(x)
    if kind == "masking":
        assert torch.equal(out, FILL.expand_as(x))
    else:
        assert bool(((out == LOW) | (out == HIGH)).all())


@pytest.mark.parametrize("kind", KINDS)
def test_noise_comes_from_the_global_generator(kind, x):
    """Fresh noise at each call, reproducible from torch's seed."""
    corruption = make(kind, 0.3)
    torch.manual_seed(1)
    first, second = corruption(x), corruption(x)
    assert not torch.equal(first, second)
    torch.manual_seed(1)
    assert torch.equal(corruption(x), first)


@pytest.mark.parametrize("kind", KINDS)
def test_corruptions_pickle_and_keep_their_fill_values(kind, x):
    corruption = make(kind, 0.3)
    restored = pickle.loads(pickle.dumps(corruption))
    torch.manual_seed(2)
    expected = corruption(x)
    torch.manual_seed(2)
    assert torch.equal(restored(x), expected)
    # Fill values are buffers: they follow .to(device) and the state dict.
    assert (
        set(restored.state_dict())
        == {
            "gaussian": set(),
            "masking": {"fill"},
            "salt_and_pepper": {"low", "high"},
        }[kind]
    )
