"""Scale: streaming throughput, out-of-core memory, and a grid search on Dask.

What ``docs/scale.rst`` reports; the protocol is in ``docs/benchmarks.rst``
("Scale: streaming, memory and Dask"). The peak memory is measured in a fresh
process (:mod:`benchmarks._memory_probe`).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from . import _harness as h
from . import speed
from ._data import manifold_rows

GRID = {"n_components": [2, 8], "lr": [1e-3, 3e-3]}


@dataclass
class ScaleConfig(h.Config):
    rows: int = h.option(60_000, "rows of the throughput data")
    features: int = h.option(784, "features (all parts)")
    epochs: int = h.option(2, "passes in the throughput runs")
    chunk_rows: tuple = h.option((10_000, 2_000), "partial_fit chunks")
    repeats: int = h.option(3, "throughput repeats")
    memory_gb: float = h.option(2.0, "size of the memmap file")
    # The in-memory reference fit reads this much into memory (much less
    # than memory_gb: it needs several times the file size).
    memory_reference_gb: float = 0.25
    memory_batch_size: int = 256
    dask: bool = h.option(True, "skip the Dask part")
    dask_repeats: int = h.option(2, "grid searches per backend")
    grid_epochs: int = 10
    QUICK = dict(rows=2_000, features=50, epochs=1, chunk_rows=(500,), repeats=1)
    QUICK.update(memory_gb=0.01, memory_reference_gb=0.005, dask=False)
    QUICK.update(dask_repeats=1, grid_epochs=1)
    THREADS = 1


# ----------------------------------------------------------------------
# Data


def write_memmap(path, n_rows, n_features, chunk_rows=50_000):
    """Write ``n_rows`` manifold rows to a float32 file, chunk by chunk."""
    out = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_rows, n_features))
    for index, start in enumerate(range(0, n_rows, chunk_rows)):
        stop = min(n_rows, start + chunk_rows)
        out[start:stop] = manifold_rows(stop - start, n_features, seed=1 + index)
    out.flush()
    del out


def scratch_file(size_bytes, directory=None):
    """A path for a temporary file of ``size_bytes``, after checking free disk."""
    directory = directory or tempfile.gettempdir()
    free = shutil.disk_usage(directory).free
    if free < 1.5 * size_bytes:
        raise RuntimeError(
            f"{directory} has {free / 2**30:.1f} GiB free; the benchmark needs "
            f"{1.5 * size_bytes / 2**30:.1f} GiB"
        )
    handle, path = tempfile.mkstemp(dir=directory, prefix="skae-scale-", suffix=".f32")
    os.close(handle)
    return Path(path)


# ----------------------------------------------------------------------
# 1. Throughput


def make_model(epochs, batch_size=speed.BATCH_SIZE):
    """The speed benchmark's architecture, all ``epochs`` on all rows."""
    return speed.make_skae(epochs, "cpu", batch_size=batch_size, early_stopping=False)


def bench_throughput(config, log=print):
    """Rows per second of fit, partial_fit and an out-of-core fit; medians."""
    X = manifold_rows(config.rows, config.features, seed=1)
    path = scratch_file(X.nbytes)
    try:
        write_memmap(path, config.rows, config.features)
        source = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)

        def fit_in_memory():
            make_model(config.epochs).fit(X)

        def fit_out_of_core():
            make_model(config.epochs).fit(source)

        def streamer(chunk_rows):
            def stream():
                model = make_model(config.epochs)
                for _ in range(config.epochs):
                    for start in range(0, len(X), chunk_rows):
                        model.partial_fit(X[start : start + chunk_rows])

            return stream

        contenders = {"fit (in memory)": fit_in_memory}
        for chunk_rows in config.chunk_rows:
            name = f"partial_fit ({chunk_rows} rows per call)"
            contenders[name] = streamer(chunk_rows)
        contenders["fit (memmap, out of core)"] = fit_out_of_core
        log(f"throughput: {len(contenders)} contenders x {config.repeats} repeats")
        wall, cpu = h.interleaved(contenders, config.repeats)
    finally:
        path.unlink()
    rows_seen = config.rows * config.epochs
    return [
        {
            "contender": name,
            "rows_per_s": rows_seen / statistics.median(wall[name]),
            "ratio_to_fit": h.pairwise_ratio(wall["fit (in memory)"], wall[name]),
            "rows_per_cpu_s": rows_seen / statistics.median(cpu[name]),
            "cpu_ratio_to_fit": h.pairwise_ratio(cpu["fit (in memory)"], cpu[name]),
            "seconds": wall[name],
            "cpu_seconds": cpu[name],
        }
        for name in contenders
    ]


# ----------------------------------------------------------------------
# 2. Memory


def bench_memory(config, log=print):
    """Peak extra resident memory of an out-of-core fit, in a fresh process,
    and of an in-memory fit of a smaller file (read into an array first)."""
    report = _probe(config, config.memory_gb, "stream", log)
    report["in_memory_reference"] = _probe(
        config, config.memory_reference_gb, "memory", log
    )
    return report


