"""Input validation: torch tensors, sparse matrices, datetime and other columns."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.neighbors import KernelDensity
from sklearn.utils import get_tags

import skae._base.stream
from skae import VAE, AutoencoderTransformer, OutlierDetector
from skae._base import validation
from skae._base.stream import RowStream
from skae._base.validation import from_tensor, is_out_of_core, validate_rows
from tests._estimators import ESTIMATORS

FAST = dict(hidden_layer_sizes=(8,), max_epochs=2, device="cpu", random_state=0)


def _name(estimator):
    return type(estimator).__name__


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(60, 5))


@pytest.fixture(scope="module")
def fitted(X):
    return VAE(2, **FAST).fit(X)


# ----------------------------------------------------------------------
# Torch tensors


TENSORS = {
    "requires_grad": lambda X: torch.tensor(X, requires_grad=True),
    "float32_requires_grad": lambda X: torch.tensor(
        X, dtype=torch.float32
    ).requires_grad_(),
    "bfloat16": lambda X: torch.tensor(X).bfloat16(),
    "float16": lambda X: torch.tensor(X).half(),
    "sparse": lambda X: torch.tensor(X).to_sparse(),
    "view_of_grad": lambda X: torch.tensor(X, requires_grad=True) * 1.0,
}


def _as_numpy(tensor):
    """What the tensor means, as a numpy array: its values, upcast to float32
    when they are half precision."""
    values = tensor.detach().to_dense()
    if values.dtype in (torch.float16, torch.bfloat16):
        values = values.float()
    return values.numpy()


@pytest.mark.parametrize("kind", list(TENSORS))
def test_from_tensor(kind, X):
    tensor = TENSORS[kind](X)
    array = from_tensor(tensor)
    assert isinstance(array, np.ndarray)
    assert array.dtype == (np.float32 if "16" in kind or "32" in kind else np.float64)
    assert_array_equal(array, _as_numpy(tensor))
    assert from_tensor(X) is X


@pytest.mark.parametrize("kind", list(TENSORS))
@pytest.mark.parametrize(
    "method", ["transform", "score_samples", "score_samples_per_feature"]
)
def test_tensor_input_to_a_fitted_model(kind, method, X, fitted):
    tensor = TENSORS[kind](X)
    expected = getattr(fitted, method)(_as_numpy(tensor))
    result = getattr(fitted, method)(tensor)
    assert result.dtype == expected.dtype
    assert_array_equal(result, expected)


@pytest.mark.parametrize("kind", list(TENSORS))
def test_tensor_codes_to_inverse_transform(kind, X, fitted):
    codes = TENSORS[kind](fitted.transform(X))
    expected = fitted.inverse_transform(_as_numpy(codes))
    assert_array_equal(fitted.inverse_transform(codes), expected)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_name)
@pytest.mark.parametrize("kind", ["requires_grad", "bfloat16"])
def test_fit_on_a_tensor_equals_fit_on_its_values(estimator, kind, X):
    tensor = TENSORS[kind](X)
    estimator = clone(estimator).set_params(random_state=0)
    on_tensor = estimator.fit(tensor).transform(X)
    on_array = estimator.fit(_as_numpy(tensor)).transform(X)
    assert_array_equal(on_tensor, on_array)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_tensor_is_moved_to_the_cpu(X, fitted):
    tensor = torch.tensor(X, device="cuda", requires_grad=True).bfloat16()
    expected = fitted.transform(tensor.detach().float().cpu().numpy())
    assert_array_equal(fitted.transform(tensor), expected)


@pytest.mark.parametrize("kind", ["requires_grad", "bfloat16", "sparse"])
def test_outlier_detector_takes_tensors(kind, X):
    tensor = TENSORS[kind](X)
    detector = OutlierDetector(AutoencoderTransformer(2, **FAST), random_state=0)
    expected = detector.fit(_as_numpy(tensor)).score_samples(_as_numpy(tensor))
    assert_array_equal(detector.fit(tensor).score_samples(tensor), expected)
    assert detector.predict(tensor).shape == (len(X),)


# ----------------------------------------------------------------------
# Columns that are not numbers


def _frame(X, **columns):
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    for name, column in columns.items():
        frame[name] = column
    return frame


TEMPORAL = {
    "datetime64": lambda n: pd.date_range("2020-01-01", periods=n, freq="h"),
    "UTC": lambda n: pd.date_range("2020-01-01", periods=n, freq="h", tz="UTC"),
    "timedelta64": lambda n: pd.to_timedelta(np.arange(n), unit="s"),
}


@pytest.mark.parametrize("dtype", list(TEMPORAL))
@pytest.mark.parametrize("numeric_too", [True, False])
def test_datetime_columns_are_named(dtype, numeric_too, X):
    frame = _frame(X if numeric_too else X[:, :0], when=TEMPORAL[dtype](len(X)))
    for estimator in (AutoencoderTransformer(**FAST), OutlierDetector()):
        with pytest.raises(
            ValueError, match=rf"needs numeric input.*'when' \(.*{dtype}"
        ):
            estimator.fit(frame)


def test_datetime_columns_are_named_in_transform(X, fitted):
    frame = _frame(X[:, :4], start=TEMPORAL["datetime64"](len(X)))
    with pytest.raises(ValueError, match=r"'start' \(datetime64"):
        fitted.transform(frame)


@pytest.mark.parametrize("unit", ["datetime64[s]", "timedelta64[s]"])
def test_datetime_arrays_are_refused(unit):
    # numpy would silently turn them into seconds since 1970.
    values = np.arange(40).reshape(20, 2).astype(unit)
    with pytest.raises(ValueError, match=rf"needs numeric input.*{re.escape(unit)}"):
        AutoencoderTransformer(**FAST).fit(values)


@pytest.mark.parametrize(
    "column, error",
    [
        (pd.period_range("2020", periods=60, freq="D"), TypeError),
        (pd.interval_range(0, 60), TypeError),
    ],
    ids=["period", "interval"],
)
def test_non_numeric_columns_are_named(column, error, X):
    frame = _frame(X, label=column)
    for estimator in (AutoencoderTransformer(**FAST), OutlierDetector()):
        with pytest.raises(error, match=r"needs numeric input.*columns 'label'"):
            estimator.fit(frame)


@pytest.mark.parametrize(
    "column",
    [["a", "b"] * 30, pd.Categorical(["a", "b"] * 30)],
    ids=["str", "category"],
)
def test_string_and_category_columns_are_categories(column, X):
    # Their model is in test_tables.py.
    model = AutoencoderTransformer(**FAST).fit(_frame(X, label=column))
    assert model.feature_kinds_[-1] == "categorical"


def test_numeric_categories_are_categories(X):
    frame = _frame(X, level=pd.Categorical([1.0, 2.0] * 30))
    model = AutoencoderTransformer(2, **FAST).fit(frame)
    assert model.n_features_in_ == 6
    assert model.feature_kinds_[-1] == "categorical"
    assert list(model.categories_[-1]) == [1.0, 2.0]


# ----------------------------------------------------------------------
# Sparse matrices

SPARSE_FORMATS = ["csr", "csc", "coo", "lil", "dok", "bsr", "csr_array", "coo_array"]


def _sparse(X, kind):
    matrix = scipy.sparse.csr_matrix(np.where(np.abs(X) < 0.7, 0.0, X))
    if kind.endswith("_array"):
        return getattr(scipy.sparse, kind)(matrix)
    return matrix.asformat(kind)


@pytest.mark.parametrize("kind", SPARSE_FORMATS)
def test_sparse_input_equals_dense(kind, X):
    sparse = _sparse(X, kind)
    dense = sparse.toarray()
    model = AutoencoderTransformer(2, **FAST).fit(sparse)
    assert_array_equal(
        model.transform(dense),
        AutoencoderTransformer(2, **FAST).fit(dense).transform(dense),
    )
    assert_array_equal(model.transform(sparse), model.transform(dense))
    assert_array_equal(model.score_samples(sparse), model.score_samples(dense))
    codes = model.transform(dense)
    assert_array_equal(
        model.inverse_transform(_sparse(codes, kind)),
        model.inverse_transform(_sparse(codes, kind).toarray()),
    )


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 40 values (8 rows of 5 features) and buffers of 4 blocks."""
    monkeypatch.setattr(skae._base.stream, "STREAM_BLOCK_VALUES", 40)
    monkeypatch.setattr(skae._base.stream, "STREAM_BUFFER_VALUES", 160)


