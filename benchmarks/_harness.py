"""What every benchmark shares: its options, environment, runs, timing, tables.

A benchmark module is only its measurement. It subclasses :class:`Config`
with its sizes, declared once as fields (those made with :func:`option` are
also command-line options; ``QUICK`` holds the smaller sizes of a smoke run),
runs its units with :func:`run_units` and saves a :func:`report` with
:func:`save_json`; :func:`table` writes rows as text, RST or Markdown.
"""

import json
import os
import platform
import statistics
import subprocess
import time
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar

import sklearn
import torch
from joblib import Parallel, delayed

import skae

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def option(default, help, **argparse):
    """A :class:`Config` field that is also the option ``--name``.

    Its type is the field's; a tuple takes one or more values, a boolean
    that defaults to true becomes ``--no-name``. ``argparse`` adds to (or
    replaces) the arguments of ``add_argument`` (``choices``, ``type``...).
    """
    return field(default=default, metadata={"help": help, **argparse})


@dataclass
class Config:
    """The sizes of one run: each benchmark subclasses it with its fields.

    :meth:`quick` is a smoke run of seconds: the defaults overridden by the
    class's ``QUICK``, then by ``overrides``. ``THREADS`` and ``JOBS`` are
    the defaults of ``--threads`` and ``--jobs`` (no ``--jobs`` when None).
    """

    QUICK: ClassVar[dict] = {}
    THREADS: ClassVar[int | None] = None
    JOBS: ClassVar[int | None] = None

    @classmethod
    def quick(cls, **overrides):
        return cls(**{**cls.QUICK, **overrides})

    @classmethod
    def add_arguments(cls, parser):
        """--quick, --threads, --json (, --jobs), then an option per :func:`option`."""
        add, threads, jobs = parser.add_argument, cls.THREADS, cls.JOBS
        add("--quick", action="store_true", help="tiny sizes: a smoke run of seconds")
        default = threads or "torch's own"
        add("--threads", type=int, default=threads, help=f"torch threads ({default})")
        add("--json", type=Path, help="where to write the raw numbers")
        if jobs is not None:
            add("--jobs", type=int, default=jobs, help=f"processes (default {jobs})")
        for spec in (spec for spec in fields(cls) if "help" in spec.metadata):
            name, kwargs = spec.name.replace("_", "-"), dict(spec.metadata)
            if spec.default is True:
                add(f"--no-{name}", dest=spec.name, action="store_false", **kwargs)
                parser.set_defaults(**{spec.name: None})
                continue
            kind = (typing.get_args(spec.type) or (spec.type,))[0]  # X | None: X
            if kind is tuple:
                kwargs.setdefault("nargs", "+")
                kind = type(spec.default[0])
            elif spec.default is not None:
                kwargs["help"] += f" (default {spec.default})"
            add(f"--{name}", **{"type": kind, **kwargs})

    @classmethod
    def from_args(cls, args, **overrides):
        """The config of the parsed options: each given one named as a field."""
        for spec in fields(cls):
            value = getattr(args, spec.name, None)
            if value is not None and spec.name not in overrides:
                overrides[spec.name] = tuple(value) if type(value) is list else value
        return cls.quick(**overrides) if args.quick else cls(**overrides)


def run_units(function, units, jobs=1, threads=None, setup=None):
    """``function(*unit)`` of each unit, in order (a generator).

    With ``jobs=1`` in this process, else in ``jobs`` worker processes. Each
    process first sets ``threads`` torch threads and calls ``setup()`` (in a
    worker before each unit, here once).
    """
    if jobs == 1:
        set_threads(threads)
        if setup:
            setup()
        return (function(*unit) for unit in units)
    return Parallel(n_jobs=jobs, return_as="generator")(
        delayed(_in_worker)(function, unit, threads, setup) for unit in units
    )


def _in_worker(function, unit, threads, setup):
    set_threads(threads)
    if setup:
        setup()
    return function(*unit)


def pyod_version():
    try:
        import pyod
    except ImportError:
        return None
    return pyod.__version__


