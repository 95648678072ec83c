"""Shared fixtures: small data sets and fitted models, built once per module."""

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

# Property-based tests (tests/test_fuzz.py). "ci", the default: a fixed set
# of examples, so that a failure reproduces. "slow" (HYPOTHESIS_PROFILE=slow):
# ten times as many, new ones on every run.
settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "slow",
    parent=settings.get_profile("ci"),
    max_examples=500,
    derandomize=False,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    # Two cores on CI: keep torch from oversubscribing them when pytest-xdist
    # runs two workers.
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    skip_cuda = pytest.mark.skip(reason="needs a CUDA GPU; none is available")
    if not torch.cuda.is_available():
        for item in items:
            if "cuda" in item.keywords:
                item.add_marker(skip_cuda)


@pytest.fixture(scope="session")
def digits_split():
    """load_digits pixels (0..16), split 75/25 with a fixed seed."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="session")
def small_X():
    """A small Gaussian data set for API tests."""
    return np.random.RandomState(0).normal(size=(60, 5))
