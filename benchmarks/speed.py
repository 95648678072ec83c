"""Speed of skae against a hand-written PyTorch loop, PyOD and PCA.

Every comparison trains the same architecture (``n_features -> 256 -> 128 ->
8`` and its mirror), with Adam, the same batch size, learning rate and number
of epochs, on the same data, and repeats the contenders interleaved (A, B, A,
B, ...) so that a busy machine slows all of them alike. Results are medians
over the repeats, and each comparison is given as a ratio ``skae / other``.

The hand-written loop is what a PyTorch user writes without a framework:
standardize, move the data to the device once, and per epoch draw a
permutation and step through contiguous batches (``zero_grad``, forward,
MSE, ``backward``, ``step``). It trains the very module class skae builds,
so the two differ only in what surrounds the batch.
"""

import json
import platform
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

import skae

HIDDEN = (256, 128)
N_COMPONENTS = 8
BATCH_SIZE = 64
LR = 1e-3
IWAE_KS = (1, 5, 50)


# ----------------------------------------------------------------------
# Data


def digits_data(n_samples=None):
    """``load_digits`` pixels (1797 x 64), optionally the first ``n_samples``."""
    X = load_digits().data
    return X[:n_samples] if n_samples else X


def synthetic_mnist(n_samples=60000, n_features=784, n_latent=8, random_state=0):
    """MNIST-sized float32 data in [0, 1] that lies near a curved manifold.

    Points of an ``n_latent``-dimensional Gaussian pass through a random
    two-layer network with a sigmoid output, plus a little noise: structure an
    autoencoder can learn and PCA can only approximate, at MNIST's shape.
    """
    rng = np.random.RandomState(random_state)
    z = rng.normal(size=(n_samples, n_latent))
    hidden = np.tanh(z @ rng.normal(size=(n_latent, 64)))
    logits = hidden @ rng.normal(scale=0.5, size=(64, n_features))
    logits += 0.1 * rng.normal(size=logits.shape)
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


# ----------------------------------------------------------------------
# Contenders


def make_skae(epochs, device, cls=None, **params):
    """A skae model with the benchmark architecture that trains all epochs."""
    cls = cls or skae.AutoencoderTransformer
    return cls(
        n_components=N_COMPONENTS,
        hidden_layer_sizes=HIDDEN,
        batch_size=BATCH_SIZE,
        lr=LR,
        max_epochs=epochs,
        n_iter_no_change=epochs + 1,  # no early stop: every contender runs all
        device=device,
        random_state=0,
        **params,
    )


class HandWrittenLoop:
    """The minimal PyTorch training loop, on the module skae would build."""

    def __init__(self, epochs, device):
        self.epochs = epochs
        self.device = torch.device(device)

    def fit(self, X):
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        self.scale_ = X.std(axis=0, dtype=np.float64)
        self.scale_[self.scale_ == 0] = 1.0
        data = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32)
        torch.manual_seed(0)
        module = make_skae(self.epochs, "cpu")._build_module(data)
        module = module.to(self.device).train()
        data = data.to(self.device)
        optimizer = torch.optim.Adam(module.parameters(), lr=LR)
        n_samples = len(data)
        for _ in range(self.epochs):
            shuffled = data[torch.randperm(n_samples, device=self.device)]
            for start in range(0, n_samples, BATCH_SIZE):
                batch = shuffled[start : start + BATCH_SIZE]
                optimizer.zero_grad()
                reconstruction = module.decoder(module.encoder(batch))
                loss = torch.nn.functional.mse_loss(reconstruction, batch)
                loss.backward()
                optimizer.step()
        self.module_ = module.eval()
        return self

    def transform(self, X):
        data = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32)
        with torch.inference_mode():
            return self.module_.encode(data.to(self.device)).cpu().numpy()


