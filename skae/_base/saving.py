"""The net of a fitted autoencoder as plain state, and back: for files and pickles.

:func:`net_state` turns a trained net into tensors on the CPU and plain
values; :meth:`SaveableAutoencoder._restore_net` rebuilds the net from them
through the same construction path as ``fit``
(:meth:`~skae._base.training.TrainingSettings.net`). ``save`` / ``skae.load``
and pickling (``__getstate__`` / ``__setstate__``) both go through them, so
a loaded or unpickled model is built exactly as a trained one, on the
device it asks for, whatever device it was saved from.
"""

import torch
from skorch.history import History

from .._file_checks import (
    COMMON_FITTED,
    InvalidModelFile,
    category_lists,
    count,
    flag,
    float_array,
    short,
    text,
    text_array,
)
from .._persistence import Saveable, decode_value, encode_value
from .columns import KINDS
from .module import hidden_layer_sizes_tuple, plain_attributes
from .utils import copy_tensors, make_generator, resolve_device, warn


def net_state(net):
    """A trained net as CPU tensors and plain values (see :mod:`saving`)."""
    module = net.module_
    return {
        "module": copy_tensors(module.state_dict(), "cpu"),
        "optimizer": copy_tensors(net.optimizer_.state_dict(), "cpu"),
        # The batch size the fit chose (batch_size="auto"), for continued fits.
        "batch_size": int(net.batch_size),
        # The epochs of the history (without their batches): callbacks of a
        # continued fit count them (the VAE's KL warm-up).
        "history": [
            {key: value for key, value in epoch.items() if key != "batches"}
            for epoch in net.history
        ],
        # The module's plain attributes (numbers, strings: the VAE's
        # evaluation seed); its tensors are in the state dict.
        "module_attributes": plain_attributes(module),
    }


def loaded_device(saved, requested=None):
    """The device a loaded model lives on: ``requested``, else the one it was
    saved from when this machine has it, else the CPU (with a warning)."""
    if requested is not None:
        return resolve_device(requested)
    try:
        return resolve_device(saved)
    except ValueError:
        warn(
            f"The model was saved on {saved}, which this machine does not have; "
            "it is loaded on the CPU."
        )
        return torch.device("cpu")


def model_columns(context):
    """The width of the model matrix, from the checked fitted attributes:
    ``n_features_in_``, or for mixed columns one per category."""
    categories = context.get("categories_")
    if categories is None:
        return context["n_features_in_"]
    return sum(
        len(values) if kind == "categorical" else 1
        for kind, values in zip(context["feature_kinds_"], categories)
    )


class SaveableAutoencoder(Saveable):
    """Saves and pickles the net of an autoencoder as its :func:`net_state`."""

    _saved_separately = ("net_", "device_")
    _fitted_attributes = {
        **COMMON_FITTED,
        "feature_kinds_": text_array("n_features_in_", KINDS),
        "categories_": category_lists("n_features_in_"),
        "feature_dtypes_": text_array("n_features_in_"),
        "mean_": float_array(model_columns),
        "scale_": float_array(model_columns, low=0.0, strict=True),
        "loss_curve_": float_array(list),
        "n_iter_": count(0),
        "stop_reason_": text(),
        "kept_linear_start_": flag,
    }

    def _save_tensors(self, node, prefix, tensors):
        state = net_state(self.net_)
        tensors[prefix + "module"] = state.pop("module")
        tensors[prefix + "optimizer"] = state.pop("optimizer")
        node["device"] = str(self.device_)
        node["batch_size"] = state["batch_size"]
        node["history"] = encode_value(
            state["history"], f"{type(self).__name__}.net_.history"
        )
        node["module_attributes"] = state["module_attributes"]

    def _load_tensors(self, node, prefix, tensors, device):
        state = {
            "module": tensors.get(prefix + "module"),
            "optimizer": tensors.get(prefix + "optimizer"),
            "batch_size": count(1)(node.get("batch_size"), {}, "batch_size"),
            "history": decode_value(node.get("history", []), {}, "history"),
            "module_attributes": node.get("module_attributes"),
        }
        check_net_state(state)
        saved_device = text()(node.get("device"), {}, "device")
        try:
            torch.device(saved_device)
        except RuntimeError:
            raise InvalidModelFile(f"device={saved_device!r} is no device") from None
        self._restore_net(state, loaded_device(saved_device, device))

    def _restore_net(self, state, device):
        """Set ``net_`` and ``device_`` from a :func:`net_state`."""
        settings = self._training_settings()
        check_module_size(self, state["module"])
        # The module's data-dependent tensors (buffers) come from the state
        # dict, so any data of the right width builds it.
        blank = torch.zeros((2, self._n_model_columns))
        if state["module_attributes"].get("encoder", {}).get("takes_mask"):
            blank[0, 0] = torch.nan  # an encoder built for missing entries
        module = settings.new_module(blank, 0, torch.device("cpu"))
        set_module_attributes(module, state["module_attributes"])
        check_state_dict(module, state["module"])
        module.load_state_dict(state["module"])
        net = settings.net(
            module.to(device),
            device,
            state["batch_size"],
            callbacks=settings.training_callbacks("train_loss"),
            shuffle_generator=make_generator(0, "cpu"),
        ).initialize()
        load_optimizer_state(net.optimizer_, state["optimizer"])
        net.history_ = History({**epoch, "batches": []} for epoch in state["history"])
        self.net_, self.device_ = net, device

    def __getstate__(self):
        state = super().__getstate__()
        if "net_" in state:
            state = {
                **state,
                "net_": net_state(self.net_),
                "device_": str(self.device_),
            }
        return state

    def __setstate__(self, state):
        state = dict(state)
        net, device = state.pop("net_", None), state.pop("device_", None)
        super().__setstate__(state)
        if net is not None:
            self._restore_net(net, loaded_device(device))


