"""Inference at the edges: extreme rows, read-only input, rows alone or in batches."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import skae._base.inference
from skae import (
    IWAE,
    VAE,
    AutoencoderTransformer,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    SparseAutoencoder,
)
from tests._estimators import ESTIMATORS


def _name(estimator):
    return type(estimator).__name__


@pytest.fixture(params=ESTIMATORS, ids=_name, scope="module")
def fitted(request, small_X):
    return clone(request.param).set_params(random_state=0).fit(small_X)


# ----------------------------------------------------------------------------
# Rows far outside the training data (float32 overflow)


def _extreme_rows(X):
    """Rows whose scaled values overflow float32 scores (1e20) and float32 (1e39)."""
    rows = X[:3].copy()
    rows[0, 0] = 1e20 * X[:, 0].std()
    rows[1, 0] = 1e39 * X[:, 0].std()
    rows[2, 1] = -1e300
    return rows


def test_extreme_rows_score_least_normal_never_nan(fitted, small_X):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = fitted.score_samples(np.vstack([small_X, _extreme_rows(small_X)]))
    assert not np.any(np.isnan(scores))
    normal, extreme = scores[: len(small_X)], scores[len(small_X) :]
    assert np.all(np.isfinite(normal))
    assert np.all(extreme < normal.min())


def test_per_feature_terms_of_extreme_rows_are_minus_infinity_never_nan(
    fitted, small_X
):
    X = np.vstack([small_X, _extreme_rows(small_X)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        terms = fitted.score_samples_per_feature(X)
    scores = fitted.score_samples(X)
    assert not np.any(np.isnan(terms)) and not np.any(terms == np.inf)
    # A row that scores -inf has no finite sum, and a finite score a finite one.
    assert_array_equal(np.isneginf(terms.sum(axis=1)), np.isneginf(scores))
    assert np.all(np.isfinite(terms[: len(small_X)]))


def test_transform_of_rows_beyond_float32_is_a_clear_error(fitted, small_X):
    X = np.vstack([small_X[:4], _extreme_rows(small_X)])
    # Row 4 (1e20) has huge but finite codes; rows 5 and 6 have none.
    with pytest.raises(ValueError, match=r"2 of 7 rows \(the first: row 5\).*e\+300"):
        fitted.transform(X)


def test_inverse_transform_of_codes_beyond_float32_is_a_clear_error(fitted):
    codes = np.zeros((3, fitted.n_components))
    codes[1, 0] = 1e300
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        with pytest.raises(ValueError, match=r"1 of 3 rows \(the first: row 1\)"):
            fitted.inverse_transform(codes)
        assert np.all(np.isfinite(fitted.inverse_transform(codes[[0, 2]])))


def test_inverse_transform_overflowing_the_output_dtype_is_a_clear_error(small_X):
    # Training data near the float32 limit: float32 codes decode to values
    # that float32 output cannot hold.
    X = small_X * 1e38
    model = AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=3).fit(X)
    codes = model.transform(X).astype(np.float32) * 1e6
    assert np.all(np.isfinite(model.inverse_transform(codes.astype(np.float64))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="inverse_transform has no finite"):
            model.inverse_transform(codes)


# ----------------------------------------------------------------------------
# Read-only input (pandas, memory maps)


@pytest.fixture
def torch_warns_always():
    """torch gives some warnings once per process: show them every time."""
    before = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    yield
    torch.set_warn_always(before)


@pytest.mark.usefixtures("torch_warns_always")
def test_read_only_input_does_not_warn(fitted, small_X):
    X = small_X.copy()
    X.flags.writeable = False
    codes = fitted.transform(X)
    codes.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.transform(X)
        fitted.transform(X.astype(np.float32))
        fitted.score_samples(X)
        fitted.inverse_transform(codes)
        fitted.inverse_transform(codes.astype(np.float32))
        fitted.inverse_transform(pd.DataFrame(codes))


# ----------------------------------------------------------------------------
# Feature names


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_feature_names_out_needs_a_fit(estimator):
    with pytest.raises(NotFittedError):
        clone(estimator).get_feature_names_out()


# ----------------------------------------------------------------------------
# A row alone or in a batch


@pytest.mark.parametrize(
    "Estimator",
    [
        AutoencoderTransformer,
        ContractiveAutoencoder,
        DenoisingAutoencoder,
        SparseAutoencoder,
        VAE,
        IWAE,
    ],
)
@pytest.mark.parametrize("n_features", [3, 5, 17])
def test_rows_alone_or_in_a_batch_agree(Estimator, n_features):
    """sklearn's check_methods_subset_invariance, at its tolerance, for several widths.

    Unpadded, 10 of these 36 comparisons differed by more (up to 3.6e-7).
    """
    X = 3 * np.random.RandomState(0).uniform(size=(20, n_features))
    model = Estimator(1, max_epochs=3, random_state=0, device="cpu").fit(X)
    for method in (model.transform, model.score_samples):
        alone = np.concatenate([method(row[None]) for row in X])
        assert_allclose(method(X), alone, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, VAE])
@pytest.mark.parametrize("n_features", [4, 5, 17, 64, 100, 257, 784])
def test_a_row_gives_the_same_bits_alone_or_in_any_batch(Estimator, n_features):
    """Chunks padded to multiples of ROW_MULTIPLE rows, not to the full chunk:
    a row's code and score are the same alone, first or last in a batch, in
    a full chunk of 256 rows or in the padded last chunk, up to the float32
    rounding that the docs promise. Measured bit for bit on one thread with
    MKL on an AVX-512 Intel CPU (padded to 8 rows, 81 of 81 default networks
    differed in the last bits there); other CPUs' kernels may pick their
    blocking otherwise, so the test allows a unit or two in the last place."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, n_features))  # chunks of 256 and 44 (48) rows
    model = Estimator(2, max_epochs=1, random_state=0, device="cpu", n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch of a few rows: no convergence
        model.fit(X[:64])
    for method in (model.transform, model.score_samples):
        whole = method(X)
        for row in (0, 1, 15, 16, 17, 100, 255, 256, 270, 299):
            for start, stop in [(row, row + 1), (row - 20, row + 1), (row, row + 40)]:
                start = max(start, 0)
                part = method(X[start:stop])
                scale = np.abs(whole).max()
                assert_allclose(
                    part[row - start],
                    whole[row],
                    rtol=2e-7,
                    atol=2e-7 * scale,
                    err_msg=str(row),
                )


def test_inference_puts_a_module_left_in_training_mode_in_eval_mode(small_X):
    model = AutoencoderTransformer(
        1, hidden_layer_sizes=(8,), max_epochs=2, random_state=0
    ).fit(small_X)
    codes = model.transform(small_X)
    model.net_.module_.train()
    assert_array_equal(model.transform(small_X), codes)
    assert not any(part.training for part in model.net_.module_.modules())


@pytest.mark.parametrize(
    "n_rows, size, expected",
    [(1, 256, 16), (16, 256, 16), (17, 256, 32), (100, 256, 112), (250, 256, 256)]
    + [(256, 256, 256), (5, 8, 8), (20, 96, 32)],
)
def test_padded_rows(n_rows, size, expected):
    assert skae._base.inference.padded_rows(n_rows, size) == expected
