"""Charts of the committed benchmark results, drawn at docs build time.

The numbers are read from the tables that the benchmarks write
(``benchmarks/results/outliers.rst`` and ``docs/benchmark_results.inc``):
the docs never re-run a benchmark, and a chart cannot drift from its table.
Used by the ``.. plot::`` directives of ``outliers.rst`` and
``benchmarks.rst``.
"""

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # the plot directive runs the code in _plots/, without __file__
    HERE = Path.cwd()
DOCS = HERE.parent
OUTLIER_RESULTS = DOCS.parent / "benchmarks" / "results" / "outliers.rst"
SPEED_RESULTS = DOCS / "benchmark_results.inc"
SKAE_COLOR, OTHER_COLOR = "tab:blue", "tab:grey"


def read_simple_tables(path):
    """``{section title: list of row dicts}`` of each section's first table.

    Column boundaries come from the ``====`` border lines, so cells may hold
    spaces ("0.986 ± 0.004").
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    tables, title, i = {}, None, 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and set(lines[i + 1]) == {"~"} and line.strip():
            title = line.strip()
            i += 2
            continue
        if line.startswith("=") and set(line.replace(" ", "")) == {"="}:
            spans = [m.span() for m in re.finditer(r"=+", line)]
            header = [line_cell(lines[i + 1], spans, k) for k in range(len(spans))]
            rows, i = [], i + 3  # border, header, border
            while not lines[i].startswith("="):
                cells = [line_cell(lines[i], spans, k) for k in range(len(spans))]
                rows.append(dict(zip(header, cells)))
                i += 1
            tables.setdefault(title, rows)
        i += 1
    return tables


def line_cell(line, spans, k):
    start = spans[k][0]
    end = spans[k + 1][0] if k + 1 < len(spans) else len(line)
    return line[start:end].strip()


def mean_and_std(cell):
    """``"0.986 ± 0.004"`` -> (0.986, 0.004); ``"failed"`` -> (nan, nan)."""
    match = re.fullmatch(r"([-\d.]+)\s*±\s*([-\d.]+)", cell)
    return (float(match[1]), float(match[2])) if match else (np.nan, np.nan)


# The ranking columns of benchmarks/outliers.py: (column, marker, offset, label).
OUTLIER_SETTINGS = [
    ("ROC AUC clean", "o", 0.2, "clean training data"),
    ("ROC AUC 5%", "s", 0.0, "5% contaminated"),
    ("ROC AUC 10%", "^", -0.2, "10% contaminated"),
]


def plot_outliers():
    """ROC AUC of every detector on every data set, clean and contaminated."""
    tables = read_simple_tables(OUTLIER_RESULTS)
    # Two panels a row, so that the detector names read at page width (the
    # figure is shown some 1000 px wide).
    n_rows = -(-len(tables) // 2)
    fig, axes = plt.subplots(n_rows, 2, figsize=(11, 4.6 * n_rows))
    for ax, (title, rows) in zip(axes.ravel(), tables.items()):
        rows = sorted(
            rows, key=lambda r: np.nan_to_num(mean_and_std(r["ROC AUC clean"])[0])
        )
        positions = np.arange(len(rows))
        for column, marker, offset, _ in OUTLIER_SETTINGS:
            means, stds = zip(*(mean_and_std(r[column]) for r in rows))
            colors = [
                SKAE_COLOR if r["detector"].startswith("skae") else OTHER_COLOR
                for r in rows
            ]
            for y, mean, std, color in zip(positions + offset, means, stds, colors):
                ax.errorbar(
                    mean,
                    y,
                    xerr=std,
                    fmt=marker,
                    color=color,
                    ms=4,
                    mfc=color if marker == "o" else "white",
                    capsize=2,
                )
        labels = [
            r["detector"] + (" (failed)" if r["ROC AUC clean"] == "failed" else "")
            for r in rows
        ]
        ax.set_yticks(positions, labels=labels, fontsize=9)
        for label, row in zip(ax.get_yticklabels(), rows):
            if row["detector"].startswith("skae"):
                label.set_color(SKAE_COLOR)
        ax.set_title(title, fontsize=12)
        ax.set_xlabel("ROC AUC (mean ± std over seeds)")
        ax.grid(axis="x", alpha=0.3)
    handles = [
        plt.Line2D(
            [],
            [],
            color="k",
            marker=marker,
            ls="",
            label=label,
            mfc="k" if marker == "o" else "white",
        )
        for _, marker, _, label in OUTLIER_SETTINGS
    ]
    for ax in axes.ravel()[len(tables) :]:
        ax.set_visible(False)
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))


def read_list_table(path):
    """Row dicts of the first RST ``list-table`` in ``path``."""
    rows, row = [], None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*(\*)?\s*- (.*)$", line)
        if not match:
            continue
        if match[1]:
            row = []
            rows.append(row)
        row.append(match[2].strip())
    header, *body = rows
    return [dict(zip(header, r)) for r in body]


def plot_speed():
    """skae's advantage over each contender, per data set (> 1: skae better)."""
    rows = read_list_table(SPEED_RESULTS)
    datasets = list(dict.fromkeys(r["data"] for r in rows))
    fig, axes = plt.subplots(1, len(datasets), figsize=(11, 5), sharey=True)
    # The axis reaches past the smallest ratio (PCA fits hundreds of times
    # faster), so that every bar ends inside it.
    low = min(
        (float(r["skae / other"]) for r in rows if "higher" in r["metric"]),
        default=1,
    )
    low = min(
        [low] + [1 / float(r["skae / other"]) for r in rows if "lower" in r["metric"]]
    )
    x_min = np.log10(min(0.004, low / 3))
    for ax, dataset in zip(np.atleast_1d(axes), datasets):
        selected = [
            r for r in rows if r["data"] == dataset and not r["vs"].startswith("IWAE")
        ]
        labels, advantage = [], []
        for r in selected:
            ratio = float(r["skae / other"])
            higher_is_better = "higher is better" in r["metric"]
            metric = r["metric"].split(" (")[0]
            labels.append(f"{metric}\nvs {r['vs']}")
            advantage.append(ratio if higher_is_better else 1 / ratio)
        positions = np.arange(len(selected))[::-1]
        colors = ["tab:green" if a >= 1 else "tab:red" for a in advantage]
        ax.barh(positions, np.log10(advantage), color=colors)
        for y, a in zip(positions, advantage):
            text = f"{a:.2f}x" if a >= 0.1 else f"1/{1 / a:.0f}"
            # A long red bar carries its figure inside its end, in white, so
            # that the figure never prints over the row labels.
            inside = np.log10(a) < -0.8
            ax.text(
                np.log10(a),
                y,
                f" {text} ",
                va="center",
                ha="left" if a >= 1 or inside else "right",
                color="white" if inside else "black",
                fontsize=8,
            )
        ax.axvline(0, color="k", lw=1)
        ax.set_yticks(positions, labels=labels, fontsize=8)
        ticks = [t for t in [0.001, 0.01, 0.1, 1, 2] if np.log10(t) >= x_min]
        ax.set_xticks(np.log10(ticks), labels=[f"{t:g}x" for t in ticks])
        ax.set_xlim(x_min, np.log10(8))
        ax.set_title(dataset)
        ax.set_xlabel("skae relative to the contender (> 1: skae better)")
    fig.tight_layout()