def environment():
    """Versions, commit, machine and threads, stored with every result."""
    git = ["git", "rev-parse", "--short", "HEAD"]
    try:
        run = subprocess.run(git, capture_output=True, text=True, check=True, cwd=ROOT)
        commit = run.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "skae": skae.__version__,
        "commit": commit,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "pyod": pyod_version(),
        "cores": os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def describe(env):
    """One line of versions and threads (a string saved by older runs as is)."""
    if isinstance(env, str):
        return env
    pyod = f", pyod {env['pyod']}" if env.get("pyod") else ""
    return (
        f"skae {env['skae']}, scikit-learn {env['sklearn']}, torch {env['torch']}"
        f"{pyod}; Python {env['python']}, {env['torch_threads']} torch "
        f"thread(s), {env['cores']} CPU(s)"
    )


def _relative(argument):
    """A path under the repository relative to it, another one its name only."""
    path = Path(argument)
    if not path.is_absolute():
        return argument
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def command(name, argv=()):
    """The command line that makes a result, without this machine's paths."""
    return " ".join(["python -m benchmarks", name, *map(_relative, argv)])


def report(name, argv=(), **content):
    """A result to save: the environment, the command, then ``content``."""
    return {"environment": environment(), "command": command(name, argv), **content}


def save_json(report, path=None, stem="result", text=None):
    """Write ``report`` (or ``text``) to ``path``, by default a dated file."""
    path = Path(path or RESULTS / time.strftime(f"{stem}-%Y%m%d-%H%M%S.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text or json.dumps(report, indent=2), encoding="utf-8")
    print(f"results written to {path}")
    return path


def output_arguments(parser, stem):
    """``--out`` (the .rst, ``results/<stem>.rst`` by default) and
    ``--tables-from`` (render a saved run), for benchmarks that write tables."""
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS / f"{stem}.rst",
        help="the .rst (default: results/)",
    )
    parser.add_argument(
        "--tables-from", type=Path, metavar="JSON", help="render a saved run"
    )


def write_tables(args, report, render):
    """Save a new run's JSON beside ``--out``, then print and write its tables."""
    if not args.tables_from:
        save_json(report, args.json or args.out.with_suffix(".json"))
    text = render(report)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return report


def run_study(name, function, units, args, argv, render):
    """Run ``function`` (a list of rows per unit) over ``units``, then save
    the rows as the report of ``name`` and write its tables (``render``)."""
    start = time.perf_counter()
    results = run_units(function, units, args.jobs, args.threads)
    rows = [row for unit_rows in results for row in unit_rows]
    seconds = time.perf_counter() - start
    return write_tables(
        args, report(name, argv, total_seconds=seconds, rows=rows), render
    )


def log(message):
    print(message, flush=True)


def set_threads(threads):
    if threads:
        torch.set_num_threads(threads)


# ----------------------------------------------------------------------
# Timing


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timed(function, device="cpu"):
    """Wall seconds that ``function()`` takes, GPU work included."""
    _sync(device)
    start = time.perf_counter()
    function()
    _sync(device)
    return time.perf_counter() - start


def interleaved(contenders, repeats, device="cpu"):
    """Wall and CPU seconds of each ``name -> function``, run in turn.

    One untimed warm-up call each first (allocator, lazy initialization);
    then A, B, ..., A, B, ...: a change in the load slows every contender.
    CPU time (of this process) hardly depends on what else the machine
    runs, so on a shared machine the CPU figures are the steadier ones.
    """
    for function in contenders.values():
        function()
    wall = {name: [] for name in contenders}
    cpu = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, function in contenders.items():
            start = time.process_time()
            wall[name].append(timed(function, device))
            cpu[name].append(time.process_time() - start)
    return wall, cpu


median = statistics.median


def pairwise_ratio(numerators, denominators):
    """Median of the per-repeat ratios (each pair ran back to back)."""
    return median([a / b for a, b in zip(numerators, denominators)])


# ----------------------------------------------------------------------
# Tables


def table(header, rows, style="text"):
    """``rows`` under ``header`` as ``text``, ``rst`` (a simple table),
    ``list-table`` (RST) or ``markdown``."""
    rows = [[str(cell) for cell in row] for row in [header, *rows]]
    if style == "markdown":
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join([lines[0], "|" + "---|" * len(header), *lines[1:]])
    if style == "list-table":
        lines = [".. list-table::", "   :header-rows: 1", ""]
        for row in rows:
            lines += [f"   * - {row[0]}", *(f"     - {cell}" for cell in row[1:])]
        return "\n".join(lines) + "\n"
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    if style == "rst":
        rule = "  ".join("=" * w for w in widths)
        return "\n".join([rule, lines[0], rule, *lines[1:], rule])
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
