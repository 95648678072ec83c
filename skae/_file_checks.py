"""Checks of a model file that :func:`skae.load` reads, before it is used.

The archive's members are read within size limits, the JSON within a depth
limit, and each fitted attribute through a validator of its type and shape
(:data:`COMMON_FITTED`; each estimator declares its own in
``_fitted_attributes``). A failed check raises :class:`InvalidModelFile`,
which :func:`skae.load` reports as a ``ValueError`` naming the file.
"""

import json
import zipfile
import zlib

import numpy as np

from ._compat import OUTPUT_CONFIG_ATTRIBUTE

JSON_NAME = "skae.json"
WEIGHTS_NAME = "weights.pt"

# Limits of a model file, checked before anything is allocated: the sizes
# of its members (and how much more they unpack to than they take in the
# archive), the nesting of its JSON and the width of the data.
MAX_JSON_BYTES = 2**28
MAX_WEIGHTS_BYTES = 2**36
MAX_COMPRESSION_RATIO = 100
MAX_DEPTH = 32
MAX_FEATURES = 10**7


class InvalidModelFile(ValueError):
    """What is wrong with a model file; :func:`load` names the file."""


def short(value):
    text = repr(value)
    return text if len(text) < 80 else text[:76] + " ..."


def read_archive(path):
    """The manifest (parsed) and the weights (bytes) of the model file."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = _read_member(archive, JSON_NAME, MAX_JSON_BYTES)
            weights = _read_member(archive, WEIGHTS_NAME, MAX_WEIGHTS_BYTES)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise  # no file to judge
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        OSError,
        EOFError,
        # an encrypted member, or one packed by an unknown method
        RuntimeError,
        NotImplementedError,
    ) as exc:
        raise InvalidModelFile(f"it is not a readable zip archive ({exc})") from None
    try:
        manifest = json.loads(manifest)
    except RecursionError:
        raise InvalidModelFile(f"its {JSON_NAME} is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, numbers of too many digits
        raise InvalidModelFile(f"its {JSON_NAME} is not JSON ({exc})") from None
    _check_depth(manifest)
    if not isinstance(manifest, dict) or manifest.get("format") != "skae":
        raise InvalidModelFile(f"its {JSON_NAME} is not a skae manifest")
    return manifest, weights


def _read_member(archive, name, limit):
    """The bytes of member ``name``, refused before reading when too large."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise InvalidModelFile(f"it has no {name}") from None
    # A zip bomb declares a size far beyond its compressed bytes; a header
    # that lies about the size is caught by the bounded read.
    if info.file_size > limit or info.file_size > MAX_COMPRESSION_RATIO * max(
        info.compress_size, 2**20
    ):
        raise InvalidModelFile(
            f"its {name} unpacks to {info.file_size} bytes from "
            f"{info.compress_size}, beyond the limits of a model file"
        )
    with archive.open(info) as member:
        data = member.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise InvalidModelFile(f"its {name} does not have the size its header says")
    return data


def _check_depth(value):
    """Refuse JSON nested deeper than a model file's, before it is walked."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [
            item
            for container in level
            if isinstance(container, (dict, list))
            for item in (
                container.values() if isinstance(container, dict) else container
            )
        ]
        if not level:
            return
    raise InvalidModelFile(f"its {JSON_NAME} is nested more than {MAX_DEPTH} deep")


def check_fitted(estimator, saved, decode):
    """The fitted attributes ``saved`` in a file, decoded and validated.

    ``_fitted_attributes`` declares each name that ``estimator`` sets in fit
    with a validator; names it does not declare (methods such as
    ``transform`` included) are refused before any value is decoded, each
    by ``decode(name, value)``.
    """
    declared = type(estimator)._fitted_attributes
    unknown = sorted(set(saved) - set(declared))
    if unknown:
        raise InvalidModelFile(
            f"{type(estimator).__name__} has no fitted attribute {unknown[0]!r}"
        )
    checked = {}
    for name, validator in declared.items():
        if name in saved:
            context = {**estimator.get_params(deep=False), **checked}
            checked[name] = validator(decode(name, saved[name]), context, name)
        elif name not in OPTIONAL_FITTED:
            raise InvalidModelFile(
                f"the fitted attribute {name!r} of {type(estimator).__name__} "
                "is missing"
            )
    return checked


# ----------------------------------------------------------------------------
# Fitted attributes: validators, called as ``validator(value, context, name)``
# where ``context`` holds the parameters and the attributes checked before.


def _size(reference, context):
    """A length: an int, an attribute's name, or a function of the context."""
    if callable(reference):
        return int(reference(context))
    return reference if isinstance(reference, int) else int(context[reference])


