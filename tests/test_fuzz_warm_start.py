"""Property-based tests: a warm start after any change of parameters.

The property: after ``fit`` with ``warm_start=True``, ``set_params`` with any
mix of training, model and architecture parameters (Python or numpy
scalars), and ``fit`` again, the model follows the parameters now set: the
optimizer's learning rate and weight decay, the trim fraction and the
model's module settings are the new ones; its outputs have the width of
its fitted network, which is the ``n_components`` now set, and agree with
``get_feature_names_out``; they are finite. A changed architecture warns and
trains a new network; nothing else raises.
"""

import warnings

import numpy as np
from hypothesis import given, note
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skae import VAE, AutoencoderTransformer, SparseAutoencoder

X = np.random.RandomState(0).uniform(size=(40, 5))

TRAINING = {
    "lr": st.sampled_from([1e-4, 0.01, np.float32(0.05), 0.5]),
    "weight_decay": st.sampled_from([0.0, 1e-3, np.float64(0.1)]),
    "trim_fraction": st.sampled_from([0.0, 0.2, np.float32(0.5)]),
    "n_components": st.sampled_from([1, 2, np.int64(3)]),
    "hidden_layer_sizes": st.sampled_from([(4,), (6, 3), ()]),
    "activation": st.sampled_from(["relu", "tanh"]),
    "max_epochs": st.sampled_from([1, 2]),
}
MODELS = {
    AutoencoderTransformer: {},
    VAE: {
        "k": st.sampled_from([1, np.int64(3)]),
        "beta": st.sampled_from([0.5, 1.0, np.float32(2.0)]),
        "likelihood": st.sampled_from(["gaussian", "bernoulli"]),
        "noise_variance": st.sampled_from(["per_feature", "shared"]),
    },
    SparseAutoencoder: {
        "sparsity": st.sampled_from(["kl", "l1"]),
        "sparsity_weight": st.sampled_from([0.0, 0.3]),
    },
}


@st.composite
def changes(draw):
    model_class = draw(st.sampled_from(list(MODELS)))
    options = {**TRAINING, **MODELS[model_class]}
    names = draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=5))
    return model_class, {name: draw(options[name]) for name in names}


@given(changes())
def test_a_warm_start_follows_any_change_of_parameters(case):
    model_class, change = case
    note(f"{model_class.__name__} {change}")
    model = model_class(2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0)
    model.set_params(warm_start=True, device="cpu", n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        model.fit(X)
        n_before = model.n_iter_
        model.set_params(**change).fit(X)
    net = model.net_
    first = net.history[-model.n_iter_ if model.n_iter_ <= n_before else n_before]
    assert first["lr"] == float(model.lr) or len(net.history) > 1
    group = net.optimizer_.param_groups[0]
    assert group["weight_decay"] == float(model.weight_decay)
    assert net.criterion_.trim_fraction == float(model.trim_fraction)
    for path, value in model._module_settings().items():
        owner, _, name = path.rpartition(".")
        assert getattr(net.module_.get_submodule(owner), name) == value
    codes = model.transform(X)
    assert codes.shape == (len(X), int(model.n_components))
    assert len(model.get_feature_names_out()) == codes.shape[1]
    assert np.all(np.isfinite(codes))
    assert np.all(np.isfinite(model.inverse_transform(codes)))
