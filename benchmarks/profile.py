"""Where the time of a fit goes: a profile of each part.

A fit of ``AutoencoderTransformer`` and ``VAE`` (the speed benchmark's
architecture and epochs, or the defaults with ``--default-settings``) is
timed part by part: skae's methods and skorch's are wrapped, for the time of
the run, by timers that keep each part's *own* time (that of the parts
inside it is subtracted), so the parts add up to the fit. The parts:

- **linear start**: the PCA or factor-analysis start (and the fill of
  missing entries before it);
- **train steps**: ``train_step``, the forward pass, the loss, ``backward``
  and the optimizer step of every batch;
- **train loop overhead**: the rest of each training epoch, skorch's
  per-batch work (slicing the batch, ``loss.item()``, recording the batch
  in the history) and the iterator's permutation;
- **batch callbacks**: the callbacks skae notifies per batch;
- **validation passes**: each epoch's pass over the validation rows;
- **epoch callbacks**: the callbacks notified once per epoch or per fit
  (the schedule with its copies of the best weights, the warm-up...);
- **start/end validation**: the schedule's per-row losses of the starting
  and the best weights, on the validation rows;
- **checks after training**: the finite-output check of the trained model
  and the model's own finishing step (the VAE's latent activity);
- **other**: the rest (input validation, scaling, building the net).
"""

import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import skae
from skae._base import schedule, training
from skae._base.module import AutoencoderModule
from skae._base.net import AutoencoderNet
from skae._models.variational import VAEModule

from . import _harness as h
from ._data import digits_data, load_mnist, synthetic_mnist, synthetic_table
from .speed import make_skae

PARTS = (
    "linear start",
    "train steps",
    "train loop overhead",
    "batch callbacks",
    "validation passes",
    "epoch callbacks",
    "start/end validation",
    "checks after training",
    "other",
)
BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")
MODELS = ("AutoencoderTransformer", "VAE")
DATASETS = ("digits", "table", "mnist")


class PartTimer:
    """Own (exclusive) wall seconds of named parts, and their call counts."""

    def __init__(self, parts=PARTS):
        self.seconds = dict.fromkeys(parts, 0.0)
        self.calls = dict.fromkeys(parts, 0)
        self._stack = []  # [part, start, seconds of the parts inside]

    def enter(self, part):
        self._stack.append([part, time.perf_counter(), 0.0])

    def exit(self):
        part, start, inner = self._stack.pop()
        elapsed = time.perf_counter() - start
        self.seconds[part] += elapsed - inner
        self.calls[part] += 1
        if self._stack:
            self._stack[-1][2] += elapsed

    def wrap(self, function, part):
        """``function`` timed as ``part`` (a name, or a function of the arguments)."""

        def timed(*args, **kwargs):
            self.enter(part(*args, **kwargs) if callable(part) else part)
            try:
                return function(*args, **kwargs)
            finally:
                self.exit()

        return timed


def _epoch_part(net, iterator, training, *args, **kwargs):
    return "train loop overhead" if training else "validation passes"


def _notify_part(net, method_name, **kwargs):
    return "batch callbacks" if method_name in BATCH_HOOKS else "epoch callbacks"


@contextmanager
def instrumented(timer, estimator):
    """Wrap the methods of skae and skorch that make up a fit by ``timer``."""
    targets = [
        (training, "fill_for_linear_start", "linear start"),
        (AutoencoderModule, "start_from_linear_model", "linear start"),
        (VAEModule, "start_from_linear_model", "linear start"),
        (AutoencoderNet, "run_single_epoch", _epoch_part),
        (AutoencoderNet, "train_step", "train steps"),
        (AutoencoderNet, "notify", _notify_part),
        (schedule, "validation_row_losses", "start/end validation"),
        (training.Trainer, "_check_trained", "checks after training"),
        (type(estimator), "_finish_fit", "checks after training"),
    ]
    with ExitStack() as stack:
        patch = stack.enter_context(patching())
        for owner, name, part in targets:
            patch(owner, name, timer.wrap(getattr(owner, name), part))
        yield


@contextmanager
def patching():
    """Yields ``patch(owner, name, value)``; every patch is undone on exit."""
    undo = []

    def patch(owner, name, value):
        undo.append((owner, name, owner.__dict__.get(name)))
        setattr(owner, name, value)

    try:
        yield patch
    finally:
        for owner, name, old in reversed(undo):
            if old is None:
                delattr(owner, name)
            else:
                setattr(owner, name, old)


def profile_fit(estimator, X):
    """One instrumented fit: ``(seconds per part, steps, total seconds)``."""
    timer = PartTimer()
    with instrumented(timer, estimator):
        timer.enter("other")
        start = time.perf_counter()
        estimator.fit(X)
        total = time.perf_counter() - start
        timer.exit()
    return timer.seconds, timer.calls["train steps"], total


