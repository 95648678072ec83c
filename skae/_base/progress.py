"""What a fit shows while it runs (``verbose``) and the line it ends with.

``verbose=1``: :class:`EpochProgressBar`, one bar over the epochs. ``verbose=2``
and more: :class:`EpochTable`, skorch's table with a row per epoch. Both end
with :func:`fit_summary`. ``verbose=0`` prints nothing.
"""

import sys

from skorch.callbacks import Callback, PrintLog
from skorch.utils import Ansi
from tqdm.auto import tqdm


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _loss_postfix(row):
    return {
        key.replace("_loss", ""): f"{row[key]:.4g}"
        for key in ("train_loss", "valid_loss")
        if row.get(key) is not None
    }


class EpochProgressBar(Callback):
    """A progress bar over the epochs, with the latest losses.

    skorch's ``ProgressBar`` counts the batches of one epoch; this counts the
    epochs of a fit. ``tqdm.auto`` draws it as text in a terminal and as a
    widget in a notebook. The bar exists only while training runs: it is
    closed and dropped when training ends or fails, so the net still pickles.
    """

    def initialize(self):
        self.bar_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        self.close()
        self.bar_ = tqdm(
            total=net.max_epochs, unit="epoch", leave=False, dynamic_ncols=True
        )

    def on_epoch_end(self, net, **kwargs):
        if self.bar_ is not None:
            self.bar_.set_postfix(_loss_postfix(net.history[-1]), refresh=False)
            self.bar_.update()

    def on_train_end(self, net, **kwargs):
        self.close()

    def close(self):
        """Close the bar, if open (also called when training fails)."""
        if getattr(self, "bar_", None) is not None:
            self.bar_.close()
            self.bar_ = None

    def __getstate__(self):
        return {**self.__dict__, "bar_": None}


class EpochTable(PrintLog):
    """skorch's table of epochs, with colours only when stdout is a terminal.

    skorch colours the best losses with ANSI codes, which end up as
    ``\\x1b[36m`` in logs and captured output.
    """

    def format_row(self, row, key, color):
        if _is_terminal(sys.stdout):
            return super().format_row(row, key, color)
        return super().format_row(row, key, "").replace(Ansi.ENDC.value, "")


def close_progress_bars(net):
    """Close the progress bars of ``net``'s callbacks (training failed)."""
    for _, callback in getattr(net, "callbacks_", []):
        if isinstance(callback, EpochProgressBar):
            callback.close()


LOSS_NAMES = {"train_loss": "training loss", "valid_loss": "validation loss"}


def fit_summary(estimator, seconds):
    """One line: the epochs run, the time, the final losses and why it stopped."""
    row = estimator.net_.history[-1]
    losses = ", ".join(
        f"{name} {row[key]:.4g}"
        for key, name in LOSS_NAMES.items()
        if row.get(key) is not None
    )
    kept = (
        "; kept the linear start (PCA, or factor analysis, refitted on all "
        "rows): nothing nonlinear was learned, see kept_linear_start_"
        if getattr(estimator, "kept_linear_start_", False)
        else ""
    )
    return (
        f"{type(estimator).__name__}: {estimator.n_iter_} epochs in {seconds:.1f} s, "
        f"final {losses}{kept}; stopped: {estimator.stop_reason_}."
    )
