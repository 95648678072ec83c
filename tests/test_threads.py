"""torch's thread count during fit and inference (``n_jobs``), and after them."""

import os
import subprocess
import sys
import threading
import time

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from skorch.callbacks import Callback

import skae._base.threads
from skae import VAE, AutoencoderTransformer
from skae._base.threads import WORK_PER_THREAD, recheck, resolve_n_jobs, torch_threads


@pytest.fixture
def two_threads():
    """torch set to 2 threads for the test (the suite runs with 1)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _in_new_thread(function):
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


def _record_threads(model):
    """Record torch's thread count at every call of a fitted model's networks."""
    seen = []
    for network in (model.net_.module_.encoder, model.net_.module_.decoder):
        network.register_forward_hook(
            lambda *args: seen.append(torch.get_num_threads())
        )
    return seen


class _RecordingAutoencoder(AutoencoderTransformer):
    """Records torch's thread count at every training batch."""

    def _build_module(self, X):
        module = super()._build_module(X)
        self.seen_ = seen = []
        module.encoder.register_forward_hook(
            lambda *args: seen.append(torch.get_num_threads())
        )
        return module


def test_torch_setting_belongs_to_the_calling_thread(two_threads):
    # What the design relies on (and docs/benchmarks.rst states): a thread's
    # setting does not change another's, and is the default of new threads.
    def set_one():
        torch.set_num_threads(1)
        return torch.get_num_threads()

    assert _in_new_thread(set_one) == 1
    assert torch.get_num_threads() == 2
    assert _in_new_thread(torch.get_num_threads) == 1
    torch.set_num_threads(2)
    assert _in_new_thread(torch.get_num_threads) == 2


def test_policy():
    assert resolve_n_jobs(None, 1, cap=8) == 1
    assert resolve_n_jobs(None, 2 * WORK_PER_THREAD - 1, cap=8) == 1
    cores = skae._base.threads.available_cores()
    assert resolve_n_jobs(None, 2 * WORK_PER_THREAD, cap=8) == min(2, cores)
    # Never above torch's setting or the cores.
    assert resolve_n_jobs(None, 10**6 * WORK_PER_THREAD, cap=1) == 1
    assert resolve_n_jobs(None, 10**6 * WORK_PER_THREAD, cap=10**6) == cores
    # Explicit values: that many, or counted from torch's setting.
    assert resolve_n_jobs(3, 1, cap=1) == 3
    assert resolve_n_jobs(-1, 1, cap=4) == 4
    assert resolve_n_jobs(-2, 1, cap=4) == 3
    assert resolve_n_jobs(-10, 1, cap=4) == 1


@pytest.mark.parametrize("n_jobs, inside", [(None, 1), (1, 1), (3, 3), (-1, 2)])
def test_threads_during_fit_and_inference_then_restored(
    small_X, two_threads, n_jobs, inside
):
    model = _RecordingAutoencoder(hidden_layer_sizes=(4,), max_epochs=2, n_jobs=n_jobs)
    model.fit(small_X)
    # The shape check before training runs with the caller's setting.
    assert set(model.seen_[1:]) == {inside}
    assert torch.get_num_threads() == 2
    seen = _record_threads(model)
    model.transform(small_X)
    model.score_samples(small_X)
    model.inverse_transform(model.transform(small_X))
    assert set(seen) == {inside} and len(seen) == 1 + 2 + 2
    assert torch.get_num_threads() == 2


