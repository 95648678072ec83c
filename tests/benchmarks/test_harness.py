"""The shared harness and data sets: config, environment, tables, MNIST offline."""

import argparse
from dataclasses import dataclass

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks import _data
from benchmarks import _harness as h


@dataclass
class _Sizes(h.Config):
    rows: int = 100
    names: tuple = ("a", "b")
    QUICK = dict(rows=10)


def test_config_quick_and_options():
    assert _Sizes.quick() == _Sizes(rows=10)
    assert _Sizes.quick(rows=3).rows == 3
    args = argparse.Namespace(quick=True, rows=None, names=["c"], json=None)
    assert _Sizes.from_args(args) == _Sizes(rows=10, names=("c",))
    args.quick, args.rows = False, 7
    assert _Sizes.from_args(args, names=("d",)) == _Sizes(rows=7, names=("d",))


@dataclass
class _Options(h.Config):
    rows: int = h.option(100, "rows")
    names: tuple = h.option(("a", "b"), "names", choices=["a", "b", "c"])
    npz: str | None = h.option(None, "a file")
    pyod: bool = h.option(True, "skip PyOD")
    hidden: int = 3
    QUICK = dict(rows=10)
    JOBS = 2


def test_options_are_generated_from_the_fields():
    parser = argparse.ArgumentParser()
    _Options.add_arguments(parser)
    assert _Options.from_args(parser.parse_args([])) == _Options()
    argv = ["--quick", "--names", "c", "a", "--npz", "x", "--no-pyod", "--jobs", "3"]
    args = parser.parse_args(argv)
    expected = _Options(rows=10, names=("c", "a"), npz="x", pyod=False)
    assert _Options.from_args(args) == expected
    assert args.jobs == 3 and args.threads is None and args.json is None
    assert parser.parse_args(["--rows", "7"]).rows == 7
    assert "--hidden" not in parser.format_help()
    assert "(default 100)" in parser.format_help()
    with pytest.raises(SystemExit):
        parser.parse_args(["--names", "d"])


def test_run_units_in_this_process():
    calls = []
    units = [(2, 3), (3, 2)]
    assert list(h.run_units(pow, units, setup=lambda: calls.append(1))) == [8, 9]
    assert calls == [1]


def test_environment_and_command_without_this_machines_paths(tmp_path):
    env = h.environment()
    for key in ("skae", "commit", "torch", "sklearn", "python", "torch_threads"):
        assert key in env
    assert "torch" in h.describe(env) and h.describe("as saved") == "as saved"
    inside = h.RESULTS / "x.json"
    argv = ["--json", str(inside), "--mnist-npz", str(tmp_path / "m.npz"), "-q"]
    assert h.command("speed", argv) == (
        "python -m benchmarks speed --json benchmarks/results/x.json "
        "--mnist-npz m.npz -q"
    )
    report = h.report("scale", [], rows=1)
    assert list(report) == ["environment", "command", "rows"]


def test_tables_from_the_same_rows():
    header, rows = ["name", "value"], [["a", 1], ["bb", 22]]
    assert h.table(header, rows) == "name  value\n----  -----\na     1    \nbb    22   "
    assert h.table(header, rows, "rst").splitlines()[0] == "====  ====="
    assert h.table(header, rows, "markdown").splitlines()[:2] == [
        "| name | value |",
        "|---|---|",
    ]
    list_table = h.table(header, rows, "list-table")
    assert list_table.startswith(".. list-table::") and "     - 22" in list_table


def test_interleaved_times_every_contender():
    calls = []
    wall, cpu = h.interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 2
    )
    assert calls == ["a", "b"] * 3  # a warm-up each first
    assert len(wall["a"]) == len(cpu["b"]) == 2
    assert h.pairwise_ratio([2.0, 6.0], [1.0, 2.0]) == 2.5


def test_speed_is_still_the_default_command(monkeypatch):
    calls = []

    class FakeSpeed:
        def add_arguments(parser):
            parser.add_argument("--quick", action="store_true")

        def run_command(args, argv):
            calls.append((args.quick, argv))

    monkeypatch.setitem(cli.COMMANDS, "speed", (FakeSpeed, "speed"))
    cli.main(["--quick"])
    cli.main(["speed", "--quick"])
    cli.main([])
    assert calls == [(True, ["--quick"]), (True, ["--quick"]), (False, [])]


# ----------------------------------------------------------------------
# MNIST, without the file or the network


@pytest.fixture(autouse=True)
def fresh_mnist_cache():
    _data.load_mnist.cache_clear()
    yield
    _data.load_mnist.cache_clear()


