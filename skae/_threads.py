"""How many threads torch uses while skae trains and infers (``n_jobs``).

torch runs each matrix product and each large elementwise operation on a
team of OpenMP threads, and by default on as many threads as there are
cores. A small autoencoder does hundreds of tiny operations per batch: a
second thread saves little on a quiet machine, and on a busy one it costs a
great deal, because OpenMP threads spin while they wait for a teammate whose
core is running something else (a notebook kernel, another fit, a
``GridSearchCV`` worker). The automatic policy therefore uses one thread per
:data:`WORK_PER_THREAD` multiply-adds of a batch, capped by torch's setting
and the cores available; see ``docs/benchmarks.rst`` for the measurements.

torch's thread count belongs to the calling thread (and is the default for
threads that have not used torch yet). A fit or an inference call sets it
for its own duration and restores it afterwards. The number depends on the
model, the batch and the setting it is capped by, never on the load of the
machine, so ``random_state`` still gives identical results run after run
(the thread count changes results in the last bits).
"""

import functools
import threading
from contextlib import contextmanager

import joblib
import torch

# Multiply-adds of one forward pass of a batch (rows x weights) that are
# worth one more thread. Measured on 2 cores (docs/benchmarks.rst):
# below it, a second thread gains little on a quiet machine and loses
# 10-50x when another process keeps every core busy.
WORK_PER_THREAD = 2**40

_LOCK = threading.Lock()
# Sections (fits and inference calls) running now, in any thread; torch's
# setting outside them (the caller's, which caps the automatic policy); and
# the value skae last passed to torch.set_num_threads, which is also the
# default of threads that have not used torch yet.
_active = 0
_outside = None
_default = None


@functools.cache
def available_cores():
    """Cores this process may use (affinity and container quotas included)."""
    return max(1, joblib.cpu_count())


def resolve_n_jobs(n_jobs, work, cap):
    """The number of torch threads for ``work`` multiply-adds per batch.

    Parameters
    ----------
    n_jobs : int or None
        None: the automatic policy, one thread per :data:`WORK_PER_THREAD`,
        at most ``cap`` and the available cores. A positive int: that many.
        A negative int counts from torch's setting: ``cap + 1 + n_jobs``
        (-1: torch's setting itself, -2: one fewer).
    work : int
        Multiply-adds of one forward pass of a batch.
    cap : int
        torch's setting outside skae: the automatic policy never exceeds it.
    """
    if n_jobs is None:
        return max(1, min(cap, available_cores(), work // WORK_PER_THREAD))
    if n_jobs < 0:
        return max(1, cap + 1 + n_jobs)
    return n_jobs


def forward_work(module, rows):
    """Multiply-adds of a forward pass of ``rows`` rows: rows x weights."""
    return rows * sum(p.numel() for p in module.parameters())


@contextmanager
def torch_threads(n_jobs, work):
    """Run a block with the number of torch threads ``n_jobs`` gives for ``work``.

    The calling thread's setting is restored afterwards. Blocks may run in
    several threads at once (``joblib``'s threading backend): the automatic
    policy of each is capped by the setting outside all blocks, and when the
    last block ends, threads started later get that setting again.
    """
    global _active, _outside, _default
    with _LOCK:
        before = torch.get_num_threads()
        if _active == 0:
            _outside = _default = before
        _active += 1
        threads = resolve_n_jobs(n_jobs, work, cap=_outside)
        if threads != before:
            torch.set_num_threads(threads)
            _default = threads
    try:
        yield threads
    finally:
        with _LOCK:
            _active -= 1
            if threads != before:
                torch.set_num_threads(before)
                _default = before
            if _active == 0 and _default != _outside:
                # The default of new threads is a value set for a block (a
                # thread that first used torch during another block started
                # with that block's setting); reset it from a thread of its
                # own, so that this thread keeps its setting.
                _set_in_new_thread(_outside)


def _set_in_new_thread(n_threads):
    thread = threading.Thread(target=torch.set_num_threads, args=(n_threads,))
    thread.start()
    thread.join()
