"""Training: a fresh fit, a continued fit and ``partial_fit``, each one strategy.

:class:`Trainer` is handed everything a fit needs (the settings, the rows,
the model's module factory and callbacks, and for a continued fit the
fitted net) and returns a :class:`FitResult`; it never calls back into the
estimator. As ``PCA._fit`` hands off to ``_fit_full`` or
``_fit_truncated``, :meth:`Trainer.fit` decides and hands off to
:meth:`Trainer._fit_fresh` or :meth:`Trainer._fit_continued`, which share
the training run itself (:meth:`Trainer._run`).
"""

import contextlib
import dataclasses

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.helper import predefined_split

from .inference import FLOAT32_MAX, inference_chunk_rows
from .missing import fill_for_linear_start
from .net import TrainingInterrupted, make_net
from .scaling import standardize
from .schedule import PlateauSchedule
from .threads import RecheckThreads, blas_threads, forward_work, torch_threads
from .utils import continued_seed, draw_seed, make_generator, seeded_global_rng

# early_stopping="auto" holds out a validation split when it has this many
# rows: the fewest that the one-standard-error rule (keep the linear start
# unless training beats it) can judge. A larger bound would make small fits
# train differently from slightly larger ones: without a split, a network
# trains on the training loss and overfits 90 rows where it would stop early
# on 110, and the folds of a cross-fitted OutlierDetector would then score
# far worse than the model they calibrate.
MIN_VALIDATION_ROWS = 2

# numpy's BLAS threads of the linear start (PCA, factor analysis). One: the
# start alternates between numpy's and scipy's BLAS (each wheel bundles its
# own OpenBLAS, with its own threads), whose idle threads spin on the cores
# the other needs. Measured on 2 cores (``python -m benchmarks profile``):
# factor analysis of digits took 0.04 s on one thread and 6.5 s on two, and
# PCA of 54000 x 784 rows 1.4 s on one and 10-13 s on two under load.
LINEAR_START_BLAS_THREADS = 1