def _write_npz(path, n_train=200, n_test=100):
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(n_train + n_test, 28, 28)).astype(np.uint8)
    labels = rng.randint(0, 10, size=n_train + n_test).astype(np.uint8)
    np.savez(
        path,
        x_train=images[:n_train],
        y_train=labels[:n_train],
        x_test=images[n_train:],
        y_test=labels[n_train:],
    )
    return images.reshape(len(images), -1), labels


def _offline(*args, **kwargs):
    raise OSError("no network")


def test_mnist_from_npz(tmp_path, monkeypatch):
    monkeypatch.setattr(_data, "fetch_openml", _offline)
    images, labels = _write_npz(tmp_path / "mnist.npz")
    X, y = _data.load_mnist(tmp_path / "mnist.npz")
    assert X.shape == (300, 784) and X.dtype == np.float64
    np.testing.assert_array_equal(X, images)  # training set first, raw pixels
    np.testing.assert_array_equal(y, labels)
    X_train, X_test, _ = _data.mnist_subset(0, 30, 10, npz=tmp_path / "mnist.npz")
    assert X_train.shape == (30, 784) and X_test.shape == (10, 784)
    # Disjoint rows of the pool, and the same subset for the same seed.
    assert not {r.tobytes() for r in X_train} & {r.tobytes() for r in X_test}
    again = _data.mnist_subset(0, 30, 10, npz=tmp_path / "mnist.npz")[0]
    np.testing.assert_array_equal(X_train, again)


def test_mnist_from_openml(monkeypatch):
    calls = []
    X = np.arange(70 * 784, dtype=np.float64).reshape(70, 784) % 256

    def fake_fetch_openml(name, **kwargs):
        calls.append((name, kwargs))
        return X, (np.arange(70) % 10).astype(str)  # OpenML: string labels

    monkeypatch.setattr(_data, "fetch_openml", fake_fetch_openml)
    X_train, X_test, _ = _data.mnist_subset(1, 50, 20)
    assert calls == [("mnist_784", dict(as_frame=False, return_X_y=True))]
    assert X_train.shape == (50, 784) and X_test.shape == (20, 784)
    assert _data.load_mnist()[1].dtype.kind == "i"


def test_unavailable_mnist_says_how_to_give_it(tmp_path, monkeypatch):
    monkeypatch.setattr(_data, "fetch_openml", _offline)
    with pytest.raises(_data.DataUnavailable, match="--mnist-npz"):
        _data.load_mnist()
    with pytest.raises(_data.DataUnavailable, match="quick run"):
        _data.load_mnist(download=False)
    with pytest.raises(_data.DataUnavailable, match="missing.npz"):
        _data.load_mnist(tmp_path / "missing.npz")


def test_mnist_tasks_are_one_class():
    y = np.repeat(np.arange(10), 200)
    X = np.repeat(y[:, None], 3, axis=1).astype(float)  # a row shows its label
    tasks = _data.mnist_tasks(X, y)
    assert [task for task, _, _ in tasks] == ["digit 0", "digit 4", "digit 7"]
    for (_, normal, anomalies), digit in zip(tasks, _data.MNIST_DIGITS):
        assert np.all(normal == digit) and len(normal) == 200  # all there are
        assert not np.any(anomalies == digit)
        assert len(anomalies) == _data.MNIST_ANOMALY_ROWS


def test_split_keeps_the_test_set_and_normal_rows_across_settings():
    rng = np.random.RandomState(0)
    X_normal, X_anomalies = rng.normal(size=(100, 3)), 5 + rng.normal(size=(50, 3))
    clean = _data.split(X_normal, X_anomalies, 1, 0.0, standardize=False)
    dirty = _data.split(X_normal, X_anomalies, 1, 0.1, standardize=False)
    np.testing.assert_array_equal(clean[1], dirty[1])
    np.testing.assert_array_equal(clean[2], dirty[2])
    assert len(clean[0]) == 60 and len(dirty[0]) == 60 + 7  # 7 = 10% of 67
    np.testing.assert_array_equal(clean[0], dirty[0][:60])
    assert np.all(dirty[0][60:] > 2)  # the added rows are anomalies
    assert np.isin(clean[1], X_normal).all(axis=1).sum() == 40  # raw rows
    scaled = _data.split(X_normal, X_anomalies, 1, 0.1)
    np.testing.assert_allclose(scaled[0].mean(axis=0), 0, atol=1e-12)


def test_manifold_rows_are_the_same_chunk_by_chunk():
    rows = _data.manifold_rows(10, 6, seed=2)
    assert rows.dtype == np.float32 and rows.min() > 0 and rows.max() < 1
    np.testing.assert_array_equal(rows, _data.manifold_rows(10, 6, seed=2))
