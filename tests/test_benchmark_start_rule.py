"""A smoke run of the keep-the-start rule study on tiny data.

No quality assertions: the figures of a few epochs mean nothing.
"""

import json

import numpy as np
import pytest

import skae._base.schedule
from benchmarks import quality, start_rule_study


def test_gain_summary():
    reference = np.array([1.0, 1.0, 1.0, 1.0])
    summary = start_rule_study.gain_summary(
        reference - [0.4, 0.2, -0.1, 0.3], reference
    )
    assert summary["validation_rows"] == 4
    assert summary["rows_better"] == 0.75
    assert summary["relative_gain"] == pytest.approx(0.2)
    gain = np.array([0.4, 0.2, -0.1, 0.3])
    expected = gain.mean() / (gain.std(ddof=1) / 2)
    assert summary["standard_errors"] == pytest.approx(expected)


def test_rules():
    assert start_rule_study.RULES["current"] is skae._base.schedule.clearly_beats
    reference = np.ones(400)
    # Lower on a quarter of the rows only, by many standard errors.
    losses = reference - np.r_[np.full(100, 1.0), np.full(300, -0.01)]
    assert start_rule_study.RULES["one-se"](losses, reference)
    assert start_rule_study.RULES["two-se"](losses, reference)
    assert not start_rule_study.RULES["current"](losses, reference)


def test_quick_run(tmp_path, monkeypatch):
    quick = quality.Config.quick
    monkeypatch.setattr(
        quality.Config,
        "quick",
        classmethod(lambda cls, **kw: quick(**{"max_train": 80, "max_test": 30, **kw})),
    )
    out = tmp_path / "study.json"
    rows = start_rule_study.main(
        [
            "--quick",
            "--rule",
            "one-se",
            "--datasets",
            "digits",
            "wine",
            "--models",
            "AutoencoderTransformer",
            "VAE",
            "--jobs",
            "1",
            "--json",
            str(out),
        ]
    )
    # The rule is put back after the run (one job: fitted in this process).
    assert skae._base.schedule.clearly_beats is start_rule_study.RULES["current"]
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
    assert stored["command"].startswith("python benchmarks/start_rule_study.py")
