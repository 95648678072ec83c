"""Small helpers: device resolution and reproducible, thread-safe randomness."""

import threading
from contextlib import contextmanager

import numpy as np
import torch

# Guards every use of torch's global RNG: seeding it is process-wide, so two
# threads seeding it at once would draw from each other's streams.
_GLOBAL_RNG_LOCK = threading.RLock()


def supported_devices():
    """The devices skae can use with this torch build, for error messages."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return devices


def resolve_device(device):
    """Turn the ``device`` parameter into a :class:`torch.device`.

    ``"auto"`` picks CUDA when it is available, else the CPU. Anything this
    torch build cannot train on (no CUDA, a CUDA index that does not exist,
    or a device type skae does not support such as ``"mps"`` or ``"meta"``)
    raises a ``ValueError`` that names the devices it can use, instead of
    torch's error deep inside training.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    available = supported_devices()
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device; use one of {available} "
            "or 'auto'."
        ) from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available; "
                f"use device='auto' or one of {available}."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} does not exist on this machine; use one of "
                f"{available}."
            )
    elif resolved.type != "cpu":
        raise ValueError(
            f"device={device!r} is not supported: skae trains on CPU and CUDA "
            f"devices. This machine offers {available}."
        )
    return resolved


def draw_seed(random_state):
    """Draw a torch seed from a :class:`numpy.random.RandomState`."""
    return int(random_state.randint(np.iinfo(np.int32).max))


def make_generator(seed, device):
    """A :class:`torch.Generator` on ``device``, seeded with ``seed``."""
    return torch.Generator(device=device).manual_seed(seed)


@contextmanager
def seeded_global_rng(seed, device):
    """Run a block with torch's global RNG seeded, then restore the caller's.

    For code that can only draw from the global RNG: layer constructors and
    ``reset_parameters`` (weight initialization), and custom modules that use
    dropout. A process-wide lock makes it safe under threads: blocks run one
    at a time, each with its own seed, and the state the caller sees after
    the block is the one it had before (``torch.random.fork_rng``).
    """
    devices = [device] if device.type == "cuda" else []
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield
