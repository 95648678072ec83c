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

from .._persistence import Saveable, decode_value, encode_value
from .module import plain_attributes
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


class SaveableAutoencoder(Saveable):
    """Saves and pickles the net of an autoencoder as its :func:`net_state`."""

    _saved_separately = ("net_", "device_")

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
            "module": tensors[prefix + "module"],
            "optimizer": tensors[prefix + "optimizer"],
            "batch_size": node["batch_size"],
            "history": decode_value(node.get("history", []), {}, "history"),
            "module_attributes": node["module_attributes"],
        }
        self._restore_net(state, loaded_device(node["device"], device))

    def _restore_net(self, state, device):
        """Set ``net_`` and ``device_`` from a :func:`net_state`."""
        settings = self._training_settings()
        # The module's data-dependent tensors (buffers) come from the state
        # dict, so any data of the right width builds it.
        blank = torch.zeros((2, self.n_features_in_))
        module = settings.new_module(blank, 0, torch.device("cpu"))
        for name, attributes in state["module_attributes"].items():
            submodule = module.get_submodule(name)
            for key, value in attributes.items():
                setattr(submodule, key, value)
        module.load_state_dict(state["module"])
        net = settings.net(
            module.to(device),
            device,
            state["batch_size"],
            callbacks=settings.training_callbacks("train_loss"),
            shuffle_generator=make_generator(0, "cpu"),
        ).initialize()
        net.optimizer_.load_state_dict(state["optimizer"])
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
