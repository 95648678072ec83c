"""A smoke run of the contention benchmark at tiny sizes (no timing assertions)."""

import json

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks import contention

TINY = dict(
    digits_rows=120,
    digits_epochs=1,
    mnist_rows=150,
    mnist_features=30,
    mnist_epochs=1,
    repeats=1,
    mnist_repeats=1,
    models=("AutoencoderTransformer", "VAE"),
    n_jobs=("auto", "torch"),
    busy_processes=1,
    busy_seconds=120.0,
)


@pytest.fixture(scope="module")
def timings():
    return contention.run(contention.Config(**TINY), log=lambda message: None)


def test_every_contender_in_every_state(timings):
    keys = {(t.dataset, t.model, t.n_jobs, t.state) for t in timings}
    for dataset in ("digits", "synthetic 150x30"):
        for state in contention.STATES:
            assert (dataset, contention.LOOP, "torch", state) in keys
            for model in TINY["models"]:
                for n_jobs in TINY["n_jobs"]:
                    assert (dataset, model, n_jobs, state) in keys
    assert len(keys) == len(timings) == 2 * 3 * (1 + 2 * 2)
    for timing in timings:
        assert timing.fit_median > 0 and timing.transform_median > 0
        assert len(timing.load_average) == 3


def test_ratios_in_the_table(timings):
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
    text = contention.text_table(timings)
    assert text.count("\n") == len(rows) + 1
    rst = contention.rst_table(timings, contention.environment())
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


def test_command_line(tmp_path, monkeypatch):
    config = contention.Config
    monkeypatch.setattr(
        contention.Config,
        "quick",
        classmethod(lambda cls, **kw: config(**{**TINY, **kw})),
    )
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
