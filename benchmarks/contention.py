"""Fit and transform time of every skae model on a busy machine.

Each model and the hand-written loop of :mod:`benchmarks.speed` are timed
in three states of the machine: **quiet**, **busy** (one busy process per
core, :func:`busy_cores`) and **grid** (two fits at once in
``GridSearchCV(n_jobs=2)``); ``docs/benchmarks.rst`` ("Fit and transform
time under load") has the protocol and how to read the table.
"""

import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV

import skae

from . import _harness as h
from . import speed

MODELS = ("AutoencoderTransformer", "ContractiveAutoencoder", "SparseAutoencoder")
MODELS += ("DenoisingAutoencoder", "VAE", "IWAE")
LOOP = "hand-written loop"
# skae's n_jobs for each variant: the automatic policy, or torch's setting.
N_JOBS = {"auto": None, "torch": -1}
STATES = ("quiet", "busy", "grid")

BUSY_LOOP = """\
import sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    pass
"""


@dataclass
class ContentionConfig(h.Config):
    """Sizes of one run; :meth:`quick` is a smoke run of seconds."""

    digits_rows: int | None = None
    digits_epochs: int = h.option(20, "epochs (digits)")
    mnist_rows: int = h.option(60000, "rows (synthetic MNIST)")
    mnist_features: int = 784
    mnist_epochs: int = h.option(1, "epochs (synthetic MNIST)")
    repeats: int = h.option(3, "repeats per contender (digits)")
    mnist_repeats: int = h.option(1, "repeats (synthetic MNIST)")
    datasets: tuple = h.option(("digits", "mnist"), "data sets", choices=speed.DATASETS)
    models: tuple = h.option(MODELS, "skae models", choices=MODELS)
    n_jobs: tuple = h.option(
        ("auto",),
        "skae's n_jobs: auto (None, the default) and/or torch (-1: torch's "
        "own setting, as skae did before n_jobs); default: auto",
        choices=list(N_JOBS),
    )
    states: tuple = h.option(STATES, "states of the machine", choices=STATES)
    busy_processes: int = field(default_factory=lambda: os.cpu_count() or 1)
    busy_seconds: float = h.option(3600.0, "how long each busy process may run at most")
    grid_jobs: int = 2
    QUICK = dict(digits_rows=300, digits_epochs=2, mnist_rows=1000, mnist_epochs=1)
    QUICK.update(repeats=1, mnist_repeats=1, busy_seconds=900.0)


# ----------------------------------------------------------------------
# Contenders


def make_contender(model, variant, epochs):
    """A fresh estimator: the loop, or a skae model with the benchmark setup."""
    if model == LOOP:
        return speed.HandWrittenLoop(epochs)
    cls = getattr(skae, model)
    params = {"n_jobs": N_JOBS[variant]} if "n_jobs" in cls().get_params() else {}
    if not params and variant != "torch":
        raise ValueError(
            f"this version of skae has no n_jobs: use --n-jobs torch, not {variant}"
        )
    return speed.make_skae(epochs, "cpu", cls, **params)


def contenders(config):
    """``(model, variant)`` pairs in the order they run: the loop first."""
    pairs = [(LOOP, "torch")]
    pairs += [(model, variant) for model in config.models for variant in config.n_jobs]
    return pairs


def threads_used(estimator, rows):
    """torch threads the fitted model trains with, or None where unknown."""
    try:
        from skae._base.threads import forward_work, resolve_n_jobs
    except ImportError:  # a skae without n_jobs: torch's setting
        return torch.get_num_threads()
    if not hasattr(estimator, "n_jobs"):
        return torch.get_num_threads()
    work = forward_work(estimator.net_.module_, min(rows, estimator.batch_size))
    return resolve_n_jobs(estimator.n_jobs, work, cap=torch.get_num_threads())


# ----------------------------------------------------------------------
# States


@contextmanager
def busy_cores(n_processes, seconds, log=print):
    """Run ``n_processes`` busy loops that end on their own after ``seconds``."""
    processes = [
        subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(seconds)])
        for _ in range(n_processes)
    ]
    try:
        time.sleep(0.5)  # let them start before anything is timed
        yield processes
        if any(process.poll() is not None for process in processes):
            log(
                "WARNING: the busy processes ended before the measurements did; "
                f"the last 'busy' figures are too low: raise --busy-seconds "
                f"above {seconds}"
            )
    finally:
        for process in processes:
            process.kill()
            process.wait()


def _transform_seconds(estimator, X, y=None):
    """A ``GridSearchCV`` 'scorer' that returns the time of ``transform(X)``."""
    start = time.perf_counter()
    estimator.transform(X)
    return time.perf_counter() - start


def time_direct(estimator, X):
    """(fit seconds, transform seconds) of one fit and transform in this process."""
    return h.timed(lambda: estimator.fit(X)), h.timed(lambda: estimator.transform(X))


def time_in_grid_search(estimator, X, n_jobs):
    """(fit, transform) seconds of ``n_jobs`` fits at once in ``GridSearchCV``,
    each on all of ``X`` (the same work as in the other states)."""
    folds = [(np.arange(len(X)), np.arange(len(X)))] * n_jobs
    options = dict(cv=folds, n_jobs=n_jobs, scoring=_transform_seconds, refit=False)
    results = GridSearchCV(estimator, {}, **options).fit(X).cv_results_
    return float(results["mean_fit_time"][0]), float(results["mean_test_score"][0])


# ----------------------------------------------------------------------
# Runner


