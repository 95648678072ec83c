"""Command line: ``python -m benchmarks [--quick] [--json PATH] [--rst PATH]``.

``python -m benchmarks scale [...]`` runs the scale benchmark instead
(:mod:`benchmarks.scale`; ``--help`` lists its options).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from . import speed

RESULTS = Path(__file__).parent / "results"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="skae vs a hand-written PyTorch loop, PyOD and PCA.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: a smoke run of seconds"
    )
    parser.add_argument(
        "--datasets", nargs="+", choices=["digits", "mnist"], default=None
    )
    parser.add_argument("--devices", nargs="+", choices=["cpu", "cuda"], default=None)
    parser.add_argument("--repeats", type=int, help="repeats per comparison (digits)")
    parser.add_argument("--mnist-repeats", type=int, help="repeats (synthetic MNIST)")
    parser.add_argument("--digits-epochs", type=int)
    parser.add_argument("--mnist-epochs", type=int)
    parser.add_argument("--mnist-rows", type=int)
    parser.add_argument(
        "--threads", type=int, default=2, help="torch.set_num_threads (default 2)"
    )
    parser.add_argument("--no-pyod", action="store_true", help="skip PyOD")
    parser.add_argument("--no-iwae", action="store_true", help="skip IWAE vs k")
    parser.add_argument(
        "--json",
        type=Path,
        help="where to write the results (default benchmarks/results/<time>.json)",
    )
    parser.add_argument("--rst", type=Path, help="also write an RST table here")
    return parser.parse_args(argv)


def config_from(args):
    overrides = {
        key: value
        for key, value in {
            "repeats": args.repeats,
            "mnist_repeats": args.mnist_repeats,
            "digits_epochs": args.digits_epochs,
            "mnist_epochs": args.mnist_epochs,
            "mnist_rows": args.mnist_rows,
            "datasets": tuple(args.datasets) if args.datasets else None,
            "devices": tuple(args.devices) if args.devices else None,
        }.items()
        if value is not None
    }
    overrides["pyod"] = not args.no_pyod
    overrides["iwae"] = not args.no_iwae
    if args.quick:
        return speed.Config.quick(**overrides)
    return speed.Config(**overrides)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["scale"]:
        from . import scale

        return scale.main(argv[1:])
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    config = config_from(args)
    results = speed.run(config)
    print()
    print(speed.text_table(results))
    report = {
        "environment": speed.environment(),
        "config": {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in vars(config).items()
        },
        "results": [result.as_dict() for result in results],
    }
    path = args.json or RESULTS / time.strftime("speed-%Y%m%d-%H%M%S.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(f"\nresults written to {path}")
    if args.rst:
        args.rst.write_text(speed.rst_table(results, report["environment"]))
        print(f"RST table written to {args.rst}")
    return results


if __name__ == "__main__":
    main()