@dataclass
class ProfileConfig(h.Config):
    """Sizes of one run; :meth:`quick` is a smoke run of seconds."""

    digits_epochs: int = h.option(20, "epochs (digits)")
    table_rows: int = h.option(5000, "rows of the generated table")
    table_features: int = 30
    table_epochs: int = h.option(20, "epochs (table)")
    mnist_rows: int = h.option(60000, "rows (MNIST-sized set)")
    mnist_features: int = 784
    mnist_epochs: int = h.option(2, "epochs (MNIST-sized set)")
    mnist_npz: str | None = h.option(None, "real MNIST (.npz) instead of synthetic")
    repeats: int = h.option(3, "instrumented fits per cell (median)")
    datasets: tuple = h.option(DATASETS, "data sets", choices=DATASETS)
    models: tuple = h.option(MODELS, "models", choices=MODELS)
    default_settings: bool = False  # --default-settings
    QUICK = dict(digits_epochs=2, table_rows=500, table_epochs=2, mnist_rows=1000)
    QUICK.update(mnist_epochs=1, repeats=1)
    THREADS = 2


def datasets(config):
    """``(name, X, epochs)`` of each data set of ``config``."""
    for name in config.datasets:
        if name == "digits":
            yield "digits", digits_data(), config.digits_epochs
        elif name == "table":
            X = synthetic_table(config.table_rows, config.table_features)
            yield f"table {len(X)}x{X.shape[1]}", X, config.table_epochs
        elif config.mnist_npz:
            X = load_mnist(config.mnist_npz)[0][: config.mnist_rows]
            yield f"MNIST {len(X)}x{X.shape[1]}", X, config.mnist_epochs
        else:
            X = synthetic_mnist(config.mnist_rows, config.mnist_features)
            yield f"synthetic {len(X)}x{X.shape[1]}", X, config.mnist_epochs


def make_model(name, epochs, config):
    cls = getattr(skae, name)
    if config.default_settings:
        return cls(n_components=8, random_state=0)
    return make_skae(epochs, "cpu", cls)


def run(config, log=print):
    """A row per data set and model: each part's median seconds, and more."""
    rows = []
    for dataset, X, epochs in datasets(config):
        for name in config.models:
            make_model(name, epochs, config).fit(X[:256])  # warm-up
            runs = [
                profile_fit(make_model(name, epochs, config), X)
                for _ in range(config.repeats)
            ]
            model = make_model(name, epochs, config)
            start = time.perf_counter()
            model.fit(X)
            plain = time.perf_counter() - start
            parts = {part: h.median([r[0][part] for r in runs]) for part in PARTS}
            steps = runs[0][1]
            row = dict(dataset=dataset, model=name, epochs=model.n_iter_)
            row.update(steps=steps, total=h.median([r[2] for r in runs]))
            row.update(uninstrumented=plain, parts=parts)
            row["step_ms"] = 1e3 * parts["train steps"] / max(steps, 1)
            per_batch = parts["train loop overhead"] + parts["batch callbacks"]
            row["overhead_per_step_ms"] = 1e3 * per_batch / max(steps, 1)
            rows.append(row)
            log(f"{dataset} {name}: {row['total']:.2f} s, {steps} steps")
    return rows


HEADER = ("data", "model", "epochs", "steps", "fit s", *PARTS, "step ms", "overhead ms")


def table_rows(rows):
    """Each part in seconds and as a share of the fit."""
    out = []
    for row in rows:
        total = row["total"]
        cells = [
            f"{row['parts'][p]:.3f} ({row['parts'][p] / total:.0%})" for p in PARTS
        ]
        out.append(
            (row["dataset"], row["model"], row["epochs"], row["steps"])
            + (f"{total:.2f}", *cells)
            + (f"{row['step_ms']:.2f}", f"{row['overhead_per_step_ms']:.3f}")
        )
    return out


def rst_table(rows, environment):
    return (
        f"Measured with {environment['torch_threads']} torch thread(s), torch "
        f"{environment['torch']}, on {environment['cores']} CPU core(s); seconds "
        "of each part (share of the fit), medians of the instrumented fits.\n\n"
        + h.table(HEADER, table_rows(rows), "list-table")
    )


def add_arguments(parser):
    ProfileConfig.add_arguments(parser)
    parser.add_argument(
        "--default-settings",
        action="store_true",
        help="fit at the models' defaults (early stopping, batch size) instead",
    )
    parser.add_argument(
        "--rst",
        type=Path,
        default=h.RESULTS / "profile.rst",
        help="where to write the RST table (default benchmarks/results/profile.rst)",
    )


def run_command(args, argv=()):
    h.set_threads(args.threads)
    config = ProfileConfig.from_args(args)
    rows = run(config)
    print(f"\n{h.table(HEADER, table_rows(rows))}")
    report = h.report("profile", argv, config=asdict(config), results=rows)
    h.save_json(report, args.json or h.RESULTS / "profile.json")
    args.rst.write_text(rst_table(rows, report["environment"]), encoding="utf-8")
    print(f"RST table written to {args.rst}")
    return rows
