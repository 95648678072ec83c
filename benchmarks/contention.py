"""Fit and transform time of every skae model on a busy machine.

``python -m benchmarks contention`` times each model, and the hand-written
loop of :mod:`benchmarks.speed`, in three states of the machine:

- **quiet**: nothing else started by the benchmark;
- **busy**: one busy process per core, started by the benchmark (a loop
  that ends on its own after ``--busy-seconds``, and is killed as soon as
  the state is measured);
- **grid**: two fits at once in the workers of ``GridSearchCV(n_jobs=2)``.

Every fit runs a fixed number of epochs (no early stop) on the same data,
so the states differ only in what else the machine does. Each figure is
the median over the repeats; the table gives every state's time as a ratio
to the quiet time, and to the hand-written loop's time in the same state.
``--n-jobs auto torch`` times skae's automatic thread policy and torch's
own setting (``n_jobs=-1``, what skae did before it had ``n_jobs``) side by
side; on a version of skae without ``n_jobs``, only ``torch`` is possible.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GridSearchCV

import skae

from . import speed

MODELS = (
    "AutoencoderTransformer",
    "ContractiveAutoencoder",
    "SparseAutoencoder",
    "DenoisingAutoencoder",
    "VAE",
    "IWAE",
)
LOOP = "hand-written loop"
# skae's n_jobs for each variant: the automatic policy, or torch's setting.
N_JOBS = {"auto": None, "torch": -1}
STATES = ("quiet", "busy", "grid")
RESULTS = Path(__file__).parent / "results"

BUSY_LOOP = """\
import sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    pass
"""


@dataclass
class Config:
    """Sizes of one run; :meth:`quick` is a smoke run of seconds."""

    digits_rows: int | None = None
    digits_epochs: int = 20
    mnist_rows: int = 60000
    mnist_features: int = 784
    mnist_epochs: int = 1
    repeats: int = 3
    mnist_repeats: int = 1
    datasets: tuple = ("digits", "mnist")
    models: tuple = MODELS
    n_jobs: tuple = ("auto",)
    states: tuple = STATES
    busy_processes: int = field(default_factory=lambda: os.cpu_count() or 1)
    busy_seconds: float = 3600.0
    grid_jobs: int = 2

    @classmethod
    def quick(cls, **overrides):
        params = dict(
            digits_rows=300,
            digits_epochs=2,
            mnist_rows=1000,
            mnist_epochs=1,
            repeats=1,
            mnist_repeats=1,
            busy_seconds=900.0,
        )
        return cls(**{**params, **overrides})


# ----------------------------------------------------------------------
# Contenders


class LoopEstimator(TransformerMixin, BaseEstimator):
    """:class:`speed.HandWrittenLoop` as an estimator, for ``GridSearchCV``."""

    def __init__(self, epochs=1):
        self.epochs = epochs

    def fit(self, X, y=None):
        self.loop_ = speed.HandWrittenLoop(self.epochs, "cpu").fit(X)
        return self

    def transform(self, X):
        return self.loop_.transform(X)


def supports_n_jobs(cls):
    return "n_jobs" in cls().get_params()


def make_contender(model, variant, epochs):
    """A fresh estimator: the loop, or a skae model with the benchmark setup."""
    if model == LOOP:
        return LoopEstimator(epochs)
    cls = getattr(skae, model)
    params = {"n_jobs": N_JOBS[variant]} if supports_n_jobs(cls) else {}
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
    fit = speed.timed(lambda: estimator.fit(X), "cpu")
    transform = speed.timed(lambda: estimator.transform(X), "cpu")
    return fit, transform


def time_in_grid_search(estimator, X, n_jobs):
    """(fit, transform) seconds of ``n_jobs`` fits at once in ``GridSearchCV``.

    Each fit trains on all of ``X`` (the 'folds' are the whole data set), so
    that it does the same work as in the other states.
    """
    everything = np.arange(len(X))
    search = GridSearchCV(
        estimator,
        {},
        cv=[(everything, everything)] * n_jobs,
        n_jobs=n_jobs,
        scoring=_transform_seconds,
        refit=False,
    ).fit(X)
    results = search.cv_results_
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


def _datasets(config):
    for name in config.datasets:
        if name == "digits":
            yield (
                "digits",
                speed.digits_data(config.digits_rows),
                (
                    config.digits_epochs,
                    config.repeats,
                ),
            )
        elif name == "mnist":
            X = speed.synthetic_mnist(config.mnist_rows, config.mnist_features)
            yield (
                f"synthetic {len(X)}x{X.shape[1]}",
                X,
                (
                    config.mnist_epochs,
                    config.mnist_repeats,
                ),
            )
        else:
            raise ValueError(f"unknown dataset {name!r}")


def _state(name, config, log):
    if name == "busy":
        return busy_cores(config.busy_processes, config.busy_seconds, log)
    return _nothing()


@contextmanager
def _nothing():
    yield


def run(config, log=print):
    """Time every contender of ``config`` in every state; a list of :class:`Timing`."""
    data = list(_datasets(config))
    pairs = contenders(config)
    timings = []
    for state in config.states:
        with _state(state, config, log):
            for dataset, X, (epochs, repeats) in data:
                start = time.perf_counter()
                load = list(os.getloadavg())
                times = {pair: ([], []) for pair in pairs}
                threads = {}
                # Warm-up: lazy initialization, and the workers of the grid.
                for pair in pairs:
                    warm = make_contender(*pair, 1)
                    if state == "grid":
                        time_in_grid_search(warm, X[:200], config.grid_jobs)
                    else:
                        warm.fit(X[:200]).transform(X[:200])
                # Interleaved: a change in the load slows every contender.
                for _ in range(repeats):
                    for pair in pairs:
                        estimator = make_contender(*pair, epochs)
                        if state == "grid":
                            fit, transform = time_in_grid_search(
                                estimator, X, config.grid_jobs
                            )
                        else:
                            fit, transform = time_direct(estimator, X)
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


def _find(timings, dataset, model, n_jobs, state):
    for timing in timings:
        if (timing.dataset, timing.model, timing.n_jobs, timing.state) == (
            dataset,
            model,
            n_jobs,
            state,
        ):
            return timing
    return None


def _ratio(numerator, denominator):
    return numerator / denominator if numerator and denominator else float("nan")


def rows(timings, states=STATES):
    """Table rows: one per data set, contender and phase (fit, transform)."""
    keys = []
    for timing in timings:
        key = (timing.dataset, timing.model, timing.n_jobs)
        if key not in keys:
            keys.append(key)
    table = []
    for dataset, model, n_jobs in keys:
        for phase in ("fit", "transform"):

            def seconds(state, m=model, j=n_jobs, p=phase, d=dataset):
                timing = _find(timings, d, m, j, state)
                return getattr(timing, f"{p}_median") if timing else None

            quiet = seconds("quiet")
            quiet_timing = _find(timings, dataset, model, n_jobs, "quiet")
            row = {
                "data": dataset,
                "model": model,
                "n_jobs": "n/a" if model == LOOP else n_jobs,
                "threads": quiet_timing.threads if quiet_timing else None,
                "phase": phase,
            }
            for state in states:
                value = seconds(state)
                loop = seconds(state, m=LOOP, j="torch")
                row[f"{state} s"] = value
                if state != "quiet":
                    row[f"{state} / quiet"] = _ratio(value, quiet)
                row[f"{state} / loop"] = _ratio(value, loop)
            table.append(row)
    return table


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return "n/a" if not np.isfinite(value) else f"{value:.2f}"
    return str(value)


def text_table(timings):
    table = rows(timings)
    header = list(table[0])
    lines = [header] + [[_cell(row[key]) for key in header] for row in table]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def rst_table(timings, environment=None):
    """An RST ``list-table``, after a line on the setup and the load averages."""
    table = rows(timings)
    header = list(table[0])
    lines = []
    if environment:
        loads = {
            state: max(t.load_average[0] for t in timings if t.state == state)
            for state in dict.fromkeys(t.state for t in timings)
        }
        lines += [
            f"Measured on {environment['cores']} cores with torch "
            f"{environment['torch']} (default {environment['torch_threads']} "
            f"threads), skae commit {environment['commit'] or 'unknown'}; "
            "1-minute load average before each state, at most: "
            + ", ".join(f"{state} {load:.2f}" for state, load in loads.items())
            + ".",
            "",
        ]
    lines += [".. list-table::", "   :header-rows: 1", ""]
    for line in [header] + [[_cell(row[key]) for key in header] for row in table]:
        lines.append(f"   * - {line[0]}")
        lines.extend(f"     - {cell}" for cell in line[1:])
    return "\n".join(lines) + "\n"


def environment():
    return {
        **speed.environment(),
        "cores": os.cpu_count(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }


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
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: a smoke run of seconds"
    )
    parser.add_argument("--datasets", nargs="+", choices=["digits", "mnist"])
    parser.add_argument("--models", nargs="+", choices=MODELS)
    parser.add_argument(
        "--n-jobs",
        nargs="+",
        choices=list(N_JOBS),
        help="skae's n_jobs: auto (None, the default) and/or torch (-1: torch's "
        "own setting, as skae did before n_jobs); default: auto",
    )
    parser.add_argument("--states", nargs="+", choices=STATES)
    parser.add_argument("--repeats", type=int, help="repeats per contender (digits)")
    parser.add_argument("--mnist-repeats", type=int, help="repeats (synthetic)")
    parser.add_argument("--digits-epochs", type=int)
    parser.add_argument("--mnist-epochs", type=int)
    parser.add_argument("--mnist-rows", type=int)
    parser.add_argument(
        "--busy-seconds",
        type=float,
        help="how long each busy process may run at most (default 3600)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        help="where to write the results "
        "(default benchmarks/results/contention-<time>.json)",
    )
    parser.add_argument("--rst", type=Path, help="also write an RST table here")


def config_from(args):
    overrides = {
        key: value
        for key, value in {
            "datasets": tuple(args.datasets) if args.datasets else None,
            "models": tuple(args.models) if args.models else None,
            "n_jobs": tuple(args.n_jobs) if args.n_jobs else None,
            "states": tuple(args.states) if args.states else None,
            "repeats": args.repeats,
            "mnist_repeats": args.mnist_repeats,
            "digits_epochs": args.digits_epochs,
            "mnist_epochs": args.mnist_epochs,
            "mnist_rows": args.mnist_rows,
            "busy_seconds": args.busy_seconds,
        }.items()
        if value is not None
    }
    return Config.quick(**overrides) if args.quick else Config(**overrides)


def run_command(args, argv=None):
    """Run the benchmark the parsed ``args`` describe; return the timings."""
    config = config_from(args)
    timings = run(config)
    print()
    print(text_table(timings))
    report = {
        "environment": environment(),
        "config": {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in vars(config).items()
        },
        "timings": [as_dict(timing) for timing in timings],
    }
    path = args.json or RESULTS / time.strftime("contention-%Y%m%d-%H%M%S.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(f"\nresults written to {path}")
    if args.rst:
        args.rst.write_text(rst_table(timings, report["environment"]))
        print(f"RST table written to {args.rst}")
    return timings