def make_pyod(kind, epochs, device):
    """PyOD's ``AutoEncoder`` or ``VAE`` with the benchmark architecture."""
    common = dict(
        epoch_num=epochs,
        batch_size=BATCH_SIZE,
        lr=LR,
        optimizer_params={"weight_decay": 0.0},
        batch_norm=False,
        dropout_rate=0.0,
        preprocessing=True,
        device=str(device),
        random_state=0,
        verbose=0,
    )
    if kind == "AutoEncoder":
        from pyod.models.auto_encoder import AutoEncoder

        return AutoEncoder(hidden_neuron_list=[*HIDDEN, N_COMPONENTS], **common)
    from pyod.models.vae import VAE

    return VAE(
        encoder_neuron_list=list(HIDDEN),
        decoder_neuron_list=list(HIDDEN[::-1]),
        latent_dim=N_COMPONENTS,
        **common,
    )


def pyod_available():
    try:
        import pyod  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------
# Timing


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timed(function, device):
    """Seconds that ``function()`` takes, GPU work included."""
    _sync(device)
    start = time.perf_counter()
    function()
    _sync(device)
    return time.perf_counter() - start


def interleaved(contenders, repeats, device):
    """Time each ``name -> function`` ``repeats`` times, in turn; lists of seconds.

    One untimed warm-up call each first (allocator, lazy initialization).
    """
    for function in contenders.values():
        function()
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, function in contenders.items():
            times[name].append(timed(function, device))
    return times


@dataclass
class Result:
    """One comparison: skae's figure against another, as ``skae / other``."""

    dataset: str
    device: str
    metric: str
    other: str
    skae: float
    reference: float
    better: str  # "higher" or "lower"
    repeats: int
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self):
        return self.skae / self.reference if self.reference else float("nan")

    def as_dict(self):
        return {**asdict(self), "ratio": self.ratio}


def _median(values):
    return statistics.median(values)


def _pairwise_ratio(numerators, denominators):
    """Median of the per-repeat ratios (each pair ran back to back)."""
    return _median([a / b for a, b in zip(numerators, denominators)])


# ----------------------------------------------------------------------
# Benchmarks


def bench_loop(X, epochs, device, repeats, name):
    """skae vs the hand-written loop: fit and transform throughput."""
    loop = HandWrittenLoop(epochs, device)
    model = make_skae(epochs, device)
    fit_times = interleaved(
        {"loop": lambda: loop.fit(X), "skae": lambda: model.fit(X)}, repeats, device
    )
    if model.n_iter_ != epochs:
        raise RuntimeError(f"skae stopped after {model.n_iter_} of {epochs} epochs")
    transform_times = interleaved(
        {"loop": lambda: loop.transform(X), "skae": lambda: model.transform(X)},
        repeats,
        device,
    )
    n_fit = len(X) * epochs
    results = []
    for metric, times, n in (
        ("fit samples/s", fit_times, n_fit),
        ("transform samples/s", transform_times, len(X)),
    ):
        results.append(
            Result(
                name,
                str(device),
                metric,
                "hand-written PyTorch loop",
                n / _median(times["skae"]),
                n / _median(times["loop"]),
                "higher",
                repeats,
                {
                    "seconds_skae": times["skae"],
                    "seconds_other": times["loop"],
                    "pairwise_ratio": _pairwise_ratio(times["loop"], times["skae"]),
                    "epochs": epochs,
                },
            )
        )
    return results


