"""Inference overhead: ``transform`` and ``score_samples`` against a bare forward.

A default ``AutoencoderTransformer`` and ``VAE``, fitted briefly, are timed
on digits (64 features) and on a synthetic set of 784 features, at each
number of rows, against a bare forward pass of the same module under
``torch.inference_mode``: for ``transform``, the encoder (``module.encode``)
on the already scaled float32 tensor of all the rows; for ``score_samples``,
``module.score_samples`` on it, with the estimator's keyword arguments
(``k_eval`` draws for the VAE). The two run interleaved (skae, bare, skae,
...), so a busy machine slows both alike; each cell reports their median
wall times and the median of the per-repeat ratios.

Separately, instrumented calls split skae's call into parts, each part's
own time (that of the parts inside it subtracted, as in the profile
benchmark):

- **validation**: ``_validate_X``, scikit-learn's checks and conversion;
- **scaling**: ``(X - mean_) / scale_`` of each chunk;
- **threads**: entering and leaving the thread policy (``torch_threads``);
- **forward**: the module's own method (``encode``, ``score_samples``);
- **output checks**: the finite-output check of ``transform``;
- **chunks, copies, rest**: everything else: padding each chunk, moving it
  in and out of torch, the output array, the fitted check.

Each run is made under two thread settings: one torch thread, and torch's
own setting with skae's automatic policy (``n_jobs=None``).
"""

import json
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

import skae
from skae._base import inference as skae_inference
from skae._base.scaling import standardize
from skae._base.tables import TableColumns

from . import _harness as h
from ._data import digits_data, synthetic_mnist
from .profile import PartTimer, patching

PARTS = (
    "validation",
    "scaling",
    "threads",
    "forward",
    "output checks",
    "chunks, copies, rest",
)
MODELS = ("AutoencoderTransformer", "VAE")
DATASETS = ("digits", "synthetic")
METHODS = ("transform", "score_samples")
POLICIES = ("1 thread", "default")


@dataclass
class InferenceConfig(h.Config):
    """Sizes of one run; :meth:`quick` is a smoke run of seconds."""

    rows: tuple = h.option((100, 1000, 100000), "rows per call")
    repeats: int = h.option(50, "interleaved calls per cell at most (median)")
    seconds: float = h.option(4.0, "seconds per cell, about: fewer repeats if slow")
    min_repeats: int = 3
    part_repeats: int = h.option(20, "instrumented calls per cell at most")
    fit_rows: int = 2000
    fit_epochs: int = 2
    synthetic_features: int = 784
    max_vae_score_rows: int = h.option(
        1000, "largest call of VAE.score_samples (k_eval=100 decoder passes a row)"
    )
    datasets: tuple = h.option(DATASETS, "data sets", choices=DATASETS)
    models: tuple = h.option(MODELS, "models", choices=MODELS)
    policies: tuple = h.option(POLICIES, "thread settings", choices=POLICIES)
    QUICK = dict(rows=(100, 300), repeats=3, part_repeats=2, fit_rows=300)
    QUICK.update(fit_epochs=1, synthetic_features=40, seconds=0.1)


def datasets(config):
    """``(name, training rows, rows to infer on)``: float64, as users pass."""
    n_rows = max(config.rows)
    for name in config.datasets:
        if name == "digits":
            X = digits_data()
            fit, test = X[: config.fit_rows], X
        else:
            width = config.synthetic_features
            fit = synthetic_mnist(config.fit_rows, width).astype(np.float64)
            test = synthetic_mnist(min(n_rows, 20000), width, random_state=1)
            name = f"synthetic {width}"
        # Rows repeated up to the largest call: the time does not depend
        # on which rows they are.
        yield name, fit, np.resize(test, (n_rows, test.shape[1])).astype(np.float64)


