"""Speed of skae against a hand-written PyTorch loop, PyOD and PCA.

The protocol is in ``docs/benchmarks.rst`` ("What is compared"): the same
architecture, optimizer, batch size and epochs for every contender, repeated
interleaved (A, B, A, B, ...) so that a busy machine slows all alike;
medians over the repeats, each comparison a ratio ``skae / other``.
"""

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

import skae

from . import _harness as h
from ._data import digits_data, synthetic_mnist

HIDDEN = (256, 128)
N_COMPONENTS = 8
BATCH_SIZE = 64
LR = 1e-3
IWAE_KS = (1, 5, 50)
DATASETS = ["digits", "mnist"]


# ----------------------------------------------------------------------
# Contenders


def make_skae(epochs, device, cls=None, **params):
    """A skae model with the benchmark architecture that trains all epochs
    (``params`` add to or replace the benchmark's)."""
    cls = cls or skae.AutoencoderTransformer
    # n_iter_no_change: no early stop, every contender runs all epochs.
    setup = dict(n_components=N_COMPONENTS, hidden_layer_sizes=HIDDEN, lr=LR)
    setup.update(batch_size=BATCH_SIZE, max_epochs=epochs, n_iter_no_change=epochs + 1)
    return cls(**{**setup, "device": device, "random_state": 0, **params})


class HandWrittenLoop(TransformerMixin, BaseEstimator):
    """The minimal PyTorch training loop, on the module skae would build (an
    estimator: ``GridSearchCV`` fits it in the contention benchmark)."""

    def __init__(self, epochs=1, device="cpu"):
        self.epochs = epochs
        self.device = device

    def fit(self, X, y=None):
        device = torch.device(self.device)
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        self.scale_ = X.std(axis=0, dtype=np.float64)
        self.scale_[self.scale_ == 0] = 1.0
        data = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32)
        torch.manual_seed(0)
        module = make_skae(self.epochs, "cpu")._build_module(data)
        module = module.to(device).train()
        data = data.to(device)
        optimizer = torch.optim.Adam(module.parameters(), lr=LR)
        n_samples = len(data)
        for _ in range(self.epochs):
            shuffled = data[torch.randperm(n_samples, device=device)]
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
    common = dict(epoch_num=epochs, batch_size=BATCH_SIZE, lr=LR, verbose=0)
    common.update(optimizer_params={"weight_decay": 0.0}, batch_norm=False)
    common.update(dropout_rate=0.0, preprocessing=True, device=str(device))
    common.update(random_state=0)
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


# ----------------------------------------------------------------------
# Benchmarks


class _Comparisons:
    """The :class:`Result` of one data set and device, timed ``repeats`` times."""

    def __init__(self, name, device, repeats):
        self.name, self.device, self.repeats = name, device, repeats

    def times(self, contenders):
        return h.interleaved(contenders, self.repeats, self.device)[0]

    def result(self, metric, other, ours, theirs, better, repeats=None, **extra):
        repeats = repeats or self.repeats
        figures = (metric, other, ours, theirs, better, repeats, extra)
        return Result(self.name, str(self.device), *figures)

    def throughput(self, metric, other, times, n, **extra):
        """``n`` samples over the median seconds of ``other`` and skae (in turn)."""
        theirs, ours = times.values()
        ratio = h.pairwise_ratio(theirs, ours)
        rates = (n / h.median(ours), n / h.median(theirs), "higher")
        extra.update(seconds_skae=ours, seconds_other=theirs, pairwise_ratio=ratio)
        return self.result(metric, other, *rates, **extra)


def bench_loop(X, epochs, device, repeats, name):
    """skae vs the hand-written loop: fit and transform throughput."""
    loop, model = HandWrittenLoop(epochs, device), make_skae(epochs, device)
    run = _Comparisons(name, device, repeats)
    fit = run.times({"loop": lambda: loop.fit(X), "skae": lambda: model.fit(X)})
    if model.n_iter_ != epochs:
        raise RuntimeError(f"skae stopped after {model.n_iter_} of {epochs} epochs")
    transforms = {"loop": lambda: loop.transform(X), "skae": lambda: model.transform(X)}
    transform, other = run.times(transforms), "hand-written PyTorch loop"
    return [
        run.throughput("fit samples/s", other, fit, len(X) * epochs, epochs=epochs),
        run.throughput("transform samples/s", other, transform, len(X), epochs=epochs),
    ]


def bench_pca(X, T, epochs, device, repeats, name):
    """skae vs PCA: fit and transform time, reconstruction error of ``T``."""
    model = make_skae(epochs, device)
    pca = PCA(n_components=N_COMPONENTS, random_state=0)
    run = _Comparisons(name, device, repeats)
    fit = run.times({"pca": lambda: pca.fit(X), "skae": lambda: model.fit(X)})
    transforms = {"pca": lambda: pca.transform(T), "skae": lambda: model.transform(T)}
    test = run.times(transforms)

    def mse(estimator):
        reconstruction = estimator.inverse_transform(estimator.transform(T))
        return float(np.mean((reconstruction - T) ** 2))

    extra = {"epochs": epochs, "n_train": len(X), "n_test": len(T)}
    return [
        run.result(metric, "PCA", ours, theirs, "lower", n, **extra)
        for metric, (theirs, ours), n in [
            ("fit seconds", map(h.median, fit.values()), None),
            ("transform seconds (test set)", map(h.median, test.values()), None),
            ("reconstruction MSE (test set)", (mse(pca), mse(model)), 1),
        ]
    ]


