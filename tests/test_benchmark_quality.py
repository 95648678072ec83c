"""A smoke run of the quality benchmark on tiny data, and its MNIST loader offline.

No quality or timing assertions: the figures of a few epochs mean nothing.
"""

import dataclasses
import json
import types

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks import quality

TINY = ["--max-epochs", "2", "--threads", "1"]


@pytest.fixture(autouse=True)
def fresh_mnist_cache():
    quality.mnist_pixels.cache_clear()
    yield
    quality.mnist_pixels.cache_clear()


@pytest.fixture
def tiny_sizes(monkeypatch):
    """Quick runs at 60 training and 30 test rows."""
    quick = quality.Config.quick
    monkeypatch.setattr(
        quality.Config,
        "quick",
        classmethod(lambda cls, **kw: quick(**{"max_train": 60, "max_test": 30, **kw})),
    )


@pytest.fixture
def mnist_npz(tmp_path):
    """A stand-in for mnist.npz: 40 + 20 random 28x28 uint8 images."""
    rng = np.random.RandomState(0)
    path = tmp_path / "mnist.npz"
    np.savez(
        path,
        x_train=rng.randint(0, 256, size=(40, 28, 28), dtype=np.uint8),
        y_train=rng.randint(0, 10, size=40),
        x_test=rng.randint(0, 256, size=(20, 28, 28), dtype=np.uint8),
        y_test=rng.randint(0, 10, size=20),
    )
    return path


def _no_internet(*args, **kwargs):
    raise OSError("no internet in tests")


def test_mnist_from_npz_pools_train_and_test(mnist_npz, monkeypatch):
    monkeypatch.setattr(quality, "fetch_openml", _no_internet)
    X = quality.mnist_pixels(str(mnist_npz))
    assert X.shape == (60, 784)
    with np.load(mnist_npz) as data:
        np.testing.assert_array_equal(X[40:], data["x_test"].reshape(20, -1))
    X_train, X_test, _ = quality.load_mnist(0, 30, 10, npz=str(mnist_npz))
    assert X_train.shape == (30, 784) and X_test.shape == (10, 784)
    assert X_train.dtype == np.float64
    # Disjoint rows of the pool, and the same subset for the same seed.
    rows = {row.tobytes() for row in X_train}
    assert not rows & {row.tobytes() for row in X_test}
    np.testing.assert_array_equal(
        X_train, quality.load_mnist(0, 30, 10, npz=str(mnist_npz))[0]
    )


def test_mnist_from_openml(monkeypatch):
    class Fetched:
        data = np.arange(70 * 784, dtype=np.float64).reshape(70, 784) % 256

    calls = []

    def fake_fetch(name, **kwargs):
        calls.append((name, kwargs))
        return Fetched

    monkeypatch.setattr(quality, "fetch_openml", fake_fetch)
    X_train, X_test, _ = quality.load_mnist(1, 50, 20)
    assert calls == [("mnist_784", {"as_frame": False})]
    assert X_train.shape == (50, 784) and X_test.shape == (20, 784)


@pytest.mark.parametrize("download", [True, False])
def test_mnist_unavailable_is_a_clear_skip(tmp_path, monkeypatch, download):
    monkeypatch.setattr(quality, "fetch_openml", _no_internet)
    with pytest.raises(quality.DataUnavailable, match="--mnist-npz"):
        quality.load_mnist(0, download=download)
    with pytest.raises(quality.DataUnavailable, match="cannot read"):
        quality.load_mnist(0, npz=str(tmp_path / "missing.npz"))


