"""Which input scaling should skae use by default? A study on held-out data.

Run from the repository root::

    python -m benchmarks scaling-study --mnist-npz mnist.npz
    python -m benchmarks scaling-study --quick       # a smoke run of seconds

Every model gets ``standardize=False`` and data scaled outside it, ``(X -
mean) / scale`` with the training rows' statistics (:class:`Scaled`): its
reconstructions are mapped back and the VAE's log-likelihoods corrected by
the log-Jacobian ``-sum(log scale_j)``, so every figure is in raw units and
comparable across strategies (:data:`STRATEGIES`; ``default`` is the
model's own ``standardize=True``). The VAE's variance floor is relative to
the average feature variance of the data it is given, so each strategy
implies its own floor per feature, as it would if skae adopted it.

Metrics as in ``quality.py`` (its ``evaluate``; no feature is dropped), at
defaults except ``n_components``, ``random_state`` and ``device="cpu"``. For
time, MNIST uses a 5,000 / 2,000 subset, ``max_epochs=100`` and one seed,
patches one seed, the other sets 3 seeds. Prints Markdown tables
(strategies by data sets, mean over seeds) and writes the raw numbers to
``--json``; ``--from-json A.json B.json`` prints the tables of earlier runs.
"""

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

import skae

from . import _data, quality
from . import _harness as h

STUDY_DATASETS = ["mnist", "digits", "patches", "breast_cancer", "wine"]
STUDY_DATASETS += ["large_unit_column", "counts"]
MODELS = ("AutoencoderTransformer", "VAE")
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
        return X.mean(axis=0), np.maximum(_std(X), fraction * _typical(X, kind))

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


class Scaled:
    """A model fitted on ``(X - mean) / scale``, its figures in raw units."""

    def __init__(self, estimator, mean, scale):
        self.estimator, self.mean, self.scale = estimator, mean, scale

    def get_params(self):
        return self.estimator.get_params()

    def fit(self, X):
        self.n_iter_ = self.estimator.fit((X - self.mean) / self.scale).n_iter_
        return self

    def transform(self, X):
        return self.estimator.transform((X - self.mean) / self.scale)

    def inverse_transform(self, codes):
        return self.estimator.inverse_transform(codes) * self.scale + self.mean

    def score_samples(self, X):
        scores = self.estimator.score_samples((X - self.mean) / self.scale)
        return scores - np.sum(np.log(self.scale))  # the log-Jacobian


# ----------------------------------------------------------------------
# The study


def load(name, seed, args):
    if name == "mnist":
        sizes = (args.mnist_train, args.mnist_test, args.mnist_npz)
        return _data.mnist_subset(seed, *sizes)
    sizes = dict(n_train=args.max_train, n_test=args.max_test)
    return quality.DATASETS[name].load(seed, **(sizes if args.max_train else {}))


def one_run(name, seed, model, strategy, args, log=print):
    """Load data set ``name`` with ``seed``; fit and measure one model."""
    h.set_threads(args.threads)
    dataset = quality.DATASETS[name]
    X_train, X_test, _ = load(name, seed, args)
    max_epochs = args.mnist_max_epochs if name == "mnist" else args.max_epochs
    params = {"max_epochs": max_epochs} if max_epochs else {}
    params.update(standardize=STRATEGIES[strategy] is None, device="cpu")
    k = dataset.n_components
    inner = getattr(skae, model)(n_components=k, random_state=seed, **params)
    estimator = Scaled(inner, *(STRATEGIES[strategy] or no_scaling)(X_train))
    record = quality.Record(name, model, seed, k, len(X_train), len(X_test))
    data = (X_train, X_test, dataset.standardized_errors)
    quality.evaluate(estimator, model == "VAE", *data, record)
    run = {**asdict(record), "strategy": strategy}
    ll = np.nan if record.log_likelihood is None else record.log_likelihood
    log(
        f"{name:17s} seed {seed} {model:22s} {strategy:24s} "
        f"FVU {record.fvu:8.4g} LL {ll:9.1f} {record.fit_seconds:6.1f} s "
        f"{record.n_iter} ep" + (f" FAILED {record.error}" if record.error else "")
    )
    return run


