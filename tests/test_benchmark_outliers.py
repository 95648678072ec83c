"""The outlier benchmark: smoke runs at tiny sizes (no quality assertions),
the MNIST loader without the file or the network, and the bookkeeping."""

import importlib.util
import json

import numpy as np
import pytest

from benchmarks import outlier_data, outlier_tables, outliers


@pytest.mark.parametrize("pyod", [False, True], ids=["sklearn-only", "with-pyod"])
def test_quick_run_writes_the_tables(tmp_path, pyod):
    if pyod and importlib.util.find_spec("pyod") is None:
        pytest.skip("PyOD is an optional benchmark dependency")
    out = tmp_path / "outliers.rst"
    argv = ["--quick", "--seeds", "1", "--datasets", "wine", "manifold"]
    argv += ["--out", str(out)]
    records = outliers.main(argv + ([] if pyod else ["--no-pyod"]))
    text = out.read_text()
    assert "QUICK SMOKE RUN" in text
    for name in (
        "IsolationForest",
        "PCA reconstruction",
        "AutoencoderTransformer",
        outliers.DEFAULT_DETECTOR,
        "ROC AUC 5%",
        "AP 10%",
        'Flagged, contamination="auto"',
        "Flagged, contamination=0.05",
        "clean: normal/train/anom.",
        "10%: normal/train/anom.",
        outlier_tables.MEAN,
    ):
        assert name in text

    report = json.loads(out.with_suffix(".json").read_text())
    assert report["datasets"] == ["wine", "manifold"]
    assert len(report["records"]) == len(records)
    assert {r["setting"] for r in records} == {"clean", "5%", "10%"}
    at_5_percent = {r["detector"] for r in records if r["contamination"] == 0.05}
    assert {outliers.DEFAULT_DETECTOR, "PCA reconstruction"} <= at_5_percent
    for record in report["records"]:
        for metric in ("flagged_train", "flagged_normal", "flagged_anomalies"):
            if record[metric] is not None:  # None: a failed fit
                assert 0 <= record[metric] <= 1

    again = tmp_path / "again.rst"
    outliers.main(["--tables-from", str(out.with_suffix(".json")), "--out", str(again)])
    assert again.read_text() == text


def test_trim_study_quick_run(tmp_path):
    out = tmp_path / "trim.rst"
    outliers.main(
        ["--quick", "--seeds", "1", "--datasets", "wine", "--no-pyod", "--trim-study"]
        + ["--out", str(out)]
    )
    assert "trimmed" in out.read_text()


def test_processes_give_the_same_records():
    def run(n_jobs):
        records, _ = outliers.run(
            ["wine"],
            ["5%"],
            [0],
            quick=True,
            pyod=False,
            n_jobs=n_jobs,
            threads=1,
            log=lambda message: None,
        )
        for record in records:
            del record["fit_time"], record["cpu_time"]  # timings vary
        return records

    assert run(2) == run(1)


# ----------------------------------------------------------------------
# MNIST, without the file or the network


def _tiny_mnist(n_train=200, n_test=100, seed=0):
    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, size=(n_train + n_test, 28, 28)).astype(np.uint8)
    labels = rng.randint(0, 10, size=n_train + n_test).astype(np.uint8)
    return images, labels


def _write_npz(path, n_train=200, n_test=100):
    images, labels = _tiny_mnist(n_train, n_test)
    np.savez(
        path,
        x_train=images[:n_train],
        y_train=labels[:n_train],
        x_test=images[n_train:],
        y_test=labels[n_train:],
    )
    return images.reshape(len(images), -1), labels


def test_load_mnist_from_npz(tmp_path):
    images, labels = _write_npz(tmp_path / "mnist.npz")
    X, y = outlier_data.load_mnist(tmp_path / "mnist.npz")
    assert X.shape == (300, 784) and X.dtype == np.float64
    np.testing.assert_array_equal(X, images)  # training set first, raw pixels
    np.testing.assert_array_equal(y, labels)


