"""The goals of issue 24 and the tables of ``python -m benchmarks mixed``.

The contenders' names are here; :mod:`benchmarks.mixed` measures them.
"""

import numpy as np

from . import _harness as h
from . import _mixed_data as md

VAE, ONEHOT, PCA2 = "VAE per column", "VAE one-hot", "PCA(2) one-hot"
FREQ, IWAE = "frequencies", "IWAEImputer"
SIMPLE, KNN, ITER = "SimpleImputer", "KNNImputer one-hot", "IterativeImputer one-hot"
DETECTOR, DETECTOR_ONEHOT = "OutlierDetector()", "OutlierDetector(VAE) one-hot"


def means(records, measure, key="value"):
    """``{table: {contender: mean over seeds}}`` of one measure."""
    found = {}
    for r in records:
        if r["measure"] == measure:
            row = found.setdefault(r["dataset"], {})
            row.setdefault(r["contender"], []).append(float(r[key]))
    return {
        d: {c: float(np.mean(v)) for c, v in row.items()} for d, row in found.items()
    }


def _compare(records, measure, rivals, digits=3):
    """``(met, figures)``: whether the per-column VAE beats every rival on
    every table (``>=`` for a rival named with a trailing ``=``)."""
    met, parts = True, []
    for table, row in means(records, measure).items():
        for rival in rivals:
            name = rival.rstrip("=")
            ok = row[VAE] >= row[name] if rival.endswith("=") else row[VAE] > row[name]
            met &= ok
            parts.append(
                f"{table}: {row[VAE]:.{digits}f} vs {name} {row[name]:.{digits}f}"
            )
    return met, "; ".join(parts)


LOGLIK_GOAL = "held-out log-likelihood of the categories beats frequencies and one-hot"
KNN_GOAL = "5-NN accuracy of the label on the 2-D codes at least PCA's on one-hot"
IMPUTE_GOAL = "categorical imputation accuracy beats most_frequent and KNNImputer"
AUC_GOAL = "outlier AUC of planted invalid category pairs at least 0.95"
VALID_GOAL = "inverse_transform and sample give valid categories in the dtypes"
TIME_GOAL = f"fit time on the {md.TIMED!r} table within 1.5x of one-hot floats"
GOALS = (LOGLIK_GOAL, KNN_GOAL, IMPUTE_GOAL, AUC_GOAL, VALID_GOAL, TIME_GOAL)


def _fit_time(records):
    """``(met, figures)`` of the fit-time goal: mean seconds' ratio."""
    seconds = means(records, "fit_seconds").get(md.TIMED)
    if not seconds:
        return None, "not run"
    ratio = seconds[VAE] / seconds[ONEHOT]
    rows = next(
        r["rows"]
        for r in records
        if r["measure"] == "fit_seconds" and r["dataset"] == md.TIMED
    )
    figures = f"{ratio:.2f}x on {rows:,} rows ({seconds[VAE]:.1f} s"
    return ratio <= 1.5, f"{figures} vs {seconds[ONEHOT]:.1f} s)"


def goals(records):
    """Each goal of issue 24: ``{"goal", "met", "figures"}`` (``met`` is
    None when it was not measured)."""
    aucs = {t: row[DETECTOR] for t, row in means(records, "auc").items()}
    valid = [r["value"] for r in records if r["measure"] == "valid_output"]
    found = {
        LOGLIK_GOAL: _compare(records, "loglik", [FREQ, ONEHOT], 2),
        KNN_GOAL: _compare(records, "knn5", [PCA2 + "="]),
        IMPUTE_GOAL: _compare(records, "accuracy", [SIMPLE, KNN]),
        AUC_GOAL: (
            min(aucs.values()) >= 0.95 if aucs else None,
            "; ".join(f"{t}: {auc:.3f}" for t, auc in aucs.items()),
        ),
        VALID_GOAL: (all(valid), f"{sum(valid)} of {len(valid)} fits"),
        TIME_GOAL: _fit_time(records),
    }
    return [
        {"goal": goal, "met": None if met is None else bool(met), "figures": figures}
        for goal, (met, figures) in found.items()
    ]


def _cell(values, digits):
    if not values:
        return "n/a"
    text = f"{np.mean(values):.{digits}f}"
    return text + (f" ± {np.std(values, ddof=1):.{digits}f}" if len(values) > 1 else "")


def grid(records, measure, key="value", digits=3):
    """``(header, rows)``: a row per table, a column per contender."""
    cells = {}
    for r in records:
        if r["measure"] == measure:
            row = cells.setdefault(r["dataset"], {})
            row.setdefault(r["contender"], []).append(float(r[key]))
    columns = list(dict.fromkeys(c for row in cells.values() for c in row))
    rows = [
        [t, *(_cell(row.get(c, []), digits) for c in columns)]
        for t, row in cells.items()
    ]
    return ["table", *columns], rows


BLOCKS = [
    (
        "loglik",
        "value",
        3,
        "Held-out log-likelihood of each category given the other columns, "
        "summed over the categorical columns, nats/row (higher is better)",
    ),
    ("accuracy", "value", 3, "Accuracy of imputing 30% of each category (MCAR)"),
    ("rmse", "value", 3, "RMSE of imputing 30% of the numbers (MCAR), standardized"),
    ("knn5", "value", 3, "5-NN accuracy (5-fold) of the known label on the 2-D codes"),
    ("auc", "value", 3, "ROC AUC of planted impossible category pairs among test rows"),
    ("fit_seconds", "value", 1, "Fit seconds on the training rows"),
    ("fit_seconds", "per_epoch", 3, "Fit seconds per epoch"),
    ("fit_seconds", "epochs", 0, "Epochs (early stopping)"),
]


def render(report):
    """The reStructuredText report of a run (the dict saved as JSON)."""
    out = []
    for measure, key, digits, title in BLOCKS:
        header, rows = grid(report["records"], measure, key, digits)
        if rows:
            out.append(f"**{title}**\n\n{h.table(header, rows, 'rst')}\n")
    rows = [
        [
            g["goal"],
            {True: "met", False: "not met", None: "n/a"}[g["met"]],
            g["figures"],
        ]
        for g in report["goals"]
    ]
    goals_table = h.table(["goal", "", "figures"], rows, "list-table")
    out.append(f"**Goals of issue 24**\n\n{goals_table}")
    notes = [f"{name}: skipped ({why})" for name, why in report["skipped"].items()]
    if notes:
        out.append("Notes:\n\n" + "\n".join(f"- {line}" for line in notes) + "\n")
    quick = "QUICK SMOKE RUN: not meaningful. " if report["quick"] else ""
    out.append(
        f"{quick}Mean ± standard deviation over {report['config']['seeds']} "
        f"seed(s). {h.describe(report['environment'])}. Total "
        f"{report['total_seconds']:.0f} s. Generated by ``{report['command']}``.\n"
    )
    return "\n".join(out)
