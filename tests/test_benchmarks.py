"""A smoke run of the speed benchmarks at tiny sizes (no timing assertions)."""

import json

import numpy as np
import pytest

import skae
from benchmarks import __main__ as cli
from benchmarks import speed
from skae import AutoencoderTransformer

TINY = dict(
    digits_rows=120,
    digits_epochs=1,
    mnist_rows=150,
    mnist_features=30,
    mnist_epochs=1,
    repeats=1,
    mnist_repeats=1,
    devices=("cpu",),
)


class _FakeIWAE(AutoencoderTransformer):
    """Stands in for ``skae.IWAE`` where that model is not there."""

    def __init__(self, n_components=2, *, k=1, **params):
        super().__init__(n_components, **params)
        self.k = k


@pytest.fixture(scope="module")
def results():
    with pytest.MonkeyPatch.context() as patch:
        if not hasattr(skae, "IWAE"):
            patch.setattr(skae, "IWAE", _FakeIWAE, raising=False)
        return speed.run(speed.Config(**TINY, pyod=False), log=lambda message: None)


def test_every_comparison_is_reported(results):
    metrics = {(r.dataset, r.other, r.metric) for r in results}
    for dataset in ("digits", "synthetic 150x30"):
        assert (dataset, "hand-written PyTorch loop", "fit samples/s") in metrics
        assert (dataset, "hand-written PyTorch loop", "transform samples/s") in metrics
        assert (dataset, "PCA", "reconstruction MSE (test set)") in metrics
        for k in speed.IWAE_KS:
            assert (dataset, "IWAE k=1", f"IWAE step ms, k={k}") in metrics
    for r in results:
        assert r.skae > 0 and r.reference > 0 and np.isfinite(r.ratio)


def test_tables(results):
    text = speed.text_table(results)
    assert text.count("\n") == len(results) + 1
    rst = speed.rst_table(results)
    assert rst.startswith(".. list-table::")
    assert rst.count("   * - ") == len(results) + 1


def test_hand_written_loop_learns():
    X = speed.synthetic_mnist(200, 20)
    loop = speed.HandWrittenLoop(epochs=3, device="cpu").fit(X)
    codes = loop.transform(X)
    assert codes.shape == (200, speed.N_COMPONENTS)
    assert np.all(np.isfinite(codes))


def test_pyod_comparison():
    pytest.importorskip("pyod")
    X = speed.digits_data(100)
    (result,) = speed.bench_pyod(X, 1, "cpu", 1, "digits")[:1]
    assert result.other == "PyOD AutoEncoder" and result.ratio > 0


def test_command_line(tmp_path, monkeypatch):
    config = speed.Config
    monkeypatch.setattr(speed, "Config", lambda **kw: config(**{**kw, **TINY}))
    json_path, rst_path = tmp_path / "out.json", tmp_path / "table.rst"
    cli.main(
        [
            "--datasets",
            "digits",
            "--no-pyod",
            "--no-iwae",
            "--threads",
            "1",
            "--json",
            str(json_path),
            "--rst",
            str(rst_path),
        ]
    )
    report = json.loads(json_path.read_text())
    assert report["environment"]["torch"]
    assert {r["other"] for r in report["results"]} == {
        "hand-written PyTorch loop",
        "PCA",
    }
    environment, results = speed.load_results(json_path)
    assert environment == report["environment"]
    assert [r.as_dict() for r in results] == report["results"]
    rst = rst_path.read_text()
    assert rst.startswith("Measured with 1 torch thread(s)")
    assert ".. list-table::" in rst
