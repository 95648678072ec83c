"""save() and skae.load(): JSON and a state dict, never pickle."""

import _pickle
import io
import json
import pickle
import re
import tracemalloc
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
    with pytest.raises(
        ValueError, match="not a valid skae model file: it is not a readable zip"
    ):
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


# ----------------------------------------------------------------------------
# Damaged or edited files: one ValueError that says what is wrong


@pytest.fixture(scope="module")
def saved_files(small_X):
    """The bytes of saved small models, by name: fitted once per module."""
    fast = dict(hidden_layer_sizes=(8,), max_epochs=2, random_state=0, device="cpu")
    models = {
        "ae": AutoencoderTransformer(**fast),
        "vae": skae.VAE(**fast),
        "dae": skae.DenoisingAutoencoder(**fast),
        "detector": OutlierDetector(AutoencoderTransformer(**fast), contamination=0.1),
    }
    files = {}
    for name, model in models.items():
        buffer = io.BytesIO()
        model.fit(small_X).save(buffer)
        files[name] = buffer.getvalue()
    return files


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("skae.json")), archive.read("weights.pt")


def _archive(manifest, weights):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        archive.writestr("skae.json", text)
        archive.writestr("weights.pt", weights)
    buffer.seek(0)
    return buffer


def _assert_invalid(buffer, match):
    with pytest.raises(ValueError, match="is not a valid skae model file: ") as info:
        skae.load(buffer)
    assert re.search(match, str(info.value)), str(info.value)
    assert "weights_only" not in str(info.value)


