"""Outlier-detection benchmark: skae models against sklearn and PyOD detectors.

``python -m benchmarks outliers [--quick] [--mnist-npz PATH] [--trim-study]``;
``docs/outliers.rst`` ("Benchmark") has the protocol and reads the results.
The tables go to stdout and, as RST, to ``--out`` (default
``benchmarks/results/outliers.rst``); every fit's figures go to a JSON file
beside it, from which ``--tables-from`` prints the tables again.
"""

import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.svm import OneClassSVM

import skae
from skae import OutlierDetector

from . import _data
from . import _harness as h
from ._data import DataUnavailable, load_tasks, split

# Every skae model that may exist; those the installed skae lacks are skipped.
SKAE_MODELS = "AutoencoderTransformer SparseAutoencoder DenoisingAutoencoder VAE IWAE"
SKAE_MODELS = SKAE_MODELS.split()
DEFAULT_DETECTOR = "skae OutlierDetector() default"
# The robust configuration: the VAE whose batches leave out their worst rows.
ROBUST_TRIM = 0.1
ROBUST_DETECTOR = f"skae VAE, trim {ROBUST_TRIM:.0%}"
SETTINGS = {"clean": 0.0, "5%": 0.05, "10%": 0.10}
CONTAMINATIONS = ["auto", 0.05]
LATENT_SIZES = {"mnist": 16}
# Data sets where only the default OutlierDetector and the classic detectors
# run (each network fit costs a minute there).
FEW_DETECTOR_DATASETS = {"mnist"}
PER_TASK_TABLES = {"mnist"}
# Pixels stay in their units (0..255), as a user would feed them: a
# StandardScaler would divide the near-constant border pixels by a tiny
# spread, so that one faint stroke there dominates a test image's score.
UNSCALED_DATASETS = {"mnist"}


# A record is one detector fitted once: a dict with ``dataset``, ``task``,
# ``setting``, ``seed``, ``detector``, ``contamination`` and these metrics.
# cpu_time: of fit, scores and labels (in the worker processes too).
METRICS = ["roc_auc", "average_precision", "fit_time", "cpu_time"]
METRICS += ["flagged_train", "flagged_normal", "flagged_anomalies"]
# The constants of _data that a report records in its protocol.
DATA_CONSTANTS = ["TRAIN_FRACTION", "TEST_ANOMALY_FRACTION", "MNIST_DIGITS"]
DATA_CONSTANTS += ["MNIST_NORMAL_ROWS", "MNIST_ANOMALY_ROWS"]
RANKED = "auto"  # the contamination whose fits fill the ranking tables
MEAN = "mean over data sets"


# ----------------------------------------------------------------------
# Detectors


class _PyODScores:
    """A PyOD detector with sklearn's signs (higher scores and 1: normal)."""

    def __init__(self, detector):
        self.detector = detector

    def fit(self, X):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.detector.fit(X)
        return self

    def score_samples(self, X):
        return -self.detector.decision_function(X)

    def predict(self, X):
        return np.where(self.detector.predict(X) == 1, -1, 1)


class _Trimmed:
    """Fit, drop the lowest-scored ``fraction`` of the training set, refit."""

    def __init__(self, detector, fraction):
        self.detector = detector
        self.fraction = fraction

    def fit(self, X):
        first = clone(self.detector).fit(X)
        scores = first.score_samples(X)
        keep = scores >= np.percentile(scores, 100 * self.fraction)
        self.detector_ = clone(self.detector).fit(X[keep])
        return self

    def score_samples(self, X):
        return self.detector_.score_samples(X)

    def predict(self, X):
        return self.detector_.predict(X)