def auto_batch_size(n_samples):
    """``batch_size="auto"``: at least 16 steps per epoch, batches of 16 to 128.

    Large data sets train on batches of 128 rows. Small ones get smaller
    batches, so that an epoch still takes several optimizer steps and
    ``max_epochs`` bounds the work in a way that does not depend on the
    number of rows as much.
    """
    return int(min(n_samples, max(16, min(128, n_samples // 16))))


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """The parameters of an estimator that training reads, and its model's parts.

    ``build_module(X)`` returns the model's fresh module for the scaled rows
    ``X``; ``callbacks`` are the model's own skorch callbacks;
    ``score_kwargs`` are passed to the module's ``score_samples``.
    """

    name: str
    build_module: object
    callbacks: tuple
    score_kwargs: dict
    module_settings: dict
    architecture: str
    custom_modules: bool
    n_components: int
    standardize: object
    init: str
    optimizer: object
    lr: float
    weight_decay: float
    trim_fraction: float
    batch_size: object
    max_epochs: int
    early_stopping: object
    validation_fraction: float
    n_iter_no_change: int
    tol: float
    n_jobs: object
    verbose: int

    @classmethod
    def from_params(cls, params, **model_parts):
        """The settings of an estimator with parameters ``params``
        (``get_params(deep=False)``) and its model's parts."""
        names = {field.name for field in dataclasses.fields(cls)} - set(model_parts)
        settings = {name: params[name] for name in names if name in params}
        return cls(
            **settings,
            **model_parts,
            custom_modules=params["encoder"] is not None
            or params["decoder"] is not None,
        )

    def new_module(self, X, seed, device):
        """The model's fresh module for the scaled rows ``X``, on ``device``.

        Built under torch's global RNG seeded with ``seed``, so that weight
        initialization drawn from it is reproducible. It records the code
        width and the architecture it was built for (plain attributes, kept
        by ``save`` and pickles), so that outputs and feature names follow
        the fitted network, and a continued fit knows whether the current
        parameters still describe it.
        """
        with seeded_global_rng(seed, device):
            module = self.build_module(X)
        if not hasattr(module, "n_components"):
            module.n_components = int(self.n_components)
        module.architecture = self.architecture
        return module.to(device)

    def net(self, module, device, batch_size, *, callbacks, **kwargs):
        """The net of ``module``, through the one construction path."""
        return make_net(
            module,
            optimizer=self.optimizer,
            lr=self.lr,
            weight_decay=self.weight_decay,
            trim_fraction=self.trim_fraction,
            max_epochs=self.max_epochs,
            batch_size=batch_size,
            device=device,
            callbacks=callbacks,
            verbose=self.verbose,
            **kwargs,
        )

    def training_callbacks(self, monitor, *, one_pass=False):
        """The callbacks of a fit monitoring ``monitor``; ``one_pass``: no
        schedule (``partial_fit``: it neither stops nor lowers lr)."""
        patience = int(self.n_iter_no_change)
        callbacks = [
            *self.callbacks,
            ("stop_on_non_finite_loss", StopOnNonFiniteLoss()),
            ("recheck_threads", RecheckThreads()),
        ]
        if not one_pass:
            schedule = PlateauSchedule(
                monitor,
                patience=patience,
                tol=float(self.tol),
                lr_patience=max(1, patience // 2),
                restore_best=monitor == "valid_loss",
            )
            callbacks.append(("schedule", schedule))
        return callbacks

    def holds_out_validation(self, n_samples):
        """Whether a fit of ``n_samples`` rows monitors a validation split."""
        if self.early_stopping == "auto":
            return n_samples * self.validation_fraction >= MIN_VALIDATION_ROWS
        return bool(self.early_stopping)


@dataclasses.dataclass
class FitResult:
    """What a fit returns: the trained net and what it learned on the way."""

    net: object
    losses: list
    stop_reason: str
    kept_start: bool
    # The ConvergenceWarning's message, for a fit that reached max_epochs.
    warning: str | None = None


class NonFiniteLoss(Exception):
    """A non-finite loss; the trainer turns it into a ``ValueError``."""


class StopOnNonFiniteLoss(Callback):
    """End training at the first epoch whose loss is not finite.

    Checked once per epoch, from the history skorch already records, so it
    adds no work per batch.
    """

    def on_epoch_end(self, net, **kwargs):
        for key in ("train_loss", "valid_loss"):
            loss = net.history[-1].get(key)
            if loss is not None and not np.isfinite(loss):
                raise NonFiniteLoss(key, loss, len(net.history))


class Trainer:
    """Trains a module on rows, as the settings say.

    Parameters
    ----------
    settings : TrainingSettings
    mean, scale : ndarray of shape (n_features,)
        The input scaling.
    device : torch.device
        Where the module trains.
    """

    def __init__(self, settings, mean, scale, device):
        self.settings = settings
        self.mean = mean
        self.scale = scale
        self.device = device

    def fit(self, rows, random_state, *, net=None, n_iter=0, one_pass=False):
        """Train on ``rows``: a fresh net, or ``net`` continued.

        ``one_pass``: one epoch without validation (``partial_fit``).
        ``n_iter``: epochs the continued net has run. Returns a
        :class:`FitResult`.
        """
        train, train_split, monitor = self._split(rows, random_state, one_pass)
        dataset = train.dataset(self.scale_training_data, self.device)
        callbacks = self.settings.training_callbacks(monitor, one_pass=one_pass)
        seed = draw_seed(random_state)
        epochs = 1 if one_pass else None
        if net is None:
            result = self._fit_fresh(
                rows, train, dataset, train_split, callbacks, seed, epochs
            )
        else:
            # A different seed for each call of a sequence, and the same
            # sequence of calls gives the same model.
            seed = continued_seed(seed, n_iter)
            result = self._fit_continued(
                net, train, dataset, train_split, callbacks, seed, epochs
            )
        # The validation data are not part of the model: kept, they would
        # grow every pickle (as device tensors on a GPU).
        result.net.set_params(train_split=None)
        if one_pass:
            result.stop_reason = "partial_fit makes one pass over X"
        elif result.stop_reason is None:
            result.stop_reason = f"max_epochs={self.settings.max_epochs} reached"
            result.warning = convergence_message(self.settings, result)
        return result

    def _split(self, rows, random_state, one_pass):
        """Training rows, skorch's ``train_split`` and the monitored loss."""
        settings = self.settings
        if one_pass or not settings.holds_out_validation(rows.shape[0]):
            return rows, None, "train_loss"
        if rows.shape[0] < 2:
            raise ValueError(
                "early_stopping=True needs at least 2 samples to hold out "
                f"a validation set, got n_samples={rows.shape[0]}."
            )
        train, valid = rows.split(settings.validation_fraction, random_state)
        valid = valid.dataset(self.scale_training_data, self.device)
        return train, predefined_split(valid), "valid_loss"

    def _batch_size(self, n_rows, net=None):
        """``batch_size``; with "auto", the first fit's carries over."""
        if self.settings.batch_size != "auto":
            return int(self.settings.batch_size)
        return net.batch_size if net is not None else auto_batch_size(n_rows)

    def _fit_fresh(self, rows, train, dataset, train_split, callbacks, seed, epochs):
        settings = self.settings
        batch_size = self._batch_size(len(train))
        sample = train.scaled_sample(dataset, self.scale_training_data)
        module = settings.new_module(sample, seed, self.device)
        check_module(
            module, sample[:2].to(self.device), settings.n_components, settings.name
        )
        net = settings.net(
            module,
            self.device,
            batch_size,
            callbacks=callbacks,
            train_split=train_split,
            shuffle_generator=make_generator(seed, "cpu"),
        )

        def start_linear(data):
            with blas_threads(LINEAR_START_BLAS_THREADS):
                data = fill_for_linear_start(
                    data.double().numpy(), settings.n_components, seed
                )
                module.start_from_linear_model(data, seed)

        with self._threads(module, len(train), batch_size):
            if settings.init == "pca":
                start_linear(sample)
            result = self._run(net, dataset, seed, epochs)
            if rows.in_memory and settings.init == "pca" and result.kept_start:
                # The selected model is the linear one: fitted on every row,
                # the validation rows included, as a model chosen by
                # validation is refitted on all the data.
                start_linear(self.scale_training_data(rows[:]))
            self._check_trained(net, sample)
        return result

    def _fit_continued(self, net, train, dataset, train_split, callbacks, seed, epochs):
        # A continued fit changes the net in place: undo that if it raises.
        with rollback_on_error(net):
            net.set_params(
                train_split=train_split,
                callbacks=callbacks,  # a fresh schedule
                max_epochs=int(self.settings.max_epochs),
                batch_size=self._batch_size(len(train), net),
                verbose=self.settings.verbose,
            )
            # Set directly: skorch's set_params would re-initialize the net.
            net.iterator_train__generator = make_generator(seed, "cpu")
            # skorch's set_params keeps the initialized callbacks: a fresh
            # schedule (and progress bar, for the new verbose) needs this.
            net.initialize_callbacks()
            apply_current_settings(net, self.settings)
            module = net.module_
            with self._threads(module, len(train), net.batch_size):
                result = self._run(net, dataset, seed, epochs)
                probe = train.head(inference_chunk_rows(train.shape[1]))
                self._check_trained(net, self.scale_training_data(probe))
        return result

    def _threads(self, module, n_rows, batch_size):
        work = forward_work(module, min(n_rows, batch_size))
        return torch_threads(self.settings.n_jobs, work)

    def _run(self, net, dataset, seed, epochs):
        """Run skorch's training loop with the module's noise seeded.

        A net already trained continues (``partial_fit``); otherwise it is
        initialized first. ``epochs=None`` runs up to ``max_epochs``.
        """
        module = net.module
        module.generator = make_generator(seed + 1, self.device)
        run = net.partial_fit if net.initialized_ else net.fit
        n_before = len(net.history) if net.initialized_ else 0
        # Custom modules may draw from torch's global RNG (dropout): seed it
        # too, under its lock, so that their fits stay reproducible.
        seeded = (
            seeded_global_rng(seed + 2, self.device)
            if self.settings.custom_modules
            else contextlib.nullcontext()
        )
        try:
            with seeded:
                run(dataset, y=None, epochs=epochs)
        except TrainingInterrupted as exc:
            raise KeyboardInterrupt from exc.__cause__
        except NonFiniteLoss as exc:
            key, loss, epoch = exc.args
            raise self.diverged(
                f"the {key.replace('_', ' ')} was {loss} at epoch {epoch}"
            ) from None
        finally:
            module.generator = None
        schedule = dict(net.callbacks_).get("schedule")
        return FitResult(
            net=net,
            losses=[float(loss) for loss in net.history[n_before:, "train_loss"]],
            stop_reason=getattr(net, "stop_reason_", None),
            kept_start=bool(getattr(schedule, "kept_start_", False)),
        )

    def scale_training_data(self, X):
        """Rows of ``X`` scaled, as float32, or a ``ValueError`` for values
        beyond float32."""
        with np.errstate(over="ignore"):
            scaled = standardize(X, self.mean, self.scale)
            data = torch.as_tensor(scaled, dtype=torch.float32)
        # NaN marks a missing entry; the modules mask it.
        if bool(torch.isinf(data).any()):
            peak = float(np.nanmax(np.abs(scaled)))
            raise ValueError(
                f"{self.settings.name} computes in float32, but X has values "
                f"of magnitude {peak:.3g} after its scaling (standardize="
                f"{self.settings.standardize}), beyond the float32 range "
                f"({FLOAT32_MAX:.3g}). Scale X first (standardize=True, or a "
                "scaler in a Pipeline)."
            )
        return data

    def diverged(self, what):
        return ValueError(
            f"{self.settings.name} diverged: {what}. Lower the learning rate "
            f"(lr={self.settings.lr}), or scale X (standardize=True, or a scaler "
            "in a Pipeline)."
        )

    def _check_trained(self, net, X):
        """Raise the divergence error if the trained model gives non-finite outputs.

        The loss is checked once per epoch, as a mean over batches: the
        steps after it, or a few rows, can still overflow. The weights, and
        the codes, reconstructions and scores of one inference chunk of
        training rows, must be finite.
        """
        module = net.module_
        module.eval()
        probe = X[: inference_chunk_rows(X.shape[1])].to(self.device)
        with torch.inference_mode():
            weights = [p.reshape(-1) for p in module.parameters()]
            outputs = {"weights": torch.cat(weights) if weights else probe[:0]}
            outputs["codes"] = module.encode(probe)
            outputs["reconstructions"] = module.decode(outputs["codes"])
            outputs["scores"] = module.score_samples(
                probe, **self.settings.score_kwargs
            )
        for name, values in outputs.items():
            if not bool(torch.isfinite(values).all()):
                raise self.diverged(
                    f"after {len(net.history)} epochs (last loss "
                    f"{net.history[-1, 'train_loss']:.3g}), its {name} on the "
                    "training data are not finite"
                )


def convergence_message(settings, result):
    """The ``ConvergenceWarning`` of a fit that reached ``max_epochs``."""
    curve = result.losses
    if result.kept_start:
        return (
            f"{settings.name} reached max_epochs={settings.max_epochs} and no "
            "epoch beat, on the validation rows, the weights training started "
            f"from, which are kept. Its training loss went from {curve[0]:.3g} "
            f"to {curve[-1]:.3g} over the epochs: if it rose, lower the learning "
            f"rate (lr={settings.lr}); else increase max_epochs."
        )
    return (
        f"{settings.name} reached max_epochs={settings.max_epochs} while its "
        f"loss was still improving by more than tol={settings.tol} within "
        f"n_iter_no_change={settings.n_iter_no_change} epochs; increase "
        "max_epochs for a converged model."
    )


def apply_current_settings(net, settings):
    """Make a trained net follow the current parameters, for a continued fit.

    As ``MLPRegressor`` does for its learning rate: the learning rate and
    weight decay of every parameter group, the loss's trim fraction, and the
    module attributes the model's parameters set (the VAE's ``k`` and
    ``beta``, a penalty's weight: ``module_settings``, by dotted path).
    """
    for group in net.optimizer_.param_groups:
        group["lr"] = float(settings.lr)
        if "weight_decay" in group:
            group["weight_decay"] = float(settings.weight_decay)
    net.criterion_.trim_fraction = float(settings.trim_fraction)
    for path, value in settings.module_settings.items():
        owner, _, name = path.rpartition(".")
        setattr(net.module_.get_submodule(owner), name, value)


@contextlib.contextmanager
def rollback_on_error(net):
    """Restore ``net`` (weights, optimizer state, history, settings) on error."""
    snapshot = net.snapshot()
    try:
        yield
    except BaseException:
        net.restore(snapshot)
        raise


def check_module(module, X, n_components, name):
    """Fail early, with a clear message, on a module of the wrong shape."""
    n_samples, n_features = X.shape
    module.eval()  # skorch sets train mode when training starts
    with torch.no_grad():
        codes = _call(module.encode, X, "encoder", name)
        if tuple(codes.shape) != (n_samples, n_components):
            raise ValueError(
                f"The encoder must map (batch, {n_features}) to (batch, "
                f"n_components={n_components}), got {tuple(codes.shape)}."
            )
        reconstruction = _call(module.decode, codes, "decoder", name)
    if tuple(reconstruction.shape) != (n_samples, n_features):
        raise ValueError(
            f"The decoder must map (batch, {n_components}) back to "
            f"(batch, {n_features}), got {tuple(reconstruction.shape)}."
        )


def _call(method, batch, part, name):
    try:
        out = method(batch)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(
            f"The {part} of {name} failed on a batch of shape "
            f"{tuple(batch.shape)}: {exc}"
        ) from exc
    if not isinstance(out, torch.Tensor):
        raise ValueError(
            f"The {part} of {name} must return one tensor of shape (batch, ...), "
            f"got a {type(out).__name__}. Wrap the module to return the tensor "
            "(e.g. the first element of a tuple)."
        )
    return out