def _pickled_object():
    buffer = io.BytesIO()
    torch.save({"module": np.random.RandomState(0)}, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "weights",
    [
        b"garbage",
        b"",
        _pickled_object(),
        pickle.dumps({"module": [1, 2]}),
        "truncated",
        "not a dict",
    ],
    ids=["garbage", "empty", "pickled-object", "plain-pickle", "truncated", "list"],
)
def test_damaged_weights_are_a_clear_error(saved_files, weights):
    manifest, saved = _members(saved_files["ae"])
    if weights == "truncated":
        weights = saved[: len(saved) // 2]
    elif weights == "not a dict":
        buffer = io.BytesIO()
        torch.save([torch.zeros(2)], buffer)
        weights = buffer.getvalue()
    _assert_invalid(_archive(manifest, weights), "weights")


def _set(tree, path, value):
    *parents, last = path
    for key in parents:
        tree = tree[key]
    if value is DELETE:
        del tree[last]
    else:
        tree[last] = value


DELETE = object()
FITTED = ("estimator", "fitted")
PARAMS = ("estimator", "params")

# (model, path in the manifest, new value, what the message says)
EDITS = {
    "estimator-list": ("ae", ("estimator",), [], "'class'"),
    "fitted-list": ("ae", FITTED, [1], "'fitted'"),
    "params-list": ("ae", PARAMS, [1], "'params'"),
    "class-unknown": ("ae", ("estimator", "class"), "Nope", "'Nope'"),
    "class-base": ("ae", ("estimator", "class"), "Saveable", "'Saveable'"),
    "inner-class-list": (
        "detector",
        (*PARAMS, "estimator", "__estimator__", "class"),
        [],
        r"\[\]",
    ),
    "param-unknown": ("ae", (*PARAMS, "forward"), 1, "no parameter 'forward'"),
    "optimizer-unknown": (
        "ae",
        (*PARAMS, "optimizer"),
        {"__optimizer__": "Nope"},
        "optimizer",
    ),
    "optimizer-module": (
        "ae",
        (*PARAMS, "optimizer"),
        {"__optimizer__": "lr_scheduler"},
        "optimizer",
    ),
    "optimizer-name": ("ae", (*PARAMS, "optimizer"), "nope", "optimizer"),
    "batch_size-zero": ("ae", (*PARAMS, "batch_size"), 0, "batch_size"),
    "batch_size-str": ("ae", (*PARAMS, "batch_size"), "12", "batch_size"),
    "lr-negative": ("ae", (*PARAMS, "lr"), -1.0, "lr"),
    "hidden-huge": (
        "ae",
        (*PARAMS, "hidden_layer_sizes"),
        {"__tuple__": [10**9]},
        "weights hold",
    ),
    "hidden-str": ("ae", (*PARAMS, "hidden_layer_sizes"), {"__tuple__": ["8"]}, ""),
    "n_components-huge": ("ae", (*PARAMS, "n_components"), 10**9, "weights hold"),
    "device-garbage": ("ae", (*PARAMS, "device"), {"__device__": "nope"}, "device"),
    "tag-unknown": ("ae", (*PARAMS, "init"), {"__nope__": 1}, "unknown value"),
    "tuple-int": ("ae", (*PARAMS, "hidden_layer_sizes"), {"__tuple__": 5}, "tuple"),
    "random-state": (
        "ae",
        (*PARAMS, "random_state"),
        {"__random_state__": [1, 2]},
        "RandomState",
    ),
    "dtype-huge": (
        "ae",
        (*FITTED, "mean_"),
        {"__ndarray__": ["a"], "dtype": "<U100000000"},
        "mean_",
    ),
    "mean-short": (
        "ae",
        (*FITTED, "mean_"),
        {"__ndarray__": [0.0] * 4, "dtype": "<f8"},
        "mean_ has 4 values, not 5",
    ),
    "mean-2d": (
        "ae",
        (*FITTED, "mean_"),
        {"__ndarray__": [[0.0] * 5], "dtype": "<f8"},
        "mean_ is not a 1-D array",
    ),
    "mean-nan": ("ae", (*FITTED, "mean_"), {"__ndarray__": [float("nan")] * 5}, ""),
    "scale-zero": (
        "ae",
        (*FITTED, "scale_"),
        {"__ndarray__": [0.0] * 5, "dtype": "<f8"},
        "scale_",
    ),
    "scale-list": ("ae", (*FITTED, "scale_"), [1.0] * 5, "scale_"),
    "output-config": (
        "ae",
        (*FITTED, "_sklearn_output_config"),
        {"__dict__": {"transform": "nope"}},
        "set_output",
    ),
    "transform": ("ae", (*FITTED, "transform"), 1, "no fitted attribute 'transform'"),
    "forward": ("ae", (*FITTED, "forward"), "x", "no fitted attribute 'forward'"),
    "private": ("ae", (*FITTED, "_fit"), 1, "no fitted attribute '_fit'"),
    "n_features-wide": (
        "ae",
        (*FITTED, "n_features_in_"),
        3 * 10**6,
        "feature_kinds_ is not",
    ),
    "n_features-cap": ("ae", (*FITTED, "n_features_in_"), 10**12, "n_features_in_"),
    "n_features-str": ("ae", (*FITTED, "n_features_in_"), "5", "n_features_in_"),
    "n_features-bool": ("ae", (*FITTED, "n_features_in_"), True, "n_features_in_"),
    "n_iter-missing": ("ae", (*FITTED, "n_iter_"), DELETE, "'n_iter_' .* missing"),
    "loss_curve-str": ("ae", (*FITTED, "loss_curve_"), "abc", "loss_curve_"),
    "feature-names": (
        "ae",
        (*FITTED, "feature_names_in_"),
        {"__ndarray__": ["a", "b"], "dtype": "object"},
        "feature_names_in_",
    ),
    "batch_size-node": ("ae", ("estimator", "batch_size"), 0, "batch_size"),
    "device-node": ("ae", ("estimator", "device"), "nope", "device"),
    "history-ints": ("ae", ("estimator", "history"), [1], "history"),
    "submodule-unknown": (
        "ae",
        ("estimator", "module_attributes", "nope"),
        {},
        "no submodule 'nope'",
    ),
    "submodule-new-attribute": (
        "ae",
        ("estimator", "module_attributes", "", "forward"),
        1,
        "no attribute 'forward'",
    ),
    "submodule-attribute-type": (
        "ae",
        ("estimator", "module_attributes", "", "eval_seed"),
        "0",
        "eval_seed",
    ),
    "latent-activity": (
        "vae",
        (*FITTED, "latent_activity_"),
        {"__ndarray__": [1.0] * 3, "dtype": "<f8"},
        "latent_activity_ has 3 values, not 2",
    ),
    "active-components": ("vae", (*FITTED, "n_active_components_"), 3, "not in"),
    "noise-level": ("dae", (*FITTED, "noise_level_"), -1.0, "noise_level_"),
    "offset-nan": ("detector", (*FITTED, "offset_"), float("nan"), "offset_"),
    "calibration": ("detector", (*FITTED, "calibration_"), "nope", "calibration_"),
    "detector-estimator": (
        "detector",
        (*FITTED, "estimator_"),
        {"__fitted__": {"class": "VAE", "params": {}, "fitted": {}}},
        "",
    ),
    "detector-wrong-class": (
        "detector",
        (*FITTED, "estimator_", "__fitted__", "class"),
        "SparseAutoencoder",
        "",
    ),
    "detector-width": ("detector", (*FITTED, "n_features_in_"), 4, "estimator_"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_edited_files_are_a_clear_error(saved_files, edit):
    model, path, value, match = EDITS[edit]
    manifest, weights = _members(saved_files[model])
    _set(manifest, path, value)
    _assert_invalid(_archive(manifest, weights), match)


def test_widths_beyond_the_saved_weights_allocate_nothing(saved_files):
    """A consistent edit of the width is refused before a module is built."""
    manifest, weights = _members(saved_files["ae"])
    width = 10**5
    fitted = manifest["estimator"]["fitted"]
    fitted["n_features_in_"] = width
    for name in ("mean_", "scale_"):
        fitted[name] = {"__ndarray__": [1.0] * width, "dtype": "<f8"}
    fitted["feature_kinds_"] = {"__ndarray__": ["gaussian"] * width, "dtype": "object"}
    buffer = _archive(manifest, weights)
    tracemalloc.start()
    try:
        _assert_invalid(buffer, "weights hold 162 values, fewer than the 800016")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**26  # the JSON's arrays, not a module 10**5 wide


def test_width_that_does_not_match_the_weights_is_named(saved_files):
    manifest, weights = _members(saved_files["ae"])
    fitted = manifest["estimator"]["fitted"]
    fitted["n_features_in_"] = 4
    for name in ("mean_", "scale_", "feature_kinds_"):
        fitted[name]["__ndarray__"] = fitted[name]["__ndarray__"][:4]
    _assert_invalid(
        _archive(manifest, weights),
        r"'decoder.linear.bias' are .* \(5,\), not .*\(4,\)",
    )


@pytest.mark.parametrize(
    "tensors",
    [
        {"encoder.linear.weight": torch.zeros(2, 4)},
        {"encoder.linear.weight": torch.zeros(2, 5, dtype=torch.float64)},
        {"encoder.linear.weight": torch.full((2, 5), float("nan"))},
        {"nope": torch.zeros(1)},
    ],
    ids=["shape", "dtype", "nan", "unknown"],
)
def test_weights_that_do_not_fit_the_module_are_named(saved_files, tensors):
    manifest, weights = _members(saved_files["ae"])
    state = torch.load(io.BytesIO(weights), weights_only=True)
    state["module"].update(tensors)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    _assert_invalid(_archive(manifest, buffer.getvalue()), f"{next(iter(tensors))}")


def test_optimizer_state_that_does_not_fit_is_refused(saved_files):
    manifest, weights = _members(saved_files["ae"])
    state = torch.load(io.BytesIO(weights), weights_only=True)
    state["optimizer"]["param_groups"][0]["lr"] = "fast"
    buffer = io.BytesIO()
    torch.save(state, buffer)
    _assert_invalid(_archive(manifest, buffer.getvalue()), "optimizer's lr")
    state["optimizer"]["param_groups"][0]["lr"] = 1e-3
    next(iter(state["optimizer"]["state"].values()))["exp_avg"] = torch.zeros(3)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    _assert_invalid(_archive(manifest, buffer.getvalue()), "exp_avg")


def test_deeply_nested_json_is_a_clear_error(saved_files):
    manifest, weights = _members(saved_files["ae"])
    text = json.dumps(manifest)
    for depth in (40, 100_000):
        nested = "[" * depth + "]" * depth
        edited = text.replace('"n_iter_": 2', f'"n_iter_": {nested}')
        _assert_invalid(_archive(edited, weights), "nested")


def test_json_that_is_not_a_manifest(saved_files):
    _, weights = _members(saved_files["ae"])
    for text in ("[]", "{", '{"format": "skae", "n": ' + "9" * 5000 + "}"):
        _assert_invalid(_archive(text, weights), "skae.json")
    _assert_invalid(_archive({"format": "skae", "format_version": 1}, weights), "")


def test_zip_bomb_is_refused_before_it_is_unpacked(saved_files):
    """A member that unpacks to far more than it takes is refused unread."""
    _, weights = _members(saved_files["ae"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("skae.json", "w") as member:
            chunk = b" " * 2**20
            for _ in range(200):
                member.write(chunk)
        archive.writestr("weights.pt", weights)
    assert len(buffer.getvalue()) < 2**20
    buffer.seek(0)
    tracemalloc.start()
    try:
        _assert_invalid(buffer, "skae.json unpacks to 209715200 bytes")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**23


def test_member_larger_than_its_header_says_is_refused(saved_files):
    manifest, weights = _members(saved_files["ae"])
    buffer = _archive(manifest, weights)
    data = bytearray(buffer.getvalue())
    # The central directory's uncompressed size of skae.json, made smaller.
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("skae.json")
    offset = data.rfind(b"PK\x01\x02", 0, data.rfind(b"skae.json") + 1)
    data[offset + 24 : offset + 28] = (info.file_size - 10).to_bytes(4, "little")
    _assert_invalid(io.BytesIO(bytes(data)), "")


def test_corrupted_archive_is_a_clear_error(saved_files):
    manifest, weights = _members(saved_files["ae"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("skae.json", json.dumps(manifest))
        archive.writestr("weights.pt", weights)
    data = bytearray(buffer.getvalue())
    start = data.find(b"skae.json") + len("skae.json")
    data[start + 20 : start + 60] = bytes(40)  # inside the deflated JSON
    _assert_invalid(io.BytesIO(bytes(data)), "not a readable zip archive")
    _assert_invalid(io.BytesIO(saved_files["ae"][:-30]), "")
    with pytest.raises(FileNotFoundError):  # no file is not a damaged file
        skae.load("no such file.skae")


def test_a_rejected_file_names_itself(tmp_path, saved_files):
    manifest, weights = _members(saved_files["ae"])
    manifest["estimator"]["params"]["batch_size"] = 0
    path = tmp_path / "edited.skae"
    path.write_bytes(_archive(manifest, weights).getvalue())
    with pytest.raises(ValueError, match=r"^'.*edited.skae' is not a valid skae"):
        skae.load(path)


def test_a_model_continued_with_new_parameters_saves_and_loads(small_X):
    # A continued fit sets the optimizer's lr and weight_decay as floats,
    # where torch's defaults may be ints: the file must still load.
    model = AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=1).fit(small_X)
    model.set_params(warm_start=True, lr=0.01, weight_decay=0.001).fit(small_X)
    model.partial_fit(small_X)
    loaded = _round_trip(model)
    assert loaded.net_.optimizer_.param_groups[0]["weight_decay"] == 0.001
    _assert_same_outputs(loaded, model, small_X)