def make_detectors(
    k, seed, contamination="auto", quick=False, pyod=True, every_model=True
):
    """``{name: detector}``; ``every_model=False``: the default
    ``OutlierDetector()`` and the classic detectors only."""
    quick_nets = dict(hidden_layer_sizes=(16,), max_epochs=3) if quick else {}
    c = contamination
    detectors = {
        # Quick runs swap in a tiny VAE: a smoke run, not the default's figures.
        DEFAULT_DETECTOR: OutlierDetector(
            skae.VAE(**quick_nets) if quick else None, contamination=c
        )
    }
    # The other skae models rank only: one fit each, no calibration.
    ranking = dict(contamination=c, calibration_fraction=0)
    installed = [name for name in SKAE_MODELS if getattr(skae, name, None)]
    for name in installed if every_model and c == "auto" else []:
        model = getattr(skae, name)(n_components=k, random_state=seed, **quick_nets)
        detectors[f"skae {name}"] = OutlierDetector(model, **ranking)
        if name == "VAE":
            robust = clone(model).set_params(trim_fraction=ROBUST_TRIM)
            detectors[ROBUST_DETECTOR] = OutlierDetector(robust, **ranking)
    detectors["PCA reconstruction"] = OutlierDetector(
        PCA(n_components=k), method="reconstruction", contamination=c
    )
    detectors["PCA log-likelihood"] = OutlierDetector(
        PCA(n_components=k), contamination=c
    )
    detectors["IsolationForest"] = IsolationForest(random_state=seed, contamination=c)
    detectors["LocalOutlierFactor"] = LocalOutlierFactor(novelty=True, contamination=c)
    detectors["OneClassSVM"] = OneClassSVM(nu=0.5 if c == "auto" else c)
    if every_model and pyod and h.pyod_version():
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.vae import VAE

        options = dict(random_state=seed, verbose=0)
        options.update({"epoch_num": 1} if quick else {})
        options.update({"contamination": c} if c != "auto" else {})
        detectors["PyOD AutoEncoder"] = _PyODScores(AutoEncoder(**options))
        detectors["PyOD VAE"] = _PyODScores(VAE(latent_dim=k, **options))
    return detectors