def bench_pyod(X, epochs, device, repeats, name):
    """skae vs PyOD's AutoEncoder (and VAE when skae has one): fit throughput."""
    pairs = [("AutoEncoder", skae.AutoencoderTransformer)]
    if hasattr(skae, "VAE"):
        pairs.append(("VAE", skae.VAE))
    run, results = _Comparisons(name, device, repeats), []
    for kind, cls in pairs:
        ours, theirs = make_skae(epochs, device, cls), make_pyod(kind, epochs, device)
        times = run.times({"pyod": lambda: theirs.fit(X), "skae": lambda: ours.fit(X)})  # noqa: B023
        note = "PyOD's fit also scores the training set once"
        extra = dict(skae_model=cls.__name__, epochs=epochs, note=note)
        n = len(X) * epochs
        results.append(
            run.throughput("fit samples/s", f"PyOD {kind}", times, n, **extra)
        )
    return results


def bench_iwae(X, epochs, device, repeats, name, ks=IWAE_KS):
    """IWAE step time against ``k`` (skipped unless ``skae.IWAE`` exists)."""
    iwae = getattr(skae, "IWAE", None)
    if iwae is None:
        return []
    run = _Comparisons(name, device, repeats)
    models = {k: make_skae(epochs, device, iwae, k=k) for k in ks}
    times = run.times({k: (lambda m=model: m.fit(X)) for k, model in models.items()})
    n_steps = epochs * -(-len(X) // BATCH_SIZE)
    ms = {k: 1e3 * h.median(seconds) / n_steps for k, seconds in times.items()}
    base = f"IWAE k={ks[0]}"
    return [
        run.result(f"IWAE step ms, k={k}", base, ms[k], ms[ks[0]], "lower", **extra)
        for k in ks
        if (extra := dict(seconds=times[k], steps=n_steps, epochs=epochs))
    ]


# ----------------------------------------------------------------------
# Runner


@dataclass
class SpeedConfig(h.Config):
    """Sizes of one run; :meth:`quick` is a smoke run of a few seconds."""

    digits_rows: int | None = None
    digits_epochs: int = h.option(20, "epochs (digits)")
    mnist_rows: int = h.option(60000, "rows (synthetic MNIST)")
    mnist_features: int = 784
    mnist_epochs: int = h.option(2, "epochs (synthetic MNIST)")
    repeats: int = h.option(5, "repeats per comparison (digits)")
    mnist_repeats: int = h.option(3, "repeats (synthetic MNIST)")
    datasets: tuple = h.option(("digits", "mnist"), "data sets", choices=DATASETS)
    devices: tuple = h.option(("cpu", "cuda"), "devices", choices=["cpu", "cuda"])
    pyod: bool = h.option(True, "skip PyOD")
    iwae: bool = h.option(True, "skip IWAE vs k")
    QUICK = dict(digits_rows=400, digits_epochs=2, mnist_rows=1000, mnist_epochs=1)
    QUICK.update(repeats=1, mnist_repeats=1)
    THREADS = 2


def datasets(config):
    """``(name, X, epochs, repeats)`` of the digits and synthetic MNIST sets."""
    for name in config.datasets:
        if name == "digits":
            X = digits_data(config.digits_rows)
            yield name, X, config.digits_epochs, config.repeats
        elif name == "mnist":
            X = synthetic_mnist(config.mnist_rows, config.mnist_features)
            name = f"synthetic {config.mnist_rows}x{config.mnist_features}"
            yield name, X, config.mnist_epochs, config.mnist_repeats
        else:
            raise ValueError(f"unknown dataset {name!r}")


def run(config, log=print):
    """Run every benchmark of ``config``; return the list of :class:`Result`."""
    results = []
    for device in config.devices:
        if device == "cuda" and not torch.cuda.is_available():
            continue
        for name, X, epochs, repeats in datasets(config):
            X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
            steps = [("loop", bench_loop, (X_train,))]
            steps.append(("pca", bench_pca, (X_train, X_test)))
            if config.pyod and h.pyod_version():
                steps.append(("pyod", bench_pyod, (X_train,)))
            if config.iwae:
                steps.append(("iwae", bench_iwae, (X_train,)))
            for step, function, data in steps:
                start = time.perf_counter()
                results += function(*data, epochs, device, repeats, name)
                seconds = time.perf_counter() - start
                log(f"[{device}] {name}: {step} done in {seconds:.1f} s")
    return results


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
        (r.dataset, r.device, f"{r.metric} ({r.better} is better)", r.other)
        + (_fmt(r.skae), _fmt(r.reference), f"{r.ratio:.2f}")
        for r in results
    ]


def rst_table(results, environment=None):
    """An RST ``list-table`` for the documentation, after a line on the setup."""
    text = h.table(HEADER, rows(results), "list-table")
    if not environment:
        return text
    return (
        f"Measured with {environment['torch_threads']} torch thread(s), "
        f"torch {environment['torch']}, scikit-learn {environment['sklearn']}, "
        f"PyOD {environment['pyod'] or '(not installed)'}, "
        f"GPU: {environment['cuda'] or 'none'}, skae commit "
        f"{environment['commit'] or 'unknown'}.\n\n{text}"
    )


# ----------------------------------------------------------------------
# Command line: ``python -m benchmarks speed`` (or ``python -m benchmarks``)


def add_arguments(parser):
    SpeedConfig.add_arguments(parser)
    parser.add_argument("--rst", type=Path, help="also write an RST table here")


def run_command(args, argv=()):
    """Run the benchmarks the parsed ``args`` describe; return the results."""
    h.set_threads(args.threads)
    config = SpeedConfig.from_args(args)
    results = run(config)
    print(f"\n{h.table(HEADER, rows(results))}")
    report = h.report(
        "speed",
        argv,
        config=asdict(config),
        results=[result.as_dict() for result in results],
    )
    h.save_json(report, args.json, "speed")
    if args.rst:
        args.rst.write_text(rst_table(results, report["environment"]))
        print(f"RST table written to {args.rst}")
    return results
