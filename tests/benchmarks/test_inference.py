"""The inference benchmark: cells, parts and tables (no timing assertions)."""

import pytest

from benchmarks import inference
from skae._base import inference as skae_inference
from skae._base.tables import TableColumns


def _row(rows, ratio, method="transform", policy="1 thread"):
    parts = dict.fromkeys(inference.PARTS, 1e-5)
    row = dict(dataset="digits", model="VAE", method=method, policy=policy)
    return row | dict(rows=rows, skae_s=2e-3, bare_s=1e-3, ratio=ratio, parts=parts)


def test_tables_show_each_ratio_beside_the_one_before():
    report = {
        "results": [_row(100, 1.5), _row(1000, 1.2)],
        "environment": {"torch": "x", "cores": 2, "torch_threads": 1},
        "command": "python -m benchmarks inference",
    }
    before = {"results": [_row(100, 3.9), _row(1000, 2.0)]}
    text = inference.render(report, before)
    assert "1.50 (3.90)" in text and "1.20 (2.00)" in text
    assert "100 rows" in text and "1,000 rows" in text
    assert "(3.90)" not in inference.render(report)


@pytest.mark.slow
def test_a_quick_run_measures_every_cell_and_undoes_its_patches():
    before = (TableColumns._validate_X, skae_inference.torch_threads)
    config = inference.InferenceConfig.quick(
        datasets=("digits",), models=("AutoencoderTransformer",), rows=(20,)
    )
    rows = inference.run(config, log=lambda message: None)
    assert {(row["method"], row["policy"]) for row in rows} == {
        (method, policy)
        for method in inference.METHODS
        for policy in inference.POLICIES
    }
    for row in rows:
        assert row["skae_s"] > 0 and row["bare_s"] > 0 and row["ratio"] > 0
        assert row["parts"]["forward"] > 0 and row["parts"]["validation"] > 0
    assert (TableColumns._validate_X, skae_inference.torch_threads) == before
