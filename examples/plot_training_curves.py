"""
===========================================
Training curves: learning rate and stopping
===========================================

Every skae estimator records its training in ``loss_curve_`` (the training
loss of each epoch) and ``n_iter_`` (the number of epochs run), with the
names of :class:`sklearn.neural_network.MLPRegressor`; ``net_.history`` holds
skorch's full history. This example reads them to answer two questions that
come up when an autoencoder trains badly:

1. is the learning rate right?
2. when does training stop, and what does ``early_stopping=True`` change?
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer

# Every model here trains for at most a number of epochs written out
# (max_epochs), to keep the example fast; skae would warn (ConvergenceWarning)
# when max_epochs ends a fit whose loss was still improving.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0, stratify=y)

LOSS_TICKS = [2, 3, 5, 10, 20, 50]  # plain numbers on the log axes


def log_loss_axis(ax):
    ax.set_yscale("log")
    ax.set_yticks(LOSS_TICKS, labels=LOSS_TICKS)
    ax.minorticks_off()


# Grey levels 0 to 16 share one scale. ``standardize=False`` (the one setting
# here that is not for speed) keeps the loss in grey levels squared, a unit
# the axes can show; the default, ``"auto"``, would divide every pixel by one
# shared scale and draw the same curves in units of that scale.
params = dict(
    n_components=8,
    hidden_layer_sizes=(128,),
    batch_size=128,
    standardize=False,  # the loss in grey levels squared (see above)
    random_state=0,
)

# %%
# Three learning rates
# --------------------
# The same network trained for at most 150 epochs with Adam at three learning
# rates. By default (``early_stopping="auto"``, on from 20 training rows) each
# model holds out 10% of its training rows, stops when their loss no longer
# improves, and keeps the weights of its best epoch.
learning_rates = [1e-4, 1e-3, 1e-2]
models = {
    lr: AutoencoderTransformer(lr=lr, max_epochs=150, **params).fit(X_train)
    for lr in learning_rates
}

fig, ax = plt.subplots(figsize=(7, 4))
for lr, model in models.items():
    ax.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_, label=f"lr={lr:g}")
ax.set(
    xlabel="epoch",
    ylabel="training loss (MSE, grey levels$^2$)",
    title="loss_curve_ for three learning rates",
)
log_loss_axis(ax)
ax.legend()
fig.tight_layout()
plt.show()

final_loss = {lr: model.loss_curve_[-1] for lr, model in models.items()}
held_out = {lr: -model.score(X_test) for lr, model in models.items()}
for lr in learning_rates:
    print(
        f"lr={lr:g}: {models[lr].n_iter_} epochs, final training loss "
        f"{final_loss[lr]:.2f}, held-out MSE {held_out[lr]:.2f}"
    )

# %%
# With ``lr=1e-4`` the loss is still falling after 150 epochs (by more than
# 1% over the last 10), and it ends far above the others: the rate is too
# small for this budget. With ``lr=1e-2`` the validation loss stopped
# improving early, at a training loss above that of ``lr=1e-3``: steps that
# large are too noisy to settle in a minimum. The default, ``lr=1e-3``, has
# the lowest held-out error of the three. When the curve is still falling at
# ``max_epochs``, raise ``lr`` or ``max_epochs``; when training stops early
# at a high loss, lower ``lr``.
slow_curve = models[1e-4].loss_curve_
assert slow_curve[-11] > 1.01 * slow_curve[-1]  # still falling
assert final_loss[1e-4] > 1.4 * final_loss[1e-3]
assert models[1e-2].n_iter_ < 150 and final_loss[1e-2] > final_loss[1e-3]
assert held_out[1e-3] < min(held_out[1e-2], held_out[1e-4])

# %%
# When training stops
# -------------------
# Training stops once the monitored loss has not improved by ``tol`` for
# ``n_iter_no_change`` epochs, or at ``max_epochs``. By default (as above)
# the monitored loss is that of the validation rows, ``validation_fraction``
# (10%) of the training data, and the weights of the best epoch are kept;
# with ``early_stopping=False`` it is the training loss, as in
# ``MLPRegressor``. Here ``early_stopping=True`` is written out, with 20% of
# the rows held out for a smoother validation curve. Both losses are in
# ``net_.history``.
stopper = AutoencoderTransformer(
    lr=1e-3,
    max_epochs=400,
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=10,
    tol=1e-4,
    **params,
).fit(X_train)
history = stopper.net_.history
train_loss = np.array(history[:, "train_loss"])
valid_loss = np.array(history[:, "valid_loss"])
best_epoch = int(np.argmin(valid_loss)) + 1

fig, ax = plt.subplots(figsize=(7, 4))
epochs = np.arange(1, stopper.n_iter_ + 1)
ax.plot(epochs, train_loss, label="training loss (80%)")
ax.plot(epochs, valid_loss, label="validation loss (20%)")
ax.axvline(best_epoch, color="k", ls="--", label=f"best epoch ({best_epoch})")
ax.set(
    xlabel="epoch",
    ylabel="MSE (grey levels$^2$)",
    title="early_stopping=True",
)
log_loss_axis(ax)
ax.legend()
fig.tight_layout()
plt.show()
print(f"stopped after {stopper.n_iter_} of at most 400 epochs")
print(f"best validation loss {valid_loss.min():.2f} at epoch {best_epoch}")
print(f"held-out MSE of the kept weights {-stopper.score(X_test):.2f}")

# %%
# The validation loss levels off above the training loss, and training
# stopped at most ``n_iter_no_change`` epochs after the best validation epoch, well
# before ``max_epochs``. ``early_stopping=False`` monitors the training loss
# instead and trains on every row (as ``MLPRegressor`` does); inside
# ``GridSearchCV`` the validation split is taken from each training fold.
assert stopper.n_iter_ < 400
assert stopper.n_iter_ - best_epoch <= stopper.n_iter_no_change
assert valid_loss.min() > train_loss[best_epoch - 1]