def test_load_mnist_from_openml(monkeypatch):
    images, labels = _tiny_mnist()
    calls = []

    def fake_fetch_openml(name, **kwargs):
        calls.append((name, kwargs))
        # OpenML gives float pixels and string labels.
        return images.reshape(len(images), -1).astype(float), labels.astype(str)

    monkeypatch.setattr(outlier_data, "fetch_openml", fake_fetch_openml)
    X, y = outlier_data.load_mnist()
    assert calls == [("mnist_784", dict(as_frame=False, return_X_y=True))]
    assert X.shape == (300, 784)
    np.testing.assert_array_equal(y, labels.astype(int))


def test_mnist_tasks_are_one_class():
    y = np.repeat(np.arange(10), 200)
    X = np.repeat(y[:, None], 3, axis=1).astype(float)  # a row shows its label
    tasks = outlier_data._mnist_tasks(X, y)
    assert [task for task, _, _ in tasks] == ["digit 0", "digit 4", "digit 7"]
    for (_, normal, anomalies), digit in zip(tasks, outlier_data.MNIST_DIGITS):
        assert np.all(normal == digit) and len(normal) == 200  # all there are
        assert not np.any(anomalies == digit)
        assert len(anomalies) == outlier_data.MNIST_ANOMALY_ROWS


