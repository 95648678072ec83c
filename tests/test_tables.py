"""Estimators on mixed-type DataFrames: categories, flags and counts as they are."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

import skae
from skae import (
    IWAE,
    VAE,
    AutoencoderTransformer,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    IWAEImputer,
    OutlierDetector,
    SparseAutoencoder,
)

SPECIES = np.array(["Adelie", "Chinstrap", "Gentoo"], dtype=object)
ISLANDS = np.array(["Biscoe", "Dream", "Torgersen"], dtype=object)


def mixed_table(n, seed):
    """Two numbers, a species and an island that follow a latent variable,
    a flag and a count."""
    rng = np.random.RandomState(seed)
    t = rng.normal(size=n)
    kind = np.digitize(t, [-0.5, 0.5])
    return pd.DataFrame(
        {
            "length": t + 0.1 * rng.normal(size=n),
            "mass": 2 * t + 0.1 * rng.normal(size=n),
            "species": pd.Categorical(SPECIES[kind], categories=SPECIES),
            "island": ISLANDS[kind],
            "male": rng.uniform(size=n) < 0.5,
            "eggs": rng.poisson(np.exp(0.3 * t + 0.5)),
        }
    )


FAST = {"hidden_layer_sizes": (16,), "max_epochs": 60, "random_state": 0}
MODELS = [
    VAE(2, likelihood={"eggs": "poisson"}, **FAST),
    IWAE(2, k=3, **FAST),
    AutoencoderTransformer(2, **FAST),
    SparseAutoencoder(2, **FAST),
    DenoisingAutoencoder(2, **FAST),
    ContractiveAutoencoder(2, **FAST),
]


def _name(model):
    return type(model).__name__


@pytest.fixture(scope="module", params=MODELS, ids=_name)
def fitted(request):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clone(request.param).fit(mixed_table(300, 0))


def test_kinds_and_categories_are_fitted(fitted):
    kinds = list(fitted.feature_kinds_)
    eggs = (
        "poisson"
        if "eggs" in str(fitted.get_params().get("likelihood"))
        else "gaussian"
    )
    assert kinds == [
        "gaussian",
        "gaussian",
        "categorical",
        "categorical",
        "bernoulli",
        eggs,
    ]
    assert list(fitted.categories_[2]) == list(SPECIES)
    assert list(fitted.feature_names_in_) == list(mixed_table(2, 0).columns)
    assert fitted.n_features_in_ == 6
    assert len(fitted.mean_) == 1 + 1 + 3 + 3 + 1 + 1


def test_inverse_transform_gives_valid_values_in_the_original_dtypes(fitted):
    table = mixed_table(50, 1)
    back = fitted.inverse_transform(fitted.transform(table))
    assert list(back.columns) == list(table.columns)
    assert list(back.dtypes) == list(table.dtypes)
    assert set(back["island"]) <= set(ISLANDS)
    assert back["species"].notna().all()
    # The categories follow the latent variable: most are reconstructed.
    assert (back["species"] == table["species"]).mean() > 0.8


def test_per_column_scores_sum_to_the_score(fitted):
    table = mixed_table(20, 2)
    terms = fitted.score_samples_per_feature(table)
    assert terms.shape == (20, 6)
    assert_allclose(
        terms.sum(axis=1), fitted.score_samples(table), rtol=1e-5, atol=1e-6
    )
    fitted.set_output(transform="pandas")
    try:
        assert list(fitted.score_samples_per_feature(table).columns) == list(
            table.columns
        )
        assert list(fitted.transform(table).columns) == list(
            fitted.get_feature_names_out()
        )
    finally:
        fitted.set_output(transform="default")


def test_impossible_combinations_score_lower(fitted):
    table = mixed_table(200, 3)
    wrong = table.copy()
    wrong["island"] = np.roll(
        wrong["island"].to_numpy(), 1
    )  # species on another island
    changed = (wrong["island"] != table["island"]).to_numpy()
    normal, odd = (
        fitted.score_samples(table)[changed],
        fitted.score_samples(wrong)[changed],
    )
    labels = np.r_[np.zeros(changed.sum()), np.ones(changed.sum())]
    assert roc_auc_score(labels, -np.r_[normal, odd]) > 0.9


def test_unknown_category_and_missing_values(fitted):
    table = mixed_table(5, 4)
    table["island"] = table["island"].astype(object)
    table.loc[0, "island"] = "Atlantis"
    table.loc[1, "species"] = np.nan
    table.loc[2, "length"] = np.nan
    scores = fitted.score_samples(table)
    assert scores[0] == -np.inf
    assert np.isfinite(scores[1:]).all()
    terms = fitted.score_samples_per_feature(table)
    assert terms[0, 3] == -np.inf and np.isnan(terms[1, 2]) and np.isnan(terms[2, 0])
    assert np.isfinite(fitted.transform(table)).all()


def test_saved_and_pickled_models_give_the_same_scores(fitted, tmp_path):
    table = mixed_table(10, 5)
    scores = fitted.score_samples(table)
    path = tmp_path / "model.skae"
    fitted.save(path)
    loaded = skae.load(path)
    assert_allclose(loaded.score_samples(table), scores)
    assert_array_equal(loaded.categories_[3], fitted.categories_[3])
    assert_allclose(pickle.loads(pickle.dumps(fitted)).score_samples(table), scores)
    pd.testing.assert_frame_equal(
        loaded.inverse_transform(loaded.transform(table)),
        fitted.inverse_transform(fitted.transform(table)),
    )


def test_vae_samples_are_valid_values_in_the_original_dtypes():
    model = VAE(2, likelihood={"eggs": "poisson"}, **FAST).fit(mixed_table(300, 0))
    for noise in (False, True):
        samples = model.sample(100, random_state=0, noise=noise)
        assert list(samples.dtypes) == list(mixed_table(2, 0).dtypes)
        assert set(samples["island"]) <= set(ISLANDS)
        assert (samples["eggs"] >= 0).all()
    assert samples["species"].nunique() == 3


def test_a_float_array_is_todays_gaussian_model():
    X = mixed_table(200, 0)[["length", "mass"]].to_numpy()
    auto = VAE(2, **FAST).fit(X)
    gaussian = VAE(2, likelihood="gaussian", **FAST).fit(X)
    assert_array_equal(auto.transform(X), gaussian.transform(X))
    assert_array_equal(auto.score_samples(X), gaussian.score_samples(X))
    assert list(auto.feature_kinds_) == ["gaussian", "gaussian"]
    assert not hasattr(auto, "categories_")


def test_a_dict_names_columns_of_an_array(tmp_path):
    X = np.c_[mixed_table(200, 0)[["length", "mass"]].to_numpy(), np.arange(200) % 3]
    model = VAE(2, likelihood={2: "categorical"}, **FAST).fit(X)
    assert list(model.feature_kinds_) == ["gaussian", "gaussian", "categorical"]
    assert list(model.categories_[2]) == [0.0, 1.0, 2.0]
    model.save(tmp_path / "model.skae")
    loaded = skae.load(tmp_path / "model.skae")
    assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    back = loaded.inverse_transform(loaded.transform(X))
    assert set(back[2]) <= {0.0, 1.0, 2.0}


def test_sparse_input_with_a_categorical_column():
    X = np.c_[mixed_table(100, 0)[["length", "mass"]].to_numpy(), np.arange(100) % 2]
    model = VAE(1, likelihood={2: "categorical"}, **FAST)
    dense = clone(model).fit(X).score_samples(X)
    assert_allclose(
        clone(model).fit(scipy.sparse.csr_matrix(X)).score_samples(X), dense
    )


@pytest.mark.slow  # a default detector: a cross-fitted VAE of 200 epochs
def test_outlier_detector_flags_invalid_combinations_and_explains_them():
    detector = OutlierDetector(random_state=0).fit(mixed_table(1000, 0))
    table = mixed_table(300, 1)
    wrong = table.iloc[:40].copy()
    wrong["species"] = pd.Categorical(
        SPECIES[(pd.Index(SPECIES).get_indexer(wrong["species"]) + 1) % 3],
        categories=SPECIES,
    )
    X = pd.concat([table.iloc[40:], wrong], ignore_index=True)
    labels = np.r_[np.zeros(260), np.ones(40)]
    assert roc_auc_score(labels, -detector.score_samples(X)) > 0.95
    loss = detector.score_samples_per_feature(wrong) - (
        detector.score_samples_per_feature(table.iloc[:40])
    )
    # The wrong species (or the island that contradicts it) loses the most,
    # but near a class boundary, where another species is plausible.
    assert np.isin(np.argmin(loss, axis=1), [2, 3]).mean() >= 0.9
    with pytest.raises(ValueError, match="method='score_samples'"):
        OutlierDetector(AutoencoderTransformer(2, **FAST), method="reconstruction").fit(
            X
        )


@pytest.mark.slow  # two IWAE fits
def test_imputer_fills_categories_and_keeps_observed_values():
    table = mixed_table(600, 0)
    rng = np.random.RandomState(1)
    incomplete = table.copy()
    gaps = rng.uniform(size=600) < 0.3
    incomplete.loc[gaps, "species"] = None
    incomplete.loc[rng.uniform(size=600) < 0.2, "length"] = np.nan
    imputer = IWAEImputer(hidden_layer_sizes=(32,), max_epochs=60, random_state=0)
    filled = imputer.fit_transform(incomplete)
    assert list(filled.dtypes) == list(table.dtypes)
    assert filled.notna().all().all()
    observed = incomplete.notna()
    for column in table.columns:
        kept = observed[column].to_numpy()
        assert (filled[column][kept] == incomplete[column][kept]).all()
    accuracy = (filled["species"][gaps] == table["species"][gaps]).mean()
    most_frequent = (table["species"][gaps] == incomplete["species"].mode()[0]).mean()
    assert accuracy > most_frequent + 0.3
    drawn = IWAEImputer(
        hidden_layer_sizes=(32,), max_epochs=60, sample_posterior=True, random_state=0
    ).fit_transform(incomplete)
    assert set(drawn["species"]) <= set(SPECIES)


def test_a_continued_fit_refuses_new_categories():
    table = mixed_table(100, 0)
    model = AutoencoderTransformer(2, **FAST).partial_fit(
        table[table["species"] != "Gentoo"]
    )
    with pytest.raises(ValueError, match=r"'island' has categories .*Torgersen"):
        model.partial_fit(table)
    assert model.n_iter_ == 1  # unchanged
    model.partial_fit(table[table["species"] == "Adelie"])
    assert model.n_iter_ == 2
