"""reStructuredText tables of the outlier benchmark's records (``outliers.py``).

A record is one detector fitted once: a dict with ``dataset``, ``task``,
``setting``, ``seed``, ``detector``, ``contamination`` and the metrics in
:data:`METRICS`. A seed's figure for a data set is the mean over its tasks;
cells show the mean ± standard deviation over seeds.
"""

import numpy as np

METRICS = [
    "roc_auc",
    "average_precision",
    "fit_time",
    "cpu_time",  # of fit, scores and labels: in the worker processes too
    "flagged_train",
    "flagged_normal",
    "flagged_anomalies",
]
RANKED = "auto"  # the contamination whose fits fill the ranking tables
MEAN = "mean over data sets"


def ranks_only(detector):
    """Whether a detector fills the ranking tables only: the skae models
    other than the default ``OutlierDetector()``, fitted without calibration
    to save time (their threshold code is the default's)."""
    return detector.startswith("skae ") and "OutlierDetector()" not in detector


def per_seed(records, metric, **where):
    """``metric`` per seed (sorted), averaged over the matching records.

    NaN (a failed fit) in any task makes the seed's value NaN.
    """
    by_seed = {}
    for record in records:
        if all(record[key] == value for key, value in where.items()):
            by_seed.setdefault(record["seed"], []).append(record[metric])
    return np.array([np.mean(by_seed[seed]) for seed in sorted(by_seed)])


def mean_over_datasets(records, datasets):
    """Records of a pseudo data set :data:`MEAN`: per seed, the mean over data sets.

    Each data set counts once (its tasks averaged first). Each detector is
    averaged over the data sets where it ran without failing; ``n_datasets``
    counts them.
    """
    groups = {}
    for record in records:
        key = (
            record["setting"],
            record["detector"],
            record["contamination"],
            record["seed"],
        )
        groups.setdefault(key, {}).setdefault(record["dataset"], []).append(record)
    means = []
    for (setting, detector, contamination, seed), by_dataset in groups.items():
        dataset_means = [
            {metric: np.mean([r[metric] for r in by_dataset[d]]) for metric in METRICS}
            for d in datasets
            if d in by_dataset
        ]
        dataset_means = [m for m in dataset_means if not np.isnan(m["roc_auc"])]
        if dataset_means:
            means.append(
                dict(
                    dataset=MEAN,
                    task=MEAN,
                    setting=setting,
                    detector=detector,
                    contamination=contamination,
                    seed=seed,
                    n_datasets=len(dataset_means),
                    **{
                        metric: np.mean([m[metric] for m in dataset_means])
                        for metric in METRICS
                    },
                )
            )
    return means


