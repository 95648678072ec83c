"""Saving and loading fitted models without pickle.

A model file is a zip archive of two members:

``skae.json``
    The file format version, the skae version that wrote it, and the
    estimator: its class, its parameters and its fitted attributes (for an
    :class:`~skae.OutlierDetector`, the fitted estimator inside as well).
``weights.pt``
    The tensors: the module's ``state_dict`` and the optimizer's, written
    by :func:`torch.save` on the CPU and read by ``torch.load`` with
    ``weights_only=True`` and ``map_location="cpu"``, which rebuilds tensors
    and plain containers only.

Loading creates the estimator from its parameters, sets its fitted
attributes, rebuilds the module through ``_build_module`` and loads the
weights into it. No code named by the file runs: classes are looked up among
the skae estimators already imported, and optimizers in ``torch.optim``.
Custom ``encoder`` and ``decoder`` modules cannot be rebuilt from a file
without running its code, so :func:`load` takes them as arguments and loads
the saved weights into them.
"""

import inspect
import io
import json
import os
import tempfile
import zipfile

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._compat import OUTPUT_CONFIG_ATTRIBUTE
from ._version import __version__

# Bump when a file written by this version cannot be read by an older skae
# or the reverse; load() reads this version only.
FORMAT_VERSION = 1
JSON_NAME = "skae.json"
WEIGHTS_NAME = "weights.pt"

# Every saveable class, by name: load() creates only these.
_CLASSES = {}
# State that scikit-learn keeps in private attributes: set_output's choice.
_SKLEARN_STATE = (OUTPUT_CONFIG_ATTRIBUTE,)


def _class_name(cls):
    if cls.__module__.split(".")[0] == "skae":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class Saveable:
    """Adds :meth:`save` to an estimator, and lets :func:`load` create it.

    The file holds the estimator's parameters and its fitted attributes
    (those ending with ``_``) as JSON. Subclasses that hold tensors name the
    attributes they store another way in ``_saved_separately`` and implement
    :meth:`_save_tensors` and :meth:`_load_tensors`.
    """

    _saved_separately = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _CLASSES[_class_name(cls)] = cls

    def save(self, path):
        """Save the fitted estimator to ``path``, to be read by :func:`skae.load`.

        Parameters and fitted attributes are stored as JSON, the weights as
        a torch ``state_dict``; loading runs no code from the file. Pickle
        and joblib keep working too.

        Parameters
        ----------
        path : str, path-like or binary file object
            Where to write the model (a zip archive; ``.skae`` is a good
            suffix). An existing file is replaced only once the new one is
            complete.
        """
        check_is_fitted(self)
        tensors = {}
        manifest = {
            "format": "skae",
            "format_version": FORMAT_VERSION,
            "skae_version": __version__,
            "estimator": self._saved_node("", tensors),
        }
        weights = io.BytesIO()
        torch.save(tensors, weights)
        _write_archive(path, json.dumps(manifest, indent=1), weights.getvalue())

    def _saved_node(self, prefix, tensors):
        fitted = {}
        for name, value in vars(self).items():
            if name in self._saved_separately or not (
                name in _SKLEARN_STATE
                or (name.endswith("_") and not name.startswith("_"))
            ):
                continue
            if isinstance(value, Saveable):  # OutlierDetector.estimator_
                node = value._saved_node(f"{prefix}{name}.", tensors)
                fitted[name] = {"__fitted__": node}
            else:
                fitted[name] = encode_value(value, f"{type(self).__name__}.{name}")
        node = {
            "class": _class_name(type(self)),
            "params": _encode_params(self),
            "fitted": fitted,
        }
        self._save_tensors(node, prefix, tensors)
        return node

    def _save_tensors(self, node, prefix, tensors):
        """Add the tensors of the model to ``tensors`` (and notes to ``node``)."""

    def _load_tensors(self, node, prefix, tensors, device):
        """Rebuild the attributes named in ``_saved_separately``."""


def load(path, *, encoder=None, decoder=None, device=None):
    """Load a model written by ``save``, without unpickling anything.

    Parameters
    ----------
    path : str, path-like or binary file object
        A file written by the ``save`` method of a skae estimator.
    encoder, decoder : torch.nn.Module, default=None
        For a model saved with a custom ``encoder`` (``decoder``): a module
        of the same architecture, created by your code. The saved weights
        are loaded into a copy of it. Ignored for the default MLPs.
    device : str or torch.device, default=None
        Where the loaded model lives. None: the device it was saved from if
        this machine has it, else the CPU (with a warning).

    Returns
    -------
    estimator : estimator object
        The fitted estimator, as it was saved: same parameters, same outputs,
        and it can continue training (``partial_fit``, ``warm_start``).

    Raises
    ------
    ValueError
        If the file is not a skae model, was written in another file format
        version, or holds weights that do not fit the estimator.
    """
    manifest, weights = _read_archive(path)
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{_describe(path)} was written by skae "
            f"{manifest.get('skae_version', '?')} in model file format {version}; "
            f"this skae ({__version__}) reads format {FORMAT_VERSION} only. Load "
            "it with the skae version that wrote it and refit, or pickle it there."
        )
    tensors = torch.load(io.BytesIO(weights), weights_only=True, map_location="cpu")
    modules = {"encoder": encoder, "decoder": decoder}
    try:
        return _from_node(manifest["estimator"], "", tensors, modules, device)
    except (KeyError, RuntimeError, TypeError) as exc:
        raise ValueError(
            f"{_describe(path)}, written by skae {manifest.get('skae_version')}, "
            f"does not match the estimators of skae {__version__}: {exc}"
        ) from exc


