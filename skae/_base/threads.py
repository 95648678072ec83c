"""How many threads torch uses while skae trains and infers (``n_jobs``).

torch runs each matrix product, and each large elementwise operation, on a
team of OpenMP threads: by default as many as there are cores. When another
process keeps a core busy, every operation waits for the teammate whose core
is taken, and the OpenMP threads spin while they wait: a small autoencoder,
which runs hundreds of short operations per batch, then trains 10 to 50
times slower than with one thread (see ``docs/benchmarks.rst``).

The automatic policy (``n_jobs=None``) therefore uses

- one thread per :data:`WORK_PER_THREAD` multiply-adds of a batch, so that
  small networks, which gain little from more threads, run on one;
- at most torch's setting outside skae and the cores available, so that
  ``torch.set_num_threads`` and ``OMP_NUM_THREADS`` still limit it;
- on Linux, at most the cores that other processes, and other fits of this
  process running in threads, leave idle: read from ``/proc`` when a block
  starts and every :data:`RECHECK_SECONDS` while it runs (:func:`recheck`),
  since the load changes during a long fit; blocks that start within
  :data:`RECHECK_SECONDS` of a reading share it (short inference calls).

torch's setting belongs to the calling thread (and is the default of
threads that have not used torch yet): :func:`torch_threads` sets it for one
fit or inference call and restores it afterwards.
"""

import functools
import os
import threading
import time
import weakref
from contextlib import contextmanager

import joblib
import torch
from skorch.callbacks import Callback
from threadpoolctl import threadpool_limits

# Multiply-adds of one forward pass of a batch (rows x weights) that are
# worth one more thread on a quiet machine (measured: docs/benchmarks.rst).
WORK_PER_THREAD = 2**20
# How often a running block reads the load again.
RECHECK_SECONDS = 0.5

_LOCK = threading.Lock()
# Blocks running now, in any thread, and the threads they use together;
# torch's setting outside them (the caller's: it caps the automatic
# policy); and the value skae last passed to torch.set_num_threads, which
# is also the default of new threads.
_active = 0
_in_use = 0
_outside = None
_default = None
# The block running in this thread, for recheck().
_local = threading.local()


@functools.cache
def available_cores():
    """Cores this process may use (affinity and container quotas included)."""
    return max(1, joblib.cpu_count())


def _count_runnable_own_threads():
    count = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as file:
                stat = file.read()
        except OSError:  # the thread ended
            continue
        count += stat[stat.rindex(")") + 2] == "R"
    return count


def idle_cores():
    """Cores that threads of other processes leave idle now, or None if unknown.

    Linux counts the threads ready to run, on all cores, in ``/proc/loadavg``;
    this process's own threads (``/proc/self/task``) are not load.
    """
    try:
        with open("/proc/loadavg") as file:
            runnable = int(file.read().split()[3].split("/")[0])
        elsewhere = runnable - _count_runnable_own_threads()
    except (OSError, ValueError, IndexError):
        return None
    return (os.cpu_count() or 1) - max(0, elsewhere)


# The last reading of the load, shared by every block: (monotonic time,
# the function that read it, idle cores).
_last_reading = (-float("inf"), None, None)


def _recent_idle_cores():
    """:func:`idle_cores`, read again only after :data:`RECHECK_SECONDS`; under _LOCK.

    A reading costs about a file read per thread of this process
    (``/proc/self/task``): more than a forward pass of 100 rows through a
    small network. Inference calls in a loop, each a block of its own,
    share one reading instead of paying it on every call.
    """
    global _last_reading
    now = time.monotonic()
    when, reader, idle = _last_reading
    if reader is not idle_cores or now - when >= RECHECK_SECONDS:
        idle = idle_cores()
        _last_reading = (now, idle_cores, idle)
    return idle


