"""A smoke run of the scale benchmark at tiny sizes (no timing assertions)."""

import json

import pytest

from benchmarks import __main__ as cli
from benchmarks import scale


@pytest.fixture(scope="module")
def report():
    config = scale.Config.quick(
        rows=300, features=20, memory_gb=0.001, memory_reference_gb=0.001
    )
    return scale.run(config, log=lambda message: None)


def test_throughput_of_every_contender(report):
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
    assert report["throughput"][0]["cpu_ratio_to_fit"] == 1.0


def test_memory_of_an_out_of_core_fit(report):
    memory = report["memory"]
    assert memory["epochs"] == 1
    assert memory["file_bytes"] == memory["n_rows"] * 20 * 4
    assert memory["peak_bytes"] >= memory["baseline_bytes"] > 0
    assert memory["mode"] == "stream"
    assert memory["in_memory_reference"]["mode"] == "memory"
    assert "Memory: out-of-core fit" in scale.text_report(report)


def test_manifold_rows_are_written_chunk_by_chunk(tmp_path):
    path = tmp_path / "rows.f32"
    scale.write_memmap(path, 25, 6, chunk_rows=10)
    rows = scale.np.memmap(path, dtype="float32", mode="r", shape=(25, 6))
    assert rows.min() > 0 and rows.max() < 1
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
    assert json.loads(path.read_text()) == {"rows": 123}
