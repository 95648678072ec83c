"""Bounded-memory inference, device placement and thread use of the base class."""

import tracemalloc

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.model_selection import GridSearchCV

import skae._base.inference
from skae import AutoencoderTransformer


@pytest.fixture(scope="module")
def fitted():
    X = np.random.RandomState(0).normal(size=(200, 6))
    model = AutoencoderTransformer(
        n_components=3, hidden_layer_sizes=(8,), max_epochs=2, random_state=0
    )
    return model.fit(X)


def _chunk_sizes(model, monkeypatch):
    """Record the rows of every batch the encoder and decoder see."""
    sizes = []
    module = model.net_.module_
    for part in (module.encoder, module.decoder):
        monkeypatch.setattr(
            part, "forward", lambda x, f=part.forward: (sizes.append(len(x)), f(x))[1]
        )
    return sizes


@pytest.mark.parametrize("method", ["transform", "inverse_transform", "score_samples"])
def test_inference_in_chunks_equals_one_pass(fitted, monkeypatch, method):
    chunk = 16
    n_rows = 10 * chunk + 3
    X = np.random.RandomState(1).normal(size=(n_rows, 6))
    if method == "inverse_transform":
        X = X[:, :3]
    one_pass = getattr(fitted, method)(X)

    monkeypatch.setattr(skae._base.inference, "INFERENCE_CHUNK_ROWS", chunk)
    sizes = _chunk_sizes(fitted, monkeypatch)
    chunked = getattr(fitted, method)(X)
    # Every chunk has the same shape, the last one padded: 11 chunks, which
    # transform only encodes and inverse_transform only decodes.
    assert set(sizes) == {chunk}
    assert len(sizes) == 11 * (2 if method == "score_samples" else 1)
    assert chunked.dtype == X.dtype and chunked.shape == one_pass.shape
    assert_allclose(chunked, one_pass, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method", ["transform", "inverse_transform", "score_samples"])
@pytest.mark.parametrize("n_rows", [1, 100, 300])
def test_chunks_are_padded_to_multiples_of_row_multiple(
    fitted, monkeypatch, method, n_rows
):
    # Not to the full chunk: 100 rows cost the compute of 112, not of 256.
    X = np.random.RandomState(1).normal(size=(n_rows, 6))
    if method == "inverse_transform":
        X = X[:, :3]
    sizes = _chunk_sizes(fitted, monkeypatch)
    getattr(fitted, method)(X)
    passes = 2 if method == "score_samples" else 1  # encoder and decoder
    expected = {1: [16], 100: [112], 300: [256, 48]}[n_rows]
    assert sizes == [size for size in expected for _ in range(passes)]


def test_wide_data_get_fewer_rows_per_chunk(monkeypatch):
    monkeypatch.setattr(skae._base.inference, "INFERENCE_CHUNK_VALUES", 1000)
    # 100 rows fit; chunks are whole multiples of ROW_MULTIPLE (16).
    assert skae._base.inference.inference_chunk_rows(10) == 96
    assert skae._base.inference.inference_chunk_rows(100) == 10
    assert skae._base.inference.inference_chunk_rows(10**6) == 1
    monkeypatch.setattr(skae._base.inference, "INFERENCE_CHUNK_VALUES", 10**9)
    assert (
        skae._base.inference.inference_chunk_rows(1)
        == skae._base.inference.INFERENCE_CHUNK_ROWS
    )


def _peak_bytes(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_inference_memory_does_not_grow_with_rows(fitted):
    # 10 chunks' worth of rows: host memory beyond the output stays at a few
    # chunks, where one pass would hold (at least) a scaled copy of all of X.
    n_rows = 10 * skae._base.inference.inference_chunk_rows(6)
    X = np.random.RandomState(2).normal(size=(n_rows, 6))
    chunk_bytes = X.nbytes / 10
    for method, output_bytes in [
        (fitted.transform, n_rows * 3 * 8),
        (fitted.score_samples, n_rows * 8),
    ]:
        peak = _peak_bytes(lambda m=method: m(X))
        assert peak < output_bytes + 3 * chunk_bytes, (method, peak)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(skae._base.inference, "INFERENCE_CHUNK_ROWS", n_rows)
            one_pass = _peak_bytes(lambda m=method: m(X))
        assert one_pass > X.nbytes  # the check above could fail


def test_inverse_transform_keeps_float32(fitted):
    Z = np.random.RandomState(3).normal(size=(5, 3)).astype(np.float32)
    X32 = fitted.inverse_transform(Z)
    X64 = fitted.inverse_transform(Z.astype(np.float64))
    assert X32.dtype == np.float32
    assert_allclose(X32, X64, rtol=1e-5, atol=1e-5)


def test_user_thread_setting_is_kept(small_X):
    before = torch.get_num_threads()
    seen = []
    try:
        torch.set_num_threads(1)
        model = AutoencoderTransformer(hidden_layer_sizes=(4,), max_epochs=1)
        model.fit(small_X)
        model.net_.module_.encoder.register_forward_hook(
            lambda *args: seen.append(torch.get_num_threads())
        )
        model.transform(small_X)
        assert torch.get_num_threads() == 1 and seen == [1]
    finally:
        torch.set_num_threads(before)


def _worker_threads(estimator, X, y=None):
    """A 'scorer' that reports how many threads torch uses in the worker."""
    return float(torch.get_num_threads())


@pytest.mark.slow
def test_grid_search_workers_do_not_oversubscribe(small_X):
    # joblib's loky workers start with OMP_NUM_THREADS = cores // n_jobs,
    # which torch reads at import: n_jobs workers share the cores.
    n_jobs = 2
    search = GridSearchCV(
        AutoencoderTransformer(hidden_layer_sizes=(4,), max_epochs=1),
        {"n_components": [1, 2]},
        cv=2,
        n_jobs=n_jobs,
        scoring=_worker_threads,
        refit=False,
    ).fit(small_X)
    budget = max(1, joblib.cpu_count() // n_jobs)
    threads = search.cv_results_["mean_test_score"]
    assert np.all(threads >= 1) and np.all(threads <= budget), threads


@pytest.mark.cuda
def test_cuda_fit_keeps_data_on_the_device(digits_split, monkeypatch):
    X_train, X_test, _, _ = digits_split
    copies = []
    original = torch.Tensor.to

    def spy(tensor, *args, **kwargs):
        result = original(tensor, *args, **kwargs)
        if tensor.device.type == "cpu" and result.device.type == "cuda":
            copies.append(tuple(tensor.shape))
        return result

    model = AutoencoderTransformer(
        n_components=4, max_epochs=3, batch_size=64, device="cuda", random_state=0
    )
    monkeypatch.setattr(torch.Tensor, "to", spy)
    model.fit(X_train)
    monkeypatch.undo()
    # The data once, and one permutation per epoch; no per-batch copies.
    data_copies = [shape for shape in copies if len(shape) == 2]
    assert data_copies.count(X_train.shape) == 1
    assert len(copies) <= 3 + 5, copies
    assert model.net_.module_.encoder.linear.weight.device.type == "cuda"

    cpu = AutoencoderTransformer(
        n_components=4, max_epochs=3, batch_size=64, device="cpu", random_state=0
    ).fit(X_train)
    # Same seed, same batches on both devices: close results.
    assert_allclose(model.loss_curve_, cpu.loss_curve_, rtol=1e-3)
    codes = model.transform(X_test)
    assert isinstance(codes, np.ndarray) and codes.dtype == X_test.dtype
    assert_allclose(codes, cpu.transform(X_test), rtol=1e-2, atol=1e-3)
