"""How many epochs should a default fit spend? A study of training budgets.

``python -m benchmarks budget-study --mnist-npz mnist.npz`` fits the quality
matrix's data sets (:mod:`benchmarks.quality`) with the autoencoder and the
VAE under each training budget of :data:`BUDGETS`, and records held-out
quality (FVU over PCA's; the VAE's log-likelihood) against CPU seconds and
epochs. A budget is public parameters (batch size, learning rate) and a
stopping rule: skae's (stop after ``n_iter_no_change`` epochs without a new
best, halving the learning rate at half of them), or the *trend* rule,
which stops when the least-squares slope of the last ``window`` validation
losses is not significantly negative (:func:`trend_is_flat`), after halving
the learning rate once on the first such plateau.

Issue 25 asks for the trend rule (slow but steady fits, the Swiss roll, are
cut short by the new-best rule); issue 26 for shorter default fits. The
study measures both directions in one run; ``docs/quality.rst`` ("Training
budgets") reads it. Prints a table and writes ``--json`` and ``--out``.
"""

import json
from dataclasses import asdict, dataclass, fields

import numpy as np

from skae._base import schedule
from skae._base.net import StopTraining

from . import _harness as h
from . import quality

MODELS = ("AutoencoderTransformer", "VAE")
# One-sided 95%: the slope must be below zero by 1.645 standard errors.
TREND_Z = 1.645


@dataclass(frozen=True)
class Budget:
    """A training budget: public parameters and a stopping rule.

    ``rule``: ``"best"``, skae's; ``"trend"``, the trend rule; ``"veto"``,
    skae's rule, except that neither a stop nor a halving of the learning
    rate happens while the last ``window`` losses (at least
    ``n_iter_no_change``) still fall by their trend: such an epoch counts
    as one that improved.
    """

    params: dict
    rule: str = "best"
    window: int | None = None


BUDGETS = {
    "current": Budget({}),
    "trend-20": Budget({}, "trend", 20),
    "trend-40": Budget({}, "trend", 40),
    "veto-20": Budget({}, "veto", 20),
    "veto-40": Budget({}, "veto", 40),
    "batch-256-lr-2e-3": Budget({"batch_size": 256, "lr": 2e-3}),
    "patience-30": Budget({"n_iter_no_change": 30}),
}


def trend_is_flat(losses, tol):
    """Whether ``losses`` (one per epoch) no longer fall, by their trend.

    Flat when the least-squares slope is not below zero by ``TREND_Z``
    standard errors (the residuals' spread), or when the fall it predicts
    over the window is at most ``tol * max(1, |lowest loss|)``, skae's
    meaning of ``tol``.
    """
    y = np.asarray(losses, dtype=float)
    t = np.arange(len(y), dtype=float) - (len(y) - 1) / 2
    slope = t @ (y - y.mean()) / (t @ t)
    residuals = y - y.mean() - slope * t
    standard_error = np.sqrt(residuals @ residuals / (len(y) - 2) / (t @ t))
    falls = slope + TREND_Z * standard_error < 0
    return not (falls and -slope * len(y) > tol * max(1.0, abs(y.min())))


def trend_schedule(window):
    """``PlateauSchedule.on_epoch_end`` under the trend rule with ``window``."""

    def on_epoch_end(self, net, **kwargs):
        epoch = net.history[-1]
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])
        if epoch.get("warmup", False):
            return
        losses = self.__dict__.setdefault("window_losses_", [])
        losses.append(epoch[self.monitor])
        if epoch[self.monitor] < self.best_loss_:  # the best weights are kept
            self._improve(net, epoch[self.monitor], epoch["epoch"])
        if len(losses) < window or not trend_is_flat(losses[-window:], self.tol):
            return
        if self.__dict__.get("halved_", False):
            raise StopTraining(f"the trend of the last {window} losses is flat")
        self.halved_ = True
        losses.clear()
        for group in net.optimizer_.param_groups:
            group["lr"] *= schedule.LR_FACTOR

    return on_epoch_end