def test_unavailable_mnist_is_skipped_with_a_message(tmp_path, monkeypatch):
    def offline(name, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(outlier_data, "fetch_openml", offline)
    with pytest.raises(outlier_data.DatasetUnavailable, match="--mnist-npz"):
        outlier_data.load_mnist()
    messages = []
    records, skipped = outliers.run(
        ["mnist"], ["clean"], [0], quick=True, pyod=False, log=messages.append
    )
    assert records == [] and "no network" in skipped["mnist"]
    assert messages and messages[0].startswith("mnist skipped")
    missing = tmp_path / "missing.npz"
    with pytest.raises(outlier_data.DatasetUnavailable, match="missing.npz"):
        outlier_data.load_mnist(missing)


def test_quick_run_on_mnist(tmp_path):
    _write_npz(tmp_path / "mnist.npz", n_train=400, n_test=200)
    out = tmp_path / "outliers.rst"
    records = outliers.main(
        ["--quick", "--seeds", "1", "--datasets", "mnist", "--no-pyod"]
        + ["--settings", "clean", "10%"]
        + ["--mnist-npz", str(tmp_path / "mnist.npz"), "--out", str(out)]
    )
    text = out.read_text()
    assert "ROC AUC per normal class, clean" in text and "digit 0" in text
    detectors = {r["detector"] for r in records}
    # Only the default OutlierDetector among the networks.
    assert outliers.DEFAULT_DETECTOR in detectors
    networks = {name for name in detectors if name.startswith("skae ")}
    assert networks == {outliers.DEFAULT_DETECTOR}
    assert "PCA reconstruction" in detectors


# ----------------------------------------------------------------------
# Bookkeeping


def test_split_keeps_the_test_set_and_normal_rows_across_settings():
    rng = np.random.RandomState(0)
    X_normal, X_anomalies = rng.normal(size=(100, 3)), 5 + rng.normal(size=(50, 3))
    clean = outlier_data.split(X_normal, X_anomalies, 1, 0.0, standardize=False)
    dirty = outlier_data.split(X_normal, X_anomalies, 1, 0.1, standardize=False)
    np.testing.assert_array_equal(clean[1], dirty[1])
    np.testing.assert_array_equal(clean[2], dirty[2])
    assert len(clean[0]) == 60 and len(dirty[0]) == 60 + 7  # 7 = 10% of 67
    np.testing.assert_array_equal(clean[0], dirty[0][:60])
    assert np.all(dirty[0][60:] > 2)  # the added rows are anomalies
    assert np.isin(clean[1], X_normal).all(axis=1).sum() == 40  # raw rows
    scaled = outlier_data.split(X_normal, X_anomalies, 1, 0.1)
    np.testing.assert_allclose(scaled[0].mean(axis=0), 0, atol=1e-12)


class _FirstFeatureDetector:
    """Outliers are rows whose first feature exceeds 0.5."""

    def fit(self, X):
        return self

    def score_samples(self, X):
        return -X[:, 0]

    def predict(self, X):
        return np.where(X[:, 0] > 0.5, -1, 1)


def test_evaluate_counts_flagged_rows():
    X_train = np.array([[0.0], [1.0], [0.0], [0.0]])  # 1 of 4 flagged
    X_test = np.array([[0.0], [0.0], [1.0], [0.2], [1.0], [0.0]])
    y_test = np.array([0, 0, 0, 0, 1, 1])  # 1 of 4 normal, 1 of 2 anomalies
    metrics = outliers.evaluate(_FirstFeatureDetector(), X_train, X_test, y_test)
    assert metrics["flagged_train"] == 0.25
    assert metrics["flagged_normal"] == 0.25
    assert metrics["flagged_anomalies"] == 0.5
    assert set(metrics) == set(outlier_tables.METRICS)


def test_evaluate_reports_a_failure_as_nan():
    class Broken(_FirstFeatureDetector):
        def fit(self, X):
            raise RuntimeError("boom")

    X = np.zeros((4, 1))
    metrics = outliers.evaluate(Broken(), X, X, np.array([0, 0, 1, 1]))
    assert all(np.isnan(value) for value in metrics.values())


class _FakePyOD:
    """PyOD's signs: decision_function higher and predict 1 for outliers."""

    def fit(self, X):
        return self

    def decision_function(self, X):
        return X[:, 0]

    def predict(self, X):
        return (X[:, 0] > 0.5).astype(int)


def test_pyod_wrapper_uses_sklearn_signs():
    X = np.array([[0.0], [1.0]])
    detector = outliers._PyODScores(_FakePyOD()).fit(X)
    np.testing.assert_array_equal(detector.score_samples(X), [0.0, -1.0])
    np.testing.assert_array_equal(detector.predict(X), [1, -1])


def _record(dataset, detector, contamination, roc_auc, seed=0, flagged=0.1):
    return dict(
        dataset=dataset,
        task="t",
        setting="clean",
        seed=seed,
        detector=detector,
        contamination=contamination,
        roc_auc=roc_auc,
        average_precision=roc_auc,
        fit_time=1.0,
        cpu_time=1.0,
        flagged_train=flagged,
        flagged_normal=flagged,
        flagged_anomalies=flagged,
    )


def test_a_contamination_that_moves_the_ranking_gets_its_own_row():
    records = [
        _record("a", "same", "auto", 0.9),
        _record("a", "same", 0.05, 0.9, flagged=0.2),
        _record("a", "moved", "auto", 0.9),
        _record("a", "moved", 0.05, 0.8),
    ]
    table = outlier_tables.ranking_table(records, "a", ["clean"])
    assert "moved, contamination=0.05" in table
    assert "same, contamination=0.05" not in table
    flagged = outlier_tables.flagged_table(records, "a", ["clean"], 0.05)
    assert "20.0 / 20.0 / 20.0" in flagged


def test_mean_over_datasets_counts_each_dataset_once():
    records = [
        _record("a", "both", "auto", 0.8),
        _record("a", "both", "auto", 1.0),  # a second task of data set a
        _record("b", "both", "auto", 0.7),
        _record("a", "only a", "auto", 0.6),
        _record("b", "failed in b", "auto", np.nan),
        _record("a", "failed in b", "auto", 0.5),
    ]
    means = {
        r["detector"]: r for r in outlier_tables.mean_over_datasets(records, ["a", "b"])
    }
    assert means["both"]["roc_auc"] == pytest.approx(0.8)  # (0.9 + 0.7) / 2
    assert means["both"]["n_datasets"] == 2
    assert means["only a"]["n_datasets"] == 1
    assert means["failed in b"]["n_datasets"] == 1
    assert means["failed in b"]["roc_auc"] == pytest.approx(0.5)
