"""The mixed-tables benchmark: its tables, planted rows, PCA's imputation and
a tiny run.

No quality assertions: the figures of a few rows and epochs mean nothing.
"""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA

from benchmarks import __main__ as cli
from benchmarks import _mixed_data as md
from benchmarks import _mixed_report, mixed


def test_generated_table_has_its_kinds_and_impossible_pairs():
    frame, label = md.generated(500, 4, 6, 0.1, 0.2, 0)
    assert md.kinds(frame) == (
        ["group", "site"],
        ["flag"],
        ["x0", "x1", "x2", "x3", "count"],
    )
    assert len(label) == len(frame) and set(label) == {0, 1, 2, 3}
    pairs = set(zip(frame["group"].astype(object), frame["site"]))
    assert len(pairs) < 4 * 6  # each group lives on two sites only
    split = md.Split.of(frame, label, 0)
    assert len(split.train) == 375 and split.A_train.shape[1] == 4 + 6 + 2 + 5
    where, levels = split.block("site")
    assert list(levels) == [f"s{k}" for k in range(6)]
    assert_allclose(split.A_test[:, where].sum(1), 1)


def test_planted_rows_form_pairs_never_seen_in_training():
    frame, label = md.generated(400, 3, 4, 0.0, 0.1, 0)
    split = md.Split.of(frame, label, 0)
    planted = md.plant(split, np.random.RandomState(0), 20)
    assert len(planted) == 20 and (planted.dtypes == split.test.dtypes).all()
    seen = set(zip(split.train["group"].astype(object), split.train["site"]))
    for group, site in zip(planted["group"].astype(object), planted["site"]):
        assert (group, site) not in seen


def test_pca_impute_is_the_gaussian_conditional_mean():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4))
    pca = PCA(2).fit(X)
    row = X[:1].copy()
    row[0, [1, 3]] = np.nan
    mean, cov = pca.mean_, pca.get_covariance()
    seen, hidden = [0, 2], [1, 3]
    gain = cov[np.ix_(hidden, seen)] @ np.linalg.inv(cov[np.ix_(seen, seen)])
    expected = mean[hidden] + gain @ (X[0, seen] - mean[seen])
    assert_allclose(mixed.pca_impute(pca, row)[0, hidden], expected)
    assert_allclose(mixed.pca_impute(pca, X[:3]), X[:3])  # nothing missing


def test_log_probability_clips_and_renormalizes():
    probabilities = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    levels = np.array(["a", "b", "c"], dtype=object)
    value = mixed._log_probability(probabilities, levels, ["a", "c"])
    # "c" gets 1e-6 / (1 + 2e-6) after renormalizing, then the 1e-6 floor
    expected = (np.log(0.5 / (1 + 1e-6)) + np.log(1e-6)) / 2
    assert_allclose(value, expected)


@pytest.mark.slow
def test_quick_run_writes_the_tables(tmp_path):
    out = tmp_path / "mixed.rst"
    argv = ["--quick", "--datasets", "latent3", "--max-rows", "80", "--threads", "1"]
    report = cli.main(["mixed", *argv, "--out", str(out)])
    text = out.read_text()
    assert "QUICK SMOKE RUN" in text and "Goals of issue 24" in text
    measures = {r["measure"] for r in report["records"]}
    assert measures == set(mixed.MEASURES)
    assert {g["goal"] for g in report["goals"]} == set(_mixed_report.GOALS)
    for record in report["records"]:
        if record["measure"] in ("accuracy", "knn5", "auc"):
            assert 0 <= record["value"] <= 1, record
        if record["measure"] == "loglik":
            assert record["value"] < 0, record
    saved = json.loads(out.with_suffix(".json").read_text())
    assert len(saved["records"]) == len(report["records"])
    again = tmp_path / "again.rst"
    json_path = str(out.with_suffix(".json"))
    cli.main(["mixed", "--tables-from", json_path, "--out", str(again)])
    assert again.read_text() == text


def test_missing_palmerpenguins_is_skipped(monkeypatch):
    def unavailable():
        raise md.DataUnavailable("no palmerpenguins")

    monkeypatch.setitem(md.TABLES, "penguins", unavailable)
    config = mixed.MixedConfig.quick(datasets=("penguins",))
    records, skipped = mixed.run(config, log=lambda message: None)
    assert records == [] and skipped == {"penguins": "no palmerpenguins"}
