"""Quality of skae's models at their default settings, against PCA and FA.

``python -m benchmarks quality [--quick] [--mnist-npz PATH]``; the protocol
(data sets, metrics) is in ``docs/quality.rst`` ("Protocol").
"""

import json
import os
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA, FactorAnalysis

import skae

from . import _data
from . import _harness as h
from ._data import DataUnavailable


@dataclass(frozen=True)
class Dataset:
    """A data set of the matrix: its loader, ``k``, errors in standard units?"""

    load: callable
    n_components: int
    standardized_errors: bool = False


DATASETS = {
    "mnist": Dataset(_data.mnist_subset, 16),
    "digits": Dataset(_data.digits_split, 8),
    "patches": Dataset(_data.patches, 16),
    "breast_cancer": Dataset(_data.breast_cancer_split, 4, True),
    "wine": Dataset(_data.wine_split, 4, True),
    "large_unit_column": Dataset(_data.large_unit_column, 4, True),
    "manifold": Dataset(_data.swiss_roll, 2),
    "linear_gaussian": Dataset(_data.linear_gaussian, 4),
    "counts": Dataset(_data.counts, 4),
}


def drop_constant_features(X_train, X_test):
    """Both splits without the features constant in ``X_train`` (as
    ``VarianceThreshold()``; why: ``docs/quality.rst``)."""
    varying = np.ptp(X_train, axis=0) > 0
    return X_train[:, varying], X_test[:, varying]


# ----------------------------------------------------------------------
# Models


@dataclass(frozen=True)
class Model:
    """A model of the matrix; ``skae`` models take the extra skae parameters."""

    build: callable  # (n_components, seed) -> estimator
    log_likelihood: bool  # is score() a log-likelihood?
    skae: bool = False


def _classic(cls, n_components, seed):
    return cls(n_components=n_components, random_state=seed)


def _skae_model(name, log_likelihood=False):
    def build(n_components, seed, **params):
        return getattr(skae, name)(
            n_components=n_components, random_state=seed, device="cpu", **params
        )

    return Model(build, log_likelihood, skae=True)


# Every model that may exist; skae models the installed skae lacks are
# skipped (see available_models).
MODELS = {
    **{
        name: _skae_model(name, log_likelihood=name in ("VAE", "IWAE"))
        for name in ("AutoencoderTransformer", "SparseAutoencoder")
        + ("DenoisingAutoencoder", "ContractiveAutoencoder", "VAE", "IWAE")
    },
    **{
        cls.__name__: Model(partial(_classic, cls), log_likelihood=True)
        for cls in (PCA, FactorAnalysis)
    },
}
REFERENCE_MODEL = "PCA"


def available_models(names=None):
    """The names in ``names`` (default: all) whose model is installed."""
    return [n for n in names or MODELS if not MODELS[n].skae or getattr(skae, n, None)]


# ----------------------------------------------------------------------
# Metrics


def fvu(X_train, X_test, reconstruction, standardized=False):
    """Fraction of variance unexplained on ``X_test``: see ``docs/quality.rst``."""
    if standardized:
        scale = X_train.std(axis=0)
        scale[scale == 0] = 1.0
    else:
        scale = 1.0
    squared_errors = (((reconstruction - X_test) / scale) ** 2).mean(axis=0)
    variances = (X_train / scale).var(axis=0)
    return float(squared_errors.sum() / variances.sum())


def reconstruct(estimator, codes):
    """``inverse_transform(codes)``; FactorAnalysis has none: the mean of p(x|z)."""
    if isinstance(estimator, FactorAnalysis):
        return codes @ estimator.components_ + estimator.mean_
    return estimator.inverse_transform(codes)


@dataclass
class Record:
    """One model fitted on one data set with one seed."""

    dataset: str
    model: str
    seed: int
    n_components: int
    n_train: int
    n_test: int
    fvu: float = float("nan")
    fvu_ratio: float = float("nan")  # to REFERENCE_MODEL's, same seed
    log_likelihood: float | None = None
    fit_seconds: float = float("nan")
    fit_cpu_seconds: float = float("nan")  # process CPU time: robust to a busy machine
    n_iter: int | None = None
    iteration_limit: int | None = None
    hit_limit: bool | None = None
    warnings: dict = field(default_factory=dict)
    nonfinite: list = field(default_factory=list)
    error: str | None = None


