"""The base class that every skae autoencoder shares.

It holds what is not specific to a model: parameter validation, the input
scaling, the skorch net that trains the module, seeding, and chunked
inference. A model is a subclass that declares its parameters and builds its
torch module (:meth:`_BaseAutoencoder._build_module`); the module computes
its own loss and scores (:class:`~skae._modules.AutoencoderModule`).
"""

import contextlib
import copy
import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch.callbacks import Callback
from skorch.helper import predefined_split

from .._compat import (
    Integer,
    Interval,
    StrOptions,
    fit_context,
    input_feature_names,
    wrap_in_output_container,
)
from .data import BatchIterator, ReconstructionDataset
from .incremental import continued_seed, rollback_on_error
from .module import ACTIVATIONS, BypassMLP, reset_parameters
from .net import AutoencoderNet, ModuleLoss, TrainingInterrupted
from .._persistence import SaveableAutoencoder
from .progress import fit_summary
from .scaling import fit_scaling, standardize
from .schedule import PlateauSchedule
from .stream import RowStream, StreamedDataset, is_streamed
from .threads import (
    RecheckThreads,
    blas_threads,
    forward_work,
    recheck,
    torch_threads,
)
from .utils import draw_seed, make_generator, resolve_device, seeded_global_rng

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}

# Rows per forward pass in transform, inverse_transform and score_samples.
# Every pass has exactly this many rows, the last one padded with zeros: a
# row's result involves no other row, but matrix kernels pick their
# summation order by shape (a single row takes another path than a batch),
# and on one shape a row is rounded the same wherever it sits, except in a
# few kernels (MKL, for some narrow layers), which differ by a unit or two
# in the last float32 place. Unpadded, a row alone and in a batch differed
# by up to 8e-7. The cost, measured on one CPU thread for the default
# (256, 128) network and 784 features: a single row takes about 2 ms
# instead of 0.4 ms, and the encoder's CPU time on 20000 rows grows by about
# 13% over 4096-row chunks.
INFERENCE_CHUNK_ROWS = 256
# ... and at most this many input values (16 MiB of float32) for wide data.
INFERENCE_CHUNK_VALUES = 2**22
# The largest float32: the network computes in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


# early_stopping="auto" holds out a validation split when it has this many
# rows: the fewest that the one-standard-error rule (keep the linear start
# unless training beats it) can judge. A larger bound would make small fits
# train differently from slightly larger ones: without a split, a network
# trains on the training loss and overfits 90 rows where it would stop early
# on 110, and the folds of a cross-fitted OutlierDetector would then score
# far worse than the model they calibrate.
MIN_VALIDATION_ROWS = 2


