"""Dask: a grid search on a cluster of worker processes, and dask arrays as input.

Run by ``tox -e dask`` (``pytest -m dask``); skipped where dask is missing.
"""

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV

from skae import AutoencoderTransformer
from skae._base.stream import RowStream

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.dask


@pytest.fixture(scope="module")
def X():
    """Rows on a 2-D plane in 6-D, plus a little noise."""
    rng = np.random.RandomState(0)
    return rng.normal(size=(240, 2)) @ rng.normal(size=(2, 6)) + 0.05 * rng.normal(
        size=(240, 6)
    )


def _model():
    return AutoencoderTransformer(
        hidden_layer_sizes=(16,), max_epochs=10, batch_size=40, random_state=0
    )


def test_grid_search_on_a_local_cluster_matches_loky(X):
    grid = {"n_components": [1, 2], "lr": [1e-3, 1e-2]}

    def search(backend):
        with joblib.parallel_config(backend=backend, n_jobs=2):
            return GridSearchCV(_model(), grid, cv=2).fit(X)

    local = search("loky")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_cluster = search("dask")
        # The fits ran in the worker processes, not here.
        assert len(client.scheduler_info()["workers"]) == 2
        assert sum(client.run(lambda: 1).values()) == 2
    assert on_cluster.best_params_ == local.best_params_
    assert on_cluster.best_params_["n_components"] == 2  # the plane's dimension
    assert_allclose(
        on_cluster.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        rtol=1e-4,
    )


def test_dask_array_is_streamed_by_its_chunks(X):
    chunks = da.from_array(X, chunks=(50, 6))
    stream = RowStream(chunks, check=lambda rows: None)
    assert stream.n_blocks == 5
    assert_array_equal(stream[:], X)


def test_fit_on_a_dask_array_equals_in_memory_fit(X):
    chunks = da.from_array(X, chunks=(50, 6))
    # No validation split: the streamed one holds out whole chunks, not rows.
    streamed = _model().set_params(early_stopping=False).fit(chunks)
    in_memory = _model().set_params(early_stopping=False).fit(X)
    assert streamed.loss_curve_ == in_memory.loss_curve_
    assert_array_equal(streamed.transform(chunks), in_memory.transform(X))
    assert_array_equal(streamed.score_samples(chunks), in_memory.score_samples(X))


def test_partial_fit_on_dask_chunks(X):
    chunks = da.from_array(X, chunks=(50, 6))
    model = _model()
    for block in chunks.blocks:
        model.partial_fit(block)
    assert model.n_iter_ == 5


def test_unknown_chunk_sizes_are_a_clear_error(X):
    chunks = da.from_array(X, chunks=(50, 6))
    unknown = chunks[chunks[:, 0] > -np.inf]  # sizes unknown until computed
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        _model().fit(unknown)
