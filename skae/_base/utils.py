"""Small helpers: device resolution and reproducible, thread-safe randomness."""

import inspect
import os
import threading
import warnings
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


def copy_tensors(state, device=None):
    """A copy of nested dicts, lists and tuples whose tensors are copied.

    Much faster than ``copy.deepcopy`` for a state dict: one copy per
    tensor, no Python-level copy of the storage. ``device``: where the
    copies go (e.g. ``"cpu"`` to save them); None keeps each where it is.
    """
    if isinstance(state, torch.Tensor):
        return state.detach().to(device, copy=True)
    if isinstance(state, dict):
        return {key: copy_tensors(value, device) for key, value in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(copy_tensors(value, device) for value in state)
    return state


def continued_seed(seed, n_iter):
    """The seed of a fit that continues after ``n_iter`` epochs.

    Mixes both through :class:`numpy.random.SeedSequence`, so the calls of a
    ``partial_fit`` sequence under one integer ``random_state`` get
    different, reproducible shuffles and noise.
    """
    state = np.random.SeedSequence([int(seed), int(n_iter)]).generate_state(1)
    return int(state[0] % np.iinfo(np.int32).max)


# The folder of the skae package: warnings point at the first caller outside.
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def warn(message, category=UserWarning):
    """``warnings.warn``, attributed to the user's line that called skae.

    The stack level is counted, not fixed: the first frame outside skae and
    scikit-learn (whose ``_fit_context`` wraps ``fit``) is the caller's.
    """
    level, frame = 1, inspect.currentframe()
    while frame is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE)
        or frame.f_globals.get("__name__", "").startswith("sklearn.")
    ):
        frame, level = frame.f_back, level + 1
    del frame  # no reference cycle through the frame
    warnings.warn(message, category, stacklevel=level)
