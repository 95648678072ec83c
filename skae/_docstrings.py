"""Parameter and attribute descriptions shared by every autoencoder.

Each estimator's docstring holds the markers ``{network_parameters}``,
``{training_parameters}`` and ``{fitted_attributes}``; :func:`fill_doc`
replaces them, so one description serves all estimators and cannot drift.
"""

NETWORK_PARAMETERS = """\
    hidden_layer_sizes : tuple of int, default=(256, 128)
        Widths of the hidden layers of the default MLP encoder, from the input
        to the code. The default decoder mirrors them. Ignored for a custom
        ``encoder`` (and ``decoder``) module.

    activation : {"relu", "leaky_relu", "elu", "gelu", "silu", "tanh", \
"sigmoid"}, default="relu"
        Activation after each hidden layer of the default MLPs.

    encoder : torch.nn.Module, default=None
        A custom encoder replacing the default MLP (e.g. a small convolutional
        network for images). It maps a float32 batch ``(batch, n_features)``
        to ``(batch, n_encoder_outputs)``, see the class description. It is
        deep-copied and re-initialized (every submodule with a
        ``reset_parameters`` method) at each ``fit``, so the parameter itself
        is never trained in place.

    decoder : torch.nn.Module, default=None
        A custom decoder mapping ``(batch, n_components)`` back to
        ``(batch, n_features)``; copied like ``encoder``. The default is an
        MLP mirroring ``hidden_layer_sizes``.
"""

TRAINING_PARAMETERS = """\
    standardize : bool, default=True
        Center and scale each feature to unit variance inside the model (the
        statistics are learned in ``fit`` and stored in ``mean_`` and
        ``scale_``). Networks train badly on features of very different
        magnitudes, so this lets raw data such as pixel intensities 0..16 or
        mixed-unit columns go in as they are. Every output stays in the units
        of ``X``: ``inverse_transform`` undoes the scaling. Set it to False
        for data already on one common scale (e.g. images in [0, 1]), where
        standardizing would blow up nearly constant features.

    optimizer : {"adam", "adamw", "sgd"} or callable, default="adam"
        A torch optimizer, by name or as a class such as ``torch.optim.RMSprop``.

    lr : float, default=1e-3
        Learning rate.

    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer.

    batch_size : int, default=128
        Samples per gradient step. Batches are never dropped, so a data set
        smaller than ``batch_size`` trains in one batch.

    max_epochs : int, default=200
        Maximum number of passes over the training data.

    early_stopping : bool, default=False
        If True, hold out ``validation_fraction`` of the training data, stop
        when its loss has not improved by ``tol`` for ``n_iter_no_change``
        epochs, and keep the weights of the best epoch. If False (default),
        train on all data and stop when the training loss has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, as ``MLPRegressor`` does.
        Off by default so that a ``GridSearchCV`` split is not split again.

    validation_fraction : float, default=0.1
        Fraction of the training data held out when ``early_stopping=True``.

    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.

    tol : float, default=1e-4
        Minimum absolute decrease of the monitored loss that counts as an
        improvement.

    device : str or torch.device, default="auto"
        Where to train and infer: ``"auto"`` uses CUDA when available and the
        CPU otherwise; ``"cpu"``, ``"cuda"`` or ``"cuda:1"`` force a device. A
        model fitted on a GPU still transforms, pickles and loads on a
        CPU-only machine.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, the validation split and any
        sampling, without touching the global numpy or torch RNG state. Pass
        an int for reproducible results on CPU (GPU kernels may still be
        nondeterministic).

    verbose : int, default=0
        If positive, print the loss of each epoch (skorch's history table).

    warm_start : bool, default=False
        If True and the model is fitted, ``fit`` continues training from the
        fitted weights and optimizer state, for up to ``max_epochs`` more
        epochs, instead of starting afresh (as in ``MLPRegressor``). The
        input scaling and the network stay those of the first fit; ``X``
        must have the same features. ``n_iter_`` and ``loss_curve_`` count
        and list the epochs of all fits since the last fresh one.
"""

FITTED_ATTRIBUTES = """\
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the torch module and
        ``net_.history`` the per-epoch losses.

    mean_ : ndarray of shape (`n_features_in_`,)
        Per-feature mean subtracted before the network (zeros if
        ``standardize=False``).

    scale_ : ndarray of shape (`n_features_in_`,)
        Per-feature scale divided out before the network (ones if
        ``standardize=False``; constant features keep a scale of 1).

    n_iter_ : int
        Number of epochs run (passes, with ``partial_fit``), including
        those of earlier ``partial_fit`` calls and warm-started fits.

    loss_curve_ : list of float
        Training loss of each epoch (of each ``partial_fit`` pass).

    device_ : torch.device
        Device the model lives on.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``; defined only when ``X`` has
        feature names that are all strings.
"""

_MARKERS = {
    "{network_parameters}": NETWORK_PARAMETERS,
    "{training_parameters}": TRAINING_PARAMETERS,
    "{fitted_attributes}": FITTED_ATTRIBUTES,
}


def fill_doc(cls):
    """Class decorator replacing the shared-description markers in ``__doc__``."""
    doc = cls.__doc__
    for marker, text in _MARKERS.items():
        doc = doc.replace(f"    {marker}\n", text)
    cls.__doc__ = doc
    return cls
