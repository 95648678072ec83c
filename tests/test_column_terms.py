"""ColumnTerms: each column kind's exact log-probability, mean and draw."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from torch import distributions as D

from skae._base.column_terms import ColumnTerms, marginal_entropies

KINDS = ("gaussian", "categorical", "bernoulli", "poisson")
WIDTHS = (1, 3, 1, 1)


@pytest.fixture
def terms():
    return ColumnTerms(KINDS, WIDTHS)


def _rows():
    # gaussian, a category of three (one-hot), a flag, a count
    x = torch.tensor(
        [
            [0.5, 0.0, 1.0, 0.0, 1.0, 3.0],
            [-1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
            [2.0, 0.0, 0.0, 1.0, 1.0, 7.0],
        ]
    )
    out = torch.tensor(
        [
            [0.1, 0.3, -1.0, 2.0, 0.4, 1.2],
            [-0.2, 1.5, 0.0, -0.5, -2.0, 0.1],
            [1.0, -0.3, 0.2, 0.9, 3.0, 2.0],
        ]
    )
    return x, out


def test_log_prob_is_torch_distributions_of_each_kind(terms):
    x, out = _rows()
    variance = torch.tensor([0.3, 1.0, 1.0, 1.0, 1.0, 1.0])
    got = terms.log_prob(out, x, variance)
    expected = torch.stack(
        [
            D.Normal(out[:, 0], variance[0].sqrt()).log_prob(x[:, 0]),
            D.Categorical(logits=out[:, 1:4]).log_prob(x[:, 1:4].argmax(1)),
            D.Bernoulli(logits=out[:, 4]).log_prob(x[:, 4]),
            D.Poisson(out[:, 5].exp()).log_prob(x[:, 5]),
        ],
        1,
    )
    assert got.shape == (3, 4)
    assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_missing_columns_add_nothing_and_unknown_categories_are_impossible(terms):
    x, out = _rows()
    variance = torch.ones(6)
    x = x.clone()
    x[0, 1:4] = float("nan")  # a missing category
    x[1, 0] = float("nan")  # a missing number
    x[2, 1:4] = 0.0  # a category not seen in fit
    got = terms.log_prob(out, x, variance)
    assert got[0, 1] == 0 and got[1, 0] == 0
    assert got[2, 1] == -np.inf
    assert torch.isfinite(got[:2]).all()
    observed = terms.observed(x)
    assert observed[0].tolist() == [True, False, True, True]
    assert observed[1].tolist() == [False, True, True, True]


def test_mean_is_each_distributions_mean(terms):
    _, out = _rows()
    mean = terms.mean(out)
    assert_allclose(mean[:, 0], out[:, 0])
    assert_allclose(mean[:, 1:4], torch.softmax(out[:, 1:4], 1), rtol=1e-6)
    assert_allclose(mean[:, 4], torch.sigmoid(out[:, 4]), rtol=1e-6)
    assert_allclose(mean[:, 5], out[:, 5].exp(), rtol=1e-6)


def test_draws_are_values_of_each_kind(terms):
    _, out = _rows()
    mean = terms.mean(out).repeat(200, 1)
    generator = torch.Generator().manual_seed(0)
    draw = terms.draw(mean, torch.ones(6), generator)
    assert torch.all(draw[:, 1:4].sum(1) == 1)
    assert set(draw[:, 1:4].unique().tolist()) <= {0.0, 1.0}
    assert set(draw[:, 4].unique().tolist()) <= {0.0, 1.0}
    assert torch.all(draw[:, 5] == draw[:, 5].round()) and torch.all(draw[:, 5] >= 0)
    # The category frequencies follow the probabilities of the first row.
    first = draw[0::3, 1:4].mean(0)
    assert_allclose(first, mean[0, 1:4], atol=0.12)


def test_autoencoder_loss_is_weighted_and_zero_at_a_perfect_category():
    terms = ColumnTerms(("gaussian", "categorical"), (1, 2), weights=[1.0, 2.0])
    x = torch.tensor([[1.0, 0.0, 1.0]])
    out = torch.tensor([[0.5, -30.0, 30.0]])
    loss = terms.loss(out, x)
    assert_allclose(loss[0, 0], 0.25)
    assert float(loss[0, 1]) < 1e-12


def test_linearized_start_matches_the_linear_model_to_first_order(terms):
    # A linear model's mean and a direction: the natural parameters' mean
    # and slope reproduce the values' mean and slope through each link.
    mean = np.array([0.3, 0.2, 0.5, 0.3, 0.4, 2.5])
    direction = np.array([[1.0], [0.05], [-0.02], [-0.03], [0.1], [0.4]])
    weight, bias = terms.linearized(direction, mean)
    out = torch.tensor(bias)[None] + 1e-4 * torch.tensor(weight[:, 0])[None]
    moved = terms.mean(out)[0].numpy()
    base = terms.mean(torch.tensor(bias)[None])[0].numpy()
    assert_allclose(base, mean, rtol=1e-12)
    assert_allclose((moved - base) / 1e-4, direction[:, 0], rtol=1e-3, atol=1e-6)


def test_marginal_entropies():
    X = np.array([[1, 0, 1.0], [0, 1, 0.0], [1, 0, np.nan], [0, 1, 1.0]])
    entropies = marginal_entropies(X, ("categorical", "bernoulli"), (2, 1))
    flag = -(2 / 3 * np.log(2 / 3) + 1 / 3 * np.log(1 / 3))
    assert_allclose(entropies, [np.log(2), flag])