def veto_schedule(window):
    """``PlateauSchedule.on_epoch_end`` of skae's rule, vetoed by a falling
    trend of the last ``window`` losses."""

    def on_epoch_end(self, net, **kwargs):
        epoch = net.history[-1]
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])
        if epoch.get("warmup", False):
            return
        loss = epoch[self.monitor]
        losses = self.__dict__.setdefault("window_losses_", [])
        losses.append(loss)
        if self.best_epoch_ is None or loss < self.best_loss_ - self.tol * max(
            1.0, abs(self.best_loss_)
        ):
            self._improve(net, loss, epoch["epoch"])
            return
        recent = losses[-window:]
        if len(recent) >= max(3, self.patience) and not trend_is_flat(recent, self.tol):
            return  # still falling: counts as progress
        self.epochs_without_improvement_ += 1
        if self.epochs_without_improvement_ >= self.patience:
            raise StopTraining(self.reason())
        if self.epochs_without_improvement_ % self.lr_patience == 0:
            for group in net.optimizer_.param_groups:
                group["lr"] *= schedule.LR_FACTOR

    return on_epoch_end


SCHEDULES = {"trend": trend_schedule, "veto": veto_schedule}


def fit_one_seed(name, seed, budget_name, config):
    """The quality records of :data:`MODELS` on ``name`` with ``seed`` under
    the budget ``budget_name``, as dicts."""
    budget = BUDGETS[budget_name]
    original = schedule.PlateauSchedule.on_epoch_end
    if budget.rule != "best":
        schedule.PlateauSchedule.on_epoch_end = SCHEDULES[budget.rule](budget.window)
    settings = {f.name: getattr(config, f.name) for f in fields(quality.QualityConfig)}
    settings["models"] = (*MODELS, quality.REFERENCE_MODEL)
    settings["skae_params"] = {**config.skae_params, **budget.params}
    run_config = quality.QualityConfig(**settings)
    try:
        records = quality.run_seed(name, seed, run_config, log=lambda message: None)[0]
    finally:
        schedule.PlateauSchedule.on_epoch_end = original
    quality._set_fvu_ratios(records)
    return [
        {**asdict(record), "budget": budget_name}
        for record in records
        if record.model != quality.REFERENCE_MODEL
    ]


def summary_rows(rows):
    """One row per data set and model: each budget's mean over seeds."""
    table, budgets = {}, list(dict.fromkeys(row["budget"] for row in rows))
    for row in rows:
        cell = table.setdefault((row["dataset"], row["model"]), {})
        cell.setdefault(row["budget"], []).append(row)
    lines = []
    for (dataset, model), cells in table.items():
        line = [dataset, model]
        for budget in budgets:
            records = cells.get(budget, [])
            quality_value = _mean(
                r["log_likelihood"] if model == "VAE" else r["fvu_ratio"]
                for r in records
            )
            seconds = _mean(r["fit_cpu_seconds"] for r in records)
            epochs = _mean(r["n_iter"] or 0 for r in records)
            line.append(f"{quality_value:.3g} / {seconds:.1f} s / {epochs:.0f}")
        lines.append(line)
    return ["data set", "model", *budgets], lines


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else float("nan")


def total_cpu_seconds(rows):
    """``{budget: CPU seconds of all its fits}``, MNIST's included."""
    totals = {}
    for row in rows:
        totals[row["budget"]] = totals.get(row["budget"], 0.0) + row["fit_cpu_seconds"]
    return totals


def render(report):
    header, lines = summary_rows(report["rows"])
    totals = ", ".join(
        f"{budget} {seconds:.0f} s"
        for budget, seconds in total_cpu_seconds(report["rows"]).items()
    )
    return (
        "Each cell: the autoencoder's held-out FVU over PCA's (lower is better) "
        "or the VAE's held-out log-likelihood (higher is better) / CPU seconds "
        "of the fit / epochs; means over seeds. "
        f"{h.describe(report['environment'])}\n\n"
        + h.table(header, lines, "rst")
        + f"\n\nCPU seconds of all the fits: {totals}.\n"
    )


@dataclass
class BudgetConfig(quality.QualityConfig):
    """The quality matrix's sizes and seeds; MNIST from a file only."""

    budgets: tuple = h.option(
        tuple(BUDGETS), "budgets", choices=list(BUDGETS), metavar="NAME"
    )
    download: bool = False
    JOBS = 2


def add_arguments(parser):
    BudgetConfig.add_arguments(parser)
    h.output_arguments(parser, "budget_study")


def run_command(args, argv=()):
    if args.tables_from:
        return h.write_tables(args, json.loads(args.tables_from.read_text()), render)
    config = BudgetConfig.from_args(args)
    units = [
        (name, seed, budget, config)
        for name, seed in quality.matrix_seeds(config)
        for budget in config.budgets
    ]
    return h.run_study("budget-study", fit_one_seed, units, args, argv, render)
