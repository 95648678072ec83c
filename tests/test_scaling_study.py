"""The scaling study's strategies, and a smoke run (no quality assertions)."""

import numpy as np
import pytest

from benchmarks import scaling_study
from skae import AutoencoderTransformer


@pytest.fixture
def X():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4)) * [1.0, 10.0, 1000.0, 0.0]
    X[:, 0] = rng.poisson(0.05, size=200)  # a rare, nearly constant feature
    return X


def test_std_is_the_models_own_standardization(X):
    model = AutoencoderTransformer(max_epochs=1, standardize=True, device="cpu").fit(X)
    mean, scale = scaling_study.std_scaling(X)
    np.testing.assert_allclose(mean, model.mean_)
    np.testing.assert_allclose(scale, model.scale_)


def test_floors_and_global_scale(X):
    std = X.std(axis=0)
    rms = np.sqrt(np.mean(std**2))
    _, floored = scaling_study.floored_std(0.1, "rms")(X)
    np.testing.assert_allclose(floored, np.maximum(std, 0.1 * rms))
    _, floored = scaling_study.floored_std(0.3, "median")(X)
    np.testing.assert_allclose(floored, np.maximum(std, 0.3 * np.median(std)))
    _, robust = scaling_study.floored_iqr(0.1, "rms")(X)
    assert robust[0] == pytest.approx(0.1 * rms)  # its IQR is 0
    assert robust[2] == pytest.approx(1000, rel=0.2)  # normal: IQR / 1.349 ~ std
    mean, scale = scaling_study.global_rms(X)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(scale, rms)


def test_quick_run(tmp_path):
    runs = scaling_study.main(
        ["--quick", "--datasets", "wine", "--strategies", "default", "global rms"]
        + ["--max-epochs", "1", "--threads", "1", "--json", str(tmp_path / "s.json")]
    )
    assert {(r.model, r.strategy) for r in runs} == {
        ("AutoencoderTransformer", "global rms"),
        ("VAE", "default"),
        ("VAE", "global rms"),
    }
    for run in runs:
        assert run.error is None and np.isfinite(run.fvu) and run.n_iter == 1
        assert (run.log_likelihood is not None) == (run.model == "VAE")
    assert "VAE: held-out log-likelihood" in scaling_study.report(runs)
    assert scaling_study.main(["--from-json", str(tmp_path / "s.json")]) == runs
