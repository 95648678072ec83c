"""AutoencoderTransformer: quality against PCA, custom modules, pipelines."""

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from skae import VAE, AutoencoderTransformer, ContractiveAutoencoder, OutlierDetector


def _scaled(model, X):
    """Rows of ``X`` in the model's scaled space, as the network sees them."""
    return torch.as_tensor((X - model.mean_) / model.scale_, dtype=torch.float32)


def _reconstruction_mse(model, X):
    return np.mean((model.inverse_transform(model.transform(X)) - X) ** 2)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_beats_pca_on_held_out_digits(digits_split, seed):
    """A plain MLP autoencoder reconstructs unscaled digits far better than PCA.

    Measured with the defaults: about 0.6 of PCA's held-out error at
    n_components=8 (error in pixel units, data fed raw, 0..16).
    """
    X_train, X_test, _, _ = digits_split
    pca_error = _reconstruction_mse(PCA(n_components=8).fit(X_train), X_test)
    ae = AutoencoderTransformer(n_components=8, random_state=seed).fit(X_train)
    ratio = _reconstruction_mse(ae, X_test) / pca_error
    assert ratio < 0.8, f"AE/PCA held-out error ratio {ratio:.3f}"


def test_pipeline_replaces_pca(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "reduce",
                AutoencoderTransformer(n_components=16, max_epochs=30, random_state=0),
            ),
            ("classify", LogisticRegression(max_iter=2000)),
        ]
    )
    accuracy = pipe.fit(X_train, y_train).score(X_test, y_test)
    assert accuracy > 0.85


def test_grid_search_scores_by_reconstruction(digits_split):
    """Without a scorer, GridSearchCV ranks by ``score`` (minus the error)."""
    X_train = digits_split[0][:400]
    search = GridSearchCV(
        AutoencoderTransformer(max_epochs=15, random_state=0),
        {"n_components": [1, 12]},
        cv=2,
    )
    search.fit(X_train)
    # More components reconstruct better, so they score higher.
    assert search.best_params_ == {"n_components": 12}


class _ConvEncoder(nn.Module):
    """A small convolutional encoder for 8x8 images, flattened as 64 features."""

    def __init__(self, n_components):
        super().__init__()
        self.net = nn.Sequential(
            nn.Unflatten(1, (1, 8, 8)),
            nn.Conv2d(1, 8, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(8 * 8 * 8, n_components),
        )

    def forward(self, x):
        return self.net(x)


def test_custom_encoder_and_decoder(digits_split):
    X_train = digits_split[0][:300]
    encoder = _ConvEncoder(4)
    decoder = nn.Sequential(nn.Linear(4, 64))
    before = [p.detach().clone() for p in encoder.parameters()]
    ae = AutoencoderTransformer(
        n_components=4, encoder=encoder, decoder=decoder, max_epochs=3, random_state=0
    ).fit(X_train)
    assert ae.transform(X_train).shape == (300, 4)
    assert isinstance(ae.net_.module_.encoder, _ConvEncoder)
    # The parameter itself is copied, never trained in place.
    for old, new in zip(before, encoder.parameters()):
        assert torch.equal(old, new)
    # The default decoder mirrors the hidden sizes when only an encoder is given.
    ae = AutoencoderTransformer(
        n_components=4, encoder=_ConvEncoder(4), hidden_layer_sizes=(16,), max_epochs=1
    ).fit(X_train)
    assert ae.inverse_transform(np.zeros((1, 4))).shape == (1, 64)


def test_custom_encoder_of_wrong_width_is_reported(digits_split):
    ae = AutoencoderTransformer(n_components=3, encoder=_ConvEncoder(5), max_epochs=1)
    with pytest.raises(ValueError, match="n_components=3"):
        ae.fit(digits_split[0][:50])
    bad_decoder = AutoencoderTransformer(
        n_components=3, decoder=nn.Linear(3, 10), max_epochs=1
    )
    with pytest.raises(ValueError, match="decoder must map"):
        bad_decoder.fit(digits_split[0][:50])
    broken = AutoencoderTransformer(n_components=3, encoder=nn.Linear(7, 3))
    with pytest.raises(
        ValueError, match="encoder of AutoencoderTransformer failed on a batch"
    ):
        broken.fit(digits_split[0][:50])


def test_overcomplete_and_linear_networks_train(small_X):
    wide = AutoencoderTransformer(n_components=10, max_epochs=2).fit(small_X)
    assert wide.transform(small_X).shape == (60, 10)
    linear = AutoencoderTransformer(hidden_layer_sizes=(), max_epochs=2).fit(small_X)
    assert linear.net_.module_.encoder.mlp is None  # the bypass alone


@pytest.mark.parametrize("standardize", [False, "auto"])
def test_init_pca_starts_as_pca(digits_split, standardize):
    X_train, X_test = digits_split[:2]
    # lr ~ 0: the model after one epoch is the one training started from
    # (without a validation split, it starts from PCA of all the rows).
    ae = AutoencoderTransformer(
        8,
        lr=1e-12,
        max_epochs=1,
        standardize=standardize,
        early_stopping=False,
        random_state=0,
    ).fit(X_train)
    pca = PCA(8).fit(_scaled(ae, X_train).numpy())
    expected = pca.inverse_transform(pca.transform(_scaled(ae, X_test).numpy()))
    reconstruction = _scaled(ae, ae.inverse_transform(ae.transform(X_test))).numpy()
    assert_allclose(reconstruction, expected, atol=1e-3)


def test_init_random_does_not_start_as_pca(digits_split):
    X_train, X_test = digits_split[:2]
    ae = AutoencoderTransformer(
        8, lr=1e-12, max_epochs=1, init="random", random_state=0
    ).fit(X_train)
    pca = PCA(8).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    error = np.mean((ae.inverse_transform(ae.transform(X_test)) - X_test) ** 2)
    assert error > 2 * pca_error


def test_keeps_the_linear_start_when_training_does_not_beat_it():
    # Linear-Gaussian data: PCA is the right model; no epoch of the network
    # beats it on the validation rows by one standard error.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1000, 3)) @ rng.normal(size=(3, 12)) + rng.normal(
        size=(1000, 12)
    )
    ae = AutoencoderTransformer(3, random_state=0).fit(X)
    assert "the starting weights are kept" in ae.stop_reason_
    # The kept start is then refitted on every row: it is PCA of all of X.
    scaled = _scaled(ae, X).numpy()
    pca = PCA(3).fit(scaled)
    expected = pca.inverse_transform(pca.transform(scaled))
    reconstruction = _scaled(ae, ae.inverse_transform(ae.transform(X))).numpy()
    assert_allclose(reconstruction, expected, atol=1e-4)