def bench_pca(X_train, X_test, epochs, device, repeats, name):
    """skae vs PCA: fit and transform time, held-out reconstruction error."""
    model = make_skae(epochs, device)
    pca = PCA(n_components=N_COMPONENTS, random_state=0)
    fit_times = interleaved(
        {"pca": lambda: pca.fit(X_train), "skae": lambda: model.fit(X_train)},
        repeats,
        device,
    )
    transform_times = interleaved(
        {"pca": lambda: pca.transform(X_test), "skae": lambda: model.transform(X_test)},
        repeats,
        device,
    )

    def mse(estimator):
        reconstruction = estimator.inverse_transform(estimator.transform(X_test))
        return float(np.mean((reconstruction - X_test) ** 2))

    extra = {"epochs": epochs, "n_train": len(X_train), "n_test": len(X_test)}
    return [
        Result(
            name,
            str(device),
            "fit seconds",
            "PCA",
            _median(fit_times["skae"]),
            _median(fit_times["pca"]),
            "lower",
            repeats,
            extra,
        ),
        Result(
            name,
            str(device),
            "transform seconds (test set)",
            "PCA",
            _median(transform_times["skae"]),
            _median(transform_times["pca"]),
            "lower",
            repeats,
            extra,
        ),
        Result(
            name,
            str(device),
            "reconstruction MSE (test set)",
            "PCA",
            mse(model),
            mse(pca),
            "lower",
            1,
            extra,
        ),
    ]


def bench_pyod(X, epochs, device, repeats, name):
    """skae vs PyOD's AutoEncoder (and VAE when skae has one): fit throughput."""
    pairs = [("AutoEncoder", skae.AutoencoderTransformer, {})]
    if hasattr(skae, "VAE"):
        pairs.append(("VAE", skae.VAE, {}))
    results = []
    for kind, cls, params in pairs:
        ours = make_skae(epochs, device, cls, **params)
        theirs = make_pyod(kind, epochs, device)
        times = interleaved(
            {"pyod": lambda: theirs.fit(X), "skae": lambda: ours.fit(X)},  # noqa: B023
            repeats,
            device,
        )
        n = len(X) * epochs
        results.append(
            Result(
                name,
                str(device),
                "fit samples/s",
                f"PyOD {kind}",
                n / _median(times["skae"]),
                n / _median(times["pyod"]),
                "higher",
                repeats,
                {
                    "skae_model": cls.__name__,
                    "seconds_skae": times["skae"],
                    "seconds_other": times["pyod"],
                    "pairwise_ratio": _pairwise_ratio(times["pyod"], times["skae"]),
                    "epochs": epochs,
                    "note": "PyOD's fit also scores the training set once",
                },
            )
        )
    return results


