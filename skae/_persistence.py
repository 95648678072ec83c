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
weights into it. Each step validates what it reads first
(:mod:`skae._file_checks`): member sizes and JSON depth within limits, the
parameters through the estimator's own validation, only the fitted
attributes the class declares, with their types and shapes, and weights of
the rebuilt module's names and shapes. Anything else is a ``ValueError``
that says the file is not a valid skae model file, and what is wrong.

No code named by the file runs: classes are looked up among the skae
estimators already imported, and optimizers in ``torch.optim``. Custom
``encoder`` and ``decoder`` modules cannot be rebuilt from a file
without running its code, so :func:`load` takes them as arguments and loads
the saved weights into them.
"""

import inspect
import io
import json
import os
import tempfile
import warnings
import zipfile

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._compat import OUTPUT_CONFIG_ATTRIBUTE, validate_params
from ._file_checks import (
    COMMON_FITTED,
    JSON_NAME,
    WEIGHTS_NAME,
    InvalidModelFile,
    check_fitted,
    read_archive,
    short,
)
from ._version import __version__

# Bump when a file written by this version cannot be read by an older skae
# or the reverse; load() reads this version only.
FORMAT_VERSION = 1

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
    # Each fitted attribute that a model file may set, with its validator
    # (see check_fitted): subclasses declare theirs.
    _fitted_attributes = COMMON_FITTED

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

    def _check_params(self):
        """Check what parameter constraints cannot express."""

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
        If the file is not a valid skae model file (damaged, edited, or
        holding values that the estimator could not have fitted: the message
        says what), or was written in another file format version.
    """
    try:
        manifest, weights = read_archive(path)
        _check_format_version(manifest, path)
        tensors = _read_weights(weights)
        modules = {"encoder": encoder, "decoder": decoder}
        return _from_node(manifest.get("estimator"), "", tensors, modules, device)
    except InvalidModelFile as exc:
        raise ValueError(
            f"{_describe(path)} is not a valid skae model file: {exc}"
        ) from None


def _check_format_version(manifest, path):
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{_describe(path)} was written by skae "
            f"{manifest.get('skae_version', '?')} in model file format {version}; "
            f"this skae ({__version__}) reads format {FORMAT_VERSION} only. Load "
            "it with the skae version that wrote it and refit, or pickle it there."
        )


def _read_weights(weights):
    # weights_only=True refuses anything but tensors and plain containers;
    # its errors advise weights_only=False, which a user must never follow
    # for an untrusted file, so they are not passed on.
    try:
        with warnings.catch_warnings():  # torch's notes on the pickle protocol
            warnings.simplefilter("ignore")
            tensors = torch.load(
                io.BytesIO(weights), weights_only=True, map_location="cpu"
            )
    except Exception:  # any failure to read them means a bad file
        raise InvalidModelFile(
            f"its {WEIGHTS_NAME} is damaged or holds more than tensors"
        ) from None
    if not isinstance(tensors, dict):
        raise InvalidModelFile(f"its {WEIGHTS_NAME} is not a dict of tensors")
    return tensors


def _from_node(node, prefix, tensors, modules, device):
    where = f"estimator {prefix[:-1]!r}" if prefix else "the estimator"
    if not (
        isinstance(node, dict)
        and isinstance(node.get("class"), str)
        and isinstance(node.get("params"), dict)
        and isinstance(node.get("fitted"), dict)
    ):
        raise InvalidModelFile(
            f"{where} is not a dict of 'class' (a str), 'params' and 'fitted' (dicts)"
        )
    estimator = _new_estimator(node["class"], node["params"], modules)

    def decode(name, value):
        if isinstance(value, dict) and "__fitted__" in value:
            return _from_node(
                value["__fitted__"], prefix + name + ".", tensors, modules, device
            )
        return decode_value(value, modules, name)

    for name, value in check_fitted(estimator, node["fitted"], decode).items():
        setattr(estimator, name, value)
    estimator._load_tensors(node, prefix, tensors, device)
    return estimator


def _new_estimator(class_name, params, modules):
    """An unfitted estimator of ``class_name`` with ``params``, validated."""
    cls = _estimator_class(class_name)
    known = inspect.signature(cls.__init__).parameters
    unknown = sorted(name for name in params if name not in known or name == "self")
    if unknown:
        raise InvalidModelFile(f"{class_name} has no parameter {unknown[0]!r}")
    estimator = cls(**_decode_params(params, modules))
    try:
        validate_params(estimator)
        estimator._check_params()
    except ValueError as exc:  # InvalidParameterError included
        raise InvalidModelFile(f"{class_name}: {exc}") from None
    return estimator


