"""save() and skae.load(): JSON and a state dict, never pickle."""

import _pickle
import io
import json
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from torch import nn

import skae
import skae._persistence
from skae import AutoencoderTransformer, OutlierDetector
from tests._estimators import ESTIMATORS


def _name(estimator):
    return type(estimator).__name__


@pytest.fixture(params=ESTIMATORS, ids=_name, scope="module")
def fitted(request, small_X):
    return clone(request.param).set_params(random_state=0).fit(small_X)


@pytest.fixture
def no_pickle(monkeypatch):
    """Make every way into pickle's unpickler fail."""

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used to load")

    for module in (pickle, _pickle):
        for name in ("load", "loads", "Unpickler"):
            monkeypatch.setattr(module, name, refuse)


def _round_trip(model, **kwargs):
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    return skae.load(buffer, **kwargs)


def _assert_same_outputs(loaded, model, X):
    assert_array_equal(loaded.transform(X), model.transform(X))
    assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    codes = model.transform(X)
    assert_array_equal(loaded.inverse_transform(codes), model.inverse_transform(codes))


def test_round_trip_gives_identical_outputs(fitted, small_X, no_pickle):
    loaded = _round_trip(fitted)
    assert type(loaded) is type(fitted)
    assert loaded.get_params() == fitted.get_params()
    _assert_same_outputs(loaded, fitted, small_X)
    for name in ("n_iter_", "loss_curve_", "n_features_in_", "device_"):
        assert getattr(loaded, name) == getattr(fitted, name)
    assert_array_equal(loaded.mean_, fitted.mean_)
    assert_array_equal(loaded.scale_, fitted.scale_)


def test_loaded_model_continues_training_like_the_original(fitted, small_X, no_pickle):
    model = _round_trip(fitted)
    original = clone(fitted).set_params(random_state=0).fit(small_X)  # = fitted
    original.partial_fit(small_X)
    model.partial_fit(small_X)
    # Weights, optimizer state and seeds all carried over.
    assert_array_equal(model.transform(small_X), original.transform(small_X))
    assert model.loss_curve_ == original.loss_curve_


def test_loaded_model_keeps_the_batch_size_and_the_epochs(small_X, no_pickle):
    model = AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=3)
    model.fit(np.tile(small_X, (6, 1)))  # batch_size="auto": 324 // 16 rows
    assert model.net_.batch_size == 20
    loaded = _round_trip(model)
    assert loaded.net_.batch_size == 20
    assert len(loaded.net_.history) == 3
    assert loaded.net_.history[:, "train_loss"] == model.loss_curve_
    loaded.partial_fit(small_X)
    assert loaded.net_.batch_size == 20 and len(loaded.net_.history) == 4


def test_file_on_disk_and_its_contents(tmp_path, small_X):
    model = AutoencoderTransformer(
        hidden_layer_sizes=(8,), max_epochs=2, random_state=0, device="cpu"
    ).fit(small_X)
    path = tmp_path / "model.skae"
    model.save(path)
    model.save(str(path))  # replaces it
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["skae.json", "weights.pt"]
        manifest = json.loads(archive.read("skae.json"))
    assert manifest["format_version"] == skae._persistence.FORMAT_VERSION
    assert manifest["skae_version"] == skae.__version__
    node = manifest["estimator"]
    assert node["class"] == "AutoencoderTransformer"
    assert node["params"]["hidden_layer_sizes"] == {"__tuple__": [8]}
    assert node["fitted"]["n_iter_"] == 2
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left
    _assert_same_outputs(skae.load(path), model, small_X)


def test_load_runs_no_code_from_the_file(tmp_path, small_X):
    """A weights member that would call a function is refused, not run."""
    model = AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=1).fit(small_X)
    path = tmp_path / "model.skae"
    model.save(path)
    calls = []

    class Payload:
        def __reduce__(self):
            return (calls.append, ("ran",))

    with zipfile.ZipFile(path) as archive:
        manifest = archive.read("skae.json")
    weights = io.BytesIO()
    torch.save({"module": Payload()}, weights)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("skae.json", manifest)
        archive.writestr("weights.pt", weights.getvalue())
    # torch's advice (weights_only=False) is not passed on, even in the chain.
    with pytest.raises(ValueError, match="not a valid skae model file") as info:
        skae.load(path)
    assert calls == []
    assert "weights_only" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_incompatible_file_version_is_a_clear_error(tmp_path, small_X):
    model = AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=1).fit(small_X)
    path = tmp_path / "model.skae"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("skae.json"))
        weights = archive.read("weights.pt")
    manifest.update(format_version=99, skae_version="9.0")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("skae.json", json.dumps(manifest))
        archive.writestr("weights.pt", weights)
    with pytest.raises(ValueError, match=r"skae 9.0 in model file format 99"):
        skae.load(path)