def latent_size(dataset, n_features):
    return LATENT_SIZES.get(dataset) or int(np.clip(n_features // 4, 2, 8))


FAILED = {metric: math.nan for metric in METRICS}


def evaluate(detector, X_train, X_test, y_test, seed=0):
    """Fit ``detector``; its :data:`METRICS`, NaN where it raises ("failed").

    The global RNGs are seeded: the default OutlierDetector() is unseeded.
    """
    np.random.seed(seed)  # noqa: NPY002
    torch.manual_seed(seed)
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        detector.fit(X_train)
        fit_time = time.perf_counter() - start
        anomaly_score = -np.asarray(detector.score_samples(X_test), dtype=np.float64)
        flagged = detector.predict(np.vstack([X_train, X_test])) == -1
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        print(f"  {type(detector).__name__} failed: {type(exc).__name__}: {exc}")
        return dict(FAILED)
    flagged_test = flagged[len(X_train) :]
    return dict(
        roc_auc=roc_auc_score(y_test, anomaly_score),
        average_precision=average_precision_score(y_test, anomaly_score),
        fit_time=fit_time,
        cpu_time=time.process_time() - cpu_start,
        flagged_train=flagged[: len(X_train)].mean(),
        flagged_normal=flagged_test[y_test == 0].mean(),
        flagged_anomalies=flagged_test[y_test == 1].mean(),
    )


# ----------------------------------------------------------------------
# Runs


@dataclass
class OutliersConfig(h.Config):
    """What one run measures; :meth:`quick`: one task per set, tiny networks.
    ``trim``: each skae model and PCA also refitted without that fraction of
    its worst-scored training rows."""

    datasets: tuple = h.option(
        tuple(_data.OUTLIER_SETS),
        f"from {_data.OUTLIER_SETS}; default all (--quick: mnist only with "
        "--mnist-npz)",
        choices=_data.OUTLIER_SETS,
        metavar="NAME",
    )
    settings: tuple = h.option(tuple(SETTINGS), "training sets", choices=list(SETTINGS))
    seeds: int = h.option(5, "number of seeds")
    contaminations: tuple = tuple(CONTAMINATIONS)
    pyod: bool = h.option(True, "skip PyOD")
    trim: float | None = None
    mnist_npz: Path | None = h.option(
        None,
        "read MNIST from this .npz (x_train, y_train, x_test, y_test) instead of "
        "fetch_openml",
    )
    tiny: bool = False  # tiny networks, one task per data set
    QUICK = dict(tiny=True)
    JOBS = 1


def _run_unit(dataset, tasks, setting, seed, config):
    """The records of one data set, setting and seed: every task, every detector."""
    k = latent_size(dataset, tasks[0][1].shape[1])
    standardize = dataset not in UNSCALED_DATASETS
    every = dataset not in FEW_DETECTOR_DATASETS
    records = []
    for task, X_normal, X_anomalies in tasks:
        data = split(X_normal, X_anomalies, seed, SETTINGS[setting], standardize)
        for c in config.contaminations:
            detectors = make_detectors(k, seed, c, config.tiny, config.pyod, every)
            for name in list(detectors) if config.trim else []:
                if name.startswith(("skae", "PCA")):
                    trimmed = _Trimmed(detectors[name], config.trim)
                    detectors[f"{name}, trimmed {config.trim:g}"] = trimmed
            for name, detector in detectors.items():
                where = dict(dataset=dataset, task=task, setting=setting, seed=seed)
                where.update(detector=name, contamination=c)
                records.append({**where, **evaluate(detector, *data, seed=seed)})
    return records


def run(config, n_jobs=1, threads=None, log=print):
    """``(records, skipped)``: a dict per fit, ``{data set: reason}``.

    The (data set, setting, seed) units run in ``n_jobs`` processes; every
    fit is seeded on its own, so the records are the same."""
    skipped, units = {}, []
    for dataset in config.datasets:
        try:
            tasks = load_tasks(dataset, config.tiny, config.mnist_npz)
        except DataUnavailable as exc:
            log(f"{dataset} skipped: {exc}")
            skipped[dataset] = str(exc)
            continue
        seeds = range(config.seeds)
        units += [
            (dataset, tasks, s, seed, config) for s in config.settings for seed in seeds
        ]
    records = []
    results = h.run_units(_run_unit, units, n_jobs, threads)
    for (dataset, _, setting, seed, _), unit_records in zip(units, results):
        records += unit_records
        log(f"{dataset:14s} {setting:6s} seed {seed} done")
    return records, skipped


# ----------------------------------------------------------------------
# Tables: a seed's figure for a data set is the mean over its tasks; cells
# show the mean ± standard deviation over seeds.


def ranks_only(detector):
    """The skae models other than the default fill the ranking tables only."""
    return detector.startswith("skae ") and "OutlierDetector()" not in detector


def _where(records, **where):
    return [r for r in records if all(r[key] == value for key, value in where.items())]


def per_seed(records, metric, **where):
    """``metric`` per seed (sorted), the mean of the matching records (NaN
    where a task failed)."""
    by_seed = {}
    for record in _where(records, **where):
        by_seed.setdefault(record["seed"], []).append(record[metric])
    return np.array([np.mean(by_seed[seed]) for seed in sorted(by_seed)])


def mean_over_datasets(records, datasets):
    """Records of a pseudo data set :data:`MEAN`, per seed: the mean over the
    data sets (each counted once) where a detector did not fail (``n_datasets``)."""
    keys, groups = ("setting", "detector", "contamination", "seed"), {}
    for r in records:
        key = tuple(r[k] for k in keys)
        groups.setdefault(key, {}).setdefault(r["dataset"], []).append(r)
    means = []
    for key, by_dataset in groups.items():
        per_dataset = [
            {metric: np.mean([r[metric] for r in by_dataset[d]]) for metric in METRICS}
            for d in datasets
            if d in by_dataset
        ]
        per_dataset = [m for m in per_dataset if not np.isnan(m["roc_auc"])]
        if per_dataset:
            mean = {m: np.mean([d[m] for d in per_dataset]) for m in METRICS}
            where = dict(dataset=MEAN, task=MEAN, **dict(zip(keys, key)))
            means.append({**where, "n_datasets": len(per_dataset), **mean})
    return means


def _cell(values, digits=3, percent=False):
    """Mean ± standard deviation (or the mean, in percent): "n/a", "failed"."""
    if len(values) == 0:
        return "n/a"
    if np.isnan(values).any():
        return "failed"
    if percent:
        return f"{100 * values.mean():.1f}"
    if len(values) < 2:
        return f"{values.mean():.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def _detectors(records, **where):
    return list(dict.fromkeys(r["detector"] for r in _where(records, **where)))


def _label(contamination):
    return f"contamination={contamination!r}".replace("'", '"')


def _ranking_rows(records, dataset, settings):
    """``(label, detector, contamination)``: each detector ranked with
    :data:`RANKED`, again where another contamination moved its ranking."""
    rows = []
    for detector in _detectors(records, dataset=dataset):
        mine = _where(records, dataset=dataset, detector=detector)
        contaminations = {r["contamination"] for r in mine}
        if RANKED in contaminations:
            rows.append((detector, detector, RANKED))
        for contamination in sorted(contaminations - {RANKED}, key=str):
            for setting in settings:
                ranked, other = (
                    per_seed(mine, "roc_auc", contamination=c, setting=setting)
                    for c in (RANKED, contamination)
                )
                if ranked.shape != other.shape or not np.allclose(
                    ranked, other, rtol=0, atol=1e-9, equal_nan=True
                ):
                    label = f"{detector}, {_label(contamination)}"
                    rows.append((label, detector, contamination))
                    break
    return rows


def ranking_table(records, dataset, settings):
    """ROC AUC and AP per setting, and fit time, best first."""
    header = ["detector", *[f"ROC AUC {setting}" for setting in settings]]
    header += [*[f"AP {setting}" for setting in settings], "fit time (s)"]
    header += ["data sets"] if dataset == MEAN else []
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
            counts = {r["n_datasets"] for r in _where(records, **where)}
            row.append("/".join(str(n) for n in sorted(counts)))
        rows.append(row)
    return _best_first(header, rows, 1)


def _best_first(header, rows, column):
    rows.sort(
        key=lambda r: -float(r[column].split()[0]) if r[column][0].isdigit() else 1
    )
    return h.table(header, rows, "rst")


def flagged_table(records, dataset, settings, contamination):
    """Flagged (%) of held-out normal rows / training rows / test anomalies."""
    header = ["detector"] + [f"{setting}: normal/train/anom." for setting in settings]
    rows = []
    for detector in _detectors(records, dataset=dataset, contamination=contamination):
        if ranks_only(detector):
            continue
        where = dict(dataset=dataset, detector=detector, contamination=contamination)
        row = [detector]
        for setting in settings:
            parts = [
                _cell(per_seed(records, metric, setting=setting, **where), percent=True)
                for metric in ("flagged_normal", "flagged_train", "flagged_anomalies")
            ]
            row.append("failed" if "failed" in parts else " / ".join(parts))
        rows.append(row)
    return h.table(header, rows, "rst")


def task_table(records, dataset, setting):
    """ROC AUC per task (normal class) and their mean, best mean first."""
    tasks = list(dict.fromkeys(r["task"] for r in records if r["dataset"] == dataset))
    header = ["detector", *tasks, "mean"]
    rows = []
    for detector in _detectors(records, dataset=dataset, contamination=RANKED):
        where = dict(dataset=dataset, setting=setting, detector=detector)
        where["contamination"] = RANKED
        row = [detector]
        row += [_cell(per_seed(records, "roc_auc", task=t, **where)) for t in tasks]
        rows.append([*row, _cell(per_seed(records, "roc_auc", **where))])
    return _best_first(header, rows, -1)


def tables(records, datasets, settings, contaminations, per_task=()):
    """The whole report: a section per data set, then the mean over data sets."""
    sections = []
    with_mean = [*datasets, MEAN] if len(datasets) > 1 else list(datasets)
    records = [*records, *mean_over_datasets(records, datasets)]
    for dataset in with_mean:
        title = dataset.replace("_", " ")
        blocks = [f"{title}\n{'~' * len(title)}"]
        blocks += [f"**ROC AUC and average precision (AP), {_label(RANKED)}**"]
        blocks += [ranking_table(records, dataset, settings)]
        for setting in settings if dataset in per_task else []:
            blocks += [f"**ROC AUC per normal class, {setting}**"]
            blocks += [task_table(records, dataset, setting)]
        for contamination in contaminations:
            blocks += [
                f"**Flagged, {_label(contamination)} (% of held-out normal rows / "
                "training rows / test anomalies)**",
                flagged_table(records, dataset, settings, contamination),
            ]
        sections.append("\n\n".join(blocks))
    return "\n\n".join(sections) + "\n"


# ----------------------------------------------------------------------
# Output


def _json_safe(value):
    """NaN becomes null (JSON has no NaN); numpy scalars become Python's."""
    if isinstance(value, dict):
        return {key: _json_safe(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _json_text(report):
    """``report`` as JSON, one record per line (readable diffs, a small file)."""
    report = _json_safe(report)
    records = report.pop("records")
    head = json.dumps(report, indent=1)[: -len("\n}")]
    lines = ",\n".join(f"  {json.dumps(record)}" for record in records)
    return f'{head},\n "records": [\n{lines}\n ]\n}}\n'


def add_arguments(parser):
    OutliersConfig.add_arguments(parser)
    parser.add_argument(
        "--trim-study",
        action="store_true",
        help="training sets with 5%% anomalies only, each skae model and PCA "
        "also refitted without the worst-scored 5%% of the training set",
    )
    parser.add_argument("--out", type=Path, help="the .rst to write")
    parser.add_argument(
        "--tables-from",
        type=Path,
        metavar="JSON",
        help="run nothing: print (and with --out write) the tables of a saved run",
    )


def render(report):
    """The reStructuredText report of a run (the dict saved as JSON)."""
    protocol = report["protocol"]
    runs = (report["records"], report["datasets"], list(protocol["settings"]))
    text = tables(*runs, protocol["contaminations"], per_task=PER_TASK_TABLES)
    jobs = report.get("jobs", 1)  # older runs: in the environment's line
    footer = (
        f"Mean ± standard deviation over {protocol['seeds']} seed(s); settings: "
        "the fraction of anomalies in the training set; fit time averaged over "
        f'seeds and settings (contamination="auto"). '
        f"{h.describe(report['environment'])}"
        + (f", {jobs} processes" if jobs > 1 else "")
        + f". Total {report['total_seconds']:.0f} s wall clock, "
        f"{report['cpu_seconds']:.0f} s CPU. Generated by ``{report['command']}``."
    )
    for dataset, reason in report["skipped"].items():
        footer += f" Skipped {dataset}: {reason}."
    if protocol["quick"]:
        footer = "QUICK SMOKE RUN: not meaningful. " + footer
    return f"{text}\n{footer}\n"


def load_report(path):
    """A report saved as JSON, with null metrics back to NaN."""
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    for record in report["records"]:
        for metric in METRICS:
            if record.get(metric) is None:  # None: failed; absent: older runs
                record[metric] = math.nan
    return report


def run_command(args, argv=()):
    """Run the benchmark of the parsed ``args`` (or print ``--tables-from``)."""
    if args.tables_from:
        report = load_report(args.tables_from)
        text = render(report)
        print(text)
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        return report["records"]
    h.set_threads(args.threads)
    overrides = {}
    if args.quick and args.mnist_npz is None and not args.datasets:
        overrides["datasets"] = tuple(_data.OUTLIER_SMALL)
    if args.trim_study:
        overrides.update(
            settings=("5%",), contaminations=("auto",), trim=SETTINGS["5%"]
        )
    config = OutliersConfig.from_args(args, **overrides)
    name = "outliers_trimming.rst" if args.trim_study else "outliers.rst"
    out = args.out or h.RESULTS / name
    start = time.perf_counter()
    records, skipped = run(config, args.jobs, args.threads, h.log)
    report = h.report(
        "outliers",
        argv,
        jobs=args.jobs,
        total_seconds=time.perf_counter() - start,
        # Summed over the fits: with --jobs they run in other processes.
        cpu_seconds=sum(
            r["cpu_time"] for r in records if not math.isnan(r["cpu_time"])
        ),
        datasets=[dataset for dataset in config.datasets if dataset not in skipped],
        skipped=skipped,
        protocol={
            "settings": {name: SETTINGS[name] for name in config.settings},
            "contaminations": list(config.contaminations),
            "seeds": config.seeds,
            **{name.lower(): getattr(_data, name) for name in DATA_CONSTANTS},
            "quick": config.tiny,
        },
        records=records,
    )
    text = render(report)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    h.save_json(report, args.json or out.with_suffix(".json"), text=_json_text(report))
    return records
