"""Out-of-core data: memory maps and row-sliceable arrays, streamed in blocks."""

import sys

import numpy as np
import pytest
import scipy.sparse
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.utils import check_array

import skae._base.stream
from skae import VAE, AutoencoderTransformer, OutlierDetector
from skae._base.data import BatchIterator
from skae._base.rows import InMemoryRows
from skae._base.stream import RowStream, StreamedDataset, is_streamed
from tests._estimators import ESTIMATORS


def _name(estimator):
    return type(estimator).__name__


def _memmap(tmp_path, X, name="X.dat", mode="r"):
    path = tmp_path / name
    writer = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
    writer[:] = X
    writer.flush()
    del writer
    return np.memmap(path, dtype=X.dtype, mode=mode, shape=X.shape)


class RowSliceable:
    """A minimal out-of-core array, as h5py and zarr offer: shape, dtype, rows."""

    def __init__(self, X):
        self._X = X
        self.shape, self.dtype = X.shape, X.dtype
        self.reads = []

    def __getitem__(self, key):
        self.reads.append(key)
        return self._X[key].copy()


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 40 values (8 rows of 5 features) and buffers of 4 blocks."""
    monkeypatch.setattr(skae._base.stream, "STREAM_BLOCK_VALUES", 40)
    monkeypatch.setattr(skae._base.stream, "STREAM_BUFFER_VALUES", 160)


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(100, 5)).astype(np.float32)


def test_what_is_streamed(tmp_path, X):
    assert is_streamed(_memmap(tmp_path, X))
    assert is_streamed(RowSliceable(X))
    assert not is_streamed(X)
    assert not is_streamed(X.tolist())
    assert not is_streamed(torch.as_tensor(X))
    assert not is_streamed(_memmap(tmp_path, X[:, 0], name="1d.dat"))


def test_row_stream_reads_every_row_once(small_blocks, X):
    source = RowSliceable(X)
    stream = RowStream(source, check=lambda rows: None)
    assert stream.n_blocks == 13 and stream.shape == X.shape
    assert_array_equal(stream[:], X)
    assert_array_equal(stream[13:57], X[13:57])
    assert stream[57:13].shape == (0, 5)
    # Each block is read once for the whole pass (consecutive slices inside
    # one block hit the cache).
    source.reads.clear()
    for start in range(0, 100, 3):
        stream[start : start + 3]
    assert len(source.reads) == 13


def test_stream_checks_every_block(small_blocks, X):
    X = X.copy()
    X[95, 2] = np.nan  # in the last full block, rows 88 to 95

    def check(rows):
        if np.isnan(rows).any():
            raise ValueError("NaN")

    stream = RowStream(RowSliceable(X), check=check)
    stream[:88]
    with pytest.raises(ValueError, match="NaN"):
        stream[88:]


def test_sample_is_bounded_and_without_repeats(monkeypatch, X):
    monkeypatch.setattr(skae._base.stream, "SAMPLE_ROWS", 30)
    stream = RowStream(RowSliceable(X), check=lambda rows: None)
    sample = stream.sample(np.random.RandomState(0))
    assert sample.shape == (30, 5)
    assert len({row.tobytes() for row in sample}) == 30
    assert all(any((row == X).all(axis=1)) for row in sample)
    monkeypatch.setattr(skae._base.stream, "SAMPLE_ROWS", 1000)
    assert_array_equal(stream.sample(np.random.RandomState(0)), X)


@pytest.mark.parametrize("shuffle", [False, True])
def test_streamed_batches_cover_the_data_once(small_blocks, X, shuffle):
    stream = RowStream(RowSliceable(X), check=lambda rows: None)
    dataset = StreamedDataset(stream, torch.as_tensor, torch.device("cpu"))
    assert sum(len(buffer) for buffer in dataset.buffers()) == 100
    iterator = BatchIterator(
        dataset, batch_size=7, shuffle=shuffle, generator=torch.Generator()
    )
    batches = [x for x, _ in iterator]
    # Rows left at the end of a buffer join the next: only the last batch
    # is short.
    assert (
        [len(b) for b in batches] == [7] * 14 + [2] == [7] * (len(iterator) - 1) + [2]
    )
    rows = torch.cat(batches)
    assert_array_equal(torch.sort(rows[:, 0]).values, np.sort(X[:, 0]))
    assert torch.equal(rows, torch.as_tensor(X)) != shuffle


def test_shuffled_blocks_mix_the_file(small_blocks):
    # Rows sorted by value: a shuffle of whole blocks alone would leave each
    # batch with values from a narrow range.
    X = np.arange(800, dtype=np.float32).reshape(-1, 5)
    stream = RowStream(RowSliceable(X), check=lambda rows: None)
    dataset = StreamedDataset(stream, torch.as_tensor, torch.device("cpu"))
    iterator = BatchIterator(
        dataset, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    first = next(iter(iterator))[0][:, 0]
    assert len(set((first // 40).tolist())) > 2  # rows from several blocks


# ----------------------------------------------------------------------------
# Estimators


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
def test_memmap_fit_equals_in_memory_fit(estimator, small_blocks, tmp_path, X):
    """Data of one buffer (but many blocks) get the batches of in-memory data."""
    X = X[:30]  # 4 blocks, one buffer
    # No validation split: the streamed one holds out whole blocks, not rows.
    model = clone(estimator).set_params(random_state=0, early_stopping=False)
    in_memory = clone(model).fit(X)
    streamed = clone(model).fit(_memmap(tmp_path, X))
    assert streamed.loss_curve_ == in_memory.loss_curve_
    assert_array_equal(streamed.transform(X), in_memory.transform(X))


@pytest.mark.parametrize("method", ["transform", "score_samples", "inverse_transform"])
def test_inference_on_a_memmap(method, small_blocks, tmp_path, X):
    model = AutoencoderTransformer(
        3, hidden_layer_sizes=(8,), max_epochs=2, random_state=0, device="cpu"
    ).fit(X)
    data = model.transform(X) if method == "inverse_transform" else X
    expected = getattr(model, method)(data)
    for dtype in (np.float32, np.float64):
        result = getattr(model, method)(_memmap(tmp_path, data.astype(dtype)))
        assert result.dtype == dtype
        assert_allclose(result, expected, rtol=1e-5, atol=1e-5)


def test_stream_larger_than_a_buffer(small_blocks, tmp_path):
    X = np.random.RandomState(0).normal(size=(400, 5))  # 50 blocks, 13 buffers
    model = AutoencoderTransformer(
        3,
        hidden_layer_sizes=(16,),
        max_epochs=20,
        early_stopping=False,  # all 20 epochs: noise has nothing to beat PCA
        random_state=0,
        device="cpu",
    )
    streamed = clone(model).fit(_memmap(tmp_path, X))
    in_memory = clone(model).fit(X)
    assert streamed.n_iter_ == 20
    assert streamed.score(X) == pytest.approx(in_memory.score(X), rel=0.05)
    # The scaling comes from all rows, here.
    assert_allclose(streamed.mean_, X.mean(axis=0))


def test_scaling_from_a_sample(monkeypatch, small_blocks, tmp_path):
    monkeypatch.setattr(skae._base.stream, "SAMPLE_ROWS", 100)
    X = np.random.RandomState(0).normal(loc=5.0, size=(400, 5))
    model = AutoencoderTransformer(max_epochs=1, device="cpu", random_state=0)
    model.fit(_memmap(tmp_path, X))
    assert not np.allclose(model.mean_, X.mean(axis=0), rtol=1e-6)
    assert_allclose(model.mean_, X.mean(axis=0), atol=0.3)  # 3 standard errors


def test_infinity_in_a_late_block_fails_and_leaves_the_model(small_blocks, tmp_path, X):
    model = AutoencoderTransformer(
        2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0, device="cpu"
    ).fit(X)
    codes = model.transform(X)
    bad = X.copy()
    bad[-1, 0] = np.inf
    for method in (model.fit, model.partial_fit, model.transform):
        with pytest.raises(ValueError, match="infinity"):
            method(_memmap(tmp_path, bad, name=f"{method.__name__}.dat"))
    assert_array_equal(model.transform(X), codes)
    assert model.n_iter_ == 2


def test_bernoulli_range_is_checked_in_every_block(small_blocks, tmp_path):
    X = np.random.RandomState(0).uniform(size=(100, 5))
    X[-1, 0] = 2.0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        VAE(likelihood="bernoulli", max_epochs=1, device="cpu").fit(
            _memmap(tmp_path, X)
        )


def test_streamed_early_stopping_holds_out_whole_blocks(small_blocks, tmp_path, X):
    model = AutoencoderTransformer(
        2,
        hidden_layer_sizes=(8,),
        max_epochs=2,
        early_stopping=True,
        validation_fraction=0.25,
        random_state=0,
        device="cpu",
    )
    splits = []
    original = RowStream.split

    def record(self, fraction, rng):
        splits.append(original(self, fraction, rng))
        return splits[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RowStream, "split", record)
        model.fit(_memmap(tmp_path, X))
    train, valid = splits[0]
    assert (train.n_blocks, valid.n_blocks) == (10, 3)
    assert not set(train.blocks) & set(valid.blocks)
    assert len(train) + len(valid) == 100
    assert "valid_loss" in model.net_.history[-1]


def test_feature_count_is_checked(tmp_path, X):
    model = AutoencoderTransformer(max_epochs=1, device="cpu").fit(X)
    with pytest.raises(ValueError, match="features"):
        model.transform(_memmap(tmp_path, X[:, :-1].copy()))


def test_generic_row_sliceable_input(small_blocks, X):
    model = AutoencoderTransformer(2, max_epochs=1, device="cpu", random_state=0)
    source = RowSliceable(X)
    model.fit(source)
    assert all(isinstance(key, slice) for key in source.reads)
    assert_allclose(model.transform(source), model.transform(X), rtol=1e-6)


def test_partial_fit_on_memmap_chunks(small_blocks, tmp_path, X):
    model = AutoencoderTransformer(2, max_epochs=1, device="cpu", random_state=0)
    source = _memmap(tmp_path, X)
    model.partial_fit(source[:50]).partial_fit(source[50:])
    assert model.n_iter_ == 2


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_streaming_releases_the_pages_of_a_memmap(tmp_path):
    def resident_file_kib():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssFile:"):
                    return int(line.split()[1])
        pytest.skip("no RssFile in /proc/self/status")

    X = np.ones((2**16, 256), dtype=np.float32)  # 64 MiB
    source = _memmap(tmp_path, X)
    del X
    before = resident_file_kib()
    stream = RowStream(source, check=lambda rows: None)
    for position in range(stream.n_blocks):
        stream.read_block(position)
    # Without releasing, the whole 64 MiB file would stay resident.
    assert resident_file_kib() - before < 8 * 1024
    for _ in range(2):  # and the control: reading without release
        np.asarray(source).sum()
    assert resident_file_kib() - before > 48 * 1024


@pytest.mark.parametrize("method", ["score_samples", "reconstruction"])
def test_outlier_detector_streams_a_memmap(method, small_blocks, tmp_path, X):
    # One batch per epoch, whatever the order of the rows, and no validation
    # split (the streamed one holds out whole blocks, not rows); out-of-core
    # data are not split for calibration, so neither is the in-memory copy.
    # A random start: at the linear start (a stationary point of the bypass)
    # Adam turns the float rounding of the row order into whole steps.
    detector = OutlierDetector(
        AutoencoderTransformer(
            2,
            max_epochs=2,
            batch_size=128,
            init="random",
            early_stopping=False,
            device="cpu",
            random_state=0,
        ),
        method=method,
        calibration_fraction=0.0,
    )
    in_memory = clone(detector).fit(X)
    streamed = clone(detector).fit(_memmap(tmp_path, X))
    assert streamed.n_features_in_ == 5
    assert streamed.offset_ == pytest.approx(in_memory.offset_, rel=1e-6)
    assert_allclose(
        streamed.score_samples(_memmap(tmp_path, X, name="test.dat")),
        in_memory.score_samples(X),
        rtol=1e-5,
    )


def _dask_with_empty_chunks(X):
    """X's rows 40 to 79 and 96 on, as filtering and compute_chunk_sizes()
    leave them: chunks of 8 rows, five of them empty."""
    da = pytest.importorskip("dask.array")
    chunks = da.from_array(X, chunks=(8, 5))
    keep = da.from_array((np.arange(len(X)) // 8) % 2 == 0, chunks=8)
    keep = keep | (da.arange(len(X), chunks=8) >= 40)
    keep = keep & ~(
        (da.arange(len(X), chunks=8) >= 80) & (da.arange(len(X), chunks=8) < 96)
    )
    filtered = chunks[keep]
    filtered.compute_chunk_sizes()
    assert 0 in filtered.chunks[0]
    return filtered, np.asarray(filtered)


def test_empty_dask_chunks_are_skipped(X):
    filtered, values = _dask_with_empty_chunks(X)
    stream = RowStream(filtered, check=check_array)
    assert stream.n_blocks == sum(size > 0 for size in filtered.chunks[0])
    assert_array_equal(stream[:], values)
    # No validation split: a streamed one holds out whole blocks, not rows.
    model = AutoencoderTransformer(
        2, max_epochs=2, early_stopping=False, device="cpu", random_state=0
    )
    in_memory = clone(model).fit(values)
    model.fit(filtered)
    assert_array_equal(model.transform(filtered), in_memory.transform(values))
    assert_array_equal(model.score_samples(filtered), in_memory.score_samples(values))


def test_dask_array_filtered_to_nothing_is_a_clear_error(X):
    filtered, _ = _dask_with_empty_chunks(X)
    empty = filtered[filtered[:, 0] > np.inf]
    empty.compute_chunk_sizes()
    with pytest.raises(ValueError, match="0 sample"):
        AutoencoderTransformer(max_epochs=1, device="cpu").fit(empty)


class MisSliced(RowSliceable):
    """A row-sliceable source whose slices have ``extra`` rows too many (or,
    negative, too few) from row ``start`` on: a shape that lies."""

    def __init__(self, X, extra, start=0):
        super().__init__(X)
        self.extra, self.start = extra, start

    def __getitem__(self, key):
        rows = super().__getitem__(key)
        if key.stop is not None and key.stop > self.start:
            rows = (
                np.concatenate([rows, rows[: self.extra]])
                if self.extra > 0
                else rows[: self.extra]
            )
        return rows


@pytest.mark.parametrize("extra", [-1, 1], ids=["fewer", "more"])
@pytest.mark.parametrize("start", [0, 50], ids=["first_block", "late_block"])
def test_blocks_of_the_wrong_length_are_an_error(small_blocks, extra, start, X):
    source = MisSliced(X, extra, start)
    with pytest.raises(ValueError, match=r"returned an array of shape"):
        RowStream(source, check=lambda rows: None)[:]
    model = AutoencoderTransformer(2, max_epochs=1, device="cpu", random_state=0)
    # A failed fit leaves the model as it was; a fitted model refuses too.
    if start:  # (the first rows are validated before any block is read)
        with pytest.raises(ValueError, match=r"returned an array of shape"):
            model.fit(source)
        assert not hasattr(model, "n_features_in_")
    model.fit(X)
    for method in ("transform", "score_samples"):
        with pytest.raises(ValueError, match=r"returned an array of shape"):
            getattr(model, method)(source)
    codes = MisSliced(model.transform(X).astype(np.float32), extra, start)
    with pytest.raises(ValueError, match=r"returned an array of shape"):
        model.inverse_transform(codes)


def test_sparse_rows_are_read_dense(small_blocks, X):
    sparse = scipy.sparse.csr_matrix(np.where(np.abs(X) < 0.7, 0.0, X))
    stream = RowStream(sparse, check=check_array)
    assert stream.n_blocks == 13 and stream.dtype == np.float32
    block = stream.read_block(3)
    assert isinstance(block, np.ndarray)
    assert_array_equal(stream[:], sparse.toarray())


def test_sparse_rows_are_held_out_as_in_memory(small_blocks, X):
    sparse = scipy.sparse.csr_matrix(np.where(np.abs(X) < 0.7, 0.0, X))
    stream = RowStream(sparse, check=check_array)
    train, valid = stream.split(0.2, np.random.RandomState(0))
    expected = InMemoryRows(sparse.toarray()).split(0.2, np.random.RandomState(0))
    assert_array_equal(train[:], expected[0][:])
    assert_array_equal(valid[:], expected[1][:])
    model = AutoencoderTransformer(2, max_epochs=2, device="cpu", random_state=0)
    assert model.fit(sparse).transform(sparse).shape == (len(X), 2)
    assert "valid_loss" in model.net_.history[-1]
