"""Speed, contention and scale: smoke runs at tiny sizes (no timing assertions)."""

import json

import numpy as np
import pytest

import skae
from benchmarks import __main__ as cli
from benchmarks import contention, scale, speed
from skae import AutoencoderTransformer

TINY = dict(
    digits_rows=120,
    digits_epochs=1,
    mnist_rows=150,
    mnist_features=30,
    mnist_epochs=1,
    repeats=1,
    mnist_repeats=1,
)
TINY_CONTENTION = dict(
    TINY,
    models=("AutoencoderTransformer", "VAE"),
    n_jobs=("auto", "torch"),
    busy_processes=1,
    busy_seconds=120.0,
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
        config = speed.SpeedConfig(**TINY, devices=("cpu",), pyod=False)
        return speed.run(config, log=lambda message: None)


@pytest.mark.slow
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
    rst = speed.rst_table(results)
    assert rst.startswith(".. list-table::")
    assert rst.count("   * - ") == len(results) + 1


def test_hand_written_loop_learns():
    X = speed.synthetic_mnist(200, 20)
    codes = speed.HandWrittenLoop(epochs=3, device="cpu").fit(X).transform(X)
    assert codes.shape == (200, speed.N_COMPONENTS)
    assert np.all(np.isfinite(codes))


@pytest.mark.slow
def test_pyod_comparison():
    pytest.importorskip("pyod")
    X = speed.digits_data(100)
    (result,) = speed.bench_pyod(X, 1, "cpu", 1, "digits")[:1]
    assert result.other == "PyOD AutoEncoder" and result.ratio > 0


@pytest.mark.slow
def test_speed_command_line(tmp_path):
    json_path, rst_path = tmp_path / "out.json", tmp_path / "table.rst"
    cli.main(
        ["--quick", "--datasets", "digits", "--no-pyod", "--no-iwae"]
        + ["--threads", "1", "--json", str(json_path), "--rst", str(rst_path)]
    )
    report = json.loads(json_path.read_text())
    assert report["command"].startswith("python -m benchmarks speed --quick")
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


# ----------------------------------------------------------------------
# Contention


@pytest.fixture(scope="module")
def timings():
    config = contention.ContentionConfig(**TINY_CONTENTION)
    return contention.run(config, log=lambda message: None)


@pytest.mark.slow
def test_every_contender_in_every_state(timings):
    keys = {(t.dataset, t.model, t.n_jobs, t.state) for t in timings}
    for dataset in ("digits", "synthetic 150x30"):
        for state in contention.STATES:
            assert (dataset, contention.LOOP, "torch", state) in keys
            for model in TINY_CONTENTION["models"]:
                for n_jobs in TINY_CONTENTION["n_jobs"]:
                    assert (dataset, model, n_jobs, state) in keys
    assert len(keys) == len(timings) == 2 * 3 * (1 + 2 * 2)
    for timing in timings:
        assert timing.fit_median > 0 and timing.transform_median > 0
        assert len(timing.load_average) == 3


@pytest.mark.slow
def test_ratios_in_the_contention_table(timings):
    rows = contention.rows(timings)
    assert len(rows) == 2 * (1 + 2 * 2) * 2  # data x contenders x phases
    for row in rows:
        for state in ("busy", "grid"):
            expected = row[f"{state} s"] / row["quiet s"]
            assert row[f"{state} / quiet"] == pytest.approx(expected)
        if row["model"] == contention.LOOP:
            assert row["busy / loop"] == pytest.approx(1.0)
    torch_threads = {row["threads"] for row in rows if row["n_jobs"] == "torch"}
    assert torch_threads == {1}  # the test suite runs torch with 1 thread
    assert contention.table(timings).count("\n") == len(rows) + 1
    rst = contention.rst_table(timings, contention.h.environment())
    assert "load average" in rst and rst.count("   * - ") == len(rows) + 1


def test_busy_processes_end():
    with contention.busy_cores(1, 60) as processes:
        assert all(process.poll() is None for process in processes)
    assert all(process.poll() is not None for process in processes)
    # They also end on their own.
    messages = []
    with contention.busy_cores(1, 0.01, log=messages.append) as processes:
        processes[0].wait(timeout=30)
    assert "ended before the measurements" in messages[0]


@pytest.mark.slow
def test_contention_command_line(tmp_path, monkeypatch):
    monkeypatch.setattr(contention.ContentionConfig, "QUICK", TINY_CONTENTION)
    json_path, rst_path = tmp_path / "out.json", tmp_path / "table.rst"
    cli.main(
        ["contention", "--quick", "--states", "quiet"]
        + ["--json", str(json_path), "--rst", str(rst_path)]
    )
    report = json.loads(json_path.read_text())
    assert report["environment"]["cores"] >= 1
    assert {t["state"] for t in report["timings"]} == {"quiet"}
    assert np.all([t["fit_median"] > 0 for t in report["timings"]])
    assert rst_path.read_text().count(".. list-table::") == 1


# ----------------------------------------------------------------------
# Scale


@pytest.mark.slow
def test_scale_throughput_and_memory():
    config = scale.ScaleConfig.quick(
        rows=300, features=20, memory_gb=0.001, memory_reference_gb=0.001
    )
    report = scale.run(config, log=lambda message: None)
    names = [row["contender"] for row in report["throughput"]]
    assert names == [
        "fit (in memory)",
        "partial_fit (500 rows per call)",
        "fit (memmap, out of core)",
    ]
    for row in report["throughput"]:
        assert row["rows_per_s"] > 0 and row["ratio_to_fit"] > 0
        assert row["rows_per_cpu_s"] > 0 and row["cpu_ratio_to_fit"] > 0
    assert report["throughput"][0]["ratio_to_fit"] == 1.0
    memory = report["memory"]
    assert memory["epochs"] == 1
    assert memory["file_bytes"] == memory["n_rows"] * 20 * 4
    assert memory["peak_bytes"] >= memory["baseline_bytes"] > 0
    assert memory["mode"] == "stream"
    assert memory["in_memory_reference"]["mode"] == "memory"
    assert "Memory: out-of-core fit" in scale.text_report(report)


def test_memmap_is_written_chunk_by_chunk(tmp_path):
    path = tmp_path / "rows.f32"
    scale.write_memmap(path, 25, 6, chunk_rows=10)
    rows = np.memmap(path, dtype="float32", mode="r", shape=(25, 6))
    assert (rows[10:20] == scale.manifold_rows(10, 6, seed=2)).all()


def test_command_line_dispatches_scale(tmp_path, monkeypatch):
    configs = []

    def fake_run(config, log=print):
        configs.append(config)
        return {"rows": config.rows}

    monkeypatch.setattr(scale, "run", fake_run)
    monkeypatch.setattr(scale, "text_report", lambda report: "")
    path = tmp_path / "scale.json"
    cli.main(["scale", "--quick", "--rows", "123", "--json", str(path)])
    (config,) = configs
    assert config.rows == 123 and not config.dask  # --quick skips Dask
    report = json.loads(path.read_text())
    assert report["rows"] == 123
    assert report["command"].endswith("scale --quick --rows 123 --json scale.json")


def test_contention_times_keep_three_significant_digits():
    """A 2 ms transform must not read "0.00 s" beside a ratio from its value."""
    assert contention._cell(0.00235, seconds=True) == "0.00235"
    assert contention._cell(12.345, seconds=True) == "12.3"
    assert contention._cell(1.0) == "1.00"
    assert contention._cell(float("nan"), seconds=True) == "n/a"
