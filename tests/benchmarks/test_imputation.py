"""The imputation benchmark: its masks, its Gaussian baseline and a tiny run.

No quality assertions: the figures of a few rows and epochs mean nothing.
"""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA

import skae
from benchmarks import __main__ as cli
from benchmarks import imputation

HAS_IMPUTER = hasattr(skae, "IWAEImputer")


def test_masks():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(4000, 16))
    for setting, rate in (("mcar20", 0.2), ("mcar50", 0.5), ("mar", 0.3 * 15 / 16)):
        hidden = imputation.mask(X, setting, np.random.RandomState(0))
        assert abs(hidden.mean() - rate) < 0.01, setting
    hidden = imputation.mask(X, "mar", rng)
    assert not hidden[:, 0].any()  # the column that drives the others
    high = X[:, 0] > np.median(X[:, 0])
    assert (hidden[high].mean(0)[1:] != hidden[~high].mean(0)[1:]).all()
    block = imputation.mask(X, "block", rng)[0].reshape(4, 4)
    expected = np.zeros((4, 4), dtype=bool)
    expected[1:3, 1:3] = True
    assert (block == expected).all()


def test_marginal_loglik_of_complete_rows_is_pca_score():
    """With every entry observed, the marginal is PCA's own log-likelihood;
    with some missing, it is the Gaussian of the observed entries alone."""
    X = np.random.RandomState(0).normal(size=(200, 5)) @ np.diag([3, 2, 1, 1, 1])
    pca = PCA(2).fit(X)
    mean, covariance = pca.mean_, pca.get_covariance()
    assert_allclose(
        imputation.marginal_loglik(mean, covariance, X[:5]), pca.score_samples(X[:5])
    )
    row = X[:1].copy()
    row[0, [1, 3]] = np.nan
    kept = [0, 2, 4]  # the Gaussian of the observed entries, by hand
    inverse = np.linalg.inv(covariance[np.ix_(kept, kept)])
    centred = X[0, kept] - mean[kept]
    _, logdet = np.linalg.slogdet(covariance[np.ix_(kept, kept)])
    expected = -0.5 * (centred @ inverse @ centred + logdet + 3 * np.log(2 * np.pi))
    assert_allclose(imputation.marginal_loglik(mean, covariance, row), [expected])
    assert imputation.marginal_loglik(mean, covariance, np.full((1, 5), np.nan)) == 0


def test_true_model_scores_rows_on_its_manifold_higher():
    weights, bias = imputation._data.dependency_network()
    on = np.tanh(np.array([[0.3, -0.2]]) @ weights + bias)
    off = on.copy()
    off[0, :2] += 1.0
    scores = imputation.true_model_scores(np.vstack([on, off]))
    assert scores[0] > scores[1] + 100
    # A missing entry is left out of the score, not counted at any value.
    assert_allclose(
        imputation.true_model_scores(np.where([[1] * 2 + [0] * 18], np.nan, off)),
        imputation.true_model_scores(np.where([[1] * 2 + [0] * 18], np.nan, on)),
    )


@pytest.mark.slow
def test_quick_run_writes_the_tables(tmp_path):
    out = tmp_path / "imputation.rst"
    contenders = ["mean", "knn", "iterative", "missforest", "iwae", "ae"]
    argv = ["--quick", "--datasets", "iris", "--max-rows", "60", "--threads", "1"]
    argv += ["--contenders", *contenders, "--out", str(out)]
    report = cli.main(["imputation", *argv])
    text = out.read_text()
    assert "QUICK SMOKE RUN" in text
    titles = ("RMSE on the hidden entries", "Seconds", "log-likelihood", "AUC")
    for title in (*titles, "flags"):
        assert title in text
    assert "mean rank" in text and "hyperimpute" in text
    ran = {r["contender"] for r in report["records"] if r["measure"] == "rmse"}
    assert ran == set(contenders if HAS_IMPUTER else contenders[:4])
    assert ("IWAEImputer here" in text) != HAS_IMPUTER
    for record in report["records"]:
        if record["measure"] == "rmse":
            assert record["value"] > 0 and not record.get("error"), record
        if HAS_IMPUTER:  # NaN is accepted everywhere with IWAEImputer
            assert not record.get("error"), record
    saved = json.loads(out.with_suffix(".json").read_text())
    assert len(saved["records"]) == len(report["records"])
    again = tmp_path / "again.rst"
    json_path = str(out.with_suffix(".json"))
    cli.main(["imputation", "--tables-from", json_path, "--out", str(again)])
    assert again.read_text() == text


@pytest.mark.slow
@pytest.mark.skipif(not HAS_IMPUTER, reason="skae has no IWAEImputer")
def test_block_on_images_with_skae():
    config = imputation.ImputationConfig.quick(
        datasets=("digits",), max_rows=80, measures=("rmse",), contenders=("iwae",)
    )
    records, _ = imputation.run(config, log=lambda message: None)
    assert {r["setting"] for r in records} == {"mcar20", "mcar50", "block"}
    assert all(r["value"] > 0 for r in records), records
