"""Small helpers: device resolution and seeded torch RNG state."""

from contextlib import contextmanager

import numpy as np
import torch


def resolve_device(device):
    """Turn the ``device`` parameter into a :class:`torch.device`.

    ``"auto"`` picks CUDA when it is available, else the CPU. An explicit CUDA
    device on a machine without one raises a ``ValueError`` that says so,
    instead of torch's error deep inside training.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a valid torch device.") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available; "
            "use device='auto' or 'cpu'."
        )
    return resolved


def draw_seed(random_state):
    """Draw a torch seed from a :class:`numpy.random.RandomState`."""
    return int(random_state.randint(np.iinfo(np.int32).max))


@contextmanager
def torch_seed(seed, device):
    """Run a block with torch's RNG seeded, restoring the caller's RNG after.

    Weight initialization, shuffling, dropout and sampling inside the block
    are reproducible, and the global RNG state seen by the caller is left as
    it was (``torch.random.fork_rng``).
    """
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield
