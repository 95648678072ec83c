"""The budget and sparsity studies, on tiny data.

No quality or timing assertions: the figures of a few epochs mean nothing.
"""

import json

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks import budget_study, quality, sparse_study
from skae import AutoencoderTransformer


@pytest.fixture
def tiny_sizes(monkeypatch):
    """Quick runs at 80 training and 30 test rows."""
    tiny = {**quality.QualityConfig.QUICK, "max_train": 80, "max_test": 30}
    monkeypatch.setattr(quality.QualityConfig, "QUICK", tiny)


def test_trend_is_flat():
    epochs = np.arange(20.0)
    noise = 0.01 * (-1.0) ** epochs  # no trend of its own
    assert not budget_study.trend_is_flat(1.0 - 0.01 * epochs + noise, tol=1e-4)
    assert budget_study.trend_is_flat(1.0 + noise, tol=1e-4)
    assert budget_study.trend_is_flat(1.0 + 0.01 * epochs + noise, tol=1e-4)
    # Falling, but by less than tol over the window: flat.
    assert budget_study.trend_is_flat(1.0 - 1e-6 * epochs, tol=1e-4)


def test_trend_rule_halves_the_learning_rate_once_then_stops(monkeypatch):
    X = np.random.RandomState(0).normal(size=(200, 3))
    schedule = budget_study.schedule.PlateauSchedule
    monkeypatch.setattr(schedule, "on_epoch_end", budget_study.trend_schedule(5))
    model = AutoencoderTransformer(1, max_epochs=200, random_state=0).fit(X)
    rates = sorted(set(model.net_.history[:, "lr"]), reverse=True)
    assert rates == [1e-3, 5e-4]  # Gaussian noise: no trend to follow
    assert model.n_iter_ < 200


@pytest.mark.slow
def test_budget_study_quick_run(tmp_path, tiny_sizes):
    out = tmp_path / "budget.rst"
    cli.main(
        ["budget-study", "--quick", "--datasets", "wine", "manifold"]
        + ["--budgets", "current", "trend-20", "--jobs", "1", "--out", str(out)]
    )
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert {(r["budget"], r["model"]) for r in rows} == {
        (budget, model)
        for budget in ("current", "trend-20")
        for model in budget_study.MODELS
    }
    # The rule is put back after each unit.
    assert budget_study.schedule.PlateauSchedule.on_epoch_end.__name__ == (
        "on_epoch_end"
    ) and "trend" not in repr(budget_study.schedule.PlateauSchedule.on_epoch_end)
    text = out.read_text()
    assert "trend-20" in text and "manifold" in text


@pytest.mark.slow
def test_sparse_study_quick_run(tmp_path, tiny_sizes):
    out = tmp_path / "sparse.rst"
    cli.main(
        ["sparse-study", "--quick", "--datasets", "wine", "--widths", "matrix", "20"]
        + ["--jobs", "1", "--out", str(out)]
    )
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert {(r["width"], r["penalty"]) for r in rows} == {
        (width, penalty)
        for width in ("matrix", "20")
        for penalty in sparse_study.PENALTIES
    }
    assert all(0 <= r["sparsity"] <= 1 for r in rows)
    # Wine has 13 features: 20 codes let the plain model reconstruct exactly.
    assert "plain exact" in out.read_text()
