"""The quality benchmark and the study built on it, on tiny data.

No quality or timing assertions: the figures of a few epochs mean nothing.
"""

import dataclasses
import json

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks import _data, quality, start_rule_study
from benchmarks.start_rule_study import schedule

TINY = ["--max-epochs", "2", "--threads", "1"]


@pytest.fixture
def tiny_sizes(monkeypatch):
    """Quick runs at 60 training and 30 test rows."""
    tiny = {**quality.QualityConfig.QUICK, "max_train": 60, "max_test": 30}
    monkeypatch.setattr(quality.QualityConfig, "QUICK", tiny)


@pytest.mark.slow
def test_quick_run_skips_mnist_without_the_file(tmp_path, monkeypatch, tiny_sizes):
    monkeypatch.setattr(_data, "fetch_openml", lambda *a, **k: 1 / 0)
    _data.load_mnist.cache_clear()
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
def quick_run():
    """Every model on every data set but MNIST, 60 rows, 2 epochs."""
    config = quality.QualityConfig.quick(
        datasets=tuple(name for name in quality.DATASETS if name != "mnist"),
        max_train=60,
        max_test=30,
        skae_params={"max_epochs": 2},
    )
    return quality.run(config, log=lambda message: None)


@pytest.mark.slow
def test_every_model_and_data_set_is_measured(quick_run):
    records, info = quick_run
    models = quality.available_models()
    assert {"PCA", "FactorAnalysis", "AutoencoderTransformer"} <= set(models)
    measured = {(r.dataset, r.model) for r in records}
    for dataset in info:
        for model in models:
            assert (dataset, model) in measured
    for record in records:
        assert record.error is None, record
        assert np.isfinite(record.fvu) and np.isfinite(record.fvu_ratio)
        likelihood = quality.MODELS[record.model].log_likelihood
        assert (record.log_likelihood is not None) == likelihood
        if quality.MODELS[record.model].skae:
            assert record.n_iter == 2 and record.hit_limit
    assert info["linear_gaussian"]["references"]["true parameters"]


@pytest.mark.slow
def test_tables(quick_run):
    docutils_core = pytest.importorskip("docutils.core")
    records, info = quick_run
    text = quality.text_tables(records, info)
    for title, _, _ in quality.BLOCKS:
        assert title in text
    odd = dataclasses.replace(
        records[0], warnings={"UserWarning: see `x`, *args, |a| and b_": 2}
    )
    rst = quality.rst_tables([odd, *records[1:]], info, footer="FOOTER")
    assert rst.rstrip().endswith("FOOTER") and "true parameters" in rst
    assert rst.count("**Held-out") == 3 and "2 x UserWarning" in rst
    # Valid RST with any warning message; halt_level=2: any warning raises.
    docutils_core.publish_doctree(rst, settings_overrides={"halt_level": 2})


@pytest.mark.slow  # starts worker processes that import torch
def test_parallel_run_gives_the_same_records():
    config = quality.QualityConfig.quick(
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


# ----------------------------------------------------------------------
# The start-rule study


def test_gain_summary():
    reference = np.array([1.0, 1.0, 1.0, 1.0])
    gain = np.array([0.4, 0.2, -0.1, 0.3])
    summary = start_rule_study.gain_summary(reference - gain, reference)
    assert summary["validation_rows"] == 4
    assert summary["rows_better"] == 0.75
    assert summary["relative_gain"] == pytest.approx(0.2)
    expected = gain.mean() / (gain.std(ddof=1) / 2)
    assert summary["standard_errors"] == pytest.approx(expected)


def test_rules():
    assert start_rule_study.RULES["current"] is schedule.clearly_beats
    reference = np.ones(400)
    # Lower on a quarter of the rows only, by many standard errors.
    losses = reference - np.r_[np.full(100, 1.0), np.full(300, -0.01)]
    assert start_rule_study.RULES["one-se"](losses, reference)
    assert start_rule_study.RULES["two-se"](losses, reference)
    assert not start_rule_study.RULES["current"](losses, reference)


@pytest.mark.slow
def test_start_rule_study_quick_run(tmp_path, monkeypatch):
    tiny = {**quality.QualityConfig.QUICK, "max_train": 80, "max_test": 30}
    monkeypatch.setattr(quality.QualityConfig, "QUICK", tiny)
    out = tmp_path / "study.json"
    rows = cli.main(
        ["start-rule-study", "--quick", "--rule", "one-se"]
        + ["--datasets", "digits", "wine", "--models", "AutoencoderTransformer"]
        + ["VAE", "--jobs", "1", "--json", str(out)]
    )
    # The rule is put back after the run (one job: fitted in this process).
    assert schedule.clearly_beats is start_rule_study.RULES["current"]
    assert [(row["dataset"], row["model"]) for row in rows] == [
        ("digits", "AutoencoderTransformer"),
        ("digits", "VAE"),
        ("wine", "AutoencoderTransformer"),
        ("wine", "VAE"),
    ]
    for row in rows:
        assert row["rule"] == "one-se"
        assert np.isfinite(row["fvu_ratio"])
        if row["comparison"] is not None:
            assert 0 <= row["comparison"]["rows_better"] <= 1
    stored = json.loads(out.read_text())
    assert [(row["dataset"], row["model"]) for row in stored["rows"]] == [
        (row["dataset"], row["model"]) for row in rows
    ]
    assert stored["command"].startswith("python -m benchmarks start-rule-study")