@dataclass
class Timing:
    """The times of one contender on one data set in one state."""

    dataset: str
    model: str
    n_jobs: str
    state: str
    fit: list
    transform: list
    threads: int | None
    load_average: list

    @property
    def fit_median(self):
        return statistics.median(self.fit)

    @property
    def transform_median(self):
        return statistics.median(self.transform)


def run(config, log=print):
    """Time every contender of ``config`` in every state; a list of :class:`Timing`."""
    data = list(speed.datasets(config))
    pairs = contenders(config)
    timings = []
    for state in config.states:
        busy = state == "busy"
        args = (config.busy_processes, config.busy_seconds, log)
        with busy_cores(*args) if busy else nullcontext():
            for dataset, X, epochs, repeats in data:
                start = time.perf_counter()
                load = list(os.getloadavg())
                times = {pair: ([], []) for pair in pairs}
                threads = {}
                measure = time_direct
                if state == "grid":
                    measure = partial(time_in_grid_search, n_jobs=config.grid_jobs)
                # Warm-up: lazy initialization, and the workers of the grid.
                for pair in pairs:
                    measure(make_contender(*pair, 1), X[:200])
                # Interleaved: a change in the load slows every contender.
                for _ in range(repeats):
                    for pair in pairs:
                        estimator = make_contender(*pair, epochs)
                        fit, transform = measure(estimator, X)
                        if state != "grid":
                            threads[pair] = threads_used(estimator, len(X))
                        times[pair][0].append(fit)
                        times[pair][1].append(transform)
                timings += [
                    Timing(dataset, *pair, state, *times[pair], threads.get(pair), load)
                    for pair in pairs
                ]
                log(
                    f"{state}: {dataset} done in {time.perf_counter() - start:.1f} s "
                    f"(load average {load[0]:.2f} at the start)"
                )
    return timings


# ----------------------------------------------------------------------
# Tables


def _ratio(numerator, denominator):
    return numerator / denominator if numerator and denominator else float("nan")


COLUMNS = ("data", "model", "n_jobs", "threads", "phase")


def rows(timings, states=STATES):
    """Table rows: one per data set, contender and phase (fit, transform)."""
    found = {(t.dataset, t.model, t.n_jobs, t.state): t for t in timings}

    def seconds(*key, phase):
        return getattr(found[key], f"{phase}_median") if key in found else None

    table = []
    for dataset, model, n_jobs in dict.fromkeys(key[:3] for key in found):
        quiet = found.get((dataset, model, n_jobs, "quiet"))
        shown = ("n/a" if model == LOOP else n_jobs, quiet.threads if quiet else None)
        for phase in ("fit", "transform"):
            row = dict(zip(COLUMNS, (dataset, model, *shown, phase)))
            for state in states:
                value = seconds(dataset, model, n_jobs, state, phase=phase)
                row[f"{state} s"] = value
                if state != "quiet":
                    quiet_s = seconds(dataset, model, n_jobs, "quiet", phase=phase)
                    row[f"{state} / quiet"] = _ratio(value, quiet_s)
                loop = seconds(dataset, LOOP, "torch", state, phase=phase)
                row[f"{state} / loop"] = _ratio(value, loop)
            table.append(row)
    return table


def _cell(value, seconds=False):
    if value is None:
        return ""
    if isinstance(value, float):
        if not np.isfinite(value):
            return "n/a"
        # Times to three significant digits: a transform of 9 ms on digits
        # must not read "0.00" beside a ratio computed from its real value.
        return f"{value:.3g}" if seconds else f"{value:.2f}"
    return str(value)


def table(timings, style="text"):
    table = rows(timings)
    cells = [[_cell(v, key.endswith(" s")) for key, v in row.items()] for row in table]
    return h.table(list(table[0]), cells, style)


def rst_table(timings, environment=None):
    """An RST ``list-table``, after a line on the setup and the load averages."""
    text = table(timings, "list-table")
    if not environment:
        return text
    loads = {
        state: max(t.load_average[0] for t in timings if t.state == state)
        for state in dict.fromkeys(t.state for t in timings)
    }
    return (
        f"Measured on {environment['cores']} cores with torch "
        f"{environment['torch']} (default {environment['torch_threads']} "
        f"threads), skae commit {environment['commit'] or 'unknown'}; "
        "1-minute load average before each state, at most: "
        + ", ".join(f"{state} {load:.2f}" for state, load in loads.items())
        + f".\n\n{text}"
    )


def as_dict(timing):
    return {
        **asdict(timing),
        "fit_median": timing.fit_median,
        "transform_median": timing.transform_median,
    }


# ----------------------------------------------------------------------
# Command line


def add_arguments(parser):
    """Add the options of ``python -m benchmarks contention`` to ``parser``."""
    ContentionConfig.add_arguments(parser)
    parser.add_argument("--rst", type=Path, help="also write an RST table here")


def run_command(args, argv=()):
    """Run the benchmark the parsed ``args`` describe; return the timings."""
    h.set_threads(args.threads)
    config = ContentionConfig.from_args(args)
    timings = run(config)
    print(f"\n{table(timings)}")
    timings_dicts = [as_dict(timing) for timing in timings]
    report = h.report("contention", argv, config=asdict(config), timings=timings_dicts)
    h.save_json(report, args.json, "contention")
    if args.rst:
        args.rst.write_text(rst_table(timings, report["environment"]))
        print(f"RST table written to {args.rst}")
    return timings