def test_weights_that_do_not_fit_are_a_clear_error(tmp_path, small_X):
    model = AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=1).fit(small_X)
    path = tmp_path / "model.skae"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("skae.json"))
        weights = archive.read("weights.pt")
    # As if a later skae had changed the architecture of the default MLP.
    manifest["estimator"]["params"]["hidden_layer_sizes"] = {"__tuple__": [9]}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("skae.json", json.dumps(manifest))
        archive.writestr("weights.pt", weights)
    with pytest.raises(ValueError, match=r"not a valid skae model file: .*weights"):
        skae.load(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "model.skae"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a valid skae model file: it is not a readable zip"):
        skae.load(path)


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        AutoencoderTransformer().save(tmp_path / "model.skae")


def test_outlier_detector_round_trip(small_X, no_pickle):
    detector = OutlierDetector(
        AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=2, random_state=0),
        contamination=0.1,
    ).fit(small_X)
    loaded = _round_trip(detector)
    assert loaded.offset_ == detector.offset_
    assert_array_equal(
        loaded.decision_function(small_X), detector.decision_function(small_X)
    )
    assert_array_equal(loaded.predict(small_X), detector.predict(small_X))
    assert loaded.estimator.get_params() == detector.estimator.get_params()


def test_outlier_detector_with_a_foreign_estimator_is_refused(small_X, tmp_path):
    detector = OutlierDetector(PCA(2), method="reconstruction").fit(small_X)
    with pytest.raises(TypeError, match="PCA.*pickle or joblib"):
        detector.save(tmp_path / "model.skae")
    assert not list(tmp_path.iterdir())


def test_custom_modules_are_given_at_load(small_X, no_pickle):
    def encoder():
        return nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 2))

    def decoder():
        return nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 5))

    model = AutoencoderTransformer(
        2, encoder=encoder(), decoder=decoder(), max_epochs=2, random_state=0
    ).fit(small_X)
    with pytest.raises(ValueError, match=r"custom decoder \(Sequential\) and encoder"):
        _round_trip(model)
    loaded = _round_trip(model, encoder=encoder(), decoder=decoder())
    _assert_same_outputs(loaded, model, small_X)


def test_parameters_of_every_kind_round_trip(small_X, no_pickle):
    model = AutoencoderTransformer(
        hidden_layer_sizes=(8, 4),
        optimizer=torch.optim.RMSprop,
        device=torch.device("cpu"),
        random_state=np.random.RandomState(3),
        max_epochs=1,
    ).fit(small_X)
    loaded = _round_trip(model)
    assert loaded.optimizer is torch.optim.RMSprop
    assert loaded.device == torch.device("cpu")
    assert loaded.hidden_layer_sizes == (8, 4)
    assert_array_equal(
        loaded.random_state.get_state()[1], model.random_state.get_state()[1]
    )


def test_feature_names_and_pandas_output_round_trip(small_X):
    frame = pd.DataFrame(small_X, columns=[f"c{i}" for i in range(5)])
    model = AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=1)
    model.set_output(transform="pandas").fit(frame)
    loaded = _round_trip(model)
    assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    pd.testing.assert_frame_equal(loaded.transform(frame), model.transform(frame))


def test_model_saved_on_a_gpu_loads_on_the_cpu(small_X, monkeypatch):
    model = AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=1).fit(small_X)
    model.device_ = torch.device("cuda:0")  # as if fitted on a GPU
    buffer = io.BytesIO()
    model.save(buffer)
    model.device_ = torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    buffer.seek(0)
    with pytest.warns(UserWarning, match="saved on cuda:0.*loaded on the CPU"):
        loaded = skae.load(buffer)
    assert loaded.device_ == torch.device("cpu")
    _assert_same_outputs(loaded, model, small_X)
