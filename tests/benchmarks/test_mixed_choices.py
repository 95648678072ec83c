"""The mixed-table design-choices study: its start, weights and a tiny run.

No quality assertions: the figures of a few epochs mean nothing.
"""

import argparse
import functools
import json

import torch
from numpy.testing import assert_allclose

from benchmarks import mixed_choices
from skae import VAE, AutoencoderTransformer


def test_linearized_start_is_the_factor_analysis_mean_through_each_link(monkeypatch):
    table = mixed_choices.generated_table(300).drop(columns="species")
    monkeypatch.setattr(
        mixed_choices.variational.VAEModule,
        "start_from_linear_model",
        mixed_choices._linearized_start,
    )
    model = VAE(2, max_epochs=1, lr=1e-12, random_state=0).fit(table)
    module = model.net_.module_
    with torch.no_grad():
        mean = module.decode(torch.zeros(1, 2, dtype=torch.float32))[0].numpy()
    # At z = 0 the island's and the flag's probabilities are (about) their
    # training frequencies: model columns 2 to 5.
    values = model._validate_X(table, reset=False)
    assert_allclose(mean[2:6], values.mean(axis=0)[2:6], atol=0.03)


def test_unweighted_autoencoder_has_unit_weights(monkeypatch):
    table = mixed_choices.generated_table(200)
    monkeypatch.setattr(
        mixed_choices.tables.TableColumns, "_column_terms", mixed_choices._unweighted
    )
    model = AutoencoderTransformer(2, max_epochs=1, random_state=0).fit(table)
    assert (model.net_.module_.columns.weights == 1).all()


def test_tiny_run(monkeypatch, tmp_path):
    monkeypatch.setattr(mixed_choices, "SEEDS", (0,))
    monkeypatch.setattr(
        mixed_choices,
        "tables_to_measure",
        lambda: {"generated": mixed_choices.generated_table(120)},
    )
    for name in ("VAE", "AutoencoderTransformer"):
        cls = getattr(mixed_choices, name)
        monkeypatch.setattr(mixed_choices, name, functools.partial(cls, max_epochs=2))
    path = tmp_path / "mixed_choices.json"
    parser = argparse.ArgumentParser()
    mixed_choices.add_arguments(parser)
    mixed_choices.run_command(parser.parse_args(["--json", str(path)]), [])
    result = json.loads(path.read_text())["results"]["generated"]
    assert set(result["vae_start"]) == {"random", "linearized"}
    assert len(result["autoencoder_weights"]["entropy"]) == 1
    assert path.with_suffix(".rst").exists()