def test_automatic_policy_uses_more_threads_for_more_work(
    small_X, two_threads, monkeypatch
):
    monkeypatch.setattr(skae._base.threads, "available_cores", lambda: 8)
    monkeypatch.setattr(skae._base.threads, "idle_cores", lambda: 8)
    model = _RecordingAutoencoder(
        hidden_layer_sizes=(4,),
        max_epochs=1,
        batch_size=len(small_X),
        early_stopping=False,
    )
    model.fit(small_X)
    # One batch of all rows.
    work = skae._base.threads.forward_work(model.net_.module_, len(small_X))
    # Just enough work for 2 threads, then for 3 (more than torch's 2).
    monkeypatch.setattr(skae._base.threads, "WORK_PER_THREAD", work // 2)
    assert set(model.fit(small_X).seen_[1:]) == {2}
    monkeypatch.setattr(skae._base.threads, "WORK_PER_THREAD", work // 3)
    assert set(model.fit(small_X).seen_[1:]) == {2}
    # The user's own setting caps it.
    torch.set_num_threads(1)
    assert set(model.fit(small_X).seen_[1:]) == {1}
    assert torch.get_num_threads() == 1


def _busy_processes(n):
    code = (
        "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: pass"
    )
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_idle_cores_sees_busy_processes():
    cores = os.cpu_count()
    assert skae._base.threads.idle_cores() <= cores
    processes = _busy_processes(cores)
    try:
        time.sleep(0.5)
        # Each busy process is ready to run all the time, wherever it runs.
        assert skae._base.threads.idle_cores() <= 0
    finally:
        for process in processes:
            process.kill()
            process.wait()


def test_idle_cores_unknown_elsewhere(monkeypatch):
    def no_proc(*args, **kwargs):
        raise FileNotFoundError

    monkeypatch.setattr("builtins.open", no_proc)
    assert skae._base.threads.idle_cores() is None


def test_automatic_policy_follows_the_load(small_X, two_threads, monkeypatch):
    # Work for 2 threads; the other processes take the cores after 3 batches.
    monkeypatch.setattr(skae._base.threads, "available_cores", lambda: 2)
    monkeypatch.setattr(skae._base.threads, "RECHECK_SECONDS", 0.0)
    model = _RecordingAutoencoder(
        hidden_layer_sizes=(4,), max_epochs=6, batch_size=20, early_stopping=False
    )
    monkeypatch.setattr(skae._base.threads, "WORK_PER_THREAD", 1)
    idle = iter([2, 2, 2, 2] + [0] * 100)  # one reading when the block starts
    monkeypatch.setattr(skae._base.threads, "idle_cores", lambda: next(idle))
    model.fit(small_X)
    # 18 training batches, then the two passes of the post-fit check.
    assert model.seen_[1:] == [2] * 3 + [1] * 15 + [1] * 2
    assert torch.get_num_threads() == 2
    # Unknown load (not Linux): the work and torch's setting decide.
    monkeypatch.setattr(skae._base.threads, "idle_cores", lambda: None)
    assert set(model.fit(small_X).seen_[1:]) == {2}
    # An explicit n_jobs does not read the load at all.
    monkeypatch.setattr(skae._base.threads, "idle_cores", lambda: 1 / 0)
    assert set(model.set_params(n_jobs=2).fit(small_X).seen_[1:]) == {2}


def test_concurrent_blocks_share_the_idle_cores(two_threads, monkeypatch):
    # Two fits in threads of one process, on a machine with 2 idle cores:
    # each one's threads are load for the other, so they end with 1 each.
    monkeypatch.setattr(skae._base.threads, "available_cores", lambda: 2)
    monkeypatch.setattr(skae._base.threads, "idle_cores", lambda: 2)
    monkeypatch.setattr(skae._base.threads, "RECHECK_SECONDS", 0.0)
    first_in, second_in, first_checked = (threading.Event() for _ in range(3))
    done = []

    def first():
        with torch_threads(None, 2 * WORK_PER_THREAD) as block:
            done.append(("first alone", block.threads))
            first_in.set()
            assert second_in.wait(timeout=60)
            recheck()
            done.append(("first beside second", block.threads))
            first_checked.set()

    def second():
        assert first_in.wait(timeout=60)
        with torch_threads(None, 2 * WORK_PER_THREAD) as block:
            done.append(("second beside first", block.threads))
            second_in.set()
            assert first_checked.wait(timeout=60)

    threads = [threading.Thread(target=f) for f in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert dict(done) == {
        "first alone": 2,
        "second beside first": 1,
        "first beside second": 1,
    }
    assert skae._base.threads._in_use == 0 and skae._base.threads._active == 0


def test_thread_count_does_not_change_results(small_X):
    # More threads split the matrix products differently: the same model, up
    # to rounding (on digits the codes differ by up to 2e-6).
    params = dict(hidden_layer_sizes=(64, 32), max_epochs=5, random_state=0)
    one = VAE(**params, n_jobs=1).fit(small_X)
    two = VAE(**params, n_jobs=2).fit(small_X)
    assert_allclose(one.loss_curve_, two.loss_curve_, rtol=1e-5)
    assert_allclose(one.transform(small_X), two.transform(small_X), atol=1e-5)
    assert_allclose(one.score_samples(small_X), two.score_samples(small_X), rtol=1e-5)


def test_setting_restored_when_fit_fails(small_X, two_threads):
    model = AutoencoderTransformer(
        hidden_layer_sizes=(4,), max_epochs=5, lr=1e30, optimizer="sgd", n_jobs=1
    )
    with pytest.raises(ValueError, match="diverged"):
        model.fit(small_X * 1e10)
    assert torch.get_num_threads() == 2
    assert _in_new_thread(torch.get_num_threads) == 2


def test_concurrent_fits_in_threads(small_X, two_threads):
    params = dict(hidden_layer_sizes=(8,), max_epochs=3, random_state=0)
    expected = AutoencoderTransformer(**params).fit(small_X).transform(small_X)
    models = [_RecordingAutoencoder(**params) for _ in range(8)]
    with joblib.parallel_config(backend="threading", n_jobs=4):
        fitted = joblib.Parallel()(joblib.delayed(m.fit)(small_X) for m in models)
    for model in fitted:
        assert set(model.seen_[1:]) == {1}
        assert_array_equal(model.transform(small_X), expected)
    # The caller's setting, and the one threads started later get.
    assert torch.get_num_threads() == 2
    assert _in_new_thread(torch.get_num_threads) == 2


class _Pause(Callback):
    def __init__(self, started, release):
        self.started, self.release = started, release

    def on_train_begin(self, net, **kwargs):
        self.started.set()
        assert self.release.wait(timeout=60)


class _Paused(AutoencoderTransformer):
    """Waits inside its thread-count block until released."""

    def _fit_callbacks(self):
        return [("pause", _Pause(self.started, self.release))]


def _start_paused_fit(X, n_jobs):
    model = _Paused(hidden_layer_sizes=(4,), max_epochs=1, n_jobs=n_jobs)
    model.started, model.release = threading.Event(), threading.Event()
    thread = threading.Thread(target=model.fit, args=(X,))
    thread.start()
    assert model.started.wait(timeout=60)
    return model, thread


def test_default_of_new_threads_is_kept(small_X, two_threads):
    # A thread that first uses torch while a fit has lowered the setting
    # starts with the lowered value (torch's behaviour: set_num_threads also
    # sets the default of new threads). Here such a thread fits too and ends
    # last, restoring its own (lowered) value; new threads still get 2.
    first, first_thread = _start_paused_fit(small_X, n_jobs=1)
    assert _in_new_thread(torch.get_num_threads) == 1
    second, second_thread = _start_paused_fit(small_X, n_jobs=2)
    first.release.set()
    first_thread.join()
    second.release.set()
    second_thread.join()
    assert first.n_iter_ == second.n_iter_ == 1
    assert _in_new_thread(torch.get_num_threads) == 2
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2", True])
def test_invalid_n_jobs(small_X, n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        AutoencoderTransformer(n_jobs=n_jobs).fit(small_X)


def test_n_jobs_in_every_estimator():
    for cls in (skae.AutoencoderTransformer, skae.ContractiveAutoencoder):
        assert cls().get_params()["n_jobs"] is None
    for cls in (skae.SparseAutoencoder, skae.DenoisingAutoencoder, VAE, skae.IWAE):
        assert cls(n_jobs=2).get_params()["n_jobs"] == 2


def test_no_thread_change_when_already_right(small_X, monkeypatch):
    # The suite runs with 1 thread: the automatic policy changes nothing.
    torch.set_num_threads(1)
    calls = []
    original = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))
    try:
        model = AutoencoderTransformer(hidden_layer_sizes=(4,), max_epochs=1)
        model.fit(small_X).transform(small_X)
    finally:
        monkeypatch.setattr(torch, "set_num_threads", original)
    assert calls == [] and np.isfinite(model.loss_curve_).all()


def test_numpy_integers_work_as_n_jobs(small_X):
    model = AutoencoderTransformer(hidden_layer_sizes=(4,), max_epochs=1)
    model.set_params(n_jobs=np.int64(2)).fit(small_X).transform(small_X)
    model.set_params(n_jobs=np.int32(-1)).fit(small_X)