def _cell(values, digits=3):
    if len(values) == 0:
        return "n/a"
    if np.isnan(values).any():
        return "failed"
    if len(values) < 2:
        return f"{values.mean():.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def rst_table(header, rows):
    """A simple reStructuredText table (also readable as plain text)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([rule, line(header), rule, *map(line, rows), rule])


def _detectors(records, **where):
    return list(
        dict.fromkeys(
            r["detector"]
            for r in records
            if all(r[key] == value for key, value in where.items())
        )
    )


def _contamination_label(contamination):
    return f"contamination={contamination!r}".replace("'", '"')


def _ranking_rows(records, dataset, settings):
    """``(label, contamination)`` pairs: each detector as ranked by default
    (``contamination="auto"``), and again where another contamination changed
    its ranking (e.g. ``OneClassSVM``'s ``nu``) rather than only its threshold.
    """
    rows = []
    for detector in _detectors(records, dataset=dataset):
        if any(
            r["contamination"] == RANKED
            for r in records
            if r["dataset"] == dataset and r["detector"] == detector
        ):
            rows.append((detector, detector, RANKED))
        others = {
            r["contamination"]
            for r in records
            if r["dataset"] == dataset and r["detector"] == detector
        } - {RANKED}
        for contamination in sorted(others, key=str):
            differs = False
            for setting in settings:
                where = dict(dataset=dataset, setting=setting, detector=detector)
                ranked = per_seed(records, "roc_auc", contamination=RANKED, **where)
                other = per_seed(
                    records, "roc_auc", contamination=contamination, **where
                )
                differs |= ranked.shape != other.shape or not np.allclose(
                    ranked, other, rtol=0, atol=1e-9, equal_nan=True
                )
            if differs:
                label = f"{detector}, {_contamination_label(contamination)}"
                rows.append((label, detector, contamination))
    return rows


def ranking_table(records, dataset, settings):
    """ROC AUC and AP per setting, and fit time, best first."""
    header = ["detector"]
    header += [f"ROC AUC {setting}" for setting in settings]
    header += [f"AP {setting}" for setting in settings]
    header += ["fit time (s)"]
    if dataset == MEAN:
        header += ["data sets"]
    rows = []
    for label, detector, contamination in _ranking_rows(records, dataset, settings):
        where = dict(dataset=dataset, detector=detector, contamination=contamination)
        row = [label]
        for metric in ("roc_auc", "average_precision"):
            for setting in settings:
                row.append(_cell(per_seed(records, metric, setting=setting, **where)))
        times = np.concatenate(
            [per_seed(records, "fit_time", setting=s, **where) for s in settings]
        )
        row.append("failed" if np.isnan(times).all() else f"{np.nanmean(times):.2f}")
        if dataset == MEAN:
            counts = {
                r["n_datasets"]
                for r in records
                if all(r[key] == value for key, value in where.items())
            }
            row.append("/".join(str(n) for n in sorted(counts)))
        rows.append(row)
    rows.sort(key=lambda r: -float(r[1].split()[0]) if r[1][0].isdigit() else 1)
    return rst_table(header, rows)


def _percent(values):
    if len(values) == 0:
        return "n/a"
    if np.isnan(values).any():
        return "failed"
    return f"{100 * values.mean():.1f}"


def flagged_table(records, dataset, settings, contamination):
    """Flagged fractions (%), each detector fitted with ``contamination``.

    Each cell: held-out normal rows / training rows / test anomalies.
    """
    header = ["detector"] + [f"{setting}: normal/train/anom." for setting in settings]
    rows = []
    for detector in _detectors(records, dataset=dataset, contamination=contamination):
        if ranks_only(detector):
            continue
        where = dict(dataset=dataset, detector=detector, contamination=contamination)
        row = [detector]
        for setting in settings:
            parts = [
                _percent(per_seed(records, metric, setting=setting, **where))
                for metric in ("flagged_normal", "flagged_train", "flagged_anomalies")
            ]
            row.append("failed" if "failed" in parts else " / ".join(parts))
        rows.append(row)
    return rst_table(header, rows)


def task_table(records, dataset, setting):
    """ROC AUC per task (normal class) and their mean, best mean first."""
    tasks = list(dict.fromkeys(r["task"] for r in records if r["dataset"] == dataset))
    header = ["detector", *tasks, "mean"]
    rows = []
    for detector in _detectors(records, dataset=dataset, contamination=RANKED):
        where = dict(
            dataset=dataset, setting=setting, detector=detector, contamination=RANKED
        )
        row = [detector]
        for task in tasks:
            row.append(_cell(per_seed(records, "roc_auc", task=task, **where)))
        row.append(_cell(per_seed(records, "roc_auc", **where)))
        rows.append(row)
    rows.sort(key=lambda r: -float(r[-1].split()[0]) if r[-1][0].isdigit() else 1)
    return rst_table(header, rows)


def _section(title, underline, blocks):
    return "\n\n".join([f"{title}\n{underline * len(title)}", *blocks])


def _caption(text):
    return f"**{text}**"


def report(records, datasets, settings, contaminations, per_task=()):
    """The whole report: a section per data set, then the mean over data sets."""
    sections = []
    with_mean = [*datasets, MEAN] if len(datasets) > 1 else list(datasets)
    records = [*records, *mean_over_datasets(records, datasets)]
    for dataset in with_mean:
        blocks = [
            _caption(
                "ROC AUC and average precision (AP), " + _contamination_label(RANKED)
            ),
            ranking_table(records, dataset, settings),
        ]
        if dataset in per_task:
            for setting in settings:
                blocks += [
                    _caption(f"ROC AUC per normal class, {setting}"),
                    task_table(records, dataset, setting),
                ]
        for contamination in contaminations:
            blocks += [
                _caption(
                    f"Flagged, {_contamination_label(contamination)} (% of held-out "
                    "normal rows / training rows / test anomalies)"
                ),
                flagged_table(records, dataset, settings, contamination),
            ]
        sections.append(_section(dataset.replace("_", " "), "~", blocks))
    return "\n\n".join(sections) + "\n"