def bench_iwae(X, epochs, device, repeats, name, ks=IWAE_KS):
    """IWAE step time against ``k`` (skipped unless ``skae.IWAE`` exists)."""
    iwae = getattr(skae, "IWAE", None)
    if iwae is None:
        return []
    models = {k: make_skae(epochs, device, iwae, k=k) for k in ks}
    times = interleaved(
        {k: (lambda m=model: m.fit(X)) for k, model in models.items()},
        repeats,
        device,
    )
    n_steps = epochs * -(-len(X) // BATCH_SIZE)
    base = _median(times[ks[0]]) / n_steps
    return [
        Result(
            name,
            str(device),
            f"IWAE step ms, k={k}",
            f"IWAE k={ks[0]}",
            1e3 * _median(times[k]) / n_steps,
            1e3 * base,
            "lower",
            repeats,
            {"seconds": times[k], "steps": n_steps, "epochs": epochs},
        )
        for k in ks
    ]


# ----------------------------------------------------------------------
# Runner


@dataclass
class Config:
    """Sizes of one run; :meth:`quick` is a smoke run of a few seconds."""

    digits_rows: int | None = None
    digits_epochs: int = 20
    mnist_rows: int = 60000
    mnist_features: int = 784
    mnist_epochs: int = 2
    repeats: int = 5
    mnist_repeats: int = 3
    datasets: tuple = ("digits", "mnist")
    devices: tuple = ("cpu", "cuda")
    pyod: bool = True
    iwae: bool = True

    @classmethod
    def quick(cls, **overrides):
        params = dict(
            digits_rows=400,
            digits_epochs=2,
            mnist_rows=1000,
            mnist_features=784,
            mnist_epochs=1,
            repeats=1,
            mnist_repeats=1,
        )
        return cls(**{**params, **overrides})


def _datasets(config):
    for name in config.datasets:
        if name == "digits":
            X = digits_data(config.digits_rows)
            yield name, X, config.digits_epochs, config.repeats
        elif name == "mnist":
            X = synthetic_mnist(config.mnist_rows, config.mnist_features)
            yield (
                f"synthetic {config.mnist_rows}x{config.mnist_features}",
                X,
                config.mnist_epochs,
                config.mnist_repeats,
            )
        else:
            raise ValueError(f"unknown dataset {name!r}")


def available_devices(requested):
    devices = []
    for device in requested:
        if device == "cuda" and not torch.cuda.is_available():
            continue
        devices.append(device)
    return devices


def run(config, log=print):
    """Run every benchmark of ``config``; return the list of :class:`Result`."""
    results = []
    for device in available_devices(config.devices):
        for name, X, epochs, repeats in _datasets(config):
            X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
            steps = [
                ("loop", bench_loop, (X_train,)),
                ("pca", bench_pca, (X_train, X_test)),
            ]
            if config.pyod and pyod_available():
                steps.append(("pyod", bench_pyod, (X_train,)))
            if config.iwae:
                steps.append(("iwae", bench_iwae, (X_train,)))
            for step, function, data in steps:
                start = time.perf_counter()
                new = function(*data, epochs, device, repeats, name)
                log(
                    f"[{device}] {name}: {step} done in "
                    f"{time.perf_counter() - start:.1f} s"
                )
                results.extend(new)
    return results


def environment():
    """Versions and machine facts stored with the results."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    info = {
        "skae": skae.__version__,
        "commit": commit,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "pyod": None,
    }
    if pyod_available():
        import pyod

        info["pyod"] = pyod.__version__
    return info


def load_results(path):
    """Read a JSON file written by ``python -m benchmarks``: (environment, results)."""
    report = json.loads(Path(path).read_text())
    names = {f.name for f in fields(Result)}
    results = [
        Result(**{key: value for key, value in row.items() if key in names})
        for row in report["results"]
    ]
    return report["environment"], results


def _fmt(value):
    if value == 0 or not np.isfinite(value):
        return f"{value}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


HEADER = ("data", "device", "metric", "vs", "skae", "other", "skae / other")


def rows(results):
    return [
        (
            r.dataset,
            r.device,
            f"{r.metric} ({r.better} is better)",
            r.other,
            _fmt(r.skae),
            _fmt(r.reference),
            f"{r.ratio:.2f}",
        )
        for r in results
    ]


def text_table(results):
    """A plain-text table for the terminal."""
    table = [HEADER, *rows(results)]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(HEADER))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths))
        for row in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def rst_table(results, environment=None):
    """An RST ``list-table`` for the documentation, after a line on the setup."""
    lines = []
    if environment:
        lines += [
            f"Measured with {environment['torch_threads']} torch thread(s), "
            f"torch {environment['torch']}, scikit-learn {environment['sklearn']}, "
            f"PyOD {environment['pyod'] or '(not installed)'}, "
            f"GPU: {environment['cuda'] or 'none'}, skae commit "
            f"{environment['commit'] or 'unknown'}.",
            "",
        ]
    lines += [".. list-table::", "   :header-rows: 1", ""]
    for row in [HEADER, *rows(results)]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------
# Command line: ``python -m benchmarks speed`` (or ``python -m benchmarks``)

RESULTS = Path(__file__).parent / "results"


def add_arguments(parser):
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
        return Config.quick(**overrides)
    return Config(**overrides)


def run_command(args, argv=None):
    """Run the benchmarks the parsed ``args`` describe; return the results."""
    torch.set_num_threads(args.threads)
    config = config_from(args)
    results = run(config)
    print()
    print(text_table(results))
    report = {
        "environment": environment(),
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
        args.rst.write_text(rst_table(results, report["environment"]))
        print(f"RST table written to {args.rst}")
    return results