@pytest.mark.parametrize("model_class", [AutoencoderTransformer, VAE])
def test_a_feature_constant_in_training_is_no_blind_spot(model_class):
    # Data of rank 1 in 6 features, and 2 components: the linear start must
    # not give the second code a direction the data never moved along, or a
    # deviation there is reconstructed exactly and scores as normal.
    t = np.random.RandomState(0).normal(size=(300, 1))
    X = np.hstack([t, 2 * t, np.zeros((300, 4))])
    detector = OutlierDetector(model_class(2, random_state=0), random_state=0).fit(X)
    normal = X[:20]
    off = normal.copy()
    off[:, 5] += 10.0  # off the training data's constant
    assert np.all(detector.score_samples(off) < detector.score_samples(normal))
    assert np.all(detector.predict(off) == -1)


@pytest.mark.parametrize(
    "model_class", [AutoencoderTransformer, ContractiveAutoencoder]
)
def test_a_code_as_wide_as_the_input_warns(model_class, small_X):
    with pytest.warns(UserWarning, match="n_components=5 >= n_features_in_=5"):
        model_class(5, hidden_layer_sizes=(4,), max_epochs=1).fit(small_X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        model_class(4, hidden_layer_sizes=(4,), max_epochs=1).fit(small_X)


def test_kept_linear_start_says_when_nothing_nonlinear_was_learned(capsys):
    rng = np.random.RandomState(0)
    linear = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 6))
    linear += 0.1 * rng.normal(size=linear.shape)
    t = rng.uniform(-2, 2, size=(600, 1))
    curve = np.hstack([t, t**2, np.sin(2 * t), -t]) + 0.02 * rng.normal(size=(600, 4))
    model = AutoencoderTransformer(3, hidden_layer_sizes=(32,), random_state=0)
    assert model.set_params(verbose=2).fit(linear).kept_linear_start_
    assert "nothing nonlinear was learned" in capsys.readouterr().out
    pca = PCA(3).fit(linear)
    assert_allclose(
        model.inverse_transform(model.transform(linear)),
        pca.inverse_transform(pca.transform(linear)),
        atol=1e-4 * np.abs(linear).max(),
    )
    bent = AutoencoderTransformer(1, hidden_layer_sizes=(32,), random_state=0)
    assert not bent.fit(curve).kept_linear_start_
    assert not bent.set_params(init="random").fit(curve).kept_linear_start_
    assert not bent.partial_fit(curve).kept_linear_start_
