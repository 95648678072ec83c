"""ColumnLayout: column kinds from dtypes, the model matrix and back."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from skae._base.columns import ColumnLayout, inferred_kind, is_mixed_table


def _table():
    return pd.DataFrame(
        {
            "length": [1.5, 2.0, np.nan, 3.25],
            "count": np.array([1, 0, 4, 2], dtype=np.int64),
            "island": pd.Categorical(["b", "a", None, "b"]),
            "name": ["x", "y", "z", "x"],
            "flag": [True, False, True, True],
            "maybe": pd.array([True, None, False, True], dtype="boolean"),
        }
    )


@pytest.mark.parametrize(
    "values, kind",
    [
        (pd.Series([1.0, 2.0]), "gaussian"),
        (pd.Series([1, 2]), "gaussian"),
        (pd.Series([1, 2], dtype="Int64"), "gaussian"),
        (pd.Series(["1", "2.5"], dtype=object), "gaussian"),
        (pd.Series(["a", "b"]), "categorical"),
        (pd.Series(["a", None], dtype="string"), "categorical"),
        (pd.Series([1, 2]).astype("category"), "categorical"),
        (pd.Series([True, False]), "bernoulli"),
        (pd.Series([True, None], dtype="boolean"), "bernoulli"),
        (pd.Series([True, False, None], dtype=object), "bernoulli"),
        (pd.Series([True, np.nan]), "bernoulli"),
    ],
)
def test_kinds_follow_the_dtypes(values, kind):
    assert inferred_kind(values) == kind


def test_is_mixed_table():
    assert is_mixed_table(_table())
    assert not is_mixed_table(pd.DataFrame({"a": [1.0], "b": [2]}))
    assert not is_mixed_table(np.array([["a"]], dtype=object))


def test_layout_of_a_table_and_its_overrides():
    layout = ColumnLayout.fit(_table(), "auto", "VAE")
    assert layout.kinds == (
        "gaussian",
        "gaussian",
        "categorical",
        "categorical",
        "bernoulli",
        "bernoulli",
    )
    assert list(layout.categories[2]) == ["a", "b"]
    assert list(layout.categories[3]) == ["x", "y", "z"]
    assert layout.n_columns == 1 + 1 + 2 + 3 + 1 + 1
    by_name = ColumnLayout.fit(_table(), {"count": "poisson"}, "VAE")
    by_position = ColumnLayout.fit(_table(), {1: "categorical"}, "VAE")
    assert by_name.kinds[1] == "poisson"
    assert by_position.kinds[1] == "categorical"
    assert list(by_position.categories[1]) == [0, 1, 2, 4]


@pytest.mark.parametrize(
    "likelihood, message",
    [
        ({"weight": "gaussian"}, "does not have"),
        ({"count": "gamma"}, "the kinds are"),
        ({"name": "gaussian"}, "no numbers"),
        ({"length": "bernoulli"}, r"outside \[0, 1\]"),
        ({"length": "poisson"}, "no counts"),
    ],
)
def test_bad_kinds_are_clear_errors(likelihood, message):
    table = _table()
    with pytest.raises(ValueError, match=message):
        layout = ColumnLayout.fit(table, likelihood, "VAE")
        layout.encode(table, "VAE")


def test_encoding_marks_missing_values_and_unknown_categories():
    table = _table()
    layout = ColumnLayout.fit(table, "auto", "VAE")
    rows = layout.encode(table, "VAE")
    assert_array_equal(rows[0], [1.5, 1, 0, 1, 1, 0, 0, 1, 1])
    assert np.isnan(rows[2, 0]) and np.isnan(rows[2, 2:4]).all()
    assert np.isnan(rows[1, 8]) and not np.isnan(rows[1, :8]).any()
    new = table.iloc[:1].copy()
    new["name"] = "w"  # not seen in fit
    assert_array_equal(layout.encode(new, "VAE")[0, 4:7], [0, 0, 0])


def test_decoding_gives_the_values_back_in_their_dtypes():
    table = _table().dropna()
    layout = ColumnLayout.fit(table, "auto", "VAE")
    back = layout.decode(layout.encode(table, "VAE"), list(table.columns))
    pd.testing.assert_frame_equal(back, table.reset_index(drop=True))


def test_decoding_picks_the_most_probable_value_or_draws_one():
    layout = ColumnLayout(
        ["categorical", "bernoulli", "poisson"],
        [np.array(["a", "b"], dtype=object), np.array([]), np.array([])],
        ["object", "bool", "int64"],
    )
    values = np.array([[0.3, 0.7, 0.6, 2.7], [0.9, 0.1, 0.2, 0.4]])
    back = layout.decode(values, ["c", "f", "n"])
    assert back["c"].tolist() == ["b", "a"]
    assert back["f"].tolist() == [True, False]
    assert back["n"].tolist() == [2, 0]  # the mode of a Poisson, floor(rate)
    rng = np.random.RandomState(0)
    draws = layout.decode(np.tile(values, (500, 1)), ["c", "f", "n"], rng)
    assert set(draws["c"]) == {"a", "b"}
    assert abs((draws["c"][0::2] == "b").mean() - 0.7) < 0.08
    assert draws["n"].dtype == np.int64 and (draws["n"] >= 0).all()


def test_flags_with_missing_values_come_back_as_flags():
    table = pd.DataFrame({"flag": [True, None, False, True]})
    layout = ColumnLayout.fit(table, "auto", "VAE")
    rows = layout.encode(table, "VAE")
    assert np.isnan(rows[1, 0]) and rows[0, 0] == 1 and rows[2, 0] == 0
    back = layout.decode(np.array([[0.9], [0.2]]), ["flag"])
    assert back["flag"].tolist() == [True, False]
    assert all(isinstance(v, bool) for v in back["flag"])
