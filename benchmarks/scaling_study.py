"""Which input scaling should skae use by default? A study on held-out data.

Run from the repository root::

    python benchmarks/scaling_study.py --mnist-npz /work/shared/data/mnist.npz
    python benchmarks/scaling_study.py --quick       # a smoke run of seconds

Every model gets ``standardize=False`` and data scaled outside it, ``(X -
mean) / scale`` with the training rows' statistics; its reconstructions are
mapped back with ``* scale + mean`` and the VAE's log-likelihoods corrected by
the log-Jacobian ``-sum(log scale_j)``, so every figure is in the data's raw
units and comparable across strategies. Only the public API is used.

Strategies (``std_j`` and ``iqr_j`` are feature j's standard deviation and
interquartile range on the training rows; a "typical" std is either
``rms = sqrt(mean_j std_j^2)`` or the median of ``std_j``):

- ``default``: no outside scaling, the model's own ``standardize=True``
  (today's default). For the autoencoder it is the same map as ``std``; for
  the VAE it differs in the variance floor (see below).
- ``std``: per-feature standard deviation (zero -> 1).
- ``std, floor F x T``: ``max(std_j, F * T)``, ``F`` in {0.1, 0.3}, ``T``
  the rms or the median std.
- ``iqr, floor F x rms``: robust ``max(iqr_j / 1.349, F * rms)``.
- ``global rms``: centre each feature, divide all by the one number ``rms``.
- ``none``: the raw data.

The VAE's variance floor (``min_variance=1e-3``) is relative to the average
feature variance of the data it is given: with outside scaling it is
``1e-3`` times the mean variance of the *scaled* data in every scaled
feature, i.e. ``1e-3 * mean_var(scaled) * scale_j^2`` in raw units. So each
strategy implies its own floor per feature, as it would if skae adopted it
with today's floor rule; ``default`` keeps today's floor (uniform in raw
units).

Metrics as in ``benchmarks/quality.py``: held-out FVU (raw units for data on
one scale, per-feature standardized errors for the mixed-unit tables) and
held-out mean log-likelihood (nats per row, raw units). Models at defaults
except ``n_components`` (as in ``quality.py``), ``random_state`` and
``device="cpu"``. For time, MNIST uses a 5,000 train / 2,000 test subset,
``max_epochs=100`` and one seed (``--mnist-train``, ``--mnist-max-epochs``,
``--mnist-seeds``), patches one seed (``--patches-seeds``), the other sets 3
seeds (``--seeds``) and ``quality.py``'s sizes.
MNIST runs first, so that ``--jobs N`` (N processes) balances the load.

Prints Markdown tables (strategies by data sets, mean over seeds) and writes
all raw numbers to ``--json`` (default
``benchmarks/results/scaling_study.json``); ``--from-json A.json B.json``
prints the tables of earlier runs (e.g. a study run in parts) without
fitting anything.
"""

import argparse
import json
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed

# Runnable as ``python benchmarks/scaling_study.py`` from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import skae  # noqa: E402
from benchmarks.quality import (  # noqa: E402
    DATASETS,
    RESULTS,
    DataUnavailable,
    fvu,
    load_mnist,
    warm_up,
)
from benchmarks.speed import environment  # noqa: E402

STUDY_DATASETS = [
    "mnist",
    "digits",
    "patches",
    "breast_cancer",
    "wine",
    "large_unit_column",
    "counts",
]
MODELS = {"AutoencoderTransformer": skae.AutoencoderTransformer, "VAE": skae.VAE}
IQR_TO_STD = 1.349  # IQR of a normal distribution, in standard deviations


# ----------------------------------------------------------------------
# Strategies: each maps the training rows to a per-feature (mean, scale).


def _std(X):
    std = X.std(axis=0)
    return np.where(std > 0, std, 1.0)


def _typical(X, kind):
    std = X.std(axis=0)
    return np.sqrt(np.mean(std**2)) if kind == "rms" else np.median(std)


def std_scaling(X):
    return X.mean(axis=0), _std(X)


def floored_std(fraction, kind):
    def scaling(X):
        floor = fraction * _typical(X, kind)
        return X.mean(axis=0), np.maximum(_std(X), floor)

    return scaling


def floored_iqr(fraction, kind):
    def scaling(X):
        q1, q3 = np.percentile(X, [25, 75], axis=0)
        floor = fraction * _typical(X, kind)
        return X.mean(axis=0), np.maximum((q3 - q1) / IQR_TO_STD, floor)

    return scaling


def global_rms(X):
    return X.mean(axis=0), np.full(X.shape[1], _typical(X, "rms"))