def test_quick_run_skips_mnist_without_the_file(tmp_path, monkeypatch, tiny_sizes):
    monkeypatch.setattr(quality, "fetch_openml", _no_internet)
    rst, json_path = tmp_path / "q.rst", tmp_path / "q.json"
    argv = ["--quick", "--datasets", "mnist", "wine", "--models", "PCA"]
    cli.main(["quality", *argv, *TINY, "--rst", str(rst), "--json", str(json_path)])
    report = json.loads(json_path.read_text())
    assert "skipped" in report["datasets"]["mnist"]
    assert {r["dataset"] for r in report["results"]} == {"wine"}
    assert "mnist: skipped" in rst.read_text()
    # The tables can be rendered again from the JSON alone.
    again = tmp_path / "again.rst"
    cli.main(["quality", "--from-json", str(json_path), "--rst", str(again)])
    assert again.read_text() == rst.read_text()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Every model on every data set but MNIST, 60 rows, 2 epochs."""
    config = quality.Config.quick(
        datasets=tuple(name for name in quality.DATASETS if name != "mnist"),
        max_train=60,
        max_test=30,
        skae_params={"max_epochs": 2},
    )
    return quality.run(config, log=lambda message: None)


def test_every_model_and_data_set_is_measured(quick_run):
    records, info = quick_run
    models = quality.available_models()
    assert "ContractiveAutoencoder" in quality.MODELS
    assert {"PCA", "FactorAnalysis", "AutoencoderTransformer"} <= set(models)
    measured = {(r.dataset, r.model) for r in records}
    for dataset in info:
        for model in models:
            assert (dataset, model) in measured
    for record in records:
        assert record.error is None, record
        assert np.isfinite(record.fvu) and np.isfinite(record.fvu_ratio)
        assert (record.log_likelihood is not None) == quality.MODELS[
            record.model
        ].log_likelihood
        if quality.MODELS[record.model].skae:
            assert record.n_iter == 2 and record.hit_limit
    assert info["linear_gaussian"]["references"]["true parameters"]


@pytest.mark.slow  # starts worker processes that import torch
def test_parallel_run_gives_the_same_records():
    config = quality.Config.quick(
        datasets=("wine",),
        models=("AutoencoderTransformer", "PCA"),
        seeds=2,
        max_train=40,
        max_test=20,
        skae_params={"max_epochs": 1},
    )
    serial, serial_info = quality.run(config, log=lambda message: None)
    parallel, parallel_info = quality.run(
        config, log=lambda message: None, jobs=2, threads=1
    )
    assert [(r.model, r.seed) for r in parallel] == [(r.model, r.seed) for r in serial]
    for a, b in zip(serial, parallel):
        assert a.fvu == pytest.approx(b.fvu, rel=1e-5)
    assert parallel_info["wine"]["cpu_seconds"] > 0
    assert serial_info["wine"]["n_train"] == parallel_info["wine"]["n_train"] == 40


def test_tables(quick_run):
    records, info = quick_run
    text = quality.text_tables(records, info)
    for title, _, _ in quality.BLOCKS:
        assert title in text
    rst = quality.rst_tables(records, info, footer="FOOTER")
    assert rst.rstrip().endswith("FOOTER")
    assert rst.count("**Held-out") == 3
    assert "true parameters" in rst


def test_rst_is_valid_with_any_warning_message(quick_run):
    docutils_core = pytest.importorskip("docutils.core")
    records, info = quick_run
    odd = dataclasses.replace(
        records[0], warnings={"UserWarning: see `x`, *args, |a| and b_": 2}
    )
    rst = quality.rst_tables([odd, *records[1:]], info, footer="FOOTER")
    # halt_level=2: any docutils warning raises.
    docutils_core.publish_doctree(rst, settings_overrides={"halt_level": 2})
    assert "2 x UserWarning" in rst


def test_fvu_units():
    rng = np.random.RandomState(0)
    X_train = rng.normal(size=(100, 2)) * [1.0, 100.0]
    X_test = rng.normal(size=(50, 2)) * [1.0, 100.0]
    # Only the small first column is reconstructed, perfectly.
    reconstruction = np.c_[X_test[:, 0], np.full(50, X_train[:, 1].mean())]
    mse = ((reconstruction - X_test) ** 2).mean(axis=0)
    variance = X_train.var(axis=0)
    raw = quality.fvu(X_train, X_test, reconstruction)
    standardized = quality.fvu(X_train, X_test, reconstruction, standardized=True)
    assert raw == pytest.approx(mse.sum() / variance.sum())
    assert standardized == pytest.approx(np.mean(mse / variance))
    # Raw units weigh the columns by their variance, standardized ones equally.
    assert mse[0] == 0 and raw > 0.9 * mse[1] / variance[1]
    assert standardized == pytest.approx(0.5 * mse[1] / variance[1])


def test_a_failing_model_is_reported_not_raised():
    class Broken:
        def fit(self, X):
            raise ValueError("broken")

    record = quality.Record("d", "m", 0, 2, 10, 5)
    X = np.ones((10, 3))
    quality.evaluate(Broken(), False, X, X[:5], False, record)
    assert record.error == "ValueError: broken"
    assert np.isnan(record.fvu)


def test_speed_is_still_the_default_command(monkeypatch):
    calls = []
    fake_speed = types.SimpleNamespace(
        add_arguments=lambda parser: parser.add_argument(
            "--quick", action="store_true"
        ),
        run_command=lambda args, argv: calls.append((args.quick, argv)),
    )
    monkeypatch.setitem(cli.COMMANDS, "speed", (fake_speed, "speed"))
    cli.main(["--quick"])
    cli.main(["speed", "--quick"])
    cli.main([])
    assert calls == [(True, ["--quick"]), (True, ["--quick"]), (False, [])]