def test_large_sparse_input_is_densified_block_by_block(small_blocks, monkeypatch, X):
    sparse = _sparse(X, "csr")
    model = AutoencoderTransformer(2, **FAST)
    rows = validate_rows(model, sparse, reset=True, check=lambda rows: None)
    assert isinstance(rows, RowStream) and rows.n_blocks == 8
    assert_array_equal(rows[0 : len(X)], sparse.toarray())
    # No dense copy of the whole matrix: only blocks are densified.
    sizes = []
    toarray = scipy.sparse.csr_matrix.toarray

    def recording_toarray(matrix, *args, **kwargs):
        sizes.append(matrix.shape[0])
        return toarray(matrix, *args, **kwargs)

    monkeypatch.setattr(scipy.sparse.csr_matrix, "toarray", recording_toarray)
    model.fit(sparse).transform(sparse)
    assert sizes and max(sizes) <= 8
    monkeypatch.undo()
    expected = AutoencoderTransformer(2, **FAST).fit(sparse.toarray())
    assert_array_equal(model.transform(X), expected.transform(X))


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_sparse_input_is_checked(value, X):
    sparse = _sparse(X, "csr")
    sparse.data[3] = value
    with pytest.raises(ValueError, match="infinity"):
        AutoencoderTransformer(**FAST).fit(sparse)