def auto_batch_size(n_samples):
    """``batch_size="auto"``: at least 16 steps per epoch, batches of 16 to 128.

    Large data sets train on batches of 128 rows. Small ones get smaller
    batches, so that an epoch still takes several optimizer steps and
    ``max_epochs`` bounds the work in a way that does not depend on the
    number of rows as much.
    """
    return int(min(n_samples, max(16, min(128, n_samples // 16))))


def inference_chunk_rows(n_features):
    """Rows per inference chunk for data ``n_features`` wide."""
    return max(1, min(INFERENCE_CHUNK_ROWS, INFERENCE_CHUNK_VALUES // n_features))


class _NonFiniteLoss(Exception):
    """A non-finite loss; the estimator turns it into a ``ValueError``."""


class _StopOnNonFiniteLoss(Callback):
    """End training at the first epoch whose loss is not finite.

    Checked once per epoch, from the history skorch already records, so it
    adds no work per batch.
    """

    def on_epoch_end(self, net, **kwargs):
        for key in ("train_loss", "valid_loss"):
            loss = net.history[-1].get(key)
            if loss is not None and not np.isfinite(loss):
                raise _NonFiniteLoss(key, loss, len(net.history))


class _BaseAutoencoder(
    SaveableAutoencoder,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
    metaclass=ABCMeta,
):
    """Validation, training, batching, device and inference shared by all models.

    A subclass declares its parameters and implements :meth:`_build_module`.
    It may add checks across parameters (:meth:`_check_params`) and on the
    data (:meth:`_check_data`), change the input scaling
    (:meth:`_fit_scaling`), and pass call-time parameters to the module's
    score (:meth:`_score_kwargs`). Everything else, including
    ``fit``, ``transform`` and ``score_samples``, is shared.
    """

    _parameter_constraints = {
        "n_components": [Integer(1)],
        "hidden_layer_sizes": ["array-like", Integer(1)],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "encoder": [torch.nn.Module, None],
        "decoder": [torch.nn.Module, None],
        "init": [StrOptions({"pca", "random"})],
        "standardize": [StrOptions({"auto"}), "boolean"],
        "optimizer": [StrOptions(set(OPTIMIZERS)), callable],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "trim_fraction": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [StrOptions({"auto"}), Integer(1)],
        "max_epochs": [Integer(1)],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Integer(1)],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "n_jobs": [Integer(None, -1, closed="right"), Integer(1), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256, 128),
        activation="relu",
        encoder=None,
        decoder=None,
        init="pca",
        standardize="auto",
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        trim_fraction=0.0,
        batch_size="auto",
        max_epochs=200,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.encoder = encoder
        self.decoder = decoder
        self.init = init
        self.standardize = standardize
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.trim_fraction = trim_fraction
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # ------------------------------------------------------------------
    # What a model provides

    @abstractmethod
    def _build_module(self, X):
        """Return the model's freshly initialized torch module.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, n_features)
            The scaled training data (float32, on the CPU), for modules whose
            construction depends on it. The fitted attributes of the scaling
            (``mean_``, ``scale_``) are set.

        Returns
        -------
        module : AutoencoderModule
            It runs under torch's global RNG seeded from ``random_state``, so
            weight initialization drawn from that RNG is reproducible.
        """

    def _check_params(self):
        """Check what parameter constraints cannot express; called first in fit."""

    def _fit_scaling(self, X):
        """Return the per-feature ``(mean, scale)`` applied before the network."""
        return fit_scaling(X, self.standardize)

    def _check_data(self, X):
        """Check validated data beyond sklearn's checks, for fit and inference."""

    def _score_kwargs(self):
        """Keyword arguments of the module's ``score_samples``, read at call time."""
        return {}

    def _fit_callbacks(self):
        """skorch callbacks of the model's training schedule, as (name, callback)."""
        return []

    def _finish_fit(self, X):
        """Set fitted attributes that need the trained model; ``X`` as in fit."""

    # ------------------------------------------------------------------
    # Building blocks for models

    def _encoder_decoder(self, n_features, n_encoder_outputs=None):
        """Return ``(encoder, decoder)``: copies of the custom ones or default MLPs.

        Parameters
        ----------
        n_features : int
            Width of the data.
        n_encoder_outputs : int, default=None
            Width of the default encoder's output; ``n_components`` if None.
        """
        n_components = int(self.n_components)
        hidden = self._hidden_layer_sizes()
        if self.encoder is None:
            encoder = BypassMLP(
                n_features, hidden, n_encoder_outputs or n_components, self.activation
            )
        else:
            encoder = reset_parameters(copy.deepcopy(self.encoder))
        if self.decoder is None:
            decoder = BypassMLP(n_components, hidden[::-1], n_features, self.activation)
        else:
            decoder = reset_parameters(copy.deepcopy(self.decoder))
        return encoder, decoder

    def _hidden_layer_sizes(self):
        """``hidden_layer_sizes`` as a tuple of ints, or a ValueError."""
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(np.ravel(sizes))
        if not all(
            isinstance(size, Integral) and not isinstance(size, (bool, np.bool_))
            for size in sizes
        ) or any(size < 1 for size in sizes):
            raise ValueError(
                "hidden_layer_sizes must be a positive int or a sequence of "
                f"positive ints, got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(size) for size in sizes)

    # ------------------------------------------------------------------
    # Input handling

    def _validate_X(self, X, *, reset):
        """Validate ``X`` as sklearn does, with a clearer message for strings.

        Out-of-core data (:func:`~skae._streaming.is_streamed`) come back as a
        :class:`~skae._streaming.RowStream`: their first rows are validated
        here, and every block is checked when it is read. Data of one block
        are read into memory.
        """
        if is_streamed(X):
            return self._validate_stream(X, reset=reset)
        try:
            X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        except ValueError as exc:
            if "could not convert" in str(exc) or "dtype='numeric'" in str(exc):
                raise ValueError(
                    f"{type(self).__name__} needs numeric input, but X has "
                    f"non-numeric values ({exc}). Encode categorical columns "
                    "first, e.g. with sklearn.preprocessing.OneHotEncoder."
                ) from exc
            raise
        self._check_data(X)
        return X

    def _validate_stream(self, X, *, reset):
        self._validate_X(np.asarray(X[:2]), reset=reset)  # width, dtype, names
        stream = RowStream(X, check=self._check_rows)
        return stream if stream.n_blocks > 1 else stream.read(0, len(stream))

    def _check_rows(self, X):
        """Check a block of out-of-core data when it is read."""
        self._check_data(check_array(X, dtype=None))

    def _dataset(self, X):
        """The training dataset of validated rows: in memory, or streamed.

        Either way the rows are scaled by :meth:`_scale_training_data`
        (streamed data block by block, as they are read).
        """
        if isinstance(X, RowStream):
            return StreamedDataset(X, self._scale_training_data, self.device_)
        return ReconstructionDataset(self._to_device(self._scale_training_data(X)))

    def _scale(self, X):
        """Rows of ``X`` in the model's scaled space, as a float32 CPU tensor.

        Values beyond the float32 range become infinite.
        """
        with np.errstate(over="ignore"):
            return torch.as_tensor(self._scale_rows(X), dtype=torch.float32)

    def _scale_rows(self, X):
        """Rows of ``X`` in the model's scaled space, in float64."""
        return standardize(X, self.mean_, self.scale_)

    def _scale_training_data(self, X):
        """:meth:`_scale`, or a ``ValueError`` for values beyond float32."""
        data = self._scale(X)
        if not bool(torch.isfinite(data).all()):
            with np.errstate(over="ignore"):
                peak = float(np.max(np.abs(self._scale_rows(X))))
            raise ValueError(
                f"{type(self).__name__} computes in float32, but X has values "
                f"of magnitude {peak:.3g} after its scaling (standardize="
                f"{self.standardize}), beyond the float32 range "
                f"({FLOAT32_MAX:.3g}). Scale X first (standardize=True, or a "
                "scaler in a Pipeline)."
            )
        return data

    def _to_device(self, data):
        """Move a CPU tensor to the model's device.

        Training data too large for the GPU stay in pinned host memory; the
        batch iterator then copies one batch at a time.
        """
        if self.device_.type == "cpu":
            return data
        try:
            return data.to(self.device_)
        except torch.cuda.OutOfMemoryError:
            return data.pin_memory()

    # ------------------------------------------------------------------
    # Fitting

    def _make_net(self, module, train_split, callbacks, shuffle_generator, batch_size):
        optimizer = OPTIMIZERS.get(self.optimizer, self.optimizer)
        # Passed only when set, so that optimizers without the argument
        # (e.g. torch.optim.LBFGS) can be used.
        extra = (
            {"optimizer__weight_decay": float(self.weight_decay)}
            if self.weight_decay
            else {}
        )
        return AutoencoderNet(
            module=module,
            criterion=ModuleLoss,
            criterion__trim_fraction=float(self.trim_fraction),
            optimizer=optimizer,
            # Python numbers: a numpy float32 lr would keep the optimizer's
            # step arithmetic in float32 (NEP 50) and change the result.
            lr=float(self.lr),
            max_epochs=int(self.max_epochs),
            batch_size=batch_size,
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_train__generator=shuffle_generator,
            iterator_train__device=self.device_,
            iterator_valid=BatchIterator,
            iterator_valid__device=self.device_,
            dataset=ReconstructionDataset,
            train_split=train_split,
            callbacks=callbacks,
            device=self.device_,
            verbose=self.verbose,
            **extra,
        )

    def _holds_out_validation(self, n_samples):
        """Whether this fit monitors a validation split (``early_stopping``)."""
        if self.early_stopping == "auto":
            return n_samples * self.validation_fraction >= MIN_VALIDATION_ROWS
        return bool(self.early_stopping)

    def _callbacks(self, monitor):
        patience = int(self.n_iter_no_change)
        return [
            *self._fit_callbacks(),
            ("stop_on_non_finite_loss", _StopOnNonFiniteLoss()),
            ("recheck_threads", RecheckThreads()),
            (
                "schedule",
                PlateauSchedule(
                    monitor,
                    patience=patience,
                    tol=float(self.tol),
                    lr_patience=max(1, patience // 2),
                    restore_best=monitor == "valid_loss",
                ),
            ),
        ]

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on ``X``.

        A fit is all or nothing: if it raises (invalid data, a diverged
        loss, ``KeyboardInterrupt``), the estimator is left as it was.
        Ctrl-C is not swallowed, as skorch does, but propagates: inside a
        ``GridSearchCV`` it stops the search rather than scoring a partly
        trained model. With ``warm_start=True`` and a fitted model, training
        continues from the fitted weights (see ``warm_start``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; numeric, without NaN or infinity. A
            :class:`numpy.memmap`, a dask array or another array-like that
            is sliced by rows (h5py, zarr) is streamed in blocks, never
            copied whole (see "Data larger than memory" in :doc:`/scale`).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            For invalid data, and when training diverges (a loss, or outputs
            of the trained model on the training data, that are not finite).
        KeyboardInterrupt
            On Ctrl-C, with the estimator unchanged.
        """
        return self._fit_atomically(X, partial=False)

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train on one chunk of data: one pass over ``X``.

        The first call fixes the features and the input scaling (``mean_``
        and ``scale_``, from this chunk) and builds the network; each call,
        the first included, makes one pass over its chunk, continuing the
        weights and the optimizer state, as ``MLPRegressor.partial_fit``
        does. ``max_epochs``, ``early_stopping``, ``n_iter_no_change`` and
        ``tol`` are not used. ``n_iter_`` counts the passes and
        ``loss_curve_`` gets the training loss of each. Like ``fit``, a
        call that raises leaves the model as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One chunk of training data; out-of-core chunks are streamed as
            in ``fit``.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_atomically(X, partial=True)

    def _fit_atomically(self, X, *, partial):
        state = dict(self.__dict__)
        try:
            return self._fit(X, partial=partial)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit(self, X, *, partial=False):
        # partial_fit, and fit with warm_start=True, continue the fitted net.
        warm = (partial or self.warm_start) and hasattr(self, "net_")
        X = self._validate_X(X, reset=not warm)
        self._check_params()
        rng = check_random_state(self.random_state)
        if not warm:
            self.device_ = resolve_device(self.device)
            # Out-of-core data: the scaling and the module come from a sample.
            sample = X.sample(rng) if isinstance(X, RowStream) else X
            self.mean_, self.scale_ = self._fit_scaling(sample)

        if not partial and self._holds_out_validation(X.shape[0]):
            if X.shape[0] < 2:
                raise ValueError(
                    "early_stopping=True needs at least 2 samples to hold out "
                    f"a validation set, got n_samples={X.shape[0]}."
                )
            X_train, X_valid = self._split(X, rng)
            train_split, monitor = (
                predefined_split(self._dataset(X_valid)),
                "valid_loss",
            )
        else:
            X_train, train_split, monitor = X, None, "train_loss"
        train = self._dataset(X_train)
        callbacks = self._callbacks(monitor)
        if partial:  # one pass: the schedule neither stops it nor lowers lr
            callbacks = [cb for cb in callbacks if cb[0] != "schedule"]
        # The batch size of the first fit carries over, unless set to an int.
        if self.batch_size != "auto":
            batch_size = int(self.batch_size)
        elif warm:
            batch_size = self.net_.batch_size
        else:
            batch_size = auto_batch_size(len(X_train))

        seed = draw_seed(rng)
        epochs = 1 if partial else None
        start = time.perf_counter()
        # A continued fit changes the net in place: undo that if it raises.
        with rollback_on_error(self.net_) if warm else contextlib.nullcontext():
            if warm:
                # A different seed for each call of a sequence, and the same
                # sequence of calls gives the same model.
                seed = continued_seed(seed, self.n_iter_)
                self.net_.set_params(
                    train_split=train_split,
                    callbacks=callbacks,  # a fresh schedule
                    max_epochs=int(self.max_epochs),
                    batch_size=batch_size,
                    verbose=self.verbose,
                )
                # Set directly: skorch's set_params would re-initialize the net.
                self.net_.iterator_train__generator = make_generator(seed, "cpu")
                # skorch's set_params keeps the initialized callbacks: a fresh
                # schedule (and progress bar, for the new verbose) needs this.
                self.net_.initialize_callbacks()
                module = self.net_.module_
                probe = self._training_probe(train)
            else:
                # Out-of-core data: the module is built from the sample.
                probe = (
                    self._scale_training_data(sample)
                    if isinstance(X_train, RowStream)
                    else train.X.cpu()  # a no-op on the CPU
                )
                with seeded_global_rng(seed, self.device_):
                    module = self._build_module(probe)
                module = module.to(self.device_)
                self._check_module(module, probe[:2].to(self.device_))
                self.net_ = self._make_net(
                    module,
                    train_split,
                    callbacks,
                    shuffle_generator=make_generator(seed, "cpu"),
                    batch_size=batch_size,
                )
            with self._torch_threads(module, min(len(X_train), batch_size)) as block:
                if not warm and self.init == "pca":
                    self._start_from_linear_model(module, probe, seed, block)
                losses = self._train(train, seed, epochs=epochs)
                if (
                    not warm
                    and not isinstance(X, RowStream)
                    and self._kept_linear_start()
                ):
                    # The selected model is the linear one: fitted on every
                    # row, the validation rows included, as a model chosen
                    # by validation is refitted on all the data.
                    self._start_from_linear_model(
                        module, self._scale_training_data(X), seed, block
                    )
                self._check_trained(probe)
            # The validation data are not part of the model: kept, they would
            # grow every pickle (as device tensors on a GPU).
            self.net_.set_params(train_split=None)
            self.loss_curve_ = self.loss_curve_ + losses if warm else losses
            self.n_iter_ = len(self.loss_curve_)
            self._set_stop_reason(partial)
            self._finish_fit(X)
        if self.verbose:
            print(fit_summary(self, time.perf_counter() - start))
        return self

    def _set_stop_reason(self, partial):
        """Set ``stop_reason_``; warn if ``fit`` ran out of epochs improving."""
        if partial:
            self.stop_reason_ = "partial_fit makes one pass over X"
            return
        reason = getattr(self.net_, "stop_reason_", None)
        self.stop_reason_ = reason or f"max_epochs={self.max_epochs} reached"
        if reason is not None:
            return
        schedule = dict(self.net_.callbacks_).get("schedule")
        if getattr(schedule, "kept_start_", False):
            curve = self.loss_curve_
            message = (
                f"{type(self).__name__} reached max_epochs={self.max_epochs} "
                "and no epoch beat, on the validation rows, the weights training "
                "started from, which are kept. Its training loss went from "
                f"{curve[0]:.3g} to {curve[-1]:.3g} over the epochs: if it rose, "
                f"lower the learning rate (lr={self.lr}); else increase "
                "max_epochs."
            )
        else:
            message = (
                f"{type(self).__name__} reached max_epochs={self.max_epochs} "
                f"while its loss was still improving by more than tol={self.tol}"
                f" within n_iter_no_change={self.n_iter_no_change} epochs; "
                "increase max_epochs for a converged model."
            )
        warnings.warn(message, ConvergenceWarning, stacklevel=6)

    def _kept_linear_start(self):
        """Whether training kept the linear start (``init="pca"``) of an
        in-memory fit."""
        schedule = dict(self.net_.callbacks_).get("schedule")
        return self.init == "pca" and getattr(schedule, "kept_start_", False)

    def _training_probe(self, train):
        """Scaled training rows, one inference chunk, for the post-fit check."""
        if isinstance(train, StreamedDataset):
            stream = train.stream
            rows = stream[: inference_chunk_rows(stream.shape[1])]
            return self._scale_training_data(rows)
        return train.X

    def _split(self, X, rng):
        """Training and validation rows; for streams, whole blocks."""
        if isinstance(X, RowStream):
            n_valid = max(1, round(self.validation_fraction * X.n_blocks))
            n_valid = min(n_valid, X.n_blocks - 1)
            valid = rng.permutation(X.n_blocks)[:n_valid]
            return X.subset(np.setdiff1d(np.arange(X.n_blocks), valid)), X.subset(valid)
        return train_test_split(X, test_size=self.validation_fraction, random_state=rng)

    @staticmethod
    def _start_from_linear_model(module, X_scaled, seed, block):
        """``module.start_from_linear_model`` on the scaled rows ``X_scaled``
        (a tensor), with numpy's BLAS held to the thread count of the fit's
        ``block``: its threads spin on busy cores as torch's do."""
        with blas_threads(block.threads):
            module.start_from_linear_model(X_scaled.double().numpy(), seed)

    def _train(self, dataset, seed, epochs=None):
        """Run skorch's training loop with the module's noise seeded.

        A net already trained continues (``partial_fit``); otherwise it is
        initialized first. ``epochs=None`` runs up to ``max_epochs``.
        Returns the training loss of each epoch run.
        """
        net = self.net_
        module = net.module
        module.generator = make_generator(seed + 1, self.device_)
        # Custom modules may draw from torch's global RNG (dropout): seed it
        # too, under its lock, so that their fits stay reproducible.
        custom = self.encoder is not None or self.decoder is not None
        run = net.partial_fit if net.initialized_ else net.fit
        n_before = len(net.history) if net.initialized_ else 0
        try:
            if custom:
                with seeded_global_rng(seed + 2, self.device_):
                    run(dataset, y=None, epochs=epochs)
            else:
                run(dataset, y=None, epochs=epochs)
        except TrainingInterrupted as exc:
            raise KeyboardInterrupt from exc.__cause__
        except _NonFiniteLoss as exc:
            key, loss, epoch = exc.args
            raise self._diverged(
                f"the {key.replace('_', ' ')} was {loss} at epoch {epoch}"
            ) from None
        finally:
            module.generator = None
        return [float(loss) for loss in net.history[n_before:, "train_loss"]]

    def _diverged(self, what):
        return ValueError(
            f"{type(self).__name__} diverged: {what}. Lower the learning rate "
            f"(lr={self.lr}), or scale X (standardize=True, or a scaler in a "
            "Pipeline)."
        )

    def _check_trained(self, X):
        """Raise the divergence error if the trained model gives non-finite outputs.

        The loss is checked once per epoch, as a mean over batches: the
        steps after it, or a few rows, can still overflow. The weights, and
        the codes, reconstructions and scores of one inference chunk of
        training rows, must be finite.
        """
        module = self.net_.module_
        module.eval()
        probe = X[: inference_chunk_rows(X.shape[1])].to(self.device_)
        with torch.inference_mode():
            weights = [p.reshape(-1) for p in module.parameters()]
            outputs = {"weights": torch.cat(weights) if weights else probe[:0]}
            outputs["codes"] = module.encode(probe)
            outputs["reconstructions"] = module.decode(outputs["codes"])
            outputs["scores"] = module.score_samples(probe, **self._score_kwargs())
        for name, values in outputs.items():
            if not bool(torch.isfinite(values).all()):
                raise self._diverged(
                    f"after {len(self.net_.history)} epochs (last loss "
                    f"{self.net_.history[-1, 'train_loss']:.3g}), its {name} on the "
                    "training data are not finite"
                )

    def _torch_threads(self, module, rows):
        """Set torch's thread count for passes over ``rows`` rows (``n_jobs``)."""
        return torch_threads(self.n_jobs, forward_work(module, rows))

    def _check_module(self, module, X):
        """Fail early, with a clear message, on a module of the wrong shape."""
        n_samples, n_features = X.shape
        module.eval()  # skorch sets train mode when training starts
        with torch.no_grad():
            codes = self._call_module(module.encode, X, "encoder")
            if tuple(codes.shape) != (n_samples, self.n_components):
                raise ValueError(
                    f"The encoder must map (batch, {n_features}) to (batch, "
                    f"n_components={self.n_components}), got {tuple(codes.shape)}."
                )
            reconstruction = self._call_module(module.decode, codes, "decoder")
        if tuple(reconstruction.shape) != (n_samples, n_features):
            raise ValueError(
                f"The decoder must map (batch, {self.n_components}) back to "
                f"(batch, {n_features}), got {tuple(reconstruction.shape)}."
            )

    def _call_module(self, method, batch, name):
        try:
            return method(batch)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(
                f"The {name} of {type(self).__name__} failed on a batch of shape "
                f"{tuple(batch.shape)}: {exc}"
            ) from exc

    # ------------------------------------------------------------------
    # Inference

    def _map_batches(self, X, function, *, scaled=True):
        """Apply ``function(module, batch)`` to row chunks of ``X``.

        Each chunk is scaled (unless ``scaled=False``, for codes), padded
        with zeros to :func:`inference_chunk_rows` rows, moved to the device
        and passed on under ``torch.inference_mode``; the rows of its result
        are copied into a preallocated output. Memory stays bounded whatever
        the number of rows: one chunk of activations, plus the output. Every
        chunk has one shape, so a row's result does not depend on the rows
        around it. Values beyond the float32 range enter as infinities.
        Returns a numpy array in the dtype of ``X``.
        """
        module = self.net_.module_
        module.eval()
        n_rows, n_columns = X.shape
        chunk_rows = inference_chunk_rows(n_columns)
        # A writable buffer that the input tensor shares: no copy per chunk,
        # and no warning from torch for read-only input.
        buffer = np.zeros((chunk_rows, n_columns), dtype=np.float32)
        batch = torch.from_numpy(buffer)
        out = None
        with (
            self._torch_threads(module, min(n_rows, chunk_rows)),
            torch.inference_mode(),
            np.errstate(over="ignore"),
        ):
            for start in range(0, n_rows, chunk_rows):
                recheck()
                chunk = X[start : start + chunk_rows]
                size = len(chunk)
                buffer[:size] = self._scale_rows(chunk) if scaled else chunk
                buffer[size:] = 0.0
                result = function(module, batch.to(self.device_))[:size]
                result = result.cpu().numpy()
                if out is None:
                    out = np.empty((n_rows, *result.shape[1:]), dtype=X.dtype)
                out[start : start + size] = result
        return out

    def _check_finite_output(self, output, X, method):
        """Raise a ``ValueError`` naming the rows whose ``output`` is not finite.

        The network computes in float32: rows far outside the training data
        (after scaling, beyond about 3.4e38, or overflowing inside the
        network) have no finite result.
        """
        bad = ~np.isfinite(output).reshape(len(output), -1).all(axis=1)
        if not bad.any():
            return output
        rows = np.flatnonzero(bad)
        if isinstance(X, RowStream):  # sliced by contiguous rows only
            bad_rows = np.concatenate([X[row : row + 1] for row in rows])
        else:
            bad_rows = X[rows]
        if method == "transform":
            with np.errstate(over="ignore", invalid="ignore"):
                values = self._scale_rows(bad_rows)
            what = "their values, scaled by the training statistics (mean_, scale_),"
            beyond = "and the network overflows on them"
            advice = "Such rows lie far outside the training data (score_samples "
            advice += "scores them -inf)."
        else:
            values = bad_rows
            what = "their codes"
            beyond = f"and their reconstructions overflow the network or {output.dtype}"
            advice = "Such codes lie far outside those of the training data."
        peak = float(np.max(np.abs(values)))
        if peak > FLOAT32_MAX:
            beyond = f"beyond the float32 range ({FLOAT32_MAX:.3g}) of the network"
        raise ValueError(
            f"{type(self).__name__}.{method} has no finite result for {len(rows)} "
            f"of {len(output)} rows (the first: row {rows[0]}): {what} reach "
            f"{peak:.3g}, {beyond}. {advice}"
        )

    def transform(self, X):
        """Encode ``X`` into the latent space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The codes (for probabilistic models, the posterior means). A
            row's code does not depend on the other rows of ``X``: it is the
            same alone or in any batch, up to a unit or two in the last
            float32 place (chunks of one fixed shape make it bit for bit the
            same with most kernels).

        Raises
        ------
        ValueError
            For rows without finite codes: the network computes in float32,
            so rows whose scaled values exceed its range (about 3.4e38) or
            overflow it have none.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        codes = self._map_batches(X, lambda module, batch: module.encode(batch))
        return self._check_finite_output(codes, X, "transform")

    def inverse_transform(self, X):
        """Decode codes back to the input space, in the units of the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, `n_features_in_`)
            Reconstructions (for probabilistic models, the mean of p(x|z)).

        Raises
        ------
        ValueError
            For codes without a finite reconstruction (in the dtype of
            ``X``): codes beyond the float32 range of the network, or too
            far from those of the training data.
        """
        check_is_fitted(self)
        Z = (
            RowStream(X, check=check_array)
            if is_streamed(X)
            else check_array(X, dtype=[np.float64, np.float32])
        )
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform expects "
                f"codes with n_components={self.n_components} features."
            )
        reconstruction = self._map_batches(
            Z, lambda module, codes: module.decode(codes), scaled=False
        )
        # In place: no full-size temporaries beside the output.
        with np.errstate(over="ignore", invalid="ignore"):
            reconstruction *= self.scale_
            reconstruction += self.mean_
        return self._check_finite_output(reconstruction, Z, "inverse_transform")

    def score_samples(self, X):
        """Score each sample; higher means more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Per-sample scores (see the class description for their meaning).
            A row's score does not depend on the other rows of ``X`` (up to
            float32 rounding, as for :meth:`transform`). Rows
            that the float32 network cannot score (values far outside the
            training data, whose score overflows) score ``-inf``, the least
            normal score, never NaN.
        """
        check_is_fitted(self)
        return self._module_scores(self._validate_X(X, reset=False), per_feature=False)

    def score_samples_per_feature(self, X):
        """Split each sample's score into one term per feature.

        The terms of a row sum to its :meth:`score_samples` (up to float
        rounding): the features with the lowest terms are those that made
        the row score low, which is what to look at first in a row flagged
        as an outlier.

        - Models scored by their reconstruction error (the plain, sparse,
          denoising and contractive autoencoders): feature ``j``'s term is
          ``-(x_hat_j - x_j) ** 2 / n_features``, its squared
          reconstruction error in the scaled space in which the score is
          measured (``(x - mean_) / scale_``), as a share of the mean.
        - :class:`VAE` and :class:`IWAE`: the importance-weighted
          log-likelihood of the feature, ``sum_i w_i log p(x_j | z_i)`` over
          the ``k_eval`` latent draws of :meth:`score_samples` with their
          normalized importance weights ``w_i``, plus an equal share of the
          row's latent part (``log p(z) - log q(z|x)`` under the same
          weights, their entropy and ``-log k_eval``), and the feature's own
          log-Jacobian of the scaling, ``-log(scale_[j])``. The latent part
          is the same for every feature of a row, so it does not change
          which features stand out. The weights need a first pass over the
          draws: this costs about twice :meth:`score_samples` (measured
          for ``VAE(4)`` on the 1797 digits, one CPU thread: 1.1 s against
          0.55 s).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to explain.

        Returns
        -------
        terms : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            One term per sample and feature, higher for more normal values,
            in the dtype of ``X``. A DataFrame whose columns are the input
            feature names (``feature_names_in_``, or ``x0``, ``x1``, ...)
            when ``set_output(transform="pandas")`` is set. Terms that are
            not finite are ``-inf``, never NaN: a row that
            :meth:`score_samples` scores ``-inf`` has at least one.

        See Also
        --------
        OutlierDetector.score_samples_per_feature : The same for a detector.

        Examples
        --------
        >>> import numpy as np
        >>> from skae import AutoencoderTransformer
        >>> rng = np.random.RandomState(0)
        >>> t = rng.uniform(-1, 1, size=(200, 1))
        >>> X = np.hstack([t, t**2, -t]) + 0.01 * rng.normal(size=(200, 3))
        >>> model = AutoencoderTransformer(
        ...     1, hidden_layer_sizes=(16,), max_epochs=50, random_state=0
        ... ).fit(X)
        >>> row = np.array([[0.5, -1.0, -0.5]])  # off the curve in feature 1
        >>> terms = model.score_samples_per_feature(row)
        >>> terms.shape
        (1, 3)
        >>> bool(np.isclose(terms.sum(), model.score_samples(row)[0]))
        True
        >>> int(np.argmin(terms))  # the feature that made the row an outlier
        1
        """
        check_is_fitted(self)
        X_valid = self._validate_X(X, reset=False)
        terms = self._module_scores(X_valid, per_feature=True)
        return wrap_in_output_container(terms, X, input_feature_names(self), self)

    def _module_scores(self, X, *, per_feature):
        """The module's scores of validated rows, per row or per feature.

        The log-Jacobian of the scaling is added to log-densities (per
        feature, each feature's own), and scores that are not finite
        become ``-inf``.
        """
        kwargs = self._score_kwargs()
        method = "score_samples_per_feature" if per_feature else "score_samples"
        scores = self._map_batches(
            X, lambda module, batch: getattr(module, method)(batch, **kwargs)
        )
        if self.net_.module_.score_is_log_density:
            # log p(x) = log p_scaled((x - mean_) / scale_) - sum(log scale_)
            log_scale = np.log(self.scale_)
            scores -= log_scale if per_feature else np.sum(log_scale)
        scores[~np.isfinite(scores)] = -np.inf
        return scores

    def score(self, X, y=None):
        """Return the mean of :meth:`score_samples` over ``X``.

        Higher is better, so ``GridSearchCV`` can select models without a
        scorer, as with ``PCA``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            Mean of ``score_samples(X)``.
        """
        return float(np.mean(self.score_samples(X)))

    # ------------------------------------------------------------------
    # sklearn and pickling plumbing

    @property
    def _n_features_out(self):
        """Number of output features, for ``get_feature_names_out``.

        Unfitted, it raises ``NotFittedError`` (an ``AttributeError``), so
        that ``get_feature_names_out`` does too, as PCA's does.
        """
        check_is_fitted(self)
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def __setstate__(self, state):
        super().__setstate__(state)
        # skorch maps a net pickled on a GPU to the CPU when no GPU is present;
        # follow it so inference runs where the weights are.
        if "net_" in state:
            self.device_ = torch.device(self.net_.device)