def study(args, log=print):
    """Every (data set, seed, model, strategy) run; ``args.jobs`` at a time."""
    tasks = []
    for name in args.datasets:
        try:
            load(name, 0, args)
        except _data.DataUnavailable as exc:
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
    quality.warm_up()
    if args.jobs == 1:
        return [one_run(*task, args, log) for task in tasks]
    return Parallel(n_jobs=args.jobs)(
        delayed(one_run)(*task, args, log) for task in tasks
    )


def _cell(runs, metric):
    values = np.array([run[metric] for run in runs], dtype=float)
    if not len(values):
        return ""
    if not np.all(np.isfinite(values)):
        return "non-finite"
    digits = {"log_likelihood": ".1f", "n_iter": ".0f"}.get(metric, ".3g")
    text = f"{values.mean():{digits}}"
    # hit_max_epochs: runs saved before the study measured through quality.py
    return text + "*" * any(r.get("hit_limit", r.get("hit_max_epochs")) for r in runs)


def markdown_table(runs, model, metric):
    datasets = list(dict.fromkeys(run["dataset"] for run in runs))
    rows = []
    for strategy in STRATEGIES:
        cells = [
            _cell(
                [
                    r
                    for r in runs
                    if (r["model"], r["strategy"], r["dataset"]) == (model, strategy, d)
                    and r["error"] is None
                ],
                metric,
            )
            for d in datasets
        ]
        if any(cells):
            rows.append([strategy, *cells])
    return h.table(["strategy", *datasets], rows, "markdown")


TABLES = [
    ("AutoencoderTransformer", "fvu", "AutoencoderTransformer: held-out FVU"),
    ("VAE", "log_likelihood", "VAE: held-out log-likelihood (nats per row)"),
    ("VAE", "fvu", "VAE: held-out FVU"),
    ("AutoencoderTransformer", "n_iter", "AutoencoderTransformer: epochs"),
    ("VAE", "n_iter", "VAE: epochs"),
]


def report(runs):
    out = [
        f"### {title}\n\n{markdown_table(runs, model, metric)}\n"
        for model, metric, title in TABLES
    ]
    out.append("Mean over the seeds; * = ran all max_epochs in at least one seed.")
    problems = [
        f"- {r['dataset']}, {r['model']}, {r['strategy']}, seed {r['seed']}: "
        + (
            r["error"]
            or ("non-finite outputs" if r["nonfinite"] else "; ".join(r["warnings"]))
        )
        for r in runs
        if r["error"] or r["nonfinite"] or r["warnings"]
    ]
    if problems:
        out.append("\nProblems:\n\n" + "\n".join(problems))
    return "\n".join(out)


def add_arguments(parser):
    h.add_common(parser, jobs=1)
    parser.add_argument("--datasets", nargs="+", default=STUDY_DATASETS)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    for name, default in (
        ("--seeds", 3),
        ("--mnist-seeds", 1),
        ("--patches-seeds", 1),
        ("--mnist-train", 5000),
        ("--mnist-test", 2000),
        ("--mnist-max-epochs", 100),
    ):
        parser.add_argument(name, type=int, default=default)
    parser.add_argument("--mnist-npz", help="offline MNIST (keys x_train, x_test)")
    parser.add_argument("--max-train", type=int, help="cap the rows of other sets")
    parser.add_argument("--max-test", type=int)
    parser.add_argument("--max-epochs", type=int, help="cap max_epochs")
    parser.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        help="only print the tables of the runs in these files",
    )
    parser.set_defaults(json=h.RESULTS / "scaling_study.json")


def run_command(args, argv=()):
    if args.from_json:
        files = [json.loads(Path(path).read_text()) for path in args.from_json]
        runs = [row for saved in files for row in saved["runs"]]
        print(report(runs))
        return runs
    if args.quick:
        args.seeds = args.mnist_seeds = args.patches_seeds = 1
        args.max_train, args.max_test = 200, 100
        args.mnist_train, args.mnist_test = 200, 100
        args.max_epochs = args.mnist_max_epochs = args.max_epochs or 3
        args.datasets = [d for d in args.datasets if d != "mnist" or args.mnist_npz]
    h.set_threads(args.threads)
    start = time.perf_counter()
    runs = study(args, log=lambda message: print(message, flush=True))
    seconds = time.perf_counter() - start
    print(f"\n{report(runs)}\n\nTotal {seconds:.0f} s")
    report_ = h.report("scaling-study", argv, total_seconds=seconds, runs=runs)
    h.save_json(report_, args.json)
    return runs