def test_sparse_tags():
    assert get_tags(AutoencoderTransformer()).input_tags.sparse
    assert get_tags(OutlierDetector()).input_tags.sparse
    assert get_tags(OutlierDetector(PCA(1))).input_tags.sparse
    assert not get_tags(OutlierDetector(KernelDensity())).input_tags.sparse

    class DuckTyped:  # no scikit-learn tags
        def fit(self, X, y=None):
            return self

        def score_samples(self, X):
            return np.zeros(len(X))

    assert not get_tags(OutlierDetector(DuckTyped())).input_tags.sparse


@pytest.mark.parametrize("kind", ["csr", "csc", "coo", "csr_array"])
@pytest.mark.parametrize(
    "estimator, method",
    [(AutoencoderTransformer(2, **FAST), "score_samples"), (PCA(2), "reconstruction")],
    ids=["autoencoder", "pca"],
)
def test_outlier_detector_on_sparse_input(kind, estimator, method, X):
    sparse = _sparse(X, kind)
    assert not is_out_of_core(sparse)
    detector = OutlierDetector(estimator, method=method, random_state=0)
    detector.fit(sparse)
    # Held out by rows, as in-memory data: not calibrated on training scores.
    assert detector.calibration_ == "cross_fit"
    dense = sparse.toarray()
    assert_allclose(detector.score_samples(sparse), detector.score_samples(dense))
    assert detector.predict(sparse).shape == (len(X),)
    assert detector.predict_proba(sparse).shape == (len(X), 2)
    expected = OutlierDetector(estimator, method=method, random_state=0).fit(dense)
    assert_allclose(detector.offset_, expected.offset_)


def test_outlier_detector_sparse_calibration_is_held_out(X):
    rows = np.random.RandomState(1).normal(size=(2000, 5))
    sparse = _sparse(rows, "csr")
    detector = OutlierDetector(PCA(2), method="reconstruction", random_state=0)
    assert detector.fit(sparse).calibration_ == "held_out"


# ----------------------------------------------------------------------
# The shortcut past scikit-learn's checks at inference


def _with_names(X):
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])


def _inputs(X):
    """Inputs to a model fitted on 5 features: plain and odd ones."""
    nan, inf, big, read_only = X.copy(), X.copy(), X.astype(np.float32), X.copy()
    read_only.flags.writeable = False
    nan[1, 2], inf[0, 0], big[:, 0] = np.nan, np.inf, 3e38  # big: a sum of inf
    wide = np.hstack([X, X])
    return {
        "float64": X,
        "float32": X.astype(np.float32),
        "fortran": np.asfortranarray(X),
        "strided": wide[::2, ::2][:, :5],
        "read_only": read_only,
        "nan": nan,
        "inf": inf,
        "float32_sum_overflows": big,
        "int": np.arange(20).reshape(4, 5),
        "too_narrow": X[:, :4],
        "no_rows": X[:0],
        "one_dimensional": X[0],
        "three_dimensional": X[None],
        "subclass": X.view(np.matrix),
        "dataframe": _with_names(X),
    }


@pytest.mark.parametrize("names", [False, True], ids=["unnamed", "named"])
@pytest.mark.parametrize("case", list(_inputs(np.zeros((3, 5)))))
def test_inference_shortcut_past_sklearn_checks_changes_nothing(
    X, monkeypatch, case, names
):
    """The fast path returns what scikit-learn's checks return, and leaves
    every error and warning to them."""
    model = AutoencoderTransformer(2, **FAST).fit(_with_names(X) if names else X)
    rows = _inputs(X)[case]

    def outcome():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = model._validate_X(rows, reset=False)
            except (ValueError, TypeError) as error:
                result = error
        return result, [str(w.message) for w in caught]

    fast, fast_warnings = outcome()
    monkeypatch.setattr(validation, "_already_valid", lambda *args: False)
    slow, slow_warnings = outcome()
    assert fast_warnings == slow_warnings
    if isinstance(slow, Exception):
        assert type(fast) is type(slow) and str(fast) == str(slow)
    else:
        assert type(fast) is type(slow) and fast.dtype == slow.dtype
        assert_array_equal(fast, slow)


def test_inference_shortcut_is_taken_for_plain_arrays(X, monkeypatch):
    model = AutoencoderTransformer(2, **FAST).fit(X)
    monkeypatch.setattr(validation, "validate_data", None)  # would raise
    assert model._validate_X(X, reset=False) is X
    assert model.transform(X.astype(np.float32)).dtype == np.float32
