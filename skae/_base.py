"""The base class that every skae autoencoder shares."""

import copy
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping
from skorch.helper import predefined_split

from ._data import BatchIterator, TensorDataset, iter_row_chunks
from ._modules import ACTIVATIONS, MeanSquaredError, make_mlp, reset_parameters
from ._net import AutoencoderNet
from ._utils import draw_seed, resolve_device, torch_seed

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}

# Rows per forward pass in transform, inverse_transform and score_samples:
# large enough to amortize per-call overhead, small enough that activations
# stay bounded whatever the number of rows.
INFERENCE_CHUNK_ROWS = 4096
# ... and at most this many input values (16 MiB of float32) for wide data.
INFERENCE_CHUNK_VALUES = 2**22


def inference_chunk_rows(n_features):
    """Rows per inference chunk for data ``n_features`` wide."""
    return max(1, min(INFERENCE_CHUNK_ROWS, INFERENCE_CHUNK_VALUES // n_features))


def _silent(*args, **kwargs):
    """A sink for skorch messages when ``verbose=0`` (picklable, unlike a lambda)."""


class _BaseAutoencoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Validation, training, batching, device and scoring shared by all models.

    A subclass provides its torch module through :meth:`_build_module`, and may
    change the training loss (:meth:`_build_criterion`), the per-sample score
    (:meth:`_score_batch`) and the input scaling (:meth:`_fit_scaling`).

    The module it builds must offer ``encode(x) -> codes`` (deterministic),
    ``decode(z) -> reconstruction`` (the mean, in the scaled space) and
    ``forward(x)``, whose output the criterion receives along with the clean
    batch as ``criterion(output, x)``.
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [tuple, list],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "encoder": [torch.nn.Module, None],
        "decoder": [torch.nn.Module, None],
        "standardize": ["boolean"],
        "optimizer": [StrOptions(set(OPTIMIZERS)), callable],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256, 128),
        activation="relu",
        encoder=None,
        decoder=None,
        standardize=True,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        batch_size=128,
        max_epochs=200,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.encoder = encoder
        self.decoder = decoder
        self.standardize = standardize
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------
    # Hooks for subclasses

    @abstractmethod
    def _build_module(self, n_features):
        """Return a freshly initialized torch module for ``n_features`` inputs."""

    def _build_criterion(self):
        """Return the training loss, called as ``criterion(module(x), x)``."""
        return MeanSquaredError()

    def _score_batch(self, module, X):
        """Per-sample score of a scaled batch: minus its mean squared error.

        The error is measured where the model was trained, on the standardized
        features, so that each feature counts equally whatever its units.
        """
        return -(module(X) - X).pow(2).mean(dim=1)

    def _fit_scaling(self, X):
        """Return the per-feature ``(mean, scale)`` applied before the network."""
        if not self.standardize:
            return np.zeros(X.shape[1]), np.ones(X.shape[1])
        mean = X.mean(axis=0, dtype=np.float64)
        scale = X.std(axis=0, dtype=np.float64)
        # Constant (or numerically constant) features keep their values.
        scale[
            scale <= 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))
        ] = 1.0
        return mean, scale

    # ------------------------------------------------------------------
    # Building blocks for subclasses

    def _encoder_decoder(self, n_features, n_encoder_outputs=None):
        """Return ``(encoder, decoder)``: copies of the custom ones or default MLPs.

        Parameters
        ----------
        n_features : int
            Width of the data.
        n_encoder_outputs : int, default=None
            Width of the default encoder's output; ``n_components`` if None.
        """
        hidden = tuple(self.hidden_layer_sizes)
        if self.encoder is None:
            encoder = make_mlp(
                n_features,
                hidden,
                n_encoder_outputs or self.n_components,
                self.activation,
            )
        else:
            encoder = reset_parameters(copy.deepcopy(self.encoder))
        if self.decoder is None:
            decoder = make_mlp(
                self.n_components, hidden[::-1], n_features, self.activation
            )
        else:
            decoder = reset_parameters(copy.deepcopy(self.decoder))
        return encoder, decoder

    # ------------------------------------------------------------------
    # Input handling

    def _validate_X(self, X, *, reset):
        """Validate ``X`` as sklearn does, with a clearer message for strings."""
        try:
            return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        except ValueError as exc:
            if "could not convert" in str(exc) or "dtype='numeric'" in str(exc):
                raise ValueError(
                    f"{type(self).__name__} needs numeric input, but X has "
                    f"non-numeric values ({exc}). Encode categorical columns "
                    "first, e.g. with sklearn.preprocessing.OneHotEncoder."
                ) from exc
            raise

    def _tensor(self, X):
        """Move a numpy array to the model's device as float32."""
        return torch.as_tensor(X, dtype=torch.float32).to(self.device_)

    def _scale(self, X):
        """Rows of ``X`` in the model's scaled space, as a float32 CPU tensor."""
        return torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32)

    def _scaled_tensor(self, X):
        """Scale rows of ``X`` and move them to the model's device as float32."""
        return self._scale(X).to(self.device_)

    def _training_tensor(self, X):
        """The scaled training data, moved to the device once for all epochs.

        Batches are then slices of a device tensor: no host-to-device copy
        per batch. Data too large for the GPU stay in pinned host memory,
        and the batch iterator copies one batch at a time.
        """
        data = self._scale(X)
        if self.device_.type == "cpu":
            return data
        try:
            return data.to(self.device_)
        except torch.cuda.OutOfMemoryError:
            return data.pin_memory()

    def _check_hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be a tuple of positive ints, got {sizes!r}."
            )

    # ------------------------------------------------------------------
    # Fitting

    def _make_net(self, module, train_split, callbacks):
        optimizer = OPTIMIZERS.get(self.optimizer, self.optimizer)
        # Passed only when set, so that optimizers without the argument
        # (e.g. torch.optim.LBFGS) can be used.
        extra = (
            {"optimizer__weight_decay": self.weight_decay} if self.weight_decay else {}
        )
        return AutoencoderNet(
            module=module,
            criterion=self._build_criterion(),
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_train__device=self.device_,
            iterator_valid=BatchIterator,
            iterator_valid__device=self.device_,
            dataset=TensorDataset,
            train_split=train_split,
            callbacks=callbacks,
            device=self.device_,
            verbose=self.verbose,
            **extra,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; numeric, without NaN or infinity.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._check_hidden_layer_sizes()
        X = self._validate_X(X, reset=True)
        rng = check_random_state(self.random_state)
        self.device_ = resolve_device(self.device)
        self.mean_, self.scale_ = self._fit_scaling(X)

        if self.early_stopping:
            if X.shape[0] < 2:
                raise ValueError(
                    "early_stopping=True needs at least 2 samples to hold out "
                    f"a validation set, got n_samples={X.shape[0]}."
                )
            X_train, X_valid = train_test_split(
                X, test_size=self.validation_fraction, random_state=rng
            )
            train_split = predefined_split(
                TensorDataset(self._training_tensor(X_valid))
            )
            monitor = "valid_loss"
        else:
            X_train, train_split, monitor = X, None, "train_loss"
        callbacks = [
            (
                "early_stopping",
                EarlyStopping(
                    monitor=monitor,
                    patience=self.n_iter_no_change,
                    threshold=self.tol,
                    threshold_mode="abs",
                    load_best=self.early_stopping,
                    sink=print if self.verbose else _silent,
                ),
            )
        ]
        X_train = self._training_tensor(X_train)

        with torch_seed(draw_seed(rng), self.device_):
            module = self._build_module(X.shape[1])
            self._check_module(module, X_train[:2].to(self.device_))
            self.net_ = self._make_net(module, train_split, callbacks)
            self.net_.fit(TensorDataset(X_train), y=None)

        self.n_iter_ = len(self.net_.history)
        self.loss_curve_ = list(self.net_.history[:, "train_loss"])
        return self

    def _check_module(self, module, X):
        """Fail early, with a clear message, on a module of the wrong shape."""
        module = module.to(self.device_)
        n_samples, n_features = X.shape
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
        except RuntimeError as exc:
            raise ValueError(
                f"The {name} of {type(self).__name__} failed on a batch of shape "
                f"{tuple(batch.shape)}: {exc}"
            ) from exc

    # ------------------------------------------------------------------
    # Inference

    def _map_batches(self, X, function, *, scaled=True, chunk_rows=None):
        """Apply ``function(module, batch)`` to row chunks of ``X``.

        Each chunk is scaled (unless ``scaled=False``, for codes), moved to
        the device and passed on under ``torch.inference_mode``, and its
        result is copied into a preallocated output, so memory stays bounded
        whatever the number of rows: one chunk of activations, plus the
        output itself. ``chunk_rows`` overrides the default chunk (at most
        :data:`INFERENCE_CHUNK_ROWS` rows and :data:`INFERENCE_CHUNK_VALUES`
        input values), e.g. divided by a number of samples per row. Returns a
        numpy array in the dtype of ``X``.
        """
        module = self.net_.module_
        module.eval()
        to_tensor = self._scaled_tensor if scaled else self._tensor
        if chunk_rows is None:
            chunk_rows = inference_chunk_rows(X.shape[1])
        out, start = None, 0
        with torch.inference_mode():
            for chunk in iter_row_chunks(X, max(1, int(chunk_rows))):
                result = function(module, to_tensor(chunk)).cpu().numpy()
                if out is None:
                    out = np.empty((X.shape[0], *result.shape[1:]), dtype=X.dtype)
                out[start : start + len(chunk)] = result
                start += len(chunk)
        return out

    def transform(self, X):
        """Encode ``X`` into the latent space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The codes (for probabilistic models, the posterior means).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._map_batches(X, lambda module, batch: module.encode(batch))

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
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32])
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform expects "
                f"codes with n_components={self.n_components} features."
            )
        reconstruction = self._map_batches(
            Z, lambda module, codes: module.decode(codes), scaled=False
        )
        # In place: no full-size temporaries beside the output.
        reconstruction *= self.scale_
        reconstruction += self.mean_
        return reconstruction

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
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._map_batches(X, self._score_batch)

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
        """Number of output features, for ``get_feature_names_out``."""
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