def no_scaling(X):
    return np.zeros(X.shape[1]), np.ones(X.shape[1])


# name -> scaling function, or None for the model's own standardize=True
STRATEGIES = {
    "default": None,
    "std": std_scaling,
    "std, floor 0.1 x rms": floored_std(0.1, "rms"),
    "std, floor 0.3 x rms": floored_std(0.3, "rms"),
    "std, floor 0.1 x median": floored_std(0.1, "median"),
    "std, floor 0.3 x median": floored_std(0.3, "median"),
    "iqr, floor 0.1 x rms": floored_iqr(0.1, "rms"),
    "iqr, floor 0.3 x rms": floored_iqr(0.3, "rms"),
    "global rms": global_rms,
    "none": no_scaling,
}
# The autoencoder's default is the same map as "std": not run twice.
SKIP = {("AutoencoderTransformer", "default")}


# ----------------------------------------------------------------------
# One fit


@dataclass
class Run:
    dataset: str
    model: str
    strategy: str
    seed: int
    fvu: float = float("nan")
    log_likelihood: float | None = None
    fit_seconds: float = float("nan")
    n_iter: int | None = None
    hit_max_epochs: bool | None = None
    warnings: list = field(default_factory=list)
    nonfinite: bool = False
    error: str | None = None


def measure(
    model, strategy, X_train, X_test, n_components, standardized, run, **params
):
    """Fit ``model`` under ``strategy``; fill ``run`` with the raw-unit metrics."""
    scaling = STRATEGIES[strategy]
    if scaling is None:
        mean, scale = no_scaling(X_train)
        standardize = True
    else:
        mean, scale = scaling(X_train)
        standardize = False
    estimator = MODELS[model](
        n_components=n_components,
        standardize=standardize,
        random_state=run.seed,
        device="cpu",
        **params,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            estimator.fit((X_train - mean) / scale)
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            run.error = f"{type(exc).__name__}: {exc}"
            return run
        run.fit_seconds = time.perf_counter() - start
    run.warnings = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    run.n_iter = int(estimator.n_iter_)
    run.hit_max_epochs = run.n_iter >= estimator.max_epochs
    scaled_test = (X_test - mean) / scale
    with np.errstate(all="ignore"):
        codes = estimator.transform(scaled_test)
        reconstruction = estimator.inverse_transform(codes) * scale + mean
        run.fvu = fvu(X_train, X_test, reconstruction, standardized)
        outputs = [codes, reconstruction]
        if model == "VAE":
            scores = estimator.score_samples(scaled_test) - np.sum(np.log(scale))
            run.log_likelihood = float(np.mean(scores))
            outputs.append(scores)
    run.nonfinite = not all(np.all(np.isfinite(values)) for values in outputs)
    return run


# ----------------------------------------------------------------------
# The study


def load(name, seed, args):
    if name == "mnist":
        return load_mnist(
            seed, n_train=args.mnist_train, n_test=args.mnist_test, npz=args.mnist_npz
        )
    sizes = {}
    if args.max_train:
        sizes = {"n_train": args.max_train, "n_test": args.max_test}
    return DATASETS[name].load(seed, **sizes)


def one_run(name, seed, model, strategy, args, log=print):
    """Load data set ``name`` with ``seed``; fit and measure one model."""
    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = DATASETS[name]
    X_train, X_test, _ = load(name, seed, args)
    max_epochs = args.mnist_max_epochs if name == "mnist" else args.max_epochs
    params = {"max_epochs": max_epochs} if max_epochs else {}
    run = measure(
        model,
        strategy,
        X_train,
        X_test,
        dataset.n_components,
        dataset.standardized_errors,
        Run(name, model, strategy, seed),
        **params,
    )
    ll = np.nan if run.log_likelihood is None else run.log_likelihood
    log(
        f"{name:17s} seed {seed} {model:22s} {strategy:24s} "
        f"FVU {run.fvu:8.4g} LL {ll:9.1f} {run.fit_seconds:6.1f} s {run.n_iter} ep"
        + (f" FAILED {run.error}" if run.error else "")
    )
    return run


def study(args, log=print):
    """Every (data set, seed, model, strategy) run; ``args.jobs`` at a time."""
    tasks = []
    for name in args.datasets:
        try:
            load(name, 0, args)
        except DataUnavailable as exc:
            log(f"{name}: skipped: {exc}")
            continue
        seeds = {"mnist": args.mnist_seeds, "patches": args.patches_seeds}
        for seed in range(seeds.get(name, args.seeds)):
            tasks += [
                (name, seed, model, strategy)
                for model in args.models
                for strategy in args.strategies
                if (model, strategy) not in SKIP
            ]
    warm_up()
    if args.jobs == 1:
        return [one_run(*task, args, log) for task in tasks]
    return Parallel(n_jobs=args.jobs)(
        delayed(one_run)(*task, args, log) for task in tasks
    )


def _cell(runs, metric):
    values = np.array([getattr(r, metric) for r in runs], dtype=float)
    if not len(values):
        return ""
    if not np.all(np.isfinite(values)):
        return "non-finite"
    mean = values.mean()
    text = f"{mean:.1f}" if metric == "log_likelihood" else f"{mean:.3g}"
    if metric == "n_iter":
        text = f"{mean:.0f}"
    if any(r.hit_max_epochs for r in runs):
        text += "*"
    return text


def markdown_table(runs, model, metric):
    datasets = list(dict.fromkeys(r.dataset for r in runs))
    header = ["strategy", *datasets]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for strategy in STRATEGIES:
        cells = [
            _cell(
                [
                    r
                    for r in runs
                    if (r.model, r.strategy, r.dataset) == (model, strategy, d)
                    and r.error is None
                ],
                metric,
            )
            for d in datasets
        ]
        if any(cells):
            lines.append("| " + " | ".join([strategy, *cells]) + " |")
    return "\n".join(lines)


TABLES = [
    ("AutoencoderTransformer", "fvu", "AutoencoderTransformer: held-out FVU"),
    ("VAE", "log_likelihood", "VAE: held-out log-likelihood (nats per row)"),
    ("VAE", "fvu", "VAE: held-out FVU"),
    ("AutoencoderTransformer", "n_iter", "AutoencoderTransformer: epochs"),
    ("VAE", "n_iter", "VAE: epochs"),
]


def report(runs):
    out = []
    for model, metric, title in TABLES:
        out.append(f"### {title}\n\n{markdown_table(runs, model, metric)}\n")
    out.append("Mean over the seeds; * = ran all max_epochs in at least one seed.")
    problems = [
        f"- {r.dataset}, {r.model}, {r.strategy}, seed {r.seed}: "
        + (r.error or ("non-finite outputs" if r.nonfinite else "; ".join(r.warnings)))
        for r in runs
        if r.error or r.nonfinite or r.warnings
    ]
    if problems:
        out.append("\nProblems:\n\n" + "\n".join(problems))
    return "\n".join(out)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=STUDY_DATASETS)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--mnist-seeds", type=int, default=1)
    parser.add_argument("--patches-seeds", type=int, default=1)
    parser.add_argument("--mnist-npz", help="offline MNIST (keys x_train, x_test)")
    parser.add_argument("--mnist-train", type=int, default=5000)
    parser.add_argument("--mnist-test", type=int, default=2000)
    parser.add_argument("--max-train", type=int, help="cap the rows of other sets")
    parser.add_argument("--max-test", type=int)
    parser.add_argument("--max-epochs", type=int, help="cap max_epochs")
    parser.add_argument(
        "--mnist-max-epochs", type=int, default=100, help="max_epochs on MNIST"
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        help="only print the tables of the runs in these files (from --json)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: tiny sizes, 3 epochs"
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs at a time, in separate processes"
    )
    parser.add_argument(
        "--json", type=Path, default=RESULTS / "scaling_study.json", help="raw numbers"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = args.mnist_seeds = args.patches_seeds = 1
        args.max_train, args.max_test = 200, 100
        args.mnist_train, args.mnist_test = 200, 100
        args.max_epochs = args.max_epochs or 3
        args.mnist_max_epochs = args.max_epochs
        args.datasets = [d for d in args.datasets if d != "mnist" or args.mnist_npz]
    return args


def load_runs(paths):
    """The runs stored by ``--json`` in ``paths``, in order."""
    names = set(Run.__dataclass_fields__)
    return [
        Run(**{key: value for key, value in row.items() if key in names})
        for path in paths
        for row in json.loads(Path(path).read_text())["runs"]
    ]


def main(argv=None):
    args = parse_args(argv)
    if args.from_json:
        runs = load_runs(args.from_json)
        print(report(runs))
        return runs
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    runs = study(args, log=lambda message: print(message, flush=True))
    seconds = time.perf_counter() - start
    print()
    print(report(runs))
    print(f"\nTotal {seconds:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "environment": environment(),
                "command": "python benchmarks/scaling_study.py "
                + " ".join(sys.argv[1:] if argv is None else argv),
                "total_seconds": seconds,
                "runs": [asdict(run) for run in runs],
            },
            indent=2,
        )
    )
    print(f"results written to {args.json}")
    return runs


if __name__ == "__main__":
    main()