def fit_model(name, X, config):
    """A default model, fitted briefly (the weights do not change the time)."""
    model = getattr(skae, name)(random_state=0, max_epochs=config.fit_epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


def bare_forward(model, X, method):
    """The bare pass of ``method`` over ``X``, and nothing else, as a function."""
    module = model.net_.module_.eval()
    scaled = torch.from_numpy(standardize(X, model.mean_, model.scale_))
    scaled = scaled.to(torch.float32)
    kwargs = model._score_kwargs()

    def forward():
        with torch.inference_mode():
            if method == "transform":
                return module.encode(scaled)
            return module.score_samples(scaled, **kwargs)

    return forward


@contextmanager
def instrumented(timer, model):
    """Time the parts of an inference call of ``model`` by ``timer``."""
    module = model.net_.module_
    original_threads = skae_inference.torch_threads

    @contextmanager
    def threads(*args, **kwargs):
        context = original_threads(*args, **kwargs)
        timer.enter("threads")
        block = context.__enter__()
        timer.exit()
        try:
            yield block
        finally:
            timer.enter("threads")
            context.__exit__(None, None, None)
            timer.exit()

    targets = [
        (TableColumns, "_validate_X", "validation"),
        (skae_inference.Inference, "scale_rows", "scaling"),
        (skae_inference.Inference, "check_finite", "output checks"),
        (module, "encode", "forward"),
        (module, "score_samples", "forward"),
    ]
    with patching() as patch:
        for owner, name, part in targets:
            patch(owner, name, timer.wrap(getattr(owner, name), part))
        patch(skae_inference, "torch_threads", threads)
        yield


def call_parts(call, model, repeats):
    """Median own seconds of each part over ``repeats`` instrumented calls."""
    runs = []
    for _ in range(repeats):
        timer = PartTimer(PARTS)
        with instrumented(timer, model):
            timed = timer.wrap(call, "chunks, copies, rest")
            timed()
        runs.append(timer.seconds)
    return {part: h.median([run[part] for run in runs]) for part in PARTS}


def measure(model, X, method, config):
    """One cell: skae's call against the bare pass, and skae's parts."""
    call = lambda: getattr(model, method)(X)  # noqa: E731
    bare = bare_forward(model, X, method)
    once = h.timed(call) + h.timed(bare)
    repeats = int(np.clip(config.seconds / once, config.min_repeats, config.repeats))
    wall, _ = h.interleaved({"skae": call, "bare": bare}, repeats)
    parts = call_parts(call, model, min(repeats, config.part_repeats))
    return dict(
        repeats=repeats,
        skae_s=h.median(wall["skae"]),
        bare_s=h.median(wall["bare"]),
        ratio=h.pairwise_ratio(wall["skae"], wall["bare"]),
        parts=parts,
    )


@contextmanager
def thread_policy(policy, model, default_threads):
    """One torch thread (``n_jobs=1``), or torch's own setting and skae's
    automatic policy (``n_jobs=None``)."""
    one = policy == "1 thread"
    torch.set_num_threads(1 if one else default_threads)
    model.set_params(n_jobs=1 if one else None)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(default_threads)
        model.set_params(n_jobs=None)


def cells(config):
    """``(dataset, model name, fitted model, rows)`` of each fit."""
    for dataset, fit, X in datasets(config):
        for name in config.models:
            yield dataset, name, fit_model(name, fit, config), X


def run(config, log=print):
    """A row per data set, model, thread setting, method and number of rows."""
    rows, default_threads = [], torch.get_num_threads()
    for dataset, name, model, X in cells(config):
        for policy in config.policies:
            with thread_policy(policy, model, default_threads) as threads:
                for method in METHODS:
                    for n_rows in config.rows:
                        vae_score = name == "VAE" and method == "score_samples"
                        if vae_score and n_rows > config.max_vae_score_rows:
                            continue
                        row = dict(dataset=dataset, model=name, method=method)
                        row.update(policy=policy, threads=threads, rows=n_rows)
                        row.update(measure(model, X[:n_rows], method, config))
                        rows.append(row)
                        log(
                            f"{dataset} {name}.{method} {n_rows} rows, {policy}: "
                            f"{1e3 * row['skae_s']:.3f} ms, bare "
                            f"{1e3 * row['bare_s']:.3f} ms, {row['ratio']:.2f}x"
                        )
    return rows


# ----------------------------------------------------------------------
# Tables


def _key(row):
    return (row["dataset"], row["model"], row["method"], row["policy"])


def _ms(seconds):
    ms = 1e3 * seconds
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.3g}"


def _grouped(rows):
    """``{(data, model, method, threads): {rows: row}}``, in run order."""
    groups = {}
    for row in rows:
        groups.setdefault(_key(row), {})[row["rows"]] = row
    return groups


def ratio_rows(rows, sizes, before=()):
    """Per data, model, method and threads: the bare pass's time and the
    ratio skae / bare at each number of rows, with ``before``'s in brackets."""
    earlier = _grouped(before)
    out = []
    for key, cells in _grouped(rows).items():
        was = earlier.get(key, {})
        ratios = []
        for size in sizes:
            now = f"{cells[size]['ratio']:.2f}" if size in cells else "-"
            if size in was:
                now += f" ({was[size]['ratio']:.2f})"
            ratios.append(now)
        bare = "/".join(_ms(cells[size]["bare_s"]) for size in sizes if size in cells)
        out.append((*key[:2], f"``{key[2]}``", key[3], bare, *ratios))
    return out


def part_rows(rows, size):
    """The parts of each call of ``size`` rows, in microseconds."""
    return [
        (row["dataset"], row["model"], f"``{row['method']}``", row["policy"])
        + tuple(f"{1e6 * row['parts'][part]:.0f}" for part in PARTS)
        + (f"{1e6 * row['bare_s']:.0f}",)
        for row in rows
        if row["rows"] == size
    ]


def render(report, before=None):
    """The RST of a run: ratios (``before``'s in brackets) and parts."""
    rows, env = report["results"], report["environment"]
    sizes = sorted({row["rows"] for row in rows})
    header = ("data", "model", "method", "threads", "bare ms")
    header += tuple(f"{size:,} rows" for size in sizes)
    text = (
        f"Measured with torch {env['torch']} on {env['cores']} CPU core(s), "
        f"torch's own setting {env['torch_threads']} thread(s) "
        f"(``{report['command']}``). *bare ms*: the bare pass at each number "
        "of rows; then skae / bare, medians of interleaved calls"
    )
    if before:
        text += " (in brackets: before the change, ``--before`` run)"
    parts = ("data", "model", "method", "threads", *PARTS, "bare")
    return "\n".join(
        [
            text + ".",
            "",
            h.table(
                header,
                ratio_rows(rows, sizes, (before or {}).get("results", ())),
                "list-table",
            ),
            f"The parts of skae's calls of {sizes[0]} rows, in microseconds "
            "(own time of each part, medians of instrumented calls), beside the "
            "bare pass:",
            "",
            h.table(parts, part_rows(rows, sizes[0]), "list-table"),
        ]
    )


def add_arguments(parser):
    InferenceConfig.add_arguments(parser)
    h.output_arguments(parser, "inference")
    parser.add_argument(
        "--before",
        type=Path,
        metavar="JSON",
        help="an earlier run, whose ratios the table shows beside",
    )


def run_command(args, argv=()):
    h.set_threads(args.threads)
    before = json.loads(args.before.read_text()) if args.before else None
    if args.tables_from:
        report = json.loads(args.tables_from.read_text())
    else:
        config = InferenceConfig.from_args(args)
        report = h.report("inference", argv, config=asdict(config))
        report["results"] = run(config)
    return h.write_tables(args, report, lambda report: render(report, before))