def _probe(config, size_gb, mode, log):
    n_rows = max(2, int(size_gb * 2**30 / (4 * config.features)))
    size = n_rows * config.features * 4
    path = scratch_file(size)
    try:
        log(f"memory: writing {size / 2**30:.2f} GiB to {path}")
        write_memmap(path, n_rows, config.features)
        sizes = (n_rows, config.features, config.memory_batch_size)
        command = [sys.executable, "-m", "benchmarks._memory_probe", str(path)]
        command += [*map(str, sizes), mode]
        log("memory: " + " ".join(command))
        probe = subprocess.run(command, capture_output=True, text=True, check=True)
        report = json.loads(probe.stdout.strip().splitlines()[-1])
    finally:
        path.unlink()
    report["file_bytes"] = size
    report["peak_extra_fraction_of_file"] = report["peak_extra_bytes"] / size
    return report


# ----------------------------------------------------------------------
# 3. Dask


def bench_dask(config, log=print):
    """A small grid search with loky and on a LocalCluster; seconds, medians."""
    import distributed

    X = load_digits().data
    model = speed.make_skae(config.grid_epochs, "cpu")

    def search(backend):
        with joblib.parallel_config(backend=backend, n_jobs=2):
            return GridSearchCV(model, GRID, cv=3).fit(X)

    start = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        startup = time.perf_counter() - start
        log(f"dask: cluster up in {startup:.1f} s")
        times = {"loky": [], "dask": []}
        best = {}
        for _ in range(config.dask_repeats):
            for backend in times:
                begin = time.perf_counter()
                best[backend] = search(backend).best_params_
                times[backend].append(time.perf_counter() - begin)
    return {
        "grid": GRID,
        "n_fits": 3 * len(GRID["n_components"]) * len(GRID["lr"]) + 1,
        "cluster_startup_s": startup,
        "loky_s": times["loky"],
        "dask_s": times["dask"],
        "loky_median_s": statistics.median(times["loky"]),
        "dask_median_s": statistics.median(times["dask"]),
        "same_best_params": best["loky"] == best["dask"],
        "best_params": best["dask"],
    }


# ----------------------------------------------------------------------


def run(config, log=print):
    report = {"environment": {**h.environment(), "load_average": os.getloadavg()}}
    report["config"] = asdict(config)
    report["throughput"] = bench_throughput(config, log)
    report["memory"] = bench_memory(config, log)
    if config.dask:
        report["dask"] = bench_dask(config, log)
    report["environment"]["load_average_after"] = os.getloadavg()
    return report


def text_report(report):
    lines = [
        "Throughput: rows/s (wall, median) and ratio to the in-memory fit "
        "(median of pairs); the same per CPU second"
    ]
    for row in report["throughput"]:
        lines.append(
            f"  {row['contender']:<36} {row['rows_per_s']:>8,.0f}"
            f"  x{row['ratio_to_fit']:.2f}   CPU: {row['rows_per_cpu_s']:>8,.0f}"
            f"  x{row['cpu_ratio_to_fit']:.2f}"
        )
    memory = report["memory"]
    lines.append(
        f"Memory: out-of-core fit of a {memory['file_bytes'] / 2**30:.2f} GiB "
        f"float32 memmap: peak extra RSS {memory['peak_extra_bytes'] / 2**20:,.0f} "
        f"MiB = {100 * memory['peak_extra_fraction_of_file']:.1f}% of the file "
        f"(anonymous {memory['peak_anon_extra_bytes'] / 2**20:,.0f} MiB, "
        f"mapped files {memory['peak_file_extra_bytes'] / 2**20:,.0f} MiB); "
        f"fit {memory['fit_seconds']:.0f} s"
    )
    reference = memory["in_memory_reference"]
    lines.append(
        f"        in-memory reference, {reference['file_bytes'] / 2**30:.2f} GiB read "
        f"into an array: peak extra RSS {reference['peak_extra_bytes'] / 2**20:,.0f} "
        f"MiB = {100 * reference['peak_extra_fraction_of_file']:.0f}% of the data"
    )
    if "dask" in report:
        dask = report["dask"]
        lines.append(
            f"Dask: grid of {dask['n_fits']} fits: loky {dask['loky_median_s']:.1f} s, "
            f"LocalCluster {dask['dask_median_s']:.1f} s (cluster start "
            f"{dask['cluster_startup_s']:.1f} s); same best parameters: "
            f"{dask['same_best_params']}"
        )
    env = report["environment"]
    lines.append(
        f"Load average before {env['load_average']}, after "
        f"{env['load_average_after']}; torch threads {env['torch_threads']}"
    )
    return "\n".join(lines)


def add_arguments(parser):
    """Add the options of ``python -m benchmarks scale`` to ``parser``."""
    ScaleConfig.add_arguments(parser)


def run_command(args, argv=()):
    """Run the benchmark the parsed ``args`` describe (no Dask with --quick)."""
    h.set_threads(args.threads)
    report = run(ScaleConfig.from_args(args))
    report["command"] = h.command("scale", argv)
    print()
    print(text_report(report))
    h.save_json(report, args.json, "scale")
    return report
