"""A smoke run of the outlier benchmark at tiny sizes (no quality assertions)."""

import importlib.util

import pytest

from benchmarks import outliers


@pytest.mark.parametrize("pyod", [False, True], ids=["sklearn-only", "with-pyod"])
def test_quick_run_writes_the_table(tmp_path, pyod):
    if pyod and importlib.util.find_spec("pyod") is None:
        pytest.skip("PyOD is an optional benchmark dependency")
    out = tmp_path / "outliers.rst"
    argv = ["--quick", "--seeds", "1", "--datasets", "wine", "--out", str(out)]
    results = outliers.main(argv + ([] if pyod else ["--no-pyod"]))
    text = out.read_text()
    assert "QUICK SMOKE RUN" in text
    for name in ("IsolationForest", "PCA reconstruction", "AutoencoderTransformer"):
        assert name in text
    assert results


def test_trim_study_quick_run(tmp_path):
    out = tmp_path / "trim.rst"
    outliers.main(
        ["--quick", "--seeds", "1", "--datasets", "wine", "--no-pyod", "--trim-study"]
        + ["--out", str(out)]
    )
    assert "trimmed" in out.read_text()