def _from_node(node, prefix, tensors, modules, device):
    cls = _estimator_class(node["class"])
    estimator = cls(**_decode_params(node["params"], modules))
    for name, value in node["fitted"].items():
        if isinstance(value, dict) and "__fitted__" in value:
            value = _from_node(
                value["__fitted__"], prefix + name + ".", tensors, modules, device
            )
        else:
            value = decode_value(value, modules, name)
        setattr(estimator, name, value)
    estimator._load_tensors(node, prefix, tensors, device)
    return estimator


def _estimator_class(name):
    cls = _CLASSES.get(name)
    if cls is None or inspect.isabstract(cls) or not hasattr(cls, "fit"):
        raise ValueError(
            f"The file holds a {name}, which is not a skae estimator known to "
            f"this Python session (skae {__version__})."
        )
    return cls


# ----------------------------------------------------------------------------
# Values as JSON


def _encode_params(estimator):
    return {
        name: encode_value(value, f"{type(estimator).__name__}({name}=...)", name)
        for name, value in estimator.get_params(deep=False).items()
    }


def _decode_params(params, modules):
    missing = {
        name: value["__module__"]
        for name, value in params.items()
        if isinstance(value, dict)
        and "__module__" in value
        and modules.get(name) is None
    }
    if missing:
        raise ValueError(
            "The model was saved with a custom "
            + " and ".join(f"{name} ({cls})" for name, cls in missing.items())
            + "; pass modules of the same architecture: skae.load(path, "
            + ", ".join(f"{name}=..." for name in missing)
            + ")."
        )
    return {name: decode_value(value, modules, name) for name, value in params.items()}


def encode_value(value, where, name=""):
    """``value`` as JSON, with tags for the types JSON lacks."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, tuple):
        return {"__tuple__": [encode_value(item, where) for item in value]}
    if isinstance(value, list):
        return [encode_value(item, where) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {
            "__dict__": {key: encode_value(item, where) for key, item in value.items()}
        }
    if isinstance(value, np.ndarray) and (
        value.dtype.kind in "biuf"
        or (value.dtype == object and all(isinstance(v, str) for v in value.flat))
    ):
        return {
            "__ndarray__": value.tolist(),
            "dtype": "object" if value.dtype == object else value.dtype.str,
        }
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, np.random.RandomState):
        kind, keys, position, has_gauss, cached = value.get_state()
        return {"__random_state__": [kind, keys.tolist(), position, has_gauss, cached]}
    if (
        isinstance(value, type)
        and issubclass(value, torch.optim.Optimizer)
        and getattr(torch.optim, value.__name__, None) is value
    ):
        return {"__optimizer__": value.__name__}
    if isinstance(value, torch.nn.Module):
        # Its architecture is code: load() takes it as an argument.
        return {"__module__": type(value).__qualname__, "name": name}
    if isinstance(value, Saveable):
        return {
            "__estimator__": {
                "class": _class_name(type(value)),
                "params": _encode_params(value),
            }
        }
    raise TypeError(
        f"{where} is a {type(value).__name__}, which a skae model file cannot "
        "hold. Use pickle or joblib for this model (and load it only from "
        "trusted sources)."
    )


def decode_value(value, modules, name):
    if isinstance(value, list):
        return [decode_value(item, modules, name) for item in value]
    if not isinstance(value, dict):
        return value
    if "__dict__" in value:
        return {
            key: decode_value(item, modules, name)
            for key, item in value["__dict__"].items()
        }
    if "__tuple__" in value:
        return tuple(decode_value(item, modules, name) for item in value["__tuple__"])
    if "__ndarray__" in value:
        dtype = object if value["dtype"] == "object" else np.dtype(value["dtype"])
        return np.asarray(value["__ndarray__"], dtype=dtype)
    if "__device__" in value:
        return torch.device(value["__device__"])
    if "__random_state__" in value:
        kind, keys, position, has_gauss, cached = value["__random_state__"]
        random_state = np.random.RandomState()
        random_state.set_state(
            (kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached)
        )
        return random_state
    if "__optimizer__" in value:
        return getattr(torch.optim, value["__optimizer__"])
    if "__module__" in value:
        return modules[value["name"]]  # given to load(); see _decode_params
    if "__estimator__" in value:
        node = value["__estimator__"]
        cls = _estimator_class(node["class"])
        return cls(**_decode_params(node["params"], modules))
    raise ValueError(f"Unknown value in a skae model file: {value!r}")


# ----------------------------------------------------------------------------
# The archive


def _write_archive(path, manifest, weights):
    def write(file):
        with zipfile.ZipFile(file, "w") as archive:
            archive.writestr(JSON_NAME, manifest, compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr(WEIGHTS_NAME, weights)

    if hasattr(path, "write"):
        write(path)
        return
    path = os.fspath(path)
    # Written next to the target and moved over it: an interrupted save
    # leaves any earlier file whole.
    handle, temporary = tempfile.mkstemp(
        dir=os.path.dirname(os.path.abspath(path)), suffix=".partial"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _read_archive(path):
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(JSON_NAME))
            weights = archive.read(WEIGHTS_NAME)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{_describe(path)} is not a skae model file ({exc})."
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != "skae":
        raise ValueError(f"{_describe(path)} is not a skae model file.")
    return manifest, weights


def _describe(path):
    return repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else "The file"