def _estimator_class(name):
    cls = _CLASSES.get(name) if isinstance(name, str) else None
    if cls is None or inspect.isabstract(cls) or not hasattr(cls, "fit"):
        raise InvalidModelFile(
            f"it holds a {name!r}, which is not a skae estimator known to "
            f"this Python session (skae {__version__})"
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
    if isinstance(value, dict) and all(_is_key(key) for key in value):
        # Keys that JSON would turn into strings (column positions): pairs.
        return {
            "__items__": [
                [encode_value(k, where), encode_value(v, where)]
                for k, v in value.items()
            ]
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


def _is_key(key):
    """A dict key a model file holds: a str or an int (not a bool)."""
    return isinstance(key, (str, int, np.integer)) and not isinstance(key, bool)


def decode_value(value, modules, name):
    """A value written by :func:`encode_value`; :class:`InvalidModelFile` if
    it is not one."""
    if isinstance(value, list):
        return [decode_value(item, modules, name) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and "__dict__" in value:
        return {
            key: decode_value(item, modules, name)
            for key, item in _payload(value, "__dict__", dict, name).items()
        }
    if len(value) == 1 and "__items__" in value:
        pairs = _payload(value, "__items__", list, name)
        if not all(
            isinstance(p, list) and len(p) == 2 and _is_key(p[0]) for p in pairs
        ):
            raise InvalidModelFile(
                f"{name} holds __items__ that are no key-value pairs"
            )
        return {key: decode_value(item, modules, name) for key, item in pairs}
    if len(value) == 1 and "__tuple__" in value:
        items = _payload(value, "__tuple__", list, name)
        return tuple(decode_value(item, modules, name) for item in items)
    for tag, decode in _TAGGED.items():
        if tag in value:
            return decode(value, modules, name)
    raise InvalidModelFile(f"{name} holds an unknown value {short(value)}")


def _payload(value, tag, kind, name):
    if not isinstance(value[tag], kind):
        raise InvalidModelFile(f"{name} holds a {tag} that is not a {kind.__name__}")
    return value[tag]


def _decode_array(value, modules, name):
    items = _payload(value, "__ndarray__", list, name)
    dtype = value.get("dtype")
    try:
        # Numbers of at most 8 bytes, or str objects: no dtype from the
        # file allocates more than its values.
        dtype = object if dtype == "object" else np.dtype(dtype)
        if dtype is not object and (dtype.kind not in "biuf" or dtype.itemsize > 8):
            raise TypeError
        array = np.asarray(items, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise InvalidModelFile(f"{name} is not an array of numbers or str") from None
    if dtype is object and not all(isinstance(item, str) for item in array.flat):
        raise InvalidModelFile(f"{name} is an object array of values other than str")
    return array


def _decode_device(value, modules, name):
    try:
        return torch.device(_payload(value, "__device__", str, name))
    except RuntimeError:
        raise InvalidModelFile(f"{name} names no torch device") from None


def _decode_random_state(value, modules, name):
    state = _payload(value, "__random_state__", list, name)
    random_state = np.random.RandomState()
    try:
        kind, keys, position, has_gauss, cached = state
        random_state.set_state(
            (kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached)
        )
    except (TypeError, ValueError, OverflowError):
        raise InvalidModelFile(f"{name} is not a RandomState's state") from None
    return random_state


def _decode_optimizer(value, modules, name):
    cls = getattr(torch.optim, str(value["__optimizer__"]), None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise InvalidModelFile(
            f"{name} names no optimizer of torch.optim: {short(value)}"
        )
    return cls


def _decode_module(value, modules, name):
    if value.get("name") not in modules:
        raise InvalidModelFile(f"{name} holds a module of unknown use {short(value)}")
    return modules[value["name"]]  # given to load(); see _decode_params


def _decode_estimator(value, modules, name):
    node = _payload(value, "__estimator__", dict, name)
    if not isinstance(node.get("params"), dict):
        raise InvalidModelFile(f"{name} has no dict of 'params'")
    return _new_estimator(node.get("class"), node["params"], modules)


_TAGGED = {
    "__ndarray__": _decode_array,
    "__device__": _decode_device,
    "__random_state__": _decode_random_state,
    "__optimizer__": _decode_optimizer,
    "__module__": _decode_module,
    "__estimator__": _decode_estimator,
}


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


def _describe(path):
    return repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else "The file"