def count(low=0, high=None):
    """An int (not a bool) in ``[low, high]``; bounds may name an attribute."""

    def check(value, context, name):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, int):
            raise InvalidModelFile(f"{name} is not an int: {short(value)}")
        top = None if high is None else _size(high, context)
        if value < low or (top is not None and value > top):
            raise InvalidModelFile(f"{name}={value} is not in [{low}, {top}]")
        return value

    return check


def number(low=-np.inf):
    """A finite float (an int accepted) of at least ``low``."""

    def check(value, context, name):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidModelFile(f"{name} is not a number: {short(value)}")
        if not low <= value < np.inf:
            raise InvalidModelFile(f"{name}={value} is not finite and >= {low}")
        return float(value)

    return check


def flag(value, context, name):
    """A bool."""
    if not isinstance(value, bool):
        raise InvalidModelFile(f"{name} is not true or false")
    return value


def text(options=None):
    """A str, one of ``options`` if given."""

    def check(value, context, name):
        if not isinstance(value, str) or (options and value not in options):
            raise InvalidModelFile(f"{name} is not one of {options}: {short(value)}")
        return value

    return check


def float_array(length=None, low=-np.inf, strict=False):
    """A finite 1-D float array, ``length`` long (an int or an attribute's
    name), its values at least ``low`` (above it if ``strict``); a list of
    floats if ``length`` is list."""

    def check(value, context, name):
        as_list = length is list
        array = np.asarray(value) if as_list else value
        if not isinstance(array, np.ndarray) or array.ndim != 1:
            raise InvalidModelFile(f"{name} is not a 1-D array: {short(value)}")
        if array.size and array.dtype.kind not in "iuf":
            raise InvalidModelFile(f"{name} holds values other than numbers")
        expected = None if length in (None, list) else _size(length, context)
        if expected is not None and len(array) != expected:
            raise InvalidModelFile(f"{name} has {len(array)} values, not {expected}")
        array = array.astype(np.float64)
        above = array > low if strict else array >= low
        if not np.all(above & np.isfinite(array)):
            raise InvalidModelFile(f"{name} has values not finite or below {low}")
        return [float(item) for item in array] if as_list else array

    return check


def text_array(length, options=None):
    """A 1-D object array of ``length`` str (see :func:`float_array`), each
    one of ``options`` if given."""

    def check(value, context, name):
        if not (
            isinstance(value, np.ndarray)
            and value.dtype == object
            and value.shape == (_size(length, context),)
            and all(isinstance(item, str) for item in value)
        ):
            raise InvalidModelFile(f"{name} is not {length} names")
        if options and not set(value) <= set(options):
            raise InvalidModelFile(f"{name} holds values other than {options}")
        return value

    return check


def category_lists(length):
    """A list of ``length`` 1-D arrays of distinct categories (numbers or
    str), as ``OneHotEncoder.categories_``."""

    def check(value, context, name):
        if not isinstance(value, list) or len(value) != _size(length, context):
            raise InvalidModelFile(f"{name} is not a list of {length} arrays")
        arrays = []
        for item in value:
            if not isinstance(item, np.ndarray) or item.ndim != 1:
                raise InvalidModelFile(f"{name} holds a value that is no 1-D array")
            if len(set(item.tolist())) != len(item):
                raise InvalidModelFile(f"{name} holds repeated categories")
            arrays.append(item.astype(object))
        return arrays

    return check


def output_config(value, context, name):
    """``set_output``'s choice: a dict of containers by method."""
    if not isinstance(value, dict) or not all(
        key in OUTPUT_METHODS and item in OUTPUT_CONTAINERS
        for key, item in value.items()
    ):
        raise InvalidModelFile(
            f"{name} is not a choice of set_output's containers: {short(value)}"
        )
    return value


OUTPUT_METHODS = ("transform",)
OUTPUT_CONTAINERS = ("default", "pandas", "polars")

# Attributes of every fitted estimator, and those a fit may leave unset.
COMMON_FITTED = {
    "n_features_in_": count(1, MAX_FEATURES),
    "feature_names_in_": text_array("n_features_in_"),
    OUTPUT_CONFIG_ATTRIBUTE: output_config,
}
# Optional: not set for every fit, or written only by newer versions of skae
# (kept_linear_start_, code_sparsity_).
OPTIONAL_FITTED = frozenset(
    {
        "feature_names_in_",
        OUTPUT_CONFIG_ATTRIBUTE,
        "kept_linear_start_",
        "typical_feature_scores_",
        "code_sparsity_",
        # Set for mixed-type columns only, or by newer versions of skae.
        "feature_kinds_",
        "categories_",
        "feature_dtypes_",
    }
)
