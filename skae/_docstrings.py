"""Parameter and attribute descriptions shared by every autoencoder.

Each estimator's docstring holds the markers ``{network_parameters}``,
``{training_parameters}`` and ``{fitted_attributes}``; :func:`fill_doc`
replaces them, so one description serves all estimators and cannot drift.
"""

import inspect

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

    init : {"pca", "random"}, default=INIT_DEFAULT
        Where training starts. The default networks are MLPs with a linear
        bypass (``linear(x) + mlp(x)``), which hold the linear model as the
        case of a zero MLP output.

        - ``"pca"``: the model starts as the best linear model of the scaled
          training data, with the MLPs' output layers at zero: ``PCA`` for
          the autoencoders, factor analysis for ``VAE`` and ``IWAE``. With a
          validation split (``early_stopping``) that starting point counts
          as epoch 0, and training keeps the linear model unless an epoch
          clearly beats it on the held-out rows: by more than one standard
          error on average, and on most rows. A kept linear model is
          refitted on all the rows, so it is then ``PCA`` (or factor
          analysis) of ``X``.
        - ``"random"``: torch's random initialization of every layer.

        Ignored for custom ``encoder`` and ``decoder`` modules.
"""

TRAINING_PARAMETERS = """\
    standardize : "auto" or bool, default="auto"
        How features are scaled inside the model (the statistics are learned
        in ``fit`` and stored in ``mean_`` and ``scale_``). Networks train
        badly on features of very different magnitudes, so raw data such as
        pixel intensities or mixed-unit columns can go in as they are; every
        output stays in the units of ``X`` (``inverse_transform`` undoes the
        scaling, and log-likelihoods include its Jacobian).

        - ``"auto"``: center each feature and divide it by the spread of its
          values that depart from its median, ``std / sqrt(activity)``,
          where ``activity`` is the fraction of rows that depart from it.
          For continuous measurements that is the standard deviation. For a
          feature that is mostly at one value and sometimes active (a pixel
          that is usually black, a one-hot column, a sparse count) it is the
          size of its active values, where the standard deviation would only
          say how rarely it is active: dividing by that turns one unseen
          stroke into a value in the hundreds. Pixels of an image then get
          similar scales, while columns in different units keep their own.
          Constant features get the median scale of the others.
        - ``True``: the classic standardization, by each feature's standard
          deviation (constant features keep their units).
        - ``False``: no scaling, for data already on one common scale.

    optimizer : {"adam", "adamw", "sgd"} or callable, default="adam"
        A torch optimizer, by name or as a class such as
        ``torch.optim.RMSprop``, or a callable that returns an optimizer when
        called as ``optimizer(params, lr=lr)``.

    lr : float, default=1e-3
        Initial learning rate. It is halved after every ``n_iter_no_change //
        2`` epochs without improvement (see ``tol``); ``net_.history``
        records it as ``lr``.

    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer.

    trim_fraction : float in [0, 1), default=0.0
        Share of each batch, the rows with the largest loss, left out of the
        training loss (a trimmed loss, as in least trimmed squares; the
        validation loss is trimmed alike). Those rows get no gradient, so
        outliers in the training data do not pull the model towards them.
        Set it to about the expected share of outliers when the training
        data are contaminated (see :ref:`contaminated-training`). Scores
        (``score_samples``) are never trimmed.

    batch_size : "auto" or int, default="auto"
        Samples per gradient step. ``"auto"``: ``n_samples // 16`` clipped to
        [16, 128] (and to ``n_samples``), so that a small data set still
        takes several steps per epoch while a large one trains on batches of
        128. Batches are never dropped, so a data set smaller than
        ``batch_size`` trains in one batch.

    max_epochs : int, default=200
        Maximum number of passes over the training data. A fit that reaches
        it while its loss still improves raises a ``ConvergenceWarning``.

    early_stopping : "auto" or bool, default="auto"
        If True, hold out ``validation_fraction`` of the training data,
        monitor its loss, and keep the weights of its best epoch: this
        stops training before the network fits the noise of the training
        rows, which is what decides the error on new rows. If False, monitor
        the training loss (as ``MLPRegressor`` does). ``"auto"``: True when
        the validation split has at least 2 rows (20 training rows at the
        default fraction), the fewest on which the starting weights can be
        compared with the trained ones (see ``init``), else False. Inside
        ``GridSearchCV`` the split is taken from each training fold.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for ``early_stopping``.

    n_iter_no_change : int, default=10
        Epochs without an improvement before training stops; the learning
        rate is halved after every ``n_iter_no_change // 2`` of them.

    tol : float, default=1e-4
        Minimum decrease of the monitored loss that counts as an
        improvement, relative to ``max(1, |best loss|)``: absolute for a
        loss of order 1 (a mean squared error of scaled data), relative for
        a large loss (a negative log-likelihood in nats).

    device : str or torch.device, default="auto"
        Where to train and infer: ``"auto"`` uses CUDA when available and the
        CPU otherwise; ``"cpu"``, ``"cuda"`` or ``"cuda:1"`` force a device. A
        model fitted on a GPU still transforms, pickles and loads on a
        CPU-only machine.

    n_jobs : int, default=None
        Number of torch threads during ``fit``, ``transform``,
        ``inverse_transform`` and ``score_samples``; the caller's setting
        (``torch.get_num_threads()``) is restored afterwards. ``None``
        chooses: one thread per 2**20 multiply-adds of a batch, at most
        ``torch.get_num_threads()`` and the available cores, and on Linux
        only as many as other processes leave idle, checked again every
        0.5 s, because torch's threads slow down by an order of magnitude
        when they share cores with other work (see :ref:`threads`).
        ``torch.set_num_threads`` and ``OMP_NUM_THREADS`` therefore still
        limit it. A positive int uses that many threads. A negative int
        counts from torch's setting: ``-1`` uses ``torch.get_num_threads()``
        threads (skae's behaviour before ``n_jobs``), ``-2`` one fewer.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, the validation split and any
        sampling, without touching the global numpy or torch RNG state. Pass
        an int for reproducible results on CPU (GPU kernels may still be
        nondeterministic). The number of threads changes results in the last
        digits: with ``n_jobs=None`` it follows the load, so set ``n_jobs``
        too for bit-identical results on a busy machine.

    verbose : int, default=0
        ``0``: silent. ``1``: a progress bar over the epochs with the latest
        loss (text in a terminal, a widget in a notebook; ``tqdm.auto``).
        ``2`` or more: skorch's table with a row per epoch, coloured only
        when the output is a terminal, so that logs stay plain. Both end
        with one line giving the epochs run, the time, the final loss and
        why training stopped (``stop_reason_``).

    warm_start : bool, default=False
        If True and the model is fitted, ``fit`` continues training from the
        fitted weights and optimizer state, for up to ``max_epochs`` more
        epochs, instead of starting afresh (as in ``MLPRegressor``). The
        input scaling stays that of the first fit, and ``X`` must have the
        same features. The continued fit uses the parameters set now: the
        learning rate (which also undoes the schedule's halvings), the
        weight decay, ``trim_fraction`` and the model's own weights and
        sample counts (a penalty's weight, the VAE's ``k`` and ``beta``).
        When a parameter that shapes the network changed since it was
        built (``n_components``, ``hidden_layer_sizes``, ``activation``,
        ``encoder``, ``decoder``, ``standardize``, and the models' own,
        such as ``likelihood``), a new network is trained from scratch, with
        a warning; ``partial_fit`` raises a ``ValueError`` instead.
        ``n_iter_`` and ``loss_curve_`` count and list the epochs of all
        fits since the last fresh one.
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
        ``standardize=False``); see ``standardize``. Whether a feature is
        constant is judged relative to its own magnitude, and no scale is
        finer than the float64 resolution of the feature's values.

    n_iter_ : int
        Number of epochs run (passes, with ``partial_fit``), including
        those of earlier ``partial_fit`` calls and warm-started fits.

    loss_curve_ : list of float
        Training loss of each epoch, or of each ``partial_fit`` pass (one
        entry per pass; ``net_.history`` also holds the validation loss,
        ``valid_loss``, when a validation split is monitored).

    stop_reason_ : str
        Why training stopped: ``"max_epochs=200 reached"``, or the monitored
        loss did not improve by ``tol`` for ``n_iter_no_change`` epochs.

    kept_linear_start_ : bool
        Whether training kept the linear start of ``init="pca"``: no epoch
        beat it on the validation rows, so the model is its linear
        counterpart (``PCA``, or factor analysis for ``VAE`` and ``IWAE``)
        fitted on all the rows, and nothing nonlinear was learned. The data
        may be linear; else try more rows, another ``n_components``, or
        ``init="random"``. False after ``partial_fit``, and when training
        left the start.

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
    """Class decorator replacing the shared-description markers in ``__doc__``.

    Each inserted block ends with one blank line: numpydoc only recognizes a
    section header (``Attributes``, ``See Also``) that follows a blank line,
    and would otherwise read it as one more parameter. Defaults that differ
    between models (``init``) are read from the class's ``__init__``, so the
    text cannot drift from the code.
    """
    doc = cls.__doc__
    for marker, text in _MARKERS.items():
        doc = doc.replace(f"    {marker}\n", text.rstrip("\n") + "\n\n")
    init = inspect.signature(cls.__init__).parameters["init"].default
    cls.__doc__ = doc.replace("INIT_DEFAULT", f'"{init}"')
    return cls