def evaluate(estimator, log_likelihood, X_train, X_test, standardized, record):
    """Fit ``estimator`` on ``X_train``, fill ``record`` with its metrics."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            estimator.fit(X_train)
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            record.error = f"{type(exc).__name__}: {exc}"
            return record
        record.fit_seconds = time.perf_counter() - start
        record.fit_cpu_seconds = time.process_time() - start_cpu
    record.warnings = dict(
        Counter(f"{w.category.__name__}: {str(w.message)[:200]}" for w in caught)
    )
    record.n_iter = getattr(estimator, "n_iter_", None)
    params = estimator.get_params()
    record.iteration_limit = params.get("max_epochs", params.get("max_iter"))
    if record.n_iter is not None and record.iteration_limit is not None:
        record.n_iter = int(record.n_iter)
        record.hit_limit = record.n_iter >= record.iteration_limit
    with np.errstate(all="ignore"):
        codes = estimator.transform(X_test)
        reconstruction = reconstruct(estimator, codes)
        outputs = {"codes": codes, "reconstruction": reconstruction}
        record.fvu = fvu(X_train, X_test, reconstruction, standardized)
        if log_likelihood:
            scores = estimator.score_samples(X_test)
            outputs["score"] = scores
            record.log_likelihood = float(np.mean(scores))
    record.nonfinite = [k for k, v in outputs.items() if not np.all(np.isfinite(v))]
    return record


# ----------------------------------------------------------------------
# Runs


@dataclass
class QualityConfig(h.Config):
    """What one run measures; :meth:`quick` is a smoke run of seconds."""

    datasets: tuple = h.option(
        tuple(DATASETS), "data sets", choices=list(DATASETS), metavar="NAME"
    )
    models: tuple = h.option(
        tuple(MODELS), "models", choices=list(MODELS), metavar="NAME"
    )
    seeds: int = h.option(3, "seeds per data set")
    mnist_seeds: int = h.option(1, "seeds for MNIST")
    max_train: int | None = None  # caps on the rows of every data set
    max_test: int | None = None
    mnist_npz: str | None = h.option(None, "offline MNIST (keys x_train, x_test)")
    download: bool = True  # may MNIST come from OpenML?
    skae_params: dict = field(default_factory=dict)  # e.g. a max_epochs cap
    QUICK = dict(seeds=1, mnist_seeds=1, max_train=300, max_test=100)
    QUICK.update(download=False, skae_params={"max_epochs": 5})
    JOBS = os.cpu_count() or 1


def matrix_seeds(config):
    """``(data set, seed)`` of each fit of ``config``: MNIST with its own
    number of seeds, and only from a file when downloads are off."""
    for name in config.datasets:
        if name == "mnist" and not (config.mnist_npz or config.download):
            continue
        for seed in range(config.mnist_seeds if name == "mnist" else config.seeds):
            yield name, seed


def _load(name, seed, config):
    caps = {"n_train": config.max_train, "n_test": config.max_test}
    sizes = {key: value for key, value in caps.items() if value}
    if name == "mnist":
        sizes.update(npz=config.mnist_npz, download=config.download)
    X_train, X_test, references = DATASETS[name].load(seed, **sizes)
    return (*drop_constant_features(X_train, X_test), references)


def warm_up():
    """One untimed tiny fit: torch's lazy start-up is not charged to a model."""
    X = np.random.RandomState(0).normal(size=(20, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch: a ConvergenceWarning
        skae.AutoencoderTransformer(max_epochs=1, device="cpu").fit(X)


def run_seed(name, seed, config, log=print, models=None):
    """Fit ``models`` (default: those of ``config``) on data set ``name``
    drawn with ``seed``: ``(records, entry, cpu_seconds)``, ``entry`` the data's
    sizes and reference log-likelihoods, or ``"skipped"`` and the reason."""
    start_cpu = time.process_time()
    dataset = DATASETS[name]
    try:
        X_train, X_test, references = _load(name, seed, config)
    except DataUnavailable as exc:
        log(f"{name}: skipped: {exc}")
        return [], {"skipped": str(exc)}, time.process_time() - start_cpu
    entry = {k: getattr(dataset, k) for k in ("n_components", "standardized_errors")}
    entry.update(n_train=len(X_train), n_test=len(X_test), n_features=X_train.shape[1])
    entry.update(zero_fraction=float(np.mean(X_train == 0)), references=references)
    records = {}
    for model_name in models or available_models(config.models):
        model = MODELS[model_name]
        params = config.skae_params if model.skae else {}
        estimator = model.build(dataset.n_components, seed, **params)
        sizes = (dataset.n_components, len(X_train), len(X_test))
        record = Record(name, model_name, seed, *sizes)
        data = (X_train, X_test, dataset.standardized_errors)
        evaluate(estimator, model.log_likelihood, *data, record)
        records[model_name] = record
        log(
            f"{name:18s} seed {seed} {model_name:22s} FVU {record.fvu:9.4g} "
            f"fit {record.fit_seconds:7.1f} s ({record.fit_cpu_seconds:7.1f} s CPU)"
            + (f"  FAILED {record.error}" if record.error else "")
        )
    return list(records.values()), entry, time.process_time() - start_cpu


def _set_fvu_ratios(records):
    """Each record's FVU over the reference model's, same data set and seed."""
    reference = {
        (r.dataset, r.seed): r.fvu for r in records if r.model == REFERENCE_MODEL
    }
    for record in records:
        if (record.dataset, record.seed) in reference:
            record.fvu_ratio = record.fvu / reference[record.dataset, record.seed]


def _units(config):
    """``(data set, seed, models)`` to fit; each MNIST model apart (they then
    run side by side in several processes)."""
    models, units = tuple(available_models(config.models)), []
    for name in config.datasets:
        seeds = range(config.mnist_seeds if name == "mnist" else config.seeds)
        groups = [(model,) for model in models] if name == "mnist" else [models]
        units += [(name, seed, group) for seed in seeds for group in groups]
    return units


def run(config, log=print, jobs=1, threads=None):
    """Fit every model on every data set and seed; return ``(records, info)``.

    ``info`` maps each data set to its sizes, ``n_components``, how its
    errors are measured, its reference log-likelihoods (a list over seeds)
    and ``cpu_seconds`` (summed over its seeds), or to the reason it was
    skipped. The units (:func:`_units`) run in ``jobs`` processes
    (:func:`~benchmarks._harness.run_units`), in the order of
    ``config.datasets`` (put the longest first).
    """
    units = _units(config)
    calls = [(name, seed, config, log, models) for name, seed, models in units]
    results = h.run_units(run_seed, calls, jobs, threads, setup=warm_up)
    records, info, seen = [], {}, set()
    for (name, seed, _), (unit_records, entry, cpu_seconds) in zip(units, results):
        records.extend(unit_records)
        if "skipped" in entry:
            info[name] = entry
            continue
        merged = info.setdefault(name, {**entry, "references": {}, "cpu_seconds": 0})
        merged["cpu_seconds"] += cpu_seconds
        if (name, seed) not in seen:  # once per seed, whatever its units
            seen.add((name, seed))
            for ref, value in entry["references"].items():
                merged["references"].setdefault(ref, []).append(value)
    _set_fvu_ratios(records)
    return records, info


# ----------------------------------------------------------------------
# Tables


def _number(value, digits):
    """``digits`` significant digits, or one decimal when ``digits`` is 0."""
    if digits == 0 and abs(value) < 1e5:
        return f"{value:.1f}"
    return f"{value:.{digits or 3}g}"


def _summary(values, digits):
    """``mean [min, max]`` of the values (only the value when there is one)."""
    values = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    if len(values) == 0:
        return "n/a"  # a lone "-" would read as a list item in RST
    if not np.all(np.isfinite(values)):
        return "non-finite"
    if len(values) == 1:
        return _number(values[0], digits)
    low, mean, high = (_number(f(values), digits) for f in (np.min, np.mean, np.max))
    return f"{mean} [{low}, {high}]"


def _fit_cell(records):
    seconds = np.mean([r.fit_cpu_seconds for r in records])
    n_iter = [r.n_iter for r in records if r.n_iter is not None]
    cell = f"{seconds:.1f}"
    if n_iter:
        cell += f" / {np.mean(n_iter):.0f}"
        if any(r.hit_limit for r in records):
            cell += "*"
    return cell


def _mean_range(attribute, digits):
    return lambda records: _summary([getattr(r, attribute) for r in records], digits)


FIT = "Fit CPU seconds / epochs or iterations (* = ran to the limit in a seed)"
# (title, cell of a list of records, log-likelihood models only?)
BLOCKS = [
    ("Held-out FVU / PCA's FVU (lower is better)", _mean_range("fvu_ratio", 3), False),
    (
        "Held-out FVU, fraction of variance unexplained (lower is better)",
        _mean_range("fvu", 3),
        False,
    ),
    (
        "Held-out log-likelihood, nats per row (higher is better)",
        _mean_range("log_likelihood", 0),
        True,
    ),
    (FIT, _fit_cell, False),
]


def table_blocks(records, info):
    """``[(title, header, rows)]``: one block per metric, data sets by models."""
    grid = {}
    for r in records:
        grid.setdefault(r.dataset, {}).setdefault(r.model, []).append(r)
    models = list(dict.fromkeys(r.model for r in records))
    references = list(
        dict.fromkeys(
            ref for entry in info.values() for ref in entry.get("references", {})
        )
    )
    blocks = []
    for title, cell, likelihood_only in BLOCKS:
        shown = [m for m in models if not likelihood_only or MODELS[m].log_likelihood]
        header = ["data set (k)", *shown] + (references if likelihood_only else [])
        rows = []
        for dataset, by_model in grid.items():
            row = [f"{dataset} ({info[dataset]['n_components']})"]
            for model in shown:
                failed = [r for r in by_model.get(model, []) if r.error]
                ok = [r for r in by_model.get(model, []) if not r.error]
                row.append("failed" if failed and not ok else cell(ok) if ok else "n/a")
            if likelihood_only:
                for ref in references:
                    values = info[dataset]["references"].get(ref)
                    row.append(_summary(values, 0) if values else "n/a")
            rows.append(row)
        blocks.append((title, header, rows))
    return blocks


def notes(records, info):
    """Lines on skipped data sets, failures, warnings and non-finite outputs."""
    lines = [
        f"{name}: skipped ({entry['skipped']})"
        for name, entry in info.items()
        if "skipped" in entry
    ]
    for r in records:
        where = f"{r.dataset}, {r.model}, seed {r.seed}"
        if r.error:
            lines.append(f"{where}: failed: {r.error}")
        if r.nonfinite:
            lines.append(f"{where}: non-finite {', '.join(r.nonfinite)}")
        for warning, count in r.warnings.items():
            lines.append(f"{where}: {count} x {warning}")
    return lines


def text_tables(records, info):
    """Plain-text tables for the terminal."""
    return "\n\n".join(
        f"{title}\n\n{h.table(header, rows)}"
        for title, header, rows in table_blocks(records, info)
    )


def _rst_escape(text):
    """``text`` with RST's inline markup characters escaped (warning messages)."""
    for character in "\\*`|_":
        text = text.replace(character, "\\" + character)
    return text


def rst_tables(records, info, footer):
    """reStructuredText: one titled simple table per metric, then ``footer``."""
    out = [
        f"**{title}**\n\n{h.table(header, rows, 'rst')}\n"
        for title, header, rows in table_blocks(records, info)
    ]
    extra = notes(records, info)
    if extra:
        lines = "\n".join(f"- {_rst_escape(line)}" for line in extra)
        out.append(f"Notes:\n\n{lines}\n")
    return "\n".join(out) + f"\n{footer}\n"


# ----------------------------------------------------------------------
# Command line


def add_arguments(parser):
    QualityConfig.add_arguments(parser)
    parser.add_argument("--max-epochs", type=int, help="cap max_epochs of skae models")
    parser.add_argument(
        "--from-json",
        type=Path,
        help="fit nothing: print and write the tables of a run saved by --json",
    )
    parser.add_argument(
        "--rst",
        type=Path,
        default=h.RESULTS / "quality.rst",
        help="where to write the RST tables (default benchmarks/results/quality.rst)",
    )


def footer(report):
    """The paragraph under the tables: statistics, versions, time, command."""
    env = report["environment"]
    text = (
        f"Mean [min, max] over the seeds (one figure: one seed). "
        f"skae {env['skae']} (commit {env['commit']}), scikit-learn "
        f"{env['sklearn']}, torch {env['torch']}, {env['torch_threads']} torch "
        f"thread(s), {env['cpu_count']} CPU(s). Total {report['total_seconds']:.0f} s "
        f"of wall time, {report['total_cpu_seconds']:.0f} s of CPU time. "
        f"Generated by ``{report['command']}``."
    )
    if report.get("quick"):
        text = "QUICK SMOKE RUN: not meaningful. " + text
    return text


def render(report, rst_path):
    """Print the tables of a ``report`` (as written to JSON); write them as RST."""
    records = [Record(**row) for row in report["results"]]
    info = report["datasets"]
    print()
    print(text_tables(records, info))
    extra = notes(records, info)
    if extra:
        print("\nNotes:\n" + "\n".join(extra))
    print(
        f"\nTotal {report['total_seconds']:.0f} s "
        f"({report['total_cpu_seconds']:.0f} s of CPU time)"
    )
    rst_path.parent.mkdir(parents=True, exist_ok=True)
    rst_path.write_text(rst_tables(records, info, footer(report)), encoding="utf-8")
    print(f"RST tables written to {rst_path}")
    return records


def run_command(args, argv=()):
    """Run the benchmark of the parsed ``args`` (or render ``--from-json``)."""
    if args.from_json:
        return render(json.loads(args.from_json.read_text()), args.rst)
    h.set_threads(args.threads)
    config = QualityConfig.from_args(args)
    if args.max_epochs:
        config.skae_params = {**config.skae_params, "max_epochs": args.max_epochs}
    start = time.perf_counter()
    records, info = run(config, h.log, jobs=args.jobs, threads=args.threads)
    cpu_seconds = sum(entry.get("cpu_seconds", 0) for entry in info.values())
    report = h.report(
        "quality",
        argv,
        quick=args.quick,
        jobs=args.jobs,
        total_seconds=time.perf_counter() - start,
        total_cpu_seconds=cpu_seconds,
        config=asdict(config),
        datasets=info,
        results=[asdict(record) for record in records],
    )
    h.save_json(report, args.json, "quality")
    return render(report, args.rst)
