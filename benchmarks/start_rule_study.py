"""When should a model leave its linear start? A study of the keep-the-start rule.

``python -m benchmarks start-rule-study --rule one-se --mnist-npz mnist.npz``
fits the skae models of the quality matrix (:mod:`benchmarks.quality`) under
a rule (:data:`RULES`: skae's, one or two standard errors) and records, for
every fit whose best epoch is compared with its start (``clearly_beats`` of
skae's private schedule module), the paired gain on the validation rows
(:func:`gain_summary`) and what the model does on the held-out rows.
``docs/quality.rst`` ("Why on most of the rows") reads such a run. Prints a
Markdown table and writes all numbers to ``--json``.
"""

import json
import time
from dataclasses import asdict, dataclass

import numpy as np

from skae._base import schedule

from . import _harness as h
from . import quality

SKAE_MODELS = [name for name in quality.available_models() if quality.MODELS[name].skae]


def beats_by_standard_errors(count):
    """The rule "the mean paired gain exceeds ``count`` standard errors"."""

    def rule(losses, reference_losses):
        return gain_summary(losses, reference_losses)["standard_errors"] > count

    return rule


RULES = {
    "current": schedule.clearly_beats,
    "one-se": beats_by_standard_errors(1),
    "two-se": beats_by_standard_errors(2),
}


def gain_summary(losses, reference_losses):
    """The statistics of one comparison of the best epoch with the start."""
    reference = np.asarray(reference_losses, dtype=float)
    gain = reference - np.asarray(losses, dtype=float)
    standard_error = gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):  # no spread: +-inf
        standard_errors = np.float64(gain.mean()) / standard_error
    return {
        "validation_rows": len(gain),
        "standard_errors": float(standard_errors),
        "rows_better": float(np.mean(gain > 0)),
        "relative_gain": float(gain.mean() / reference.mean())
        if reference.mean() > 0
        else float("nan"),
    }


def fit_one_seed(name, seed, models, rule, config):
    """Fit ``models`` on data set ``name`` with ``seed`` under ``rule``.

    Returns one dict per model: its quality record, and the comparison of
    its best epoch with its start (``None`` when none was made: the best
    epoch was the start, or the model has no validation split).
    """
    comparisons = []

    def recording_rule(losses, reference_losses):
        comparisons.append(gain_summary(losses, reference_losses))
        return RULES[rule](losses, reference_losses)

    # The schedule looks the rule up in its module at each comparison; put
    # back afterwards, as a run with one job fits in this process.
    schedule.clearly_beats = recording_rule
    try:
        return _fit_models(name, seed, models, config, comparisons, rule)
    finally:
        schedule.clearly_beats = RULES["current"]


def _fit_models(name, seed, models, config, comparisons, rule):
    # One model at a time, so that each comparison is known to be its own.
    records, found = [], {}
    for model_name in [*models, quality.REFERENCE_MODEL]:
        comparisons.clear()
        records += quality.run_seed(
            name, seed, config, log=lambda message: None, models=[model_name]
        )[0]
        found[model_name] = comparisons[-1] if comparisons else None
    quality._set_fvu_ratios(records)
    return [
        {**asdict(record), "rule": rule, "comparison": found[record.model]}
        for record in records
        if record.model != quality.REFERENCE_MODEL
    ]


def markdown_table(rows):
    """Every fit whose best epoch was compared with its start."""
    header = ["data set", "model", "seed", "standard errors", "rows better"]
    header += ["relative gain", "FVU / PCA", "log-lik"]
    lines = []
    for row in rows:
        if (comparison := row["comparison"]) is not None:
            loglik = row["log_likelihood"]
            lines.append(
                [row["dataset"], row["model"], row["seed"]]
                + [f"{comparison['standard_errors']:.2f}"]
                + [f"{100 * comparison['rows_better']:.0f}%"]
                + [f"{comparison['relative_gain']:.3f}", f"{row['fvu_ratio']:.3f}"]
                + ["" if loglik is None else f"{loglik:.1f}"]
            )
    kept = sum(row["comparison"] is None for row in rows)
    return (
        f"{h.table(header, lines, 'markdown')}\n\n{kept} of {len(rows)} fits kept "
        "the start without a comparison (no epoch improved on it by tol)."
    )


@dataclass
class StudyConfig(quality.QualityConfig):
    """The quality matrix's sizes and seeds; its skae models; MNIST from a file."""

    models: tuple = h.option(
        tuple(SKAE_MODELS), "skae models", choices=SKAE_MODELS, metavar="NAME"
    )
    download: bool = False
    rule: str = h.option("current", "the rule that decides the fits", choices=[*RULES])
    JOBS = 2


def add_arguments(parser):
    StudyConfig.add_arguments(parser)
    parser.set_defaults(json=h.RESULTS / "start_rule_study.json")


def run_command(args, argv=()):
    config = StudyConfig.from_args(args)
    units = [
        (name, seed, config.models, config.rule, config)
        for name in config.datasets
        for seed in range(config.mnist_seeds if name == "mnist" else config.seeds)
        if name != "mnist" or config.mnist_npz
    ]
    start = time.perf_counter()
    results = h.run_units(fit_one_seed, units, args.jobs)
    rows = [row for rows in results for row in rows]
    seconds = time.perf_counter() - start
    print(markdown_table(rows))
    print(f"\nTotal {seconds:.0f} s")
    report = h.report("start-rule-study", argv, total_seconds=seconds, rows=rows)
    h.save_json(report, args.json, text=json.dumps(report, indent=1))
    return rows