# ----------------------------------------------------------------------------
# Checks of a net state read from a model file, before it is used


def check_net_state(state):
    """The types of a :func:`net_state` read from a file."""
    module = state["module"]
    if not isinstance(module, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor)
        for key, value in module.items()
    ):
        raise InvalidModelFile("the module's weights are not a dict of tensors")
    if not isinstance(state["optimizer"], dict):
        raise InvalidModelFile("the optimizer's state is not a dict")
    history = state["history"]
    if not isinstance(history, list) or not all(
        isinstance(epoch, dict)
        and "batches" not in epoch
        and all(
            isinstance(key, str) and isinstance(value, PLAIN_VALUES)
            for key, value in epoch.items()
        )
        for epoch in history
    ):
        raise InvalidModelFile("the history is not a list of dicts of plain values")
    attributes = state["module_attributes"]
    if not isinstance(attributes, dict) or not all(
        isinstance(values, dict) for values in attributes.values()
    ):
        raise InvalidModelFile("module_attributes is not a dict of dicts")


PLAIN_VALUES = (type(None), bool, int, float, str)


def check_module_size(estimator, weights):
    """Refuse widths that would build a module larger than the saved weights.

    Checked before the module is built, so an edited ``n_features_in_`` or
    ``hidden_layer_sizes`` allocates nothing: the encoder of the default MLP
    alone holds a weight for each pair of neighbouring layers' units.
    """
    saved = sum(tensor.numel() for tensor in weights.values())
    widths = [estimator._n_model_columns]
    if estimator.encoder is None:
        try:
            hidden = hidden_layer_sizes_tuple(estimator.hidden_layer_sizes)
        except ValueError as exc:
            raise InvalidModelFile(str(exc)) from None
        widths += [*hidden, int(estimator.n_components)]
    needed = max(widths[0], sum(a * b for a, b in zip(widths, widths[1:])))
    if needed > saved:
        raise InvalidModelFile(
            f"its weights hold {saved} values, fewer than the {needed} of a "
            f"module for n_features_in_={estimator.n_features_in_} and the "
            "saved parameters"
        )


def set_module_attributes(module, saved):
    """Set the saved plain attributes of the module's submodules.

    Only attributes that the fresh submodule has, with a value of the same
    type: a file cannot add attributes or change their kind.
    """
    submodules = dict(module.named_modules())
    for name, attributes in saved.items():
        if name not in submodules:
            raise InvalidModelFile(f"the module has no submodule {name!r}")
        submodule = submodules[name]
        for key, value in attributes.items():
            current = vars(submodule).get(key)
            if (
                key.startswith("_")
                or key == "training"
                or type(current) is not (type(value))
                or not isinstance(value, PLAIN_VALUES)
            ):
                raise InvalidModelFile(
                    f"the submodule {name!r} has no attribute {key!r} of type "
                    f"{type(value).__name__}"
                )
            setattr(submodule, key, value)


def check_state_dict(module, weights):
    """The saved weights have the names, shapes and dtypes of ``module``'s,
    and are finite."""
    expected = module.state_dict()
    for name in sorted(set(expected) | set(weights)):
        if name not in weights or name not in expected:
            missing = "the module has no" if name in weights else "no weights for"
            raise InvalidModelFile(f"{missing} {name!r}")
        have, want = weights[name], expected[name]
        if have.shape != want.shape or have.dtype != want.dtype:
            raise InvalidModelFile(
                f"the weights {name!r} are {have.dtype} of shape "
                f"{tuple(have.shape)}, not {want.dtype} of {tuple(want.shape)}"
            )
        if have.is_floating_point() and not torch.isfinite(have).all():
            raise InvalidModelFile(f"the weights {name!r} are not finite")


def _same_kind(value, reference):
    """Whether a saved optimizer setting has the kind of the fresh one's: a
    number for a number (a continued fit sets ``lr`` and ``weight_decay`` as
    floats where torch's default may be an int), else the same type."""
    number = (int, float)
    if isinstance(reference, bool) or isinstance(value, bool):
        return type(value) is type(reference)
    if isinstance(reference, number) and isinstance(value, number):
        return True
    return type(value) is type(reference)


def load_optimizer_state(optimizer, saved):
    """Load the saved optimizer state, checked against the fresh optimizer's."""
    fresh = optimizer.state_dict()
    groups = saved.get("param_groups")
    if not isinstance(groups, list) or len(groups) != len(fresh["param_groups"]):
        raise InvalidModelFile("the optimizer's param_groups do not fit its module")
    for group, fresh_group in zip(groups, fresh["param_groups"]):
        if not isinstance(group, dict) or set(group) != set(fresh_group):
            raise InvalidModelFile(
                f"the optimizer's settings {short(group)} are not those of "
                f"{type(optimizer).__name__}"
            )
    try:
        optimizer.load_state_dict(saved)
    except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
        raise InvalidModelFile(f"the optimizer's state does not fit: {exc}") from None
    for group, fresh_group in zip(optimizer.param_groups, fresh["param_groups"]):
        for key, value in group.items():
            if key != "params" and not _same_kind(value, fresh_group[key]):
                raise InvalidModelFile(f"the optimizer's {key}={short(value)}")
        for param in group["params"]:
            for key, value in optimizer.state[param].items():
                if (
                    isinstance(value, torch.Tensor)
                    and value.dim() > 0
                    and (value.shape != param.shape or not torch.isfinite(value).all())
                ):
                    raise InvalidModelFile(f"the optimizer's {key} does not fit")
