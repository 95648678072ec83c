"""The module protocol every model follows, and the default MLP."""

import torch
from torch import nn

from skae._base.module import AutoencoderModule, make_mlp, reset_parameters


def test_make_mlp_layout():
    mlp = make_mlp(5, (7, 3), 2, activation="tanh")
    linears = [m for m in mlp if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (5, 7),
        (7, 3),
        (3, 2),
    ]
    assert isinstance(mlp[1], nn.Tanh)
    assert isinstance(mlp[-1], nn.Linear)  # linear output


def test_loss_is_the_mean_squared_error_and_score_its_per_row_negative():
    torch.manual_seed(0)
    module = AutoencoderModule(nn.Linear(4, 2), nn.Linear(2, 4))
    x = torch.randn(3, 4)
    reconstruction = module.decode(module.encode(x))
    per_row = (reconstruction - x).pow(2).mean(dim=1)
    assert torch.allclose(module(x), per_row)
    assert torch.allclose(module(x).mean(), nn.functional.mse_loss(reconstruction, x))
    assert torch.allclose(module.score_samples(x), -per_row)
    assert not module.score_is_log_density


def test_noise_comes_from_the_module_generator():
    module = AutoencoderModule(nn.Identity(), nn.Identity())
    like = torch.zeros(2, dtype=torch.float64)
    module.generator = torch.Generator().manual_seed(3)
    first = module.standard_normal((4, 2), like), module.uniform((4, 2), like)
    module.generator = torch.Generator().manual_seed(3)
    second = module.standard_normal((4, 2), like), module.uniform((4, 2), like)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert first[0].dtype == torch.float64
    assert ((first[1] >= 0) & (first[1] < 1)).all()


def test_reset_parameters_reinitializes_nested_modules():
    module = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.Linear(3, 3)))
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(0.0)
    reset_parameters(module)
    assert all(p.abs().sum() > 0 for p in module.parameters() if p.dim() == 2)


def test_per_feature_score_is_each_features_share_of_the_squared_error():
    # A decoder that reconstructs every row as the same known vector: the
    # per-feature terms are the known squared errors over the width.
    module = AutoencoderModule(nn.Linear(4, 2), nn.Linear(2, 4))
    reconstruction = torch.tensor([1.0, -2.0, 0.5, 3.0])
    with torch.no_grad():
        module.decoder.weight.zero_()
        module.decoder.bias.copy_(reconstruction)
    x = torch.tensor([[1.0, 0.0, 0.5, 0.0], [0.0, -2.0, 2.5, 3.0]])
    expected = -torch.tensor([[0.0, 4.0, 0.0, 9.0], [1.0, 0.0, 4.0, 0.0]]) / 4
    with torch.no_grad():
        terms = module.score_samples_per_feature(x)
        assert torch.equal(terms, expected)
        assert torch.equal(module.score_samples(x), expected.sum(dim=1))
        assert torch.allclose(module.score_samples(x), -module.squared_error(x))
