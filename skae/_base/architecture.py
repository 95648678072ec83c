"""What shapes a network: the parameters a continued fit must not change.

A module records the architecture it was built for (:func:`architecture`, a
plain attribute kept by ``save`` and pickles). A continued fit compares it
with the current parameters (:func:`changed_architecture`): ``warm_start``
then trains a new network, and ``partial_fit`` refuses.
"""

import json

import numpy as np
import torch


def architecture(params, names):
    """The parameters ``names`` that shape a network, as one JSON string."""
    return json.dumps({name: _plain(params[name]) for name in names}, sort_keys=True)


def changed_architecture(module, current):
    """Names of the parameters whose values differ between the architecture
    ``module`` was built for and ``current`` (both :func:`architecture`)."""
    built = getattr(module, "architecture", None)
    if built is None or built == current:  # None: a file of an older skae
        return []
    built, current = json.loads(built), json.loads(current)
    return sorted(name for name in current if built.get(name) != current[name])


def _plain(value):
    """``value`` as JSON: modules by their class and parameter shapes."""
    if isinstance(value, torch.nn.Module):
        shapes = [list(p.shape) for p in value.parameters()]
        return [type(value).__module__ + "." + type(value).__qualname__, shapes]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(item) for item in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value
