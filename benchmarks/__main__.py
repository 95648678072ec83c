"""Command line: ``python -m benchmarks [COMMAND] [options]`` (default ``speed``).

A command is a module with ``add_arguments(parser)`` (its options) and
``run_command(args, argv)`` (the run), listed in :data:`COMMANDS`.
"""

import argparse
import sys

from . import (
    budget_study,
    contention,
    imputation,
    inference,
    mixed,
    mixed_choices,
    outliers,
    profile,
    quality,
    scale,
    sparse_study,
    speed,
    start_rule_study,
)

# name -> (module, one-line help)
COMMANDS = {
    "speed": (speed, "skae vs a hand-written PyTorch loop, PyOD and PCA"),
    "quality": (quality, "held-out quality at default settings vs PCA and FA"),
    "outliers": (outliers, "outlier detection vs sklearn and PyOD detectors"),
    "imputation": (imputation, "imputation of missing entries vs sklearn's imputers"),
    "mixed": (mixed, "mixed-type tables: per-column VAE vs the one-hot workaround"),
    "profile": (profile, "where the time of a fit goes, part by part"),
    "inference": (inference, "transform and score_samples against a bare forward"),
    "contention": (contention, "fit and transform time on a busy machine"),
    "scale": (scale, "streaming throughput, out-of-core memory, Dask grid search"),
    "start-rule-study": (start_rule_study, "study: when to leave the linear start"),
    "budget-study": (budget_study, "study: training budgets, quality against time"),
    "sparse-study": (sparse_study, "study: the sparse model's penalty and weight"),
    "mixed-choices": (
        mixed_choices,
        "study: the start and column weights on mixed tables",
    ),
}
DEFAULT_COMMAND = "speed"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks of skae. Without a command, runs speed.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        command = commands.add_parser(name, help=summary, description=summary)
        module.add_arguments(command)
        command.set_defaults(run_command=module.run_command)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv.insert(0, DEFAULT_COMMAND)
    args = build_parser().parse_args(argv)
    return args.run_command(args, argv[1:])


if __name__ == "__main__":
    main()
