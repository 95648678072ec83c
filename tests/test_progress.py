"""What a fit prints for each ``verbose``, and why it says it stopped."""

import io
import pickle
import re
from functools import partial

import pytest
from tqdm.auto import tqdm

import skae._base.progress
from skae import VAE, AutoencoderTransformer

SUMMARY = re.compile(
    r"^AutoencoderTransformer: (\d+) epochs in \d+\.\d s, final training loss "
    r"[-\d.e+]+; stopped: (.+)\.$"
)
ANSI = "\x1b["


def _model(**params):
    params = {"hidden_layer_sizes": (4,), "max_epochs": 3, **params}
    return AutoencoderTransformer(random_state=0, **params)


def test_silent_at_zero(small_X, capsys):
    _model(verbose=0).fit(small_X)
    assert capsys.readouterr() == ("", "")


def test_bar_then_one_summary_line(small_X, capsys, monkeypatch):
    # tqdm redraws at most every 0.1 s; these epochs are faster.
    monkeypatch.setattr(skae._base.progress, "tqdm", partial(tqdm, mininterval=0))
    model = _model(verbose=1, early_stopping=False).fit(small_X)
    out, err = capsys.readouterr()
    assert out.count("\n") == 1
    match = SUMMARY.match(out.strip())
    assert match and match.groups() == ("3", "max_epochs=3 reached")
    # The bar (tqdm, on stderr) counts epochs and shows the loss.
    assert "3/3" in err and "epoch" in err
    assert f"train={model.loss_curve_[-1]:.4g}" in err


def test_table_without_colours_off_a_terminal(small_X, capsys):
    _model(verbose=2, early_stopping=True).fit(small_X)
    out, err = capsys.readouterr()
    assert ANSI not in out + err
    lines = out.strip().splitlines()
    assert lines[0].split() == ["epoch", "lr", "train_loss", "valid_loss", "dur"]
    assert len(lines) == 2 + 3 + 1  # header, rule, one row per epoch, summary
    assert lines[-1].startswith("AutoencoderTransformer: 3 epochs in ")
    assert "validation loss" in lines[-1]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_table_keeps_colours_on_a_terminal(small_X, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    _model(verbose=2).fit(small_X)
    assert ANSI in terminal.getvalue()


@pytest.mark.parametrize("early_stopping", [False, True])
def test_summary_says_why_training_stopped(small_X, capsys, early_stopping):
    # A huge tol: no epoch improves enough, so training stops after patience.
    model = _model(
        verbose=1,
        max_epochs=100,
        n_iter_no_change=2,
        tol=10.0,
        early_stopping=early_stopping,
    ).fit(small_X)
    monitored = "valid loss" if early_stopping else "train loss"
    expected = (
        f"the {monitored} did not improve by at least tol=10 times "
        "max(1, |best loss|) for n_iter_no_change=2 epochs"
    )
    if early_stopping:
        expected += (
            " (the starting weights are kept: no epoch beat them on the "
            "validation rows by more than one standard error and on most rows)"
        )
    assert model.stop_reason_ == expected
    assert capsys.readouterr().out.strip().endswith(f"stopped: {expected}.")
    # Not kept from one fit to the next.
    model.set_params(n_iter_no_change=200, max_epochs=3)
    assert model.fit(small_X).stop_reason_ == "max_epochs=3 reached"


@pytest.mark.parametrize("verbose", [1, 2])
def test_verbose_fit_pickles(small_X, verbose):
    model = VAE(hidden_layer_sizes=(4,), max_epochs=2, verbose=verbose).fit(small_X)
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.stop_reason_ == model.stop_reason_
    bars = [cb for _, cb in model.net_.callbacks_ if hasattr(cb, "bar_")]
    assert all(cb.bar_ is None for cb in bars) and len(bars) == (verbose == 1)


class _RecordingBar:
    """Stands in for tqdm: records whether each bar was closed."""

    bars = []

    def __init__(self, **kwargs):
        self.closed = False
        _RecordingBar.bars.append(self)

    def set_postfix(self, *args, **kwargs):
        pass

    def update(self):
        pass

    def close(self):
        self.closed = True


def _interrupt(self, net, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("failure", ["diverged", "ctrl-c"])
def test_bar_closed_when_training_fails(small_X, monkeypatch, failure):
    monkeypatch.setattr(skae._base.progress, "tqdm", _RecordingBar)
    _RecordingBar.bars.clear()
    if failure == "diverged":
        model, X, error = (
            _model(verbose=1, lr=1e30, optimizer="sgd"),
            small_X * 1e10,
            ValueError,
        )
    else:
        monkeypatch.setattr(
            skae._base.progress.EpochProgressBar, "on_epoch_end", _interrupt
        )
        model, X, error = _model(verbose=1), small_X, KeyboardInterrupt
    with pytest.raises(error):
        model.fit(X)
    assert len(_RecordingBar.bars) == 1 and _RecordingBar.bars[0].closed