def resolve_n_jobs(n_jobs, work, cap, idle=None):
    """The number of torch threads for ``work`` multiply-adds per batch.

    Parameters
    ----------
    n_jobs : int or None
        None: the automatic policy, one thread per :data:`WORK_PER_THREAD`,
        at most ``cap``, the available cores and ``idle``. A positive int:
        that many. A negative int counts from torch's setting: ``cap + 1 +
        n_jobs`` (-1: torch's setting itself, -2: one fewer).
    work : int
        Multiply-adds of one forward pass of a batch.
    cap : int
        torch's setting outside skae.
    idle : int or None
        Cores other processes leave idle; None if unknown.
    """
    if n_jobs is None:
        threads = min(cap, available_cores(), work // WORK_PER_THREAD)
        if idle is not None:
            threads = min(threads, idle)
        return max(1, threads)
    n_jobs = int(n_jobs)  # a numpy integer works as an int does
    if n_jobs < 0:
        return max(1, cap + 1 + n_jobs)
    return n_jobs


# Weights of each module, counted once: counting walks every submodule, a
# tenth of the forward pass of 100 rows through the default network, and a
# module keeps its weights' shapes once built.
_weights = weakref.WeakKeyDictionary()


def forward_work(module, rows):
    """Multiply-adds of a forward pass of ``rows`` rows: rows x weights."""
    weights = _weights.get(module)
    if weights is None:
        weights = _weights[module] = sum(p.numel() for p in module.parameters())
    return rows * weights


def _set(threads):
    """Set this thread's count (and the default of new threads); under _LOCK."""
    global _default
    torch.set_num_threads(threads)
    _default = threads


class _Block:
    """One fit or inference call: its thread count, chosen again as load changes."""

    def __init__(self, n_jobs, work, cap):
        self.n_jobs, self.work, self.cap = n_jobs, work, cap
        # Only the automatic policy with work for several threads depends
        # on the load; every other block keeps its count.
        self.adaptive = n_jobs is None and resolve_n_jobs(None, work, cap) > 1
        self.threads = 0  # not counted in _in_use yet
        self.next_check = time.monotonic() + RECHECK_SECONDS

    def choose(self):
        """Choose and set the thread count; under _LOCK."""
        global _in_use
        idle = None
        if self.adaptive:
            idle = _recent_idle_cores()
            if idle is not None:  # other blocks of this process are load too
                idle -= _in_use - self.threads
        threads = resolve_n_jobs(self.n_jobs, self.work, self.cap, idle)
        if threads != torch.get_num_threads():
            _set(threads)
        _in_use += threads - self.threads
        self.threads = threads

    def recheck(self):
        # Called before every training batch: only adaptive blocks read the clock.
        if not self.adaptive:
            return
        now = time.monotonic()
        if now >= self.next_check:
            self.next_check = now + RECHECK_SECONDS
            with _LOCK:
                self.choose()


@contextmanager
def torch_threads(n_jobs, work):
    """Run a block with the number of torch threads ``n_jobs`` gives for ``work``.

    Yields the block; :func:`recheck` adapts its count to the load. The
    calling thread's setting is restored afterwards. Blocks may run in
    several threads at once (``joblib``'s threading backend): the automatic
    policy of each is capped by the setting outside all blocks, and when the
    last block ends, threads started later get that setting again.
    """
    global _active, _in_use, _outside, _default
    with _LOCK:
        before = torch.get_num_threads()
        if _active == 0:
            _outside = _default = before
        _active += 1
        block = _Block(n_jobs, work, cap=_outside)
        block.choose()
    enclosing = getattr(_local, "block", None)
    _local.block = block
    try:
        yield block
    finally:
        _local.block = enclosing
        with _LOCK:
            _active -= 1
            _in_use -= block.threads
            if torch.get_num_threads() != before:
                _set(before)
            if _active == 0 and _default != _outside:
                # The default of new threads is a value set for a block (a
                # thread that first used torch during another block started
                # with that block's setting); reset it from a thread of its
                # own, so that this thread keeps its setting.
                _set_in_new_thread(_outside)
                _default = _outside


def blas_threads(threads):
    """Limit numpy's BLAS to ``threads`` threads (the linear start's PCA or
    factor analysis runs on it): its threads spin on busy cores as torch's
    do."""
    return threadpool_limits(limits=threads, user_api="blas")


def recheck():
    """Adapt the thread count of this thread's block to the load, if it is due."""
    block = getattr(_local, "block", None)
    if block is not None:
        block.recheck()


class RecheckThreads(Callback):
    """Calls :func:`recheck` before each batch (a no-op unless it is due)."""

    def on_batch_begin(self, net, **kwargs):
        recheck()


def _set_in_new_thread(threads):
    thread = threading.Thread(target=torch.set_num_threads, args=(threads,))
    thread.start()
    thread.join()
